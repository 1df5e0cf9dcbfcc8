"""A corpus of hostile input files, the kinds real collections contain, for ``beamtagger tag``.

``write_corpus(folder)`` writes one sub-folder per input format (``text``, ``jsonl``, ``conll``,
``conllu``; the 2 MB lines, slow to tokenize, apart in ``text-big`` and ``jsonl-big``) and
returns, per file, how many records it holds: every one of them must come out of
a run either tagged or as a dead letter. Compressed files that are cut or corrupt hold
``damaged=True`` instead of a count: their records up to the damage come out, plus one dead
letter naming the line where the file broke.

Records with an explicit id carry one the test can tell apart (``explicit_ids``: the id as the
output writes it -> file name); all others get beamtagger's "<file name>:<line>" id.
"""
import bz2
import dataclasses
import gzip
import json
from typing import Dict, List, Optional

# Characters that break naive pipelines: zero-width, bidi controls, BOM mid-text, NUL, line and
# paragraph separators, combining marks, a non-BMP emoji, a private-use character.
ODD_CHARACTERS = ["\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\x00", "\u2028", "\u2029",
                  "e\u0301", "\U0001F600", "\ue000", "\x85", "\x0b", "\x0c", "\x1c"]
BIG_LINE_BYTES = 2 * 1000 * 1000


@dataclasses.dataclass
class HostileFile:
    name: str                   # relative to its folder
    input_format: str
    records: Optional[int]      # records in the file; None when damaged
    damaged: bool = False
    folder: str = ""            # the format's folder, or "<format>-big" for the 2 MB lines


@dataclasses.dataclass
class HostileCorpus:
    files: List[HostileFile]
    explicit_ids: Dict[str, str]   # id as written in the output -> file name

    def in_folder(self, folder):
        return [f for f in self.files if f.folder == folder]


