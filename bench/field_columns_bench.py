"""What ``--field-columns`` costs the Parquet formatting, per token (no Beam), against today's
one JSON column ``fields``.

Records: WNUT-17 train sentences (random labels and float32 scores), each carrying four fields
as a partitioned lake's record does: ``doc_id`` (string), ``year`` (text, as a folder gives
it), ``lang`` (string) and ``views`` (an integer). Cases, each run ``--calls`` times a round,
the rounds alternating the order of the cases (the machine is shared); ratios are taken round
by round:

- fields JSON: ``tagged_batches.parquet_table`` with every field in ``fields``, as before;
- field columns: the same with ``doc_id,year:int64,lang,views:float64`` as columns;
- each of the two with the table written to Parquet in memory (``pq.write_table``), the whole
  of what a shard's rows cost the writer;
- published string, published timestamp: the records carrying a fifth field, ``published``,
  ISO 8601 text with an offset (as Parquet input carries a zoned timestamp column), with
  ``published:string`` or ``published:timestamp`` beside the four columns: what converting
  the text to a UTC timestamp costs against writing it as it is; table alone and written.

The tables are checked to hold the same values before anything is timed.

  python bench/field_columns_bench.py [--records 3394] [--rounds 9] [--calls 5]
"""
import argparse
import datetime
import io
import json
import statistics
import sys

import bench_common

COLUMNS = ("doc_id", "year:int64", "lang", "views:float64")
OFFSETS = ("+00:00", "+01:00", "-05:00", "+05:30")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3394)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args(argv)
    import pyarrow.parquet as pq

    from beamtagger.transforms import tagged_batches
    from beamtagger.transforms.field_columns import field_columns_of

    labels = ("NOUN", "VERB", "ADJ", "PUNCT")
    records = bench_common.wnut_train_records(
        args.records,
        labels=lambda rng, n: tuple(labels[k] for k in rng.integers(0, 4, n)),
        fields=lambda i, rng: {"doc_id": f"doc-{i:06d}", "year": str(2020 + i % 5),
                               "lang": ("en", "fr")[i % 2],
                               "views": int(rng.integers(0, 10 ** 6))})
    tagged, kept, left_out = tagged_batches.tagged_batch_of_tagged_records(records, [])
    assert not left_out
    columns = field_columns_of(COLUMNS)
    dated = tagged_batches.tagged_batch_of_tagged_records(
        [record._replace(fields={**record.fields, "published": _published(i)})
         for i, record in enumerate(records)], [])[0]
    as_string, as_timestamp = (field_columns_of(COLUMNS + (f"published:{type_}",))
                               for type_ in ("string", "timestamp"))
    published = tagged_batches.parquet_table(dated, field_columns=as_timestamp, left_out=[])
    assert published.column("published").to_pylist() == [
        datetime.datetime.fromisoformat(_published(i)).astimezone(datetime.timezone.utc)
        for i in range(len(records))]
    tokens = sum(len(record.tokens) for record in records)

    as_json = tagged_batches.parquet_table(tagged)
    as_columns = tagged_batches.parquet_table(tagged, field_columns=columns, left_out=[])
    assert as_columns.num_rows == as_json.num_rows == len(records)
    assert as_columns.column("fields").null_count == len(records)
    assert [json.loads(text) for text in as_json.column("fields").to_pylist()] == [
        {**row, "year": str(row["year"]), "views": int(row["views"])} for row in
        as_columns.select(["doc_id", "year", "lang", "views"]).to_pylist()]

    def written(table):
        pq.write_table(table, io.BytesIO())

    cases = {
        "fields JSON": lambda: tagged_batches.parquet_table(tagged),
        "field columns": lambda: tagged_batches.parquet_table(tagged, field_columns=columns,
                                                              left_out=[]),
        "fields JSON, written": lambda: written(tagged_batches.parquet_table(tagged)),
        "field columns, written": lambda: written(tagged_batches.parquet_table(
            tagged, field_columns=columns, left_out=[])),
        **{f"published {type_}{', written' if write else ''}": _formatted(
            tagged_batches.parquet_table, dated, published_columns, write and written)
           for type_, published_columns in (("string", as_string), ("timestamp", as_timestamp))
           for write in (False, True)},
    }
    seconds = bench_common.alternating_cpu_seconds(cases, args.rounds, args.calls)
    per_token = {name: round(statistics.median(times) / tokens * 1e6, 4)
                 for name, times in seconds.items()}

    def ratios(name, base):
        return bench_common.median_range([a / b for a, b in zip(seconds[name], seconds[base])])

    report = {"date": bench_common.now(), "machine": bench_common.machine(),
              "command": "python bench/field_columns_bench.py " + " ".join(sys.argv[1:]),
              "records": len(records), "tokens": tokens, "field_columns": list(COLUMNS),
              "cpu_us_a_token_median": per_token,
              "field columns / fields JSON, table (median, min, max)": ratios(
                  "field columns", "fields JSON"),
              "field columns / fields JSON, table written (median, min, max)": ratios(
                  "field columns, written", "fields JSON, written"),
              "published timestamp / string, table (median, min, max)": ratios(
                  "published timestamp", "published string"),
              "published timestamp / string, table written (median, min, max)": ratios(
                  "published timestamp, written", "published string, written")}
    print(json.dumps(report, indent=1))
    return 0


def _published(i):
    """Record ``i``'s ``published`` text: a second of 2024, with one of ``OFFSETS``."""
    moment = datetime.datetime(2024, 1, 1) + datetime.timedelta(seconds=i * 9973)
    return moment.isoformat() + OFFSETS[i % len(OFFSETS)]


def _formatted(parquet_table, tagged, columns, write):
    """A case: the batch's table with ``columns``, handed to ``write`` where given."""
    def case():
        table = parquet_table(tagged, field_columns=columns, left_out=[])
        if write:
            write(table)
    return case


if __name__ == "__main__":
    sys.exit(main())
