"""``beamtagger tag --streaming`` over Parquet input: every row of every row group is written
once, its named columns carried, as the bounded run writes it (a streaming pipeline carries
single records, not blocks, and buffers its batches under a processing-time trigger)."""
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
                             "--fields", "n", *(["--streaming"] if mode == "streaming" else []))
        assert code == 0, err
        summary = dict(re.findall(r"^(records read|records tagged|dead letters)\s+([\d,]+)",
                                  out, re.M))
        assert summary == {"records read": "10", "records tagged": "9", "dead letters": "1"}, out
        written[mode] = sorted((row["id"], row["n"], [t["label"] for t in row["tokens"]])
                               for row in read_jsonl(prefix + "-[0-9]*-of-*.jsonl"))
        (letter,) = read_jsonl(prefix + "-errors-*.jsonl")
        assert (letter["source"], letter["reason"]) == (f"{source}:10",
                                                        "text column 'text' is null")
    assert [(row_id, n) for row_id, n, _ in written["streaming"]] == sorted(
        (f"rows.parquet:{i + 1}", i) for i in range(9))
    assert written["streaming"] == written["bounded"]