class _Writer:
    def __init__(self, folder):
        self.folder = folder
        self.files = []
        self.explicit_ids = {}

    def write(self, input_format, name, lines, records=None, compress=None, damage=None,
              newline=b"\n", folder=None):
        """Writes ``lines`` (bytes each) as one file; ``records`` defaults to one a line."""
        data = b"".join(line + newline for line in lines)
        if compress == "gz":
            data = gzip.compress(data)
        elif compress == "bz2":
            data = bz2.compress(data)
        if damage == "truncate":
            data = data[:len(data) * 3 // 5]
        elif damage == "corrupt":
            middle = bytearray(data)
            for i in range(len(middle) // 2, len(middle) // 2 + 64):
                middle[i] ^= 0x5A
            data = bytes(middle)
        folder = folder or input_format
        (self.folder / folder).mkdir(parents=True, exist_ok=True)
        (self.folder / folder / name).write_bytes(data)
        self.files.append(HostileFile(name, input_format, None if damage else (
            len(lines) if records is None else records), damaged=bool(damage), folder=folder))

    def explicit_id(self, name, written_id, *more_written_forms):
        for form in (written_id,) + more_written_forms:
            self.explicit_ids[form] = name


def _plain_lines(count, prefix="line"):
    return [f"{prefix} {i}: the quick brown fox jumps over the lazy dog .".encode()
            for i in range(count)]


def _text_files(writer):
    invalid = []
    word = "naïve café".encode("utf-8")
    for position in range(len(word) + 1):  # an invalid byte at every position of the line
        invalid.append(word[:position] + b"\xff" + word[position:])
    invalid += [b"cut \xc3", b"\xe2\x82 cut three-byte", b"overlong \xc0\xaf",
                b"encoded surrogate \xed\xa0\x80", b"\x80 continuation first",
                b"beyond U+10FFFF \xf4\x90\x80\x80"]
    writer.write("text", "invalid_utf8.txt", invalid)
    odd = [f"odd{c}character{c} here".encode("utf-8", "surrogatepass") for c in ODD_CHARACTERS]
    odd += [b"", b"   ", b"\t\t", b"\x00\x00", "\u200b\u200b".encode(), b"a\rb lone carriage",
            "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 mixed RTL".encode()]
    writer.write("text", "odd_characters.txt", [b"\xef\xbb\xbf" + odd[0]] + odd[1:])
    writer.write("text", "crlf.txt", _plain_lines(5), newline=b"\r\n")
    last = _plain_lines(3)
    (writer.folder / "text").mkdir(parents=True, exist_ok=True)
    (writer.folder / "text" / "no_final_newline.txt").write_bytes(b"\n".join(last))
    writer.files.append(HostileFile("no_final_newline.txt", "text", 3, folder="text"))
    writer.write("text", "empty.txt", [], records=0)
    writer.write("text", "big_lines.txt", [
        (b"w" * 49 + b" ") * (BIG_LINE_BYTES // 50),   # 2 MB of words
        b"x" * BIG_LINE_BYTES,                          # 2 MB without a space
        b"short line after them ."], folder="text-big")
    good = _plain_lines(100)
    writer.write("text", "good.txt.gz", good, compress="gz")
    writer.write("text", "good.txt.bz2", good, compress="bz2")
    writer.write("text", "truncated.txt.gz", _plain_lines(600), compress="gz",
                 damage="truncate")
    writer.write("text", "corrupt.txt.gz", _plain_lines(600), compress="gz", damage="corrupt")
    writer.write("text", "truncated.txt.bz2", _plain_lines(600), compress="bz2",
                 damage="truncate")
    (writer.folder / "text" / "not_gzip.txt.gz").write_bytes(b"plain text\nnamed .gz\n")
    writer.files.append(HostileFile("not_gzip.txt.gz", "text", None, damaged=True,
                                    folder="text"))
    unicode_text = "".join(f"line {n} saved as Unicode .\n" for n in range(30))
    for name, encoding in (("windows_unicode.txt", "utf-16"), ("utf16le.txt", "utf-16-le")):
        (writer.folder / "text" / name).write_bytes(unicode_text.encode(encoding))
        # Not read at all: one dead letter of stage read at line 1, a part of the input unread.
        writer.files.append(HostileFile(name, "text", None, damaged=True, folder="text"))
    for name in ("killed.txt.gz", "killed.txt.zst", "killed.txt.bz2"):  # cut before byte 1
        (writer.folder / "text" / name).write_bytes(b"")
        writer.files.append(HostileFile(name, "text", None, damaged=True, folder="text"))


def _jsonl_files(writer):
    name = "hostile.jsonl"
    lines = [
        b'\xef\xbb\xbf{"text": "BOM on the first line ."}',
        b'{"text": "lone \\ud800 surrogate in the text"}',
        b'{"id": "s\\udfff", "text": "lone surrogate in the id"}',
        b'{"text": "surrogate in a field", "meta": "\\ud83d"}',
        b'{"text": "surrogate in a key", "k\\udc00": 1}',
        b'{"text": "surrogate deep", "deep": {"a": [{"b": "\\udbff"}]}}',
        b'{"text": "a valid pair \\ud83d\\ude00 is fine"}',
        b'[' * 100000 + b']' * 100000,
        b'{"text": "nested", "f": ' + b'{"a": ' * 200 + b'1' + b'}' * 200 + b'}',
        b'{"text": "huge number", "n": ' + b'9' * 5000 + b'}',
        b'{"text": "big but fine", "n": ' + b'9' * 40 + b', "x": 1e400}',
        b'{"text": null}',
        b'{"body": "no text field"}',
        b'{"text": 42}',
        b'{"text": ["a", "list"]}',
        b'"just a string"',
        b'[1, 2, 3]',
        b'null',
        b'{"text": "truncated JSON',
        b'{"text": "raw \x00 NUL byte in a string"}',
        b'{"text": "escaped \\u0000 NUL"}',
        b'{"text": "invalid utf-8 \xff\xfe inside"}',
        b'{"text": ""}',
        b'{"text": "   \\t  "}',
        b'{"text": "NaN and infinity", "v": NaN, "w": [Infinity, -Infinity]}',
        b'{"id": {"a": [1, 2]}, "text": "object id"}',
        b'{"id": 12.5, "text": "number id"}',
        b'{"id": "line\\nbreak id", "text": "id with a newline"}',
        b'{"id": "tab\\tid \\u2028", "text": "id with a tab and a line separator"}',
        b'{"text": "fields named like the output", "tokens": [1, 2], "input_tokens": "x"}',
        b'{"text": "duplicate keys", "a": 1, "a": 2}',
        b'{"text": "\\u202e\\u200b zero width and RTL \\u2066 ."}',
        b'   ',
        b'',
        json.dumps({"text": "w " * 3000}).encode(),  # a long record: tagged in windows
    ]
    records = sum(1 for line in lines if line.strip())
    writer.write("jsonl", name, lines, records=records, newline=b"\r\n")
    writer.explicit_id(name, '{"a":[1,2]}')
    writer.explicit_id(name, "12.5")
    writer.explicit_id(name, "line\nbreak id", "line\\nbreak id")
    writer.explicit_id(name, "tab\tid \u2028", "tab\\tid \\u2028")
    good = [json.dumps({"text": f"good record {i} .", "n": i}).encode() for i in range(100)]
    writer.write("jsonl", "good.jsonl.gz", good, compress="gz")
    writer.write("jsonl", "truncated.jsonl.gz", good * 6, compress="gz", damage="truncate")
    writer.write("jsonl", "big.jsonl", [
        json.dumps({"text": ("z" * 49 + " ") * (BIG_LINE_BYTES // 50)}).encode(),  # 2 MB
        json.dumps({"text": "after the big one"}).encode()], folder="jsonl-big")


def _conll_files(writer):
    name = "hostile.conll"
    blocks = [
        [b"# id = own-output-1", b"The\tDET", b"cat\tNOUN"],          # beamtagger's own output
        [b"# id = own-empty"],                                          # own output, no tokens
        [b"-DOCSTART- -X- O O"],
        [b"token", b"only", b"lines"],
        [b"#hashtag\tO", b"#\tSYM", b"=\tSYM"],
        [b"three\tcolumns\there"],                                      # malformed
        [b"bad \xff utf8\tO"],
        [b"\tO"],                                                       # empty token
        [b"w%d\tO" % i for i in range(700)],                           # a long sentence
        ["zero\u200bwidth\tO".encode(), "rtl\u202e\tO".encode()],
    ]
    lines, records = [], 0
    for block in blocks:
        lines.extend(block)
        lines.append(b"" if len(lines) % 2 else b" \t ")  # blank lines, some with blanks in
        records += 0 if block[0].startswith(b"-DOCSTART-") else 1
    writer.write("conll", name, lines, records=records, newline=b"\r\n")
    writer.explicit_id(name, "own-output-1")
    writer.explicit_id(name, "own-empty")
    sentences = []
    for i in range(150):
        sentences += [b"word%d\tO" % i, b"more\tO", b""]
    writer.write("conll", "good.conll.gz", sentences, records=150, compress="gz")
    writer.write("conll", "truncated.conll.gz", sentences, compress="gz", damage="truncate")


def _conllu_files(writer):
    name = "hostile.conllu"
    word = "{i}\t{form}\t{form}\tX\t_\t_\t0\tdep\t_\t_"

    def sentence(sent_id, forms, extra=()):
        rows = [f"# sent_id = {sent_id}".encode(), b"# text = ..."]
        rows += [word.format(i=i + 1, form=form).encode("utf-8") for i, form in enumerate(forms)]
        return rows + list(extra)

    blocks = [
        sentence("u-1", ["Hello", "world"]),
        [b"# sent_id = u-2", b"1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_",
         word.format(i=1, form="do").encode(), word.format(i=2, form="n't").encode(),
         b"2.1\tghost\t_\tX\t_\t_\t_\t_\t_\t_"],
        [b"# sent_id = u-3", b"1\ttoo\tfew\tcolumns"],
        [b"# sent_id = u-4", word.format(i=2, form="order").encode()],
        [b"# sent_id = u-5", b"x\tnot\tan\tid\t_\t_\t_\t_\t_\t_"],
        [b"# sent_id = u-6", b"1\tbad \xff\t_\tX\t_\t_\t_\t_\t_\t_"],
        sentence("u-7", ["odd\u200b", "\u202erlt", "\U0001F600"]),
        sentence("u-8", [f"t{i}" for i in range(600)]),
        [b"# sent_id = u-9", b"# text = "],                           # a sentence of no words
    ]
    lines = []
    for block in blocks:
        lines += block + [b""]
    writer.write("conllu", name, [b"\xef\xbb\xbf" + lines[0]] + lines[1:], records=len(blocks))
    for i in (1, 2, 7, 8, 9):
        writer.explicit_id(name, f"u-{i}")


def write_corpus(folder) -> HostileCorpus:
    """Writes the corpus under ``folder`` (see the module docstring)."""
    writer = _Writer(folder)
    _text_files(writer)
    _jsonl_files(writer)
    _conll_files(writer)
    _conllu_files(writer)
    return HostileCorpus(writer.files, writer.explicit_ids)
