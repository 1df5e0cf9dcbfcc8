"""A Beam file system that fails on write: ``faultyfs:///abs/path`` is the local ``/abs/path``.

Beam finds file systems by scheme among the subclasses of ``FileSystem`` that exist in the
process, so importing this module registers it for in-process pipelines (the DirectRunner's
default mode). ``FaultyFileSystem.fail_after(n, errno)`` makes every write fail once ``n``
bytes have been written through it in all (a full disk: ENOSPC; an I/O error: EIO; a folder
made read-only: EROFS), the way a real file system's ``write`` raises; an exception instance
instead of an errno is raised as it is (a bug rather than the environment).
"""
import errno as errno_codes
import os
import shutil

from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.io.localfilesystem import LocalFileSystem

SCHEME = "faultyfs"
PREFIX = f"{SCHEME}://"


class FaultyFileSystem(LocalFileSystem):
    budget = None            # bytes that may still be written; None: no fault
    error = errno_codes.ENOSPC
    renames_before_failing = None   # renames that succeed before every later one fails

    @classmethod
    def fail_after(cls, written_bytes, error=errno_codes.ENOSPC):
        cls.budget, cls.error = written_bytes, error

    @classmethod
    def fail_renames_after(cls, renames, error=errno_codes.EIO):
        """Publishing fails part way: the sinks' renames of temporary files into their final
        names succeed ``renames`` times, then raise."""
        cls.renames_before_failing, cls.error = renames, error

    @classmethod
    def heal(cls):
        cls.budget = cls.renames_before_failing = None

    @classmethod
    def scheme(cls):
        return SCHEME

    @staticmethod
    def local(path):
        return path[len(PREFIX):] if path.startswith(PREFIX) else path

    def join(self, basepath, *paths):
        return PREFIX + os.path.join(self.local(basepath), *paths)

    def split(self, path):
        head, tail = os.path.split(self.local(path))
        return PREFIX + head, tail

    def mkdirs(self, path):
        super().mkdirs(self.local(path))

    def _url_dirname(self, url_or_path):
        return PREFIX + os.path.dirname(self.local(url_or_path))

    def _list(self, dir_or_prefix):
        for dirpath, _, files in os.walk(self.local(dir_or_prefix)):
            for name in files:
                path = os.path.join(dirpath, name)
                yield FileMetadata(PREFIX + path, os.path.getsize(path),
                                   os.path.getmtime(path))

    def create(self, path, mime_type="application/octet-stream",
               compression_type=CompressionTypes.AUTO):
        handle = super().create(self.local(path), mime_type, compression_type)
        return _FailingWriter(handle) if FaultyFileSystem.budget is not None else handle

    def open(self, path, mime_type="application/octet-stream",
             compression_type=CompressionTypes.AUTO):
        return super().open(self.local(path), mime_type, compression_type)

    def copy(self, source_file_names, destination_file_names):
        super().copy([self.local(p) for p in source_file_names],
                     [self.local(p) for p in destination_file_names])

    def rename(self, source_file_names, destination_file_names):
        for source, destination in zip(source_file_names, destination_file_names):
            if FaultyFileSystem.renames_before_failing is not None:
                if FaultyFileSystem.renames_before_failing == 0:
                    raise _exception(FaultyFileSystem.error)
                FaultyFileSystem.renames_before_failing -= 1
            super().rename([self.local(source)], [self.local(destination)])

    def exists(self, path):
        return super().exists(self.local(path))

    def size(self, path):
        return super().size(self.local(path))

    def last_updated(self, path):
        return super().last_updated(self.local(path))

    def checksum(self, path):
        return super().checksum(self.local(path))

    def metadata(self, path):
        metadata = super().metadata(self.local(path))
        return FileMetadata(PREFIX + metadata.path, metadata.size_in_bytes,
                            metadata.last_updated_in_seconds)

    def delete(self, paths):
        for path in map(self.local, paths):
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


def _exception(error):
    """An errno number as the OSError a file system raises; an exception as itself."""
    return error if isinstance(error, Exception) else OSError(error, os.strerror(error))


class _FailingWriter:
    def __init__(self, handle):
        self._handle = handle

    def write(self, data):
        if FaultyFileSystem.budget is not None:
            if len(data) > FaultyFileSystem.budget:
                FaultyFileSystem.budget = 0
                raise _exception(FaultyFileSystem.error)
            FaultyFileSystem.budget -= len(data)
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._handle.close()
