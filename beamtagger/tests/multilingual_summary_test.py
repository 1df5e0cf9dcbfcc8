"""The summary of a run whose text is not in its store's language says so under its OOV count."""
import json

from beamtagger.tests.conftest import run_tag_command

_NOTE = "(over 25%: is the text in the store's language? docs/tokenizer.md"


def _summary(capsys, tmp_path, tiny_tagger, text, *options):
    (tmp_path / "in.txt").write_text(text, encoding="utf-8")
    code, out, err = run_tag_command(capsys, "--model", tiny_tagger.model_dir, "--embeddings",
                                     tiny_tagger.store_path, "--input", str(tmp_path / "in.txt"),
                                     "--output", str(tmp_path / "out" / "run"), *options)
    assert code == 0, err
    return out.splitlines()


def test_text_of_another_script_gets_a_note_under_its_oov_count(capsys, tmp_path, tiny_tagger):
    # Before: "OOV tokens  120  (100.0% of batched tokens)" and nothing else said; then a note
    # that "English text has 2-3%", which a store of the user's own (this one: the tiny
    # tagger's) does not say: the note names no language and no share of its own.
    lines = _summary(capsys, tmp_path, tiny_tagger, "Αύριο θα πάμε στη θάλασσα με το τρένο\n" * 15,
                     "--summary-json", str(tmp_path / "summary.json"))
    at = next(index for index, line in enumerate(lines) if line.startswith("OOV tokens"))
    assert lines[at + 1].strip().startswith(_NOTE), lines
    # The note is the summary's words; --summary-json carries the share's two counts, the
    # share and whether the note was printed.
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["oov_tokens"] == summary["batched_tokens"] == 120, summary
    assert (summary["oov_share"], summary["oov_note"]) == (1.0, True), summary


def test_several_models_give_the_note_once_and_in_each_models_summary(capsys, tmp_path,
                                                                       tiny_tagger):
    lines = _summary(capsys, tmp_path, tiny_tagger, "Αύριο θα πάμε στη θάλασσα με το τρένο\n" * 15,
                     "--model", f"one={tiny_tagger.model_dir}", "--model",
                     f"two={tiny_tagger.model_dir}", "--summary-json",
                     str(tmp_path / "summary.json"))
    assert [line.strip()[:len(_NOTE)] for line in lines if "docs/tokenizer.md" in line] == [
        _NOTE], lines
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    for part in (summary, *summary["models"].values()):
        assert (part["oov_share"], part["oov_note"]) == (1.0, True), summary


def test_english_text_and_a_short_run_get_none(capsys, tmp_path, tiny_tagger):
    for text in ["the , the . the\n" * 40, "Αύριο θα πάμε στη θάλασσα\n" * 4]:
        folder = tmp_path / str(len(text))
        folder.mkdir()
        lines = _summary(capsys, folder, tiny_tagger, text, "--summary-json",
                         str(folder / "summary.json"))
        assert any(line.startswith("OOV tokens") for line in lines), lines
        assert not any("docs/tokenizer.md" in line for line in lines), lines
        assert json.loads((folder / "summary.json").read_text())["oov_note"] is False
