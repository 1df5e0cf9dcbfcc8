"""``beamtagger tag`` with an entity tagger (BIO labels) writes each record's entities, the
spans ``evaluate`` scores (seqeval's chunks of the labels written); with another tagger its
files are as they were."""
import glob

import pyarrow.parquet as pq

from beamtagger.tests.conftest import run_tag_command as tag
from beamtagger.tests.tag_pipeline_test import read_jsonl

TEXTS = ["the cat sat on the mat .", "Paris went home yesterday", "", "a dog ! the apples",
         "they did not go to Paris today , she went"]


def expected_entities(row, text=None):
    """The row's entities as evaluate reads its labels (seqeval), placed by its offsets."""
    from beamtagger.model.evaluation import entity_spans

    tokens = row["tokens"]
    return [{"text": text[tokens[first]["start"]:tokens[last]["end"]] if text is not None
             else " ".join(t["text"] for t in tokens[first:last + 1]),
             "start": tokens[first]["start"], "end": tokens[last]["end"], "label": kind,
             "score": min(t["score"] for t in tokens[first:last + 1])}
            for kind, first, last in entity_spans([t["label"] for t in tokens])]


def _run(capsys, tagger, source, prefix, output_format, *more):
    code, out, err = tag(capsys, "--input", str(source), "--output", str(prefix),
                         "--output-format", output_format, "--num-shards", "2", "--model",
                         tagger.model_dir, "--embeddings", tagger.store_path, *more)
    assert code == 0, err
    return out


def test_an_entity_tagger_writes_the_entities_of_each_record(entity_tagger, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    out = _run(capsys, entity_tagger, source, tmp_path / "j", "jsonl", "--print-results")
    assert 'entities         in "entities" of each record' in out
    rows = read_jsonl(f"{tmp_path}/j-?????-of-00002.jsonl")
    assert len(rows) == len(TEXTS)
    found = 0
    for row in rows:
        text = TEXTS[int(row["id"].rpartition(":")[2]) - 1]
        assert row["entities"] == expected_entities(row, text)
        found += len(row["entities"])
        for entity in row["entities"]:
            assert f"[{entity['text']}]/{entity['label']}" in out   # --print-results
    assert found, "the tiny tagger found no entity: the test checks nothing"

    _run(capsys, entity_tagger, source, tmp_path / "p", "parquet")
    files = sorted(glob.glob(f"{tmp_path}/p-?????-of-00002.parquet"))
    assert len(files) == 2 and all("entities" in pq.read_schema(name).names for name in files)
    by_id = {row["id"]: row["entities"] for row in rows}
    for row in pq.ParquetDataset(files).read().to_pylist():
        assert [{**e, "score": round(e["score"], 4)} for e in row["entities"]] == by_id[row["id"]]


def test_a_tagger_of_other_labels_writes_no_entities(tiny_tagger, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    out = _run(capsys, tiny_tagger, source, tmp_path / "j", "jsonl", "--print-results")
    # The summary names the output files, whose folder may hold the word (a TMPDIR of its own).
    assert "entities" not in out.replace(str(tmp_path), "")
    assert all("entities" not in row for row in read_jsonl(f"{tmp_path}/j-?????-of-00002.jsonl"))
    _run(capsys, tiny_tagger, source, tmp_path / "p", "parquet")
    assert all("entities" not in pq.read_schema(name).names
               for name in glob.glob(f"{tmp_path}/p-?????-of-00002.parquet"))


def test_entities_written_on_wnut17_dev_are_the_ones_evaluate_scores(entity_tagger, shared_data,
                                                                      tmp_path, capsys):
    """WNUT-17 dev through ``tag --input-format conll``: each record's entities are seqeval's
    chunks of its labels (what ``evaluate`` counts), their text the tokens joined by spaces."""
    _run(capsys, entity_tagger, shared_data / "wnut17" / "emerging.dev.conll", tmp_path / "w",
         "jsonl")
    rows = read_jsonl(f"{tmp_path}/w-?????-of-00002.jsonl")
    assert len(rows) > 1000
    assert sum(len(row["entities"]) for row in rows) > 100
    for row in rows:
        assert row["entities"] == expected_entities(row)
