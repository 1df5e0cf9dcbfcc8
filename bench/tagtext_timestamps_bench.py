"""TagText (the library's transform, bounded input, DirectRunner) over EWT train sentences with
the tiny tagger: records all at one timestamp against each at its own (TagText keeps them: its
blocks hold records of one window at any timestamps, each carrying its own). Prints wall and
CPU seconds and peak RSS.

  python bench/tagtext_timestamps_bench.py one|own RECORDS
"""
import sys, time, resource, tempfile
import apache_beam as beam
from apache_beam.transforms.window import TimestampedValue
sys.path.insert(0, str(__import__('pathlib').Path(__file__).resolve().parent))
import bench_models
from beamtagger.testing import cached_tiny_tagger
from beamtagger.transforms import TagText, TextRecord
mode, n = sys.argv[1], int(sys.argv[2])
sents = [" ".join(t) for t in bench_models.ewt_sentences()][:n]
t = cached_tiny_tagger(tempfile.mkdtemp())
start = time.perf_counter(); c0 = time.process_time()
with beam.Pipeline() as p:
    recs = p | beam.Create([TimestampedValue(TextRecord(str(i), s), (i if mode == "own" else 0)) for i, s in enumerate(sents)])
    out = recs | TagText(**t.options)
    _ = out.tagged | beam.combiners.Count.Globally() | beam.Map(lambda c: print("tagged", c))
print(mode, "wall", round(time.perf_counter() - start, 2), "cpu", round(time.process_time() - c0, 2), "maxrss_mib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
