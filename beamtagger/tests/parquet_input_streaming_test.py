"""``beamtagger tag --streaming`` over Parquet input: every row of every row group is written
once, its named columns carried, as the bounded run writes it (a streaming pipeline carries
single records, not blocks, and buffers its batches under a processing-time trigger), to
Parquet with a field column typed as the bounded run types it."""
import datetime
import glob
import re

import pyarrow as pa
import pyarrow.parquet as pq

from beamtagger.tests.conftest import run_tag_command as tag
from beamtagger.tests.tag_pipeline_test import read_jsonl


def test_a_streaming_run_writes_every_row_of_every_row_group_once(tiny_tagger, tmp_path,
                                                                 capsys):
    texts = [f"Row {i} of the table ." for i in range(9)] + [None]
    source = tmp_path / "rows.parquet"
    # A zoned timestamp column, carried as text with New York's offset, typed back to UTC.
    moments = [datetime.datetime(2024, 3, 10, 6, i, tzinfo=datetime.timezone.utc)
               for i in range(10)]
    pq.write_table(pa.table({"text": texts, "n": list(range(10)),
                             "at": pa.array(moments, pa.timestamp("ms", tz="America/New_York")),
                             "blob": [b"\xff" * 64] * 10}), source, row_group_size=4)
    written = {}
    for mode in ("bounded", "streaming"):
        prefix = str(tmp_path / mode)
        code, out, err = tag(capsys, "--input", str(source), "--output", prefix, "--model",
                             tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
                             "--fields", "n,at", "--output-format", "parquet",
                             "--field-columns", "n:int64,at:timestamp", *(["--streaming"] if mode == "streaming" else []))
        assert code == 0, err
        summary = dict(re.findall(r"^(records read|records tagged|dead letters)\s+([\d,]+)",
                                  out, re.M))
        assert summary == {"records read": "10", "records tagged": "9", "dead letters": "1"}, out
        files = glob.glob(prefix + "-*.parquet")   # a streaming run's names its windows
        assert files and {tuple(pq.read_schema(name).names) for name in files} == {
            ("id", "n", "at", "tokens", "fields")}
        table = pa.concat_tables(pq.read_table(name) for name in files)
        assert table.schema.field("n").type == pa.int64()
        assert table.schema.field("at").type == pa.timestamp("us", tz="UTC")
        written[mode] = sorted((row["id"], row["n"], row["at"],
                                [t["label"] for t in row["tokens"]], row["fields"])
                               for row in table.to_pylist())
        (letter,) = read_jsonl(prefix + "-errors-*.jsonl")
        assert (letter["source"], letter["reason"]) == (f"{source}:10",
                                                        "text column 'text' is null")
    assert [(row_id, n, at, fields) for row_id, n, at, _, fields in written["streaming"]] == (
        sorted((f"rows.parquet:{i + 1}", i, moments[i], None) for i in range(9)))
    assert written["streaming"] == written["bounded"]
