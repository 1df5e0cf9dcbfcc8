"""--max-dead-letters on its unhappy paths (audit): percentages at the limit, shares too small
for one decimal, the ways a percentage is written, and standard input and output."""
import pytest

from beamtagger.pipeline.tag_summary import DeadLetterLimit, dead_letter_limit
from beamtagger.tests.conftest import run_tag_command


@pytest.mark.parametrize("limit, dead, read", [("0.57%", 57, 10_000), ("0.29%", 290, 100_000),
                                               ("1.13%", 113, 10_000)])
def test_dead_letters_at_a_percentage_limit_are_not_over_it(limit, dead, read):
    # In floats each limit came to a hair under the count (56.99999999999999): exit 3.
    assert not dead_letter_limit(limit).exceeded(dead, read)
    assert dead_letter_limit(limit).exceeded(dead + 1, read)


@pytest.mark.parametrize("text, shown", [("0.001%", "0.001%"), ("1e-3%", "0.001%"),
                                         (" 5 %", "5%"), ("0%", "0%"), ("100%", "100%"),
                                         ("7", "7")])
def test_a_limit_is_read_as_written(text, shown):
    assert str(dead_letter_limit(text)) == shown


@pytest.mark.parametrize("text", ["1/3%", "inf%", "-0.1%", "5%%", "%"])
def test_what_is_no_percentage_is_refused(text):
    with pytest.raises(Exception, match="give a count of records"):
        dead_letter_limit(text)


@pytest.mark.parametrize("dead, read, share", [(100, 1_000_000, "0.01%"), (1, 3, "33.3%"),
                                               (3, 3, "100%"), (1, 1_000_000, "0.0001%")])
def test_the_message_shows_a_share_that_can_be_compared_with_the_limit(dead, read, share):
    # One decimal showed 100 of 1,000,000 as "(0.0%), more than --max-dead-letters 0.001%".
    message = dead_letter_limit("0.00001%").message(dead, read)
    assert f"could not be tagged ({share}), more than --max-dead-letters 1e-05%" in message


def test_no_record_read_is_no_dead_letter_over_a_zero_limit():
    assert not DeadLetterLimit(0, True).exceeded(0, 0)
    assert not dead_letter_limit("0%").exceeded(0, 0)


def test_standard_input_and_output_keep_the_exit_status_and_the_results(
        capsys, monkeypatch, tmp_path, tiny_tagger):
    import io
    import sys

    text = "The cat sat .\n" + "x" * 50 + "\nA dog ran .\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8"))))
    code, out, err = run_tag_command(
        capsys, "--input", "-", "--output", "-", "--model", tiny_tagger.model_dir,
        "--embeddings", tiny_tagger.store_path, "--max-record-chars", "20",
        "--max-dead-letters", "30%")
    assert code == 3, err
    assert len(out.splitlines()) == 2   # the two records tagged, on standard output
    assert '"source": "stdin:2"' in err
    assert err.strip().splitlines()[-1].startswith("beamtagger tag: 1 of the 3 records read")
