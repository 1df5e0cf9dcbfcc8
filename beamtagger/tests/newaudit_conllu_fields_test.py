"""A pass-through field named like the kept CoNLL-U lines (``conllu_lines``) in a JSON Lines
record is the user's, not lines to write back: CoNLL-U output writes such a record as its own
tokens and id (it was a format dead letter, or another sentence under another sent_id), and
only a writer asked to keep the lines (``WriteResults(keep_conllu_lines=True)``, which
``beamtagger tag`` asks for when input and output are both CoNLL-U) writes them back."""
import glob
import json
import pathlib

import pytest

from beamtagger.corpus_readers import read_conllu
from beamtagger.tests.conftest import run_tag_command
from beamtagger.tests.conllu_output_format_test import tagged
from beamtagger.tests.transforms_write_results_test import _run_format_fn
from beamtagger.transforms import write_results
from beamtagger.transforms.conllu_blocks import conllu_block
from beamtagger.transforms.conllu_kept_lines import KEPT_LINES_FIELD

# Lines of another sentence than the record's tokens, and a value that is no sentence at all.
OTHER_SENTENCE = "# sent_id = x\n1\tParis\t_\t_\t_\t_\t_\t_\t_\t_\n\n"
RECORDS = [{"id": "a", "text": "the cat sat", KEPT_LINES_FIELD: "not CoNLL-U"},
           {"id": "b", "text": "a dog", KEPT_LINES_FIELD: OTHER_SENTENCE}]


def test_a_json_lines_field_of_that_name_is_not_written_back(tmp_path, tiny_tagger, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(record) + "\n" for record in RECORDS),
                      encoding="utf-8")
    prefix = str(tmp_path / "out")
    code, out, err = run_tag_command(
        capsys, "--input", str(source), "--output", prefix, "--output-format", "conllu",
        "--tag-column", "upos", "--model", tiny_tagger.model_dir, "--embeddings",
        tiny_tagger.store_path, "--num-shards", "1")
    assert code == 0, err
    assert "dead letters                0" in out
    [errors] = glob.glob(prefix + "-errors-*")
    assert pathlib.Path(errors).read_text(encoding="utf-8") == ""
    [path] = glob.glob(prefix + "-[0-9]*-of-*.conllu")
    back = {s.sent_id: s.tokens for s in read_conllu(path, tag_column="upos")}
    assert back == {"a": ("the", "cat", "sat"), "b": ("a", "dog")}


@pytest.mark.parametrize("format_fn", [write_results.FormatResultFn,
                                       write_results._FormatRecordsFn])
def test_the_writer_writes_kept_lines_only_when_asked(format_fn):
    record = tagged("b", ["a", "dog"], ["X", "Y"])._replace(
        fields={KEPT_LINES_FIELD: OTHER_SENTENCE})
    rows, dead = _run_format_fn(format_fn("conllu", "upos"), [record])
    assert not dead
    assert "".join(row.decode() if isinstance(row, bytes) else row for row in rows) == \
        conllu_block(record, "upos")
    assert "# sent_id = b\n" in conllu_block(record, "upos")
    rows, dead = _run_format_fn(format_fn("conllu", "upos", keep_conllu_lines=True), [record])
    assert not rows and len(dead) == 1
    assert "kept CoNLL-U word 1 'Paris' is not its token 'a'" in dead[0].reason


def test_keeping_the_lines_is_refused_for_other_output_formats():
    with pytest.raises(ValueError, match="keep_conllu_lines applies to output_format "
                                         "'conllu' only, not 'jsonl'"):
        write_results.WriteResults("out", "jsonl", keep_conllu_lines=True)
