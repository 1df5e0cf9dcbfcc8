"""``beamtagger tag --streaming`` over Parquet input: every row of every row group is written
once, its named columns carried, as the bounded run writes it (a streaming pipeline carries
single records, not blocks, and buffers its batches under a processing-time trigger), to
Parquet with a field column typed as the bounded run types it."""
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
    pq.write_table(pa.table({"text": texts, "n": list(range(10)),
                             "blob": [b"\xff" * 64] * 10}), source, row_group_size=4)
    written = {}
    for mode in ("bounded", "streaming"):
        prefix = str(tmp_path / mode)
        code, out, err = tag(capsys, "--input", str(source), "--output", prefix, "--model",
                             tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path,
                             "--fields", "n", "--output-format", "parquet", "--field-columns",
                             "n:int64", *(["--streaming"] if mode == "streaming" else []))
        assert code == 0, err
        summary = dict(re.findall(r"^(records read|records tagged|dead letters)\s+([\d,]+)",
                                  out, re.M))
        assert summary == {"records read": "10", "records tagged": "9", "dead letters": "1"}, out
        files = glob.glob(prefix + "-*.parquet")   # a streaming run's names its windows
        assert files and {tuple(pq.read_schema(name).names) for name in files} == {
            ("id", "n", "tokens", "fields")}
        table = pa.concat_tables(pq.read_table(name) for name in files)
        assert table.schema.field("n").type == pa.int64()
        written[mode] = sorted((row["id"], row["n"], [t["label"] for t in row["tokens"]],
                                row["fields"]) for row in table.to_pylist())
        (letter,) = read_jsonl(prefix + "-errors-*.jsonl")
        assert (letter["source"], letter["reason"]) == (f"{source}:10",
                                                        "text column 'text' is null")
    assert [(row_id, n, fields) for row_id, n, _, fields in written["streaming"]] == sorted(
        (f"rows.parquet:{i + 1}", i, None) for i in range(9))
    assert written["streaming"] == written["bounded"]
