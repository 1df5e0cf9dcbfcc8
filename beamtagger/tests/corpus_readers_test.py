"""Tests for beamtagger.corpus_readers: real corpora counts, every malformed case, skipping."""
import collections
import inspect
import itertools

import pytest

from beamtagger.corpus_readers import (ReadStats, Sentence, parse_conll_lines, parse_conllu_lines,
                                       read_conll, read_conllu, read_corpus)
from beamtagger.errors import BeamtaggerError, InputFormatError

WNUT_TYPES = {"person", "location", "group", "creative-work", "corporation", "product"}

CONLLU = (
    "# newdoc id = doc1\n"
    "# sent_id = s1\n"
    "# text = Don't go.\n"
    "1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "1\tDo\tdo\tAUX\tVB\t_\t3\taux\t_\tNER=O\n"
    "2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_\n"
    "3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No|NER=B-X\n"
    "3.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t0:root\t_\n"
    "4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_\n"
    "\n"
    "1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n"
)


def write(tmp_path, text, name="corpus.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def numbered(text):
    return list(enumerate(text.splitlines(keepends=True), start=1))


# ---- real data ------------------------------------------------------------------------------

@pytest.mark.parametrize("split, sentences, words", [
    ("train", 12544, 204577),
    ("dev", 2001, 25147),
])
def test_ewt_counts_match_the_data_readme(shared_data, split, sentences, words):
    stats = ReadStats()
    tag_counts = collections.Counter()
    for sentence in read_conllu(shared_data / "ud-english-ewt" / f"en_ewt-ud-{split}.conllu",
                                stats=stats):
        assert len(sentence.tokens) == len(sentence.tags) > 0
        tag_counts.update(sentence.tags)
    assert (stats.sentences, stats.tokens, stats.skipped_sentences) == (sentences, words, 0)
    assert set(tag_counts) == {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM",
                               "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"}


def test_ewt_dev_first_sentence_keeps_sent_id_and_skips_ranges(shared_data):
    path = shared_data / "ud-english-ewt" / "en_ewt-ud-dev.conllu"
    first = next(read_conllu(path))
    assert first.sent_id == ("weblog-blogspot.com_nominations_20041117172713_ENG_20041117_172713"
                             "-0001")
    assert first.tokens == ("From", "the", "AP", "comes", "this", "story", ":")
    assert first.tags == ("ADP", "DET", "PROPN", "VERB", "DET", "NOUN", "PUNCT")
    assert (first.source, first.line) == (str(path), 5)
    # Contractions are multi-word tokens in EWT: the reader yields the words, never "didn't".
    tokens = {token for sentence in read_conllu(path) for token in sentence.tokens}
    assert "n't" in tokens and "didn't" not in tokens and "Don't" not in tokens


def test_ewt_xpos_column(shared_data):
    path = shared_data / "ud-english-ewt" / "en_ewt-ud-dev.conllu"
    first = next(read_conllu(path, tag_column="xpos"))
    assert first.tags == ("IN", "DT", "NNP", "VBZ", "DT", "NN", ":")


@pytest.mark.parametrize("name, sentences, tokens", [
    ("wnut17train.conll", 3394, 62730),
    ("emerging.dev.conll", 1009, 15733),
])
def test_wnut_counts_match_the_data_readme(shared_data, name, sentences, tokens):
    stats = ReadStats()
    tags = collections.Counter()
    for sentence in read_corpus(shared_data / "wnut17" / name, "conll", stats=stats):
        assert all(token.strip() for token in sentence.tokens)
        tags.update(sentence.tags)
    assert (stats.sentences, stats.tokens, stats.skipped_sentences) == (sentences, tokens, 0)
    assert {tag[2:] for tag in tags if tag != "O"} == WNUT_TYPES
    assert {tag[:2] for tag in tags if tag != "O"} == {"B-", "I-"}


def test_wnut_first_sentence(shared_data):
    path = shared_data / "wnut17" / "wnut17train.conll"
    first = next(read_conll(path))
    assert first.tokens[:3] == ("@paulwalk", "It", "'s")
    assert first.tokens[14:17] == ("Empire", "State", "Building")
    assert first.tags[14:17] == ("B-location", "I-location", "I-location")
    assert (first.sent_id, first.line) == ("wnut17train.conll:1", 1)


def test_readers_stream(shared_data):
    assert inspect.isgenerator(read_conllu(shared_data / "ud-english-ewt" / "en_ewt-ud-dev.conllu"))
    assert inspect.isgenerator(read_conll(shared_data / "wnut17" / "emerging.dev.conll"))


# ---- CoNLL-U on small written files ---------------------------------------------------------

def test_conllu_tag_columns_ranges_and_empty_nodes(tmp_path):
    path = write(tmp_path, CONLLU, "small.conllu")
    upos = list(read_conllu(path))
    assert upos == [
        Sentence("s1", ("Do", "n't", "go", "."), ("AUX", "PART", "VERB", "PUNCT"), str(path), 5),
        Sentence("small.conllu:11", ("Hi",), ("INTJ",), str(path), 11),
    ]
    assert [s.tags for s in read_conllu(path, tag_column="xpos")] == [
        ("VB", "RB", "VB", "."), ("UH",)]
    assert [s.tags for s in read_conllu(path, tag_column="misc:NER")] == [
        ("O", "_", "B-X", "_"), ("_",)]
    assert [s.tags for s in read_conllu(path, tag_column="misc:NER", missing_tag="O")] == [
        ("O", "O", "B-X", "O"), ("O",)]


def test_conllu_crlf_bom_and_whitespace_separators(tmp_path):
    text = "\ufeff" + CONLLU.replace("\n\n", "\n \t\n").replace("\n", "\r\n")
    sentences = list(read_conllu(write(tmp_path, text)))
    assert [s.tokens for s in sentences] == [("Do", "n't", "go", "."), ("Hi",)]


def test_conllu_comment_only_blocks_make_no_sentence(tmp_path):
    text = "# newdoc id = d\n\n\n" + CONLLU + "\n\n# trailing comment\n"
    assert len(list(read_conllu(write(tmp_path, text)))) == 2


@pytest.mark.parametrize("bad_line, problem", [
    ("1\tDo\tdo\tAUX\tVB\t_\t3\taux\t_", "expected 10 tab-separated columns, found 9"),
    ("1\tDo  do\tAUX\tVB\t_\t3\taux\t_\t_", "expected 10 tab-separated columns, found 9"),
    ("1\t\tdo\tAUX\tVB\t_\t3\taux\t_\t_", "empty token"),
    ("1\t \tdo\tAUX\tVB\t_\t3\taux\t_\t_", "empty token"),
    ("1\tDo\tdo\t\tVB\t_\t3\taux\t_\t_", "empty tag"),
    ("one\tDo\tdo\tAUX\tVB\t_\t3\taux\t_\t_", "'one' is not an integer"),
    ("1.5.2\tDo\tdo\tAUX\tVB\t_\t3\taux\t_\t_", "is not an integer"),
    ("2\tDo\tdo\tAUX\tVB\t_\t3\taux\t_\t_", "word id 2 out of order (expected 1)"),
    ("0\tDo\tdo\tAUX\tVB\t_\t3\taux\t_\t_", "word id 0 out of order (expected 1)"),
    ("2-3\tDon't\t_\t_\t_\t_\t_\t_\t_\t_", "range 2-3 out of order"),
    ("1-1\tDon't\t_\t_\t_\t_\t_\t_\t_\t_", "range 1-1 out of order"),
    ("1.1\tDo\tdo\tAUX\tVB\t_\t3\taux\t_\t_", "empty node 1.1 out of order"),
])
def test_conllu_malformed_line_names_file_line_and_problem(tmp_path, bad_line, problem):
    good = "1\tA\ta\tDET\tDT\t_\t0\troot\t_\t_\n"
    text = f"# sent_id = ok\n{good}\n# sent_id = bad\n{bad_line}\n2\tB\tb\tX\tX\t_\t1\tdep\t_\t_\n"
    path = write(tmp_path, text)
    with pytest.raises(InputFormatError) as raised:
        list(read_conllu(path))
    assert (raised.value.source, raised.value.line) == (str(path), 5)
    assert problem in raised.value.problem
    assert str(raised.value).startswith(f"{path}:5: ")


def test_conllu_repeated_word_id_is_out_of_order(tmp_path):
    line = "1\tA\ta\tDET\tDT\t_\t0\troot\t_\t_\n"
    with pytest.raises(InputFormatError, match=r":2: word id 1 out of order \(expected 2\)"):
        list(read_conllu(write(tmp_path, line + line)))


def test_conllu_bad_utf8(tmp_path):
    text = (b"1\tA\ta\tDET\tDT\t_\t0\troot\t_\t_\n\n"
            b"1\tcaf\xe9\tcafe\tNOUN\tNN\t_\t0\troot\t_\t_\n")
    with pytest.raises(InputFormatError, match=r":3: not valid UTF-8"):
        list(read_conllu(write(tmp_path, text)))


@pytest.mark.parametrize("encoding, mark", [("utf-16-le", b""), ("utf-16-be", b""),
                                            ("utf-32-le", b""), ("utf-16-le", b"\xff\xfe")])
def test_a_corpus_in_utf16_or_utf32_is_one_error_naming_the_encoding(tmp_path, encoding, mark):
    # It was "expected 10 tab-separated columns, found 1" without a mark, "not valid UTF-8
    # (byte 0...)" with one: errors pointing away from the cause.
    text = "# sent_id = a\n1\tHello\thello\tINTJ\tUH\t_\t0\troot\t_\t_\n\n"
    path = write(tmp_path, mark + text.encode(encoding), name="corpus.conllu")
    named = "UTF-16" if mark else encoding.upper().replace("-LE", "LE").replace("-BE", "BE")
    with pytest.raises(BeamtaggerError, match=rf"^cannot read .*corpus.conllu: the file is "
                       rf"{named} .*, not UTF-8, so none of its lines was read; convert it to "
                       rf"UTF-8 \(iconv -f {named} -t UTF-8\)$"):
        list(read_conllu(path))
    with pytest.raises(BeamtaggerError, match=rf"the file is {named} "):
        list(read_conll(path))


@pytest.mark.parametrize("encoding", ["UTF-16LE", "UTF-16BE"])
def test_a_chinese_corpus_in_utf16_without_a_mark_is_one_error_naming_the_encoding(tmp_path,
                                                                                  encoding):
    # Its NULs are those of the tabs, digits and newlines only: it was "not valid UTF-8".
    text = "# sent_id = a\n1\t北京\t北京\tPROPN\tNNP\t_\t0\troot\t_\t_\n\n" * 20
    path = write(tmp_path, text.encode(encoding.lower().replace("16", "-16-")),
                 name="corpus.conllu")
    with pytest.raises(BeamtaggerError, match=rf"^cannot read .*corpus.conllu: the file is "
                       rf"{encoding} without a byte-order mark .*, not UTF-8, so none of its "
                       rf"lines was read; convert it to UTF-8 \(iconv -f {encoding} -t UTF-8\)$"):
        list(read_conllu(path))


def test_conllu_skip_counts_bad_sentences(tmp_path):
    good = "1\tA\ta\tDET\tDT\t_\t0\troot\t_\t_\n2\tB\tb\tNOUN\tNN\t_\t1\tdep\t_\t_\n"
    text = (f"# sent_id = g1\n{good}\n"
            f"# sent_id = b1\n1\tX\tx\tX\n2\tY\ty\tX\tX\t_\t1\tdep\t_\t_\n\n"
            f"# sent_id = g2\n{good}\n").encode() + (
            b"# sent_id = b2\n1\t\xff\tx\tX\tX\t_\t0\troot\t_\t_\n\n") + (
            f"# sent_id = b3\n2\tA\ta\tDET\tDT\t_\t0\troot\t_\t_\n\n"
            f"# sent_id = g3\n{good}").encode()
    path = write(tmp_path, text)
    stats = ReadStats()
    sentences = list(read_conllu(path, on_error="skip", stats=stats))
    assert [s.sent_id for s in sentences] == ["g1", "g2", "g3"]
    assert (stats.sentences, stats.tokens, stats.skipped_sentences) == (3, 6, 3)
    assert [error.line for error in stats.errors] == [6, 14, 17]
    # Skipping without a ReadStats is allowed too.
    assert len(list(read_conllu(path, on_error="skip"))) == 3


def test_conllu_options_are_checked_before_reading(tmp_path):
    missing = tmp_path / "missing.conllu"
    for tag_column in ("lemma", "misc:", "MISC:NER", 3):
        with pytest.raises(BeamtaggerError, match="tag column"):
            read_conllu(missing, tag_column=tag_column)
    with pytest.raises(BeamtaggerError, match="on_error"):
        read_conllu(missing, on_error="ignore")
    with pytest.raises(BeamtaggerError, match="format"):
        read_corpus(missing, "tsv")
    with pytest.raises(BeamtaggerError, match=r"cannot read .*missing\.conllu"):
        list(read_conllu(missing))


def test_parse_conllu_lines_takes_bytes_or_str():
    from_str = list(parse_conllu_lines(numbered(CONLLU), "gs://bucket/part-0.conllu"))
    from_bytes = list(parse_conllu_lines(
        [(n, line.encode()) for n, line in numbered(CONLLU)], "gs://bucket/part-0.conllu"))
    assert from_str == from_bytes
    assert [s.sent_id for s in from_str] == ["s1", "part-0.conllu:11"]
    assert from_str[0].source == "gs://bucket/part-0.conllu"


def test_parse_conllu_lines_is_lazy():
    def endless():
        for start in itertools.count(1, 2):
            yield start, "1\tA\ta\tDET\tDT\t_\t0\troot\t_\t_\n"
            yield start + 1, "\n"
    first_three = list(itertools.islice(parse_conllu_lines(endless(), "stream"), 3))
    assert [s.line for s in first_three] == [1, 3, 5]


# ---- two-column CoNLL on small written files ------------------------------------------------

def test_conll_separators_docstart_and_spaces(tmp_path):
    text = ("-DOCSTART- -X- O O\n\n"
            "EU\tB-ORG\nrejects O\n \t \n"
            "New   B-LOC\nYork\tI-LOC\n\t\n\n  \n"
            "-DOCSTART-\tO\n"
            "a b\tO\n")
    path = write(tmp_path, text, "x.conll")
    assert list(read_conll(path)) == [
        Sentence("x.conll:3", ("EU", "rejects"), ("B-ORG", "O"), str(path), 3),
        Sentence("x.conll:6", ("New", "York"), ("B-LOC", "I-LOC"), str(path), 6),
        Sentence("x.conll:12", ("a b",), ("O",), str(path), 12),
    ]


def test_a_docstart_token_inside_a_block_is_a_token_as_tag_reads_it(tmp_path):
    # tag's own CoNLL output of the text "-DOCSTART- here": read by evaluate and train, the
    # record vanished and its last token became a sentence of its own.
    text = ("# id = t.txt:1\n-DOCSTART-\tX\nhere\tADV\n\n"
            "# id = t.txt:2\nsay\tVERB\n-DOCSTART-\tX\n\n"
            "-DOCSTART- -X- O O\n\nlast\tADJ\n")
    path = write(tmp_path, text, "own.conll")
    assert [(s.sent_id, s.tokens) for s in read_conll(path)] == [
        ("t.txt:1", ("-DOCSTART-", "here")), ("t.txt:2", ("say", "-DOCSTART-")),
        ("own.conll:11", ("last",))]


@pytest.mark.parametrize("bad_line, problem", [
    ("EU\tB-ORG\tNNP", "expected 2 columns"),
    ("EU B-ORG NNP", "expected 2 columns"),
    ("EU", "expected 2 columns"),
    ("\tB-ORG", "empty token"),
    (" \tO", "empty token"),
    ("EU\t", "empty tag"),
])
def test_conll_malformed_line(tmp_path, bad_line, problem):
    path = write(tmp_path, f"a\tO\n\nb\tO\n{bad_line}\n")
    with pytest.raises(InputFormatError) as raised:
        list(read_conll(path))
    assert (raised.value.source, raised.value.line) == (str(path), 4)
    assert problem in raised.value.problem


def test_conll_bad_utf8_and_skip_with_count(tmp_path):
    text = b"a\tO\nb\tO\n\nc\xc3\tO\nd\tO\n\ne\tO\n\nf\tO\tX\n\ng\tB-X\n"
    path = write(tmp_path, text)
    with pytest.raises(InputFormatError, match=r":4: not valid UTF-8"):
        list(read_conll(path))
    stats = ReadStats()
    sentences = list(read_conll(path, on_error="skip", stats=stats))
    assert [s.tokens for s in sentences] == [("a", "b"), ("e",), ("g",)]
    assert (stats.sentences, stats.tokens, stats.skipped_sentences) == (3, 4, 2)
    assert [(error.line, type(error)) for error in stats.errors] == [(4, InputFormatError),
                                                                     (9, InputFormatError)]


def test_parse_conll_lines_on_lines_already_read():
    lines = [(10, b"a\tO\n"), (11, b"b\tB-X\n"), (12, b"\t\n"), (13, "c O")]
    assert list(parse_conll_lines(lines, "mem")) == [
        Sentence("mem:10", ("a", "b"), ("O", "B-X"), "mem", 10),
        Sentence("mem:13", ("c",), ("O",), "mem", 13),
    ]


def test_select_sentences_is_a_python_slice_with_clear_errors():
    from beamtagger.corpus_readers import select_sentences
    from beamtagger.errors import BeamtaggerError

    items = list(range(10))
    assert select_sentences(items, ":4") == [0, 1, 2, 3]
    assert select_sentences(items, "4:") == [4, 5, 6, 7, 8, 9]
    assert select_sentences(items, " 2 : 5 ") == [2, 3, 4]
    assert select_sentences(items, "-3:") == [7, 8, 9]
    # The two parts of a split are disjoint and cover the corpus.
    assert select_sentences(items, ":6") + select_sentences(items, "6:") == items
    for bad in ("4", "a:b", "1:2:3", ""):
        with pytest.raises(BeamtaggerError, match="expected START:END"):
            select_sentences(items, bad, "dev")
    with pytest.raises(BeamtaggerError, match="select none of the 10"):
        select_sentences(items, "20:")
    # Beyond the 4,300 digits Python's int() takes (a ValueError traceback before): still a
    # slice, found by fuzzing evaluate --sentences and train --dev-sentences.
    many = "9" * 5000
    assert select_sentences(items, f":{many}") == items
    assert select_sentences(items, f"-{many}:2") == [0, 1]
    with pytest.raises(BeamtaggerError, match="select none of the 10"):
        select_sentences(items, f"{many}:")
    # Leading zeros count for nothing, as in int(): 19 or more characters of a small index
    # were read as the largest one ('0...05:' selected none, '-0...03:' all).
    assert select_sentences(items, f"{'0' * 30}5:{'0' * 5000}7") == [5, 6]
    assert select_sentences(items, f"-{'0' * 30}3:") == [7, 8, 9]
