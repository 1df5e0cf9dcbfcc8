"""``errors.broken_link``: the "; PATH is a symbolic link to TARGET, ..." a refusal adds."""
import os

from beamtagger.errors import broken_link


def test_a_link_removed_while_it_is_read_adds_nothing_to_the_refusal(tmp_path, monkeypatch):
    # The link goes between the islink check and readlink (another process cleaning up, the
    # input swapped as the run starts). Before, the FileNotFoundError handler named the target
    # readlink never returned, and the one-line refusal being worded (cli's "does not exist",
    # a corpus not found) became an UnboundLocalError traceback. Found by mypy's
    # possibly-undefined check.
    link = tmp_path / "in.txt"
    os.symlink(tmp_path / "moved.txt", link)
    readlink = os.readlink

    def removed_first(path, *args, **kwargs):
        os.unlink(path)
        return readlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "readlink", removed_first)
    assert broken_link(link) == ""
    assert not os.path.lexists(link)   # the race happened: the link was there at islink
