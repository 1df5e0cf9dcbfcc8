"""The summary of a run whose text is not English says so under its OOV count."""
from beamtagger.tests.conftest import run_tag_command

_NOTE = "(English text has 2-3%: another language? docs/tokenizer.md"


def _summary(capsys, tmp_path, tiny_tagger, text):
    (tmp_path / "in.txt").write_text(text, encoding="utf-8")
    code, out, err = run_tag_command(capsys, "--model", tiny_tagger.model_dir, "--embeddings",
                                     tiny_tagger.store_path, "--input", str(tmp_path / "in.txt"),
                                     "--output", str(tmp_path / "out" / "run"))
    assert code == 0, err
    return out.splitlines()


def test_text_of_another_script_gets_a_note_under_its_oov_count(capsys, tmp_path, tiny_tagger):
    # Before: "OOV tokens  120  (100.0% of batched tokens)" and nothing else said.
    lines = _summary(capsys, tmp_path, tiny_tagger, "Αύριο θα πάμε στη θάλασσα με το τρένο\n" * 15)
    at = next(index for index, line in enumerate(lines) if line.startswith("OOV tokens"))
    assert lines[at + 1].strip().startswith(_NOTE), lines


def test_english_text_and_a_short_run_get_none(capsys, tmp_path, tiny_tagger):
    for text in ["the , the . the\n" * 40, "Αύριο θα πάμε στη θάλασσα\n" * 4]:
        (tmp_path / str(len(text))).mkdir()
        lines = _summary(capsys, tmp_path / str(len(text)), tiny_tagger, text)
        assert any(line.startswith("OOV tokens") for line in lines), lines
        assert not any(_NOTE in line for line in lines), lines
