"""``beamtagger tag`` over the hostile corpus (tests/hostile_inputs.py) in every input and output
format: per file, records in == tagged + dead letters, exit 0, no traceback, valid output files.

Self-contained: a tiny store (a few hundred words, 8 dimensions) and an untrained tiny model are
built here in about a second, so the test needs no shared data and no training run.
"""
import collections
import glob
import json
import posixpath
import re

import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest

from beamtagger.pipeline import cli
from beamtagger.tests.conllu_output_format_test import check_conllu
from beamtagger.tests.conllu_passthrough_format_test import assert_written_back
from beamtagger.tests.hostile_inputs import write_corpus
from beamtagger.transforms.reading.record_parsers import parse_records
from beamtagger.transforms.records import STAGES

pytest.importorskip("tensorflow")

# Every input format with every output format; the 2 MB lines (seconds to tokenize) once each.
RUNS = [(input_format, input_format, output_format)
        for input_format in ("text", "jsonl", "conll", "conllu")
        for output_format in ("jsonl", "parquet", "conll", "conllu")]
RUNS += [("text-big", "text", "parquet"), ("jsonl-big", "jsonl", "conll")]


@pytest.fixture(scope="module")
def tiny_model_and_store(tmp_path_factory):
    from beamtagger.embeddings.importers import import_embeddings
    from beamtagger.model.features import TokenFeaturizer
    from beamtagger.model.saving import save_model_dir
    from beamtagger.model.tagger_model import Tagger
    from beamtagger.model.tagger_spec import TaggerSpec

    folder = tmp_path_factory.mktemp("tiny")
    words = ("the quick brown fox jumps over lazy dog . , line good record hello world "
             "cat token only lines more").split() + [f"w{i}" for i in range(300)]
    rng = np.random.default_rng(0)
    source = folder / "vectors.txt"
    source.write_text("".join(f"{word} " + " ".join(f"{v:.4f}" for v in rng.normal(size=8))
                              + "\n" for word in words), encoding="utf-8")
    store = import_embeddings(source, folder / "store")
    featurizer = TokenFeaturizer()
    config = {"dim": 8, "num_outputs": 3, "num_extra_rows": featurizer.num_extra_rows,
              "feature_sizes": featurizer.feature_sizes, "feature_dim": 2, "projection": 0,
              "units": 4, "layers": 1, "dropout": 0.0, "head": "softmax"}
    model = Tagger(**config)
    spec = TaggerSpec(labels=["A", "B", "C"], head="softmax", featurizer=featurizer,
                      binding={"fingerprint": store.fingerprint, "dim": 8,
                               "normalization": list(store.normalization)},
                      model_config=config)
    save_model_dir(model, spec, {"note": "untrained, for tests"}, folder / "model")
    return str(folder / "model"), str(folder / "store")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return folder, write_corpus(folder)


def strict_json(line):
    """orjson: strict RFC 8259 (no NaN, no lone surrogates, UTF-8 only)."""
    return orjson.loads(line)


def output_ids(prefix, output_format, conllu_input=None):
    """``conllu_input``: the text of the CoNLL-U files read, whose sentences the CoNLL-U
    output writes back (kept lines) instead of beamtagger's own."""
    paths = sorted(glob.glob(f"{prefix}-[0-9]*-of-*.{output_format}"))
    assert paths, f"no {output_format} results under {prefix}"
    ids = []
    for path in paths:
        if output_format == "jsonl":
            with open(path, "rb") as handle:
                rows = [strict_json(line) for line in handle]
            assert all(isinstance(row["tokens"], list) for row in rows)
            ids += [row["id"] for row in rows]
        elif output_format == "parquet":
            table = pq.read_table(path)
            for fields in table.column("fields").to_pylist():
                if fields is not None:
                    strict_json(fields)
            ids += table.column("id").to_pylist()
        else:
            with open(path, "rb") as handle:
                lines = list(enumerate(handle, start=1))
            if output_format == "conllu":
                text = b"".join(line for _, line in lines).decode("utf-8")
                if conllu_input is None:
                    check_conllu(text)
                else:   # the tiny model has no tag column: its labels go to misc:Tag
                    assert_written_back(text, conllu_input, "misc:Tag")
            records = list(parse_records(lines, path, output_format))
            bad = [r for r in records if not hasattr(r, "tokens")]
            assert not bad, bad[:3]  # beamtagger reads its own CoNLL back without a dead letter
            ids += [r.id for r in records]
    return ids


