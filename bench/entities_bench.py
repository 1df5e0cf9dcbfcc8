"""What writing each record's entities costs the formatting, per token (no Beam).

Records: WNUT-17 train sentences with their gold BIO tags as the labels (its entity density:
one entity in 32 tokens) and random float32 scores. Cases, each run ``--calls`` times a round,
the rounds alternating the order of the cases (the machine is shared: a case is never timed in
a quiet spell the others missed); ratios are taken round by round:

- JSON Lines column by column (``tagged_batches.json_lines_text``) without entities, as
  before, and with them;
- JSON Lines record by record (``to_json_line``) with entities, the path the columns replace;
- Parquet column by column (``parquet_table``) without and with entities;
- span lines (``tag --output-format spans``) column by column (``span_lines_text``) against
  JSON Lines with entities, both given each record's own text as ``tag`` carries it
  (``kept_texts``; here the tokens joined by spaces, WNUT-17 having no text of its own).

Outputs are checked equal (columns against records) before anything is timed.

  python bench/entities_bench.py [--records 3394] [--rounds 9] [--calls 5]
"""
import argparse
import json
import statistics
import sys

import bench_common



def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3394)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args(argv)
    from beamtagger.transforms import tagged_batches
    from beamtagger.transforms.write_results import (placed_tokens_text, to_json_line,
                                                     to_spans_line)

    records = bench_common.wnut_train_records(args.records)
    tagged, kept, left_out = tagged_batches.tagged_batch_of_tagged_records(records, [])
    assert not left_out
    tokens = sum(len(record.tokens) for record in records)
    entities = sum(len(record.entities()) for record in records)
    text, rows = tagged_batches.json_lines_text(tagged, entities=True)
    assert text.decode().split("\n") == [to_json_line(r, entities=True) for r in records
                                         if r.tokens]
    texts = [placed_tokens_text(r) for r in records]
    text, rows = tagged_batches.span_lines_text(tagged, texts)
    assert not rows and text.decode().split("\n") == [to_spans_line(r, t)
                                                      for r, t in zip(records, texts)]

    cases = {
        "JSON Lines, columns, without entities": lambda: tagged_batches.json_lines_text(tagged),
        "JSON Lines, columns, with entities": lambda: tagged_batches.json_lines_text(
            tagged, entities=True),
        "JSON Lines, record by record, with entities": lambda: [
            to_json_line(r, entities=True) for r in records],
        "Parquet, columns, without entities": lambda: tagged_batches.parquet_table(tagged),
        "Parquet, columns, with entities": lambda: tagged_batches.parquet_table(
            tagged, entities=True),
        "JSON Lines, columns, with entities, kept texts": lambda: tagged_batches.json_lines_text(
            tagged, True, texts),
        "Span lines, columns, kept texts": lambda: tagged_batches.span_lines_text(tagged, texts),
    }
    seconds = bench_common.alternating_cpu_seconds(cases, args.rounds, args.calls)
    per_token = {name: round(statistics.median(times) / tokens * 1e6, 4)
                 for name, times in seconds.items()}

    def ratios(name, base):
        return [a / b for a, b in zip(seconds[name], seconds[base])]

    with_json = ratios("JSON Lines, columns, with entities", "JSON Lines, columns, without entities")
    records_json = ratios("JSON Lines, record by record, with entities",
                          "JSON Lines, columns, with entities")
    with_parquet = ratios("Parquet, columns, with entities", "Parquet, columns, without entities")
    spans_json = ratios("Span lines, columns, kept texts",
                        "JSON Lines, columns, with entities, kept texts")
    report = {"date": bench_common.now(), "machine": bench_common.machine(),
              "command": "python bench/entities_bench.py " + " ".join(sys.argv[1:]),
              "records": len(records), "tokens": tokens, "entities": entities,
              "cpu_us_a_token_median": per_token,
              "JSON Lines with / without entities (median, range)": bench_common.median_range(with_json),
              "JSON Lines record by record / columns, with entities": bench_common.median_range(records_json),
              "Parquet with / without entities": bench_common.median_range(with_parquet),
              "Span lines / JSON Lines with entities, kept texts": bench_common.median_range(
                  spans_json)}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
