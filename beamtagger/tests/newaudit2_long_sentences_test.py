"""A very long CoNLL-U sentence kept for CoNLL-U out (tens of thousands of words, a comment line
of megabytes): written back whole, or, past --max-record-chars, a dead letter holding all of
it; never cut short, never a file that lost it."""
import glob
import json

from beamtagger.tests.conftest import run_tag_command
from beamtagger.tests.conllu_passthrough_format_test import _without_tag_column, sentence_blocks
from beamtagger.transforms.records import TokenizedRecord
from beamtagger.transforms.tokenize import checked_record

WORDS = 20_000
COMMENT = "# note = " + "z" * 5_000_000
# Words of 3 to 6 characters: about 6 characters a word, a space between.
LONG = ("# sent_id = long\r\n" + COMMENT + "\r\n" + "".join(
    f"{i}\tw{i}\tw\tX\t_\t_\t0\tdep\t_\tA=b\r\n" for i in range(1, WORDS + 1)) + "\r\n")
SHORT = "# sent_id = short\n1\tok\tok\tX\t_\t_\t0\troot\t_\t_\n\n"
LONG_CHARS = sum(len(f"w{i}") for i in range(1, WORDS + 1)) + WORDS - 1


def _tag(capsys, tiny_tagger, tmp_path, *more):
    source = tmp_path / "in.conllu"
    source.write_bytes((SHORT + LONG).encode("utf-8"))
    prefix = str(tmp_path / "out")
    code, out, err = run_tag_command(
        capsys, "--input", str(source), "--input-format", "conllu", "--output-format",
        "conllu", "--tag-column", "upos", "--num-shards", "3", "--output", prefix, "--model",
        tiny_tagger.model_dir, "--embeddings", tiny_tagger.store_path, *more)
    assert code == 0, err
    written = "".join(open(path, encoding="utf-8", newline="").read()
                      for path in sorted(glob.glob(prefix + "-[0-9]*-of-00003.conllu")))
    letters = [json.loads(line) for path in glob.glob(prefix + "-errors-*.jsonl")
               for line in open(path, encoding="utf-8")]
    return out, written, letters


def test_a_long_sentence_with_a_long_comment_comes_back_whole(tiny_tagger, tmp_path, capsys):
    out, written, letters = _tag(capsys, tiny_tagger, tmp_path)
    assert letters == [] and "long records                1" in out
    assert sorted(_without_tag_column(block, "upos") for block in sentence_blocks(written)) == \
        sorted(_without_tag_column(block, "upos") for block in sentence_blocks(SHORT + LONG))


def test_past_max_record_chars_the_long_sentence_is_a_dead_letter_holding_all_its_words(
        tiny_tagger, tmp_path, capsys):
    # 20,000 words are 40,000 characters at least, and this limit lies above that: the count
    # was skipped for such a record (tokens * 2 within the limit), which was tagged.
    limit = 50_000
    assert WORDS * 2 < limit < LONG_CHARS
    out, written, letters = _tag(capsys, tiny_tagger, tmp_path, "--max-record-chars",
                                 str(limit))
    [letter] = letters
    assert letter["stage"] == "tokenize" and f"{LONG_CHARS:,} characters" in letter["reason"]
    assert letter["record"] == " ".join(f"w{i}" for i in range(1, WORDS + 1))
    assert [_without_tag_column(block, "upos") for block in sentence_blocks(written)] == [
        _without_tag_column(block, "upos") for block in sentence_blocks(SHORT)]


def test_tokens_longer_than_one_character_count_toward_the_limit():
    tokens = ("abc",) * 10
    record = TokenizedRecord("r", tokens, (0,) * 10, (3,) * 10, "s", None)
    assert checked_record(record, max_record_chars=39) is record
    assert checked_record(record, max_record_chars=38).stage == "tokenize"
