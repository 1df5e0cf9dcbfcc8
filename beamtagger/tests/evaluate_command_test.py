"""``beamtagger evaluate`` on a model trained by ``train_command_test``'s fixtures."""
import json
import shutil

import pytest

from beamtagger.pipeline import cli

pytest.importorskip("tensorflow")


def evaluate(capsys, *args):
    code = cli.main(["evaluate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_metrics(upos_model, ewt_slices, subset_store, capsys):
    code, out, _ = evaluate(capsys, "--model", str(upos_model), "--embeddings", subset_store,
                            "--data", ewt_slices[1], "--format", "conllu", "--json")
    assert code == 0
    metrics = json.loads(out)
    assert metrics["sentences"] == 60
    assert metrics["tokens"] == metrics["in_vocabulary_tokens"] + metrics["oov_tokens"]
    assert metrics["oov_tokens"] > 0
    assert 0.5 < metrics["accuracy"] <= 1.0  # 17 labels: chance is far below
    assert set(metrics["per_label"]) >= {"NOUN", "VERB", "PUNCT"}
    assert "entities" not in metrics  # UPOS is not a BIO label set
    report = json.loads((upos_model / "training_report.json").read_text())
    # The saved model is the best epoch's: evaluate reproduces the dev score training recorded.
    best = max(epoch["dev_accuracy"] for epoch in report["epochs"])
    assert metrics["accuracy"] == pytest.approx(best, abs=1e-9)


def test_unseen_forms_and_genres_are_scored(upos_model, ewt_slices, subset_store, capsys):
    from beamtagger.corpus_readers import read_corpus
    from beamtagger.model.tagger_spec import TaggerSpec

    code, out, _ = evaluate(capsys, "--model", str(upos_model), "--embeddings", subset_store,
                            "--data", ewt_slices[1], "--json", "--by-sent-id-prefix")
    assert code == 0
    metrics = json.loads(out)
    train_forms = {t for s in read_corpus(ewt_slices[0], "conllu") for t in s.tokens}
    dev = list(read_corpus(ewt_slices[1], "conllu"))
    unseen = sum(t not in train_forms for s in dev for t in s.tokens)
    assert metrics["unseen_form_tokens"] == unseen > 0
    assert 0 <= metrics["unseen_form_accuracy"] < metrics["accuracy"]
    spec = TaggerSpec.load(upos_model)
    assert spec.seen_in_training(["the", "Qzxwvbq"]).tolist() == [True, False]
    groups = metrics["groups"]
    assert sum(g["tokens"] for g in groups.values()) == metrics["tokens"]
    assert set(groups) == {s.sent_id.split("-")[0] for s in dev}
    code, out, _ = evaluate(capsys, "--model", str(upos_model), "--embeddings", subset_store,
                            "--data", ewt_slices[1], "--by-sent-id-prefix")
    assert "form unseen in training" in out and next(iter(groups)) in out


def test_text_report(upos_model, ewt_slices, subset_store, capsys):
    code, out, _ = evaluate(capsys, "--model", str(upos_model), "--embeddings", subset_store,
                            "--data", ewt_slices[1])
    assert code == 0
    assert "token accuracy" in out and "out of vocabulary" in out and "NOUN" in out


def test_tag_unknown_to_the_model_is_reported_and_counted(upos_model, ewt_slices, subset_store,
                                                          tmp_path, capsys):
    text = open(ewt_slices[1], encoding="utf-8").read()
    marked = tmp_path / "dev.conllu"
    marked.write_text(text.replace("\tNOUN\t", "\tNOUNISH\t", 3), encoding="utf-8")
    code, out, err = evaluate(capsys, "--model", str(upos_model), "--embeddings", subset_store,
                              "--data", str(marked), "--json")
    assert code == 0
    assert "NOUNISH" in err and "counted as errors" in err
    metrics = json.loads(out)
    assert metrics["unknown_tags"] == {"NOUNISH": 3}
    assert metrics["per_label"]["NOUNISH"]["recall"] == 0.0


def test_store_of_another_build_is_refused_unless_allowed(upos_model, ewt_slices, subset_store,
                                                          tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(subset_store, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["fingerprint"] = "0" * 64
    (other / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = evaluate(capsys, "--model", str(upos_model), "--embeddings", str(other),
                            "--data", ewt_slices[1])
    assert code == 2 and "--allow-other-embeddings" in err and "Traceback" not in err
    code, out, _ = evaluate(capsys, "--model", str(upos_model), "--embeddings", str(other),
                            "--data", ewt_slices[1], "--allow-other-embeddings", "--json")
    assert code == 0 and json.loads(out)["tokens"] > 0


def test_store_of_another_normalisation_is_refused(upos_model, ewt_slices, subset_store,
                                                   tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(subset_store, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["normalization"] = ["lower"]
    (other / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = evaluate(capsys, "--model", str(upos_model), "--embeddings", str(other),
                            "--data", ewt_slices[1], "--allow-other-embeddings")
    assert code == 2 and "normalisation" in err


def test_missing_model_and_empty_data_are_clear_errors(upos_model, subset_store, tmp_path, capsys):
    code, _, err = evaluate(capsys, "--model", str(tmp_path / "nope"), "--embeddings",
                            subset_store, "--data", str(tmp_path / "x.conllu"))
    assert code == 2 and "does not exist" in err
    (tmp_path / "empty.conll").write_text("\n\n")
    code, _, err = evaluate(capsys, "--model", str(upos_model), "--embeddings", subset_store,
                            "--data", str(tmp_path / "empty.conll"), "--format", "conll")
    assert code == 2 and "holds no sentences" in err and "Traceback" not in err


def test_a_batch_budget_below_one_token_is_refused_before_any_data_is_read(tmp_path, capsys):
    code, _, err = evaluate(capsys, "--data", str(tmp_path / "x.conllu"), "--batch-tokens", "0")
    assert code == 2 and "--batch-tokens must be at least 1, not 0" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("edit, message", [
    (lambda spec: spec["labels"].remove("NOUN"),
     "num_outputs is 17 in the model file, but tagger.json needs 16 for its 16 labels"),
    (lambda spec: spec["labels"].append("ZZZ"),
     "num_outputs is 17 in the model file, but tagger.json needs 18 for its 18 labels"),
    (lambda spec: spec["featurizer"].update(oov_buckets=1000),
     "num_extra_rows is 1031 in the model file, but tagger.json needs 1007"),
    # With the scores a CRF head records (without them tagger.json alone is refused).
    (lambda spec: (spec.update(head="crf"), spec["decoding"].update(crf={
        "start": [0.0] * 17, "end": [0.0] * 17, "transitions": [[0.0] * 17] * 17})),
     "head is 'softmax' in the model file, but tagger.json needs 'crf'"),
    (lambda spec: spec["featurizer"].update(char_vocab=spec["featurizer"]["char_vocab"][1:]),
     "char_vocab_size is"),
], ids=["label-removed", "label-added", "oov-buckets", "head", "char-vocab"])
def test_a_tagger_json_edited_away_from_its_model_file_is_refused(edit, message, upos_model,
                                                                   ewt_slices, subset_store,
                                                                   tmp_path, capsys):
    # tagger.json's model_config still matched the model file, so the labels after a removed
    # one were shifted by one with exit 0.
    from beamtagger.model.saving import check_model_file
    from beamtagger.model.tagger_spec import DEFAULT_MODEL_DIR, TaggerSpec

    for untouched in (DEFAULT_MODEL_DIR, upos_model):
        check_model_file(TaggerSpec.load(untouched))
    edited = tmp_path / "edited"
    shutil.copytree(upos_model, edited)
    spec = json.loads((edited / "tagger.json").read_text())
    edit(spec)
    # As a model saved before tagger.json recorded its own digest, which refuses any edit:
    # these checks against the model file are what such a model has.
    del spec["content_sha256"]
    (edited / "tagger.json").write_text(json.dumps(spec))
    code, out, err = evaluate(capsys, "--model", str(edited), "--embeddings", subset_store,
                              "--data", ewt_slices[1])
    assert code == 2 and "does not belong to the tagger.json beside it" in err, err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert out == ""


def test_a_tagger_json_holding_no_object_is_one_line(upos_model, ewt_slices, subset_store,
                                                     tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(upos_model, broken)
    (broken / "tagger.json").write_text("[]")
    code, _, err = evaluate(capsys, "--model", str(broken), "--embeddings", subset_store,
                            "--data", ewt_slices[1])
    assert code == 2 and "tagger.json is corrupt: it holds a JSON array, not an object" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    (broken / "tagger.json").write_text((upos_model / "tagger.json").read_text())
    (broken / "training_forms.npy").write_bytes(b"")
    code, _, err = evaluate(capsys, "--model", str(broken), "--embeddings", subset_store,
                            "--data", ewt_slices[1])
    assert code == 2 and f"{broken / 'training_forms.npy'} is damaged" in err, err


def test_a_corpus_none_of_whose_tags_the_model_knows_is_refused(tiny_tagger, tmp_path, capsys):
    # The UPOS tagger on WNUT-17 (or EWT with --tag-column xpos): a warning, a report of 0.00%
    # everywhere and exit 0, which a script reads as a score.
    data = tmp_path / "ner.conll"
    data.write_text("Paris\tB-LOC\nis\tO\nnice\tO\n\nBob\tB-PER\n\n", encoding="utf-8")
    code, out, err = evaluate(capsys, "--model", tiny_tagger.model_dir, "--embeddings",
                              tiny_tagger.store_path, "--data", str(data), "--format", "conll")
    assert code == 2 and out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert "none of its tags is a label of the model" in err
    assert "'B-LOC', 'O', 'B-PER'" in err and "DET, NOUN, PUNCT, VERB" in err


def test_a_corpus_in_utf16_is_one_line_naming_its_encoding(tiny_tagger, tmp_path, capsys):
    data = tmp_path / "dev.conll"
    data.write_bytes("Paris\tNOUN\nis\tVERB\n\n".encode("utf-16-le"))
    code, out, err = evaluate(capsys, "--model", tiny_tagger.model_dir, "--embeddings",
                              tiny_tagger.store_path, "--data", str(data), "--format", "conll")
    assert code != 0 and out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert "the file is UTF-16LE without a byte-order mark" in err
    assert "(iconv -f UTF-16LE -t UTF-8)" in err


def test_groups_by_sent_id_prefix_need_sent_ids(tiny_tagger, tmp_path, capsys):
    # Sentences without a sent_id are named "file:line": the report listed one group a
    # sentence (1,009 lines for WNUT-17 dev) with exit 0.
    data = tmp_path / "dev.conll"
    data.write_text("The\tDET\ndog\tNOUN\n\n# id = a-1\nA\tDET\ncat\tNOUN\n\n", encoding="utf-8")
    code, out, err = evaluate(capsys, "--model", tiny_tagger.model_dir, "--embeddings",
                              tiny_tagger.store_path, "--data", str(data), "--format", "conll",
                              "--by-sent-id-prefix")
    assert code == 2 and out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert "1 of the 2 sentences" in err and "no sent_id" in err and "line 1" in err
    code, out, _ = evaluate(capsys, "--model", tiny_tagger.model_dir, "--embeddings",
                            tiny_tagger.store_path, "--data", str(data), "--format", "conll",
                            "--by-sent-id-prefix", "--sentences", "1:", "--json")
    groups = json.loads(out)["groups"]
    assert code == 0 and list(groups) == ["a"] and groups["a"]["tokens"] == 2
