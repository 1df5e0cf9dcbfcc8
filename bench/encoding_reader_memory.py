"""Peak RSS and seconds of the reading layer alone (read_path_records, no Beam) over one file
in one encoding, in this fresh process: the same text as UTF-8 and as UTF-16 (--encoding
utf-16, decoded as one stream) side by side.

  python bench/encoding_reader_memory.py CHECKOUT FILE ENCODING
"""
import argparse
import codecs
import pathlib
import resource
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout", type=pathlib.Path,
                        help="a folder holding the beamtagger package whose reader runs")
    parser.add_argument("file", type=pathlib.Path, help="the text file to read")
    parser.add_argument("encoding", help="as tag --encoding takes it (utf-8, utf-16, ...)")
    args = parser.parse_args(argv)
    if not (args.checkout / "beamtagger").is_dir():
        parser.error(f"{args.checkout} holds no beamtagger package")
    if not args.file.is_file():
        parser.error(f"{args.file} is not a file")
    try:
        codecs.lookup(args.encoding)
    except LookupError:
        parser.error(f"unknown encoding {args.encoding!r}")
    return args


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, str(args.checkout))
    from beamtagger.transforms.reading.record_parsers import read_path_records

    start = time.perf_counter()
    count = 0
    for _ in read_path_records(str(args.file), "text", encoding=args.encoding):
        count += 1
    print(args.encoding, count, round(time.perf_counter() - start, 1), "s",
          resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "MiB peak RSS")


if __name__ == "__main__":
    main()
