"""What TaggedRecords cost to make from tagged batches and to format, per token (no Beam).

- ``tagged_records``: a tagged batch -> TaggedRecords, against the nested conversion it
  replaced (every list column ``to_pylist`` per record, each list copied into a tuple, each
  label looked up in the dictionary column).
- formatting as JSON Lines: ``to_json_line`` record by record, against a group made one tagged
  batch (``tagged_batch_of_tagged_records``) and formatted column by column
  (``json_lines_text``), as ``WriteResults`` now formats TaggedRecords.

Records: EWT train sentences (their tokens), random UPOS labels and float32 scores, ids and
sources; outputs are checked equal before anything is timed.

  python bench/records_bench.py [--records 3000] [--repeat 5]
"""
import argparse
import json
import sys
import timeit

import numpy as np

import bench_common

UPOS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
        "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X")


def nested_tagged_records(tagged):
    """The conversion ``tagged_batches.tagged_records`` made before 2026-12-05."""
    from beamtagger.transforms.records import TaggedRecord
    columns = {name: tagged.column(name).to_pylist() for name in tagged.schema.names}
    return [TaggedRecord(id_, tuple(tokens), tuple(starts), tuple(ends), tuple(labels),
                         tuple(scores), key, json.loads(fields) if fields else None)
            for key, id_, tokens, starts, ends, fields, labels, scores in zip(
                columns["key"], columns["id"], columns["tokens"], columns["starts"],
                columns["ends"], columns["fields"], columns["labels"], columns["scores"])]


def grouped_json_lines(records):
    from beamtagger.transforms import tagged_batches
    tagged, kept, left_out = tagged_batches.tagged_batch_of_tagged_records(records, [])
    text, rows = tagged_batches.json_lines_text(tagged)
    assert not left_out and not rows
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    for option, count in (("--records", args.records), ("--repeat", args.repeat)):
        if count < 1:
            parser.error(f"{option} must be at least 1, not {count}")
    bench_common.require_shared_data()
    from beamtagger.corpus_readers import read_conllu
    from beamtagger.transforms import tagged_batches
    from beamtagger.transforms.records import TokenizedRecord
    from beamtagger.transforms.write_results import to_json_line
    sentences = read_conllu(bench_common.EWT_TRAIN)
    records = [TokenizedRecord.from_tokens(str(i), sentence.tokens, f"train:{i}")
               for i, sentence in zip(range(args.records), sentences)]
    tokens = sum(len(record.tokens) for record in records)
    rng = np.random.default_rng(0)
    tagged = tagged_batches.tagged_batch_of_records(
        records, rng.integers(0, len(UPOS), tokens), rng.random(tokens).astype(np.float32), UPOS)
    made = tagged_batches.tagged_records(tagged)
    assert made == nested_tagged_records(tagged)
    assert grouped_json_lines(made).decode().split("\n") == [to_json_line(r) for r in made]

    def per_token(function, argument):
        seconds = min(timeit.repeat(lambda: function(argument), number=1, repeat=args.repeat))
        return seconds / tokens * 1e6

    report = {"date": bench_common.now(), "machine": bench_common.machine(),
              "command": "python bench/records_bench.py " + " ".join(sys.argv[1:]),
              "records": len(records), "tokens": tokens, "core_us_a_token": {
                  "tagged_records (flat)": per_token(tagged_batches.tagged_records, tagged),
                  "nested conversion (before)": per_token(nested_tagged_records, tagged),
                  "JSON Lines, grouped": per_token(grouped_json_lines, made),
                  "JSON Lines, to_json_line record by record": per_token(
                      lambda rs: [to_json_line(r) for r in rs], made)}}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