def dead_letters(prefix):
    letters = []
    for path in glob.glob(f"{prefix}-errors-*.jsonl"):
        with open(path, "rb") as handle:
            letters += [strict_json(line) for line in handle]
    return letters


@pytest.mark.parametrize("folder_name,input_format,output_format", RUNS)
def test_every_record_of_every_hostile_file_comes_out_once(folder_name, input_format,
                                                           output_format, corpus,
                                                           tiny_model_and_store, tmp_path,
                                                           capfd):
    folder, hostile = corpus
    model, store = tiny_model_and_store
    prefix = str(tmp_path / "out" / "r")
    code = cli.main(["tag", "--input", str(folder / folder_name / "*"), "--input-format",
                     input_format, "--output", prefix, "--output-format", output_format,
                     "--model", model, "--embeddings", store, "--chunk", "64", "--overlap",
                     "16", "--progress-every", "0"])
    out, err = capfd.readouterr()
    assert code == 0, err
    assert "Traceback" not in err and "Traceback" not in out
    assert "oneDNN" not in err and "absl::InitializeLog" not in err

    def file_of(record_id):
        return hostile.explicit_ids.get(record_id) or record_id.rsplit(":", 1)[0]

    conllu_input = None
    if input_format == output_format == "conllu":
        conllu_input = "".join(
            (folder / f.folder / f.name).read_bytes().decode("utf-8", "replace")
            for f in hostile.in_folder(folder_name))
    tagged = collections.Counter(file_of(i) for i in output_ids(prefix, output_format,
                                                                conllu_input))
    dead, damage = collections.Counter(), {}
    for letter in dead_letters(prefix):
        assert set(letter) == {"source", "stage", "reason", "record"}
        assert letter["stage"] in STAGES
        assert "\n" not in letter["reason"]
        path, line = letter["source"].rsplit(":", 1)
        name = posixpath.basename(path)
        if letter["stage"] == "read":
            assert name not in damage, f"two damage reports for {name}"
            assert re.search(r"damaged (after line|before its first)|^the file is empty "
                             r"\(0 bytes\), but a|^the file is UTF-(16|32)", letter["reason"])
            damage[name] = int(line)
        else:
            dead[name] += 1
    files = hostile.in_folder(folder_name)
    assert set(tagged) | set(dead) | set(damage) <= {f.name for f in files}
    for hostile_file in files:
        name = hostile_file.name
        came_out = tagged[name] + dead[name]
        if hostile_file.damaged:
            assert name in damage, f"{name}: the damage was not reported"
            before = damage[name] - 1  # complete lines before the damage
            expected = before // 3 if input_format == "conll" else before  # 3 lines a sentence
            assert came_out == expected, (name, tagged[name], dead[name], damage[name])
        else:
            assert name not in damage
            assert came_out == hostile_file.records, (name, tagged[name], dead[name])
    if folder_name == "jsonl":  # the reasons users will read, one per kind of problem
        reasons = [letter["reason"] for letter in dead_letters(prefix)]
        for expected in ("lone surrogate", "nested too deeply", "Exceeds the limit",
                         "text field 'text' is null", "missing text field", "expected a JSON "
                         "object", "not valid UTF-8", "invalid JSON", "the file is damaged"):
            assert any(expected in reason for reason in reasons), expected
        assert sum("lone surrogate" in reason for reason in reasons) == 5
    summary = dict(re.findall(r"^(records read|records tagged|dead letters)\s+([\d,]+)", out,
                              re.MULTILINE))
    assert int(summary["records read"].replace(",", "")) == (
        sum(tagged.values()) + sum(dead.values()) + len(damage))


