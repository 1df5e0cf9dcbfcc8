"""``beamtagger tag --output-format spans``: an entity tagger's results as span JSON Lines that
``train``'s spans reader takes as they are; refused before launch for a tagger of other
labels and with Parquet's options."""
import glob
import json

from beamtagger.span_corpus import SpanReadStats, read_spans
from beamtagger.tests.conftest import run_tag_command as tag

TEXTS = ["Paris went home yesterday with Anna Smith", "", "the cat sat on the mat .",
         "they did not go to  New\u00a0York today , she went"]


def test_tag_writes_span_lines_that_train_reads(entity_tagger, tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f"d{i}", "text": text, "lang": "en"}) + "\n"
                              for i, text in enumerate(TEXTS)), encoding="utf-8")
    code, out, err = tag(capsys, "--input", str(source), "--output", str(tmp_path / "s"),
                         "--output-format", "spans", "--num-shards", "2", "--print-results",
                         "--model", entity_tagger.model_dir, "--embeddings",
                         entity_tagger.store_path)
    assert code == 0, err
    assert 'spans            in "spans" of each record, with its "text"' in out
    files = sorted(glob.glob(f"{tmp_path}/s-?????-of-00002.jsonl"))
    assert len(files) == 2 and f"results          {files[0]}" in out
    lines = {row["id"]: row for name in files
             for row in map(json.loads, open(name, encoding="utf-8"))}
    assert sorted(lines) == [f"d{i}" for i in range(len(TEXTS))]
    for i, text in enumerate(TEXTS):
        row = lines[f"d{i}"]
        assert list(row) == ["id", "text", "spans", "lang"] and row["text"] == text
        for span in row["spans"]:   # --print-results lists them as for jsonl, on one line
            entity = " ".join(text[span['start']:span['end']].split())
            assert f"[{entity}]/{span['label']}" in out
    spans = sum(len(row["spans"]) for row in lines.values())
    assert spans, "the tiny tagger found no entity: the test checks nothing"
    # train --train s-00000-of-00002.jsonl: every line reads as it is, every span on whole
    # tokens, the empty text's line left out and counted (nothing to annotate).
    stats = SpanReadStats()
    read = [s for name in files for s in read_spans(name, stats=stats)]
    assert stats.empty_texts == 1 and stats.spans == spans and stats.snapped_spans == 0
    assert sorted(s.sent_id for s in read) == ["d0", "d2", "d3"]
    # --output -: the same lines on standard output, in input order, as jsonl's.
    code, out, err = tag(capsys, "--input", str(source), "--output", "-", "--output-format",
                         "spans", "--model", entity_tagger.model_dir, "--embeddings",
                         entity_tagger.store_path)
    assert code == 0, err
    assert [json.loads(line) for line in out.splitlines()] == [lines[f"d{i}"] for i in
                                                               range(len(TEXTS))]


def test_spans_are_refused_before_launch_for_a_tagger_without_entities(tiny_tagger, tmp_path,
                                                                       capsys, text_in):
    code, out, err = tag(capsys, "--input", str(text_in), "--output", str(tmp_path / "s"),
                         "--output-format", "spans", "--model", tiny_tagger.model_dir,
                         "--embeddings", tiny_tagger.store_path)
    assert code == 2 and "--output-format spans writes entities" in err
    assert "not BIO" in err and "Traceback" not in err and not glob.glob(f"{tmp_path}/s-*")
    code, out, err = tag(capsys, "--input", str(text_in), "--output", str(tmp_path / "s"),
                         "--output-format", "spans", "--field-columns", "lang")
    assert code == 2 and "--field-columns: applies to --output-format parquet only" in err
