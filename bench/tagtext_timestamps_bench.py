"""TagText (the library's transform, bounded input, DirectRunner) over EWT train sentences with
the tiny tagger: records all at one timestamp against each at its own (TagText keeps them: its
blocks hold records of one window at any timestamps, each carrying its own). Prints wall and
CPU seconds and peak RSS.

  python bench/tagtext_timestamps_bench.py one|own RECORDS

The beamtagger imported is the one on PYTHONPATH: to compare checkouts, run it in each with
PYTHONPATH set to it.
"""
import argparse
import pathlib
import resource
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("one", "own"),
                        help="one: every record at timestamp 0; own: record i at timestamp i")
    parser.add_argument("records", type=int, help="the first N sentences of EWT train")
    args = parser.parse_args(argv)
    if args.records < 1:
        parser.error("records must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    import bench_common
    bench_common.require_shared_data()
    # After the arguments and the data: Beam's import alone is seconds to wait for an error.
    import apache_beam as beam
    from apache_beam.transforms.window import TimestampedValue

    import bench_models
    from beamtagger.testing import cached_tiny_tagger
    from beamtagger.transforms import TagText, TextRecord

    sentences = [" ".join(tokens) for tokens in bench_models.ewt_sentences(args.records)]
    tagger = cached_tiny_tagger(tempfile.mkdtemp())
    start, cpu_start = time.perf_counter(), time.process_time()
    with beam.Pipeline() as pipeline:
        records = pipeline | beam.Create([
            TimestampedValue(TextRecord(str(i), text), i if args.mode == "own" else 0)
            for i, text in enumerate(sentences)])
        out = records | TagText(**tagger.options)
        _ = (out.tagged | beam.combiners.Count.Globally()
             | beam.Map(lambda count: print("tagged", count)))
    print(args.mode, "wall", round(time.perf_counter() - start, 2),
          "cpu", round(time.process_time() - cpu_start, 2),
          "maxrss_mib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)


if __name__ == "__main__":
    main()