def test_a_record_that_fails_in_any_later_stage_costs_only_itself(tiny_model_and_store, tmp_path,
                                                                  capfd, monkeypatch):
    """Failures injected in the tokenize, lookup, featurize and format stages (the in-process
    DirectRunner runs the stages in this process, so it sees the patches)."""
    from beamtagger.embeddings.store import EmbeddingStore
    from beamtagger.tokenizer import Tokenizer
    from beamtagger.transforms import attach_vectors, tagged_batches, write_results
    from beamtagger.transforms.token_blocks import entry_segments

    def failing(real, poison, error):
        def wrapper(self_or_first, *args, **kwargs):
            values = (self_or_first, *args)
            if any(poison in repr(value) for value in values):
                raise error(f"injected failure on {poison}")
            return real(self_or_first, *args, **kwargs)
        return wrapper

    for method in ("tokenize_columns", "token_chunks", "chunk_columns"):   # the ways in
        monkeypatch.setattr(Tokenizer, method, failing(getattr(Tokenizer, method), "explode",
                                                       ValueError))
    monkeypatch.setattr(EmbeddingStore, "rows", failing(EmbeddingStore.rows, "unlookable",
                                                        KeyError))
    real_build = attach_vectors.build_record_batch

    def build_failing_on_poison(entries, *args, **kwargs):
        # Batch entries are Segments or whole records of tokenized blocks (token_blocks).
        if any("poison" in segment.tokens for entry in entries
               for segment in entry_segments(entry)):
            raise RuntimeError("injected failure on 'poison'")
        return real_build(entries, *args, **kwargs)

    monkeypatch.setattr(attach_vectors, "build_record_batch", build_failing_on_poison)
    monkeypatch.setattr(write_results, "to_json_line", failing(
        write_results.to_json_line, "unformattable", TypeError))
    # beamtagger tag formats whole batches by their columns; a batch that fails there goes
    # record by record through to_json_line.
    real_json_lines = tagged_batches.json_lines_text

    def json_lines_failing_on_unformattable(tagged):
        if "unformattable" in tagged.column("id").to_pylist():
            raise TypeError("injected failure on a batch")
        return real_json_lines(tagged)

    monkeypatch.setattr(tagged_batches, "json_lines_text", json_lines_failing_on_unformattable)
    lines = [{"id": "good", "text": "a good record ."},
             {"id": "tokenize", "text": "explode here"},
             {"id": "lookup", "text": "an unlookable word"},
             {"id": "featurize", "text": "a poison word"},
             {"id": "stitch", "text": " ".join(["w1"] * 100 + ["poison"] + ["w2"] * 100)},
             {"id": "long", "text": " ".join(["w3"] * 200)},
             {"id": "unformattable", "text": "fine until it is written"}]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json_line(line) for line in lines), encoding="utf-8")
    model, store = tiny_model_and_store
    prefix = str(tmp_path / "out" / "r")
    code = cli.main(["tag", "--input", str(source), "--output", prefix, "--model", model,
                     "--embeddings", store, "--chunk", "64", "--overlap", "16",
                     "--progress-every", "0"])
    out, err = capfd.readouterr()
    assert code == 0 and "Traceback" not in err
    assert sorted(output_ids(prefix, "jsonl")) == ["good", "long"]
    stages = {posixpath.basename(letter["source"]): letter["stage"]
              for letter in dead_letters(prefix)}
    assert stages == {"in.jsonl:2": "tokenize", "in.jsonl:3": "lookup", "in.jsonl:4": "featurize",
                      "in.jsonl:5": "featurize", "in.jsonl:7": "format"}
    assert re.search(r"records tagged\s+2\n", out) and re.search(r"dead letters\s+5\n", out)


def json_line(value):
    return json.dumps(value) + "\n"
