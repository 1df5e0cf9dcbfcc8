"""Peak RSS and seconds of the reading layer alone (read_path_records, no Beam) over one file
in one encoding, in this fresh process: the same text as UTF-8 and as UTF-16 (--encoding
utf-16, decoded as one stream) side by side.

  python bench/encoding_reader_memory.py CHECKOUT FILE ENCODING
"""
import resource, sys, time
sys.path.insert(0, sys.argv[1])
from beamtagger.transforms.reading.record_parsers import read_path_records
path, encoding = sys.argv[2], sys.argv[3]
start = time.perf_counter(); count = 0
for record in read_path_records(path, "text", encoding=encoding):
    count += 1
print(encoding, count, round(time.perf_counter() - start, 1), "s",
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "MiB peak RSS")
