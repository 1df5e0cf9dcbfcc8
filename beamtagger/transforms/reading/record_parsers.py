"""One file's lines -> records and dead letters, per input format (no Beam pipeline needed).

Each record is decoded on its own, so one bad record costs itself: invalid UTF-8, invalid JSON
(also nested too deep, numbers too long, lone surrogates), a missing or non-string text field
and malformed CoNLL blocks become DeadLetters (stage "decode"); damage to the file itself
(``file_lines.DamagedInput``) becomes one last DeadLetter (stage "read").
"""
import json
import math
import posixpath
import re
from typing import NamedTuple

from beamtagger.corpus_readers import (conll_comment_id, parse_conll_lines, parse_conllu_lines,
                                       split_conll_comments)
from beamtagger.errors import InputFormatError
from beamtagger.text_encodings import wide_line
from beamtagger.transforms.conllu_kept_lines import kept_lines_fields
from beamtagger.transforms.reading.decoded_lines import (UTF8, bad_utf8, is_utf8, shown_line,
                                                         undecodable)
from beamtagger.transforms.reading.file_lines import DamagedInput, FileLines
from beamtagger.transforms.reading.record_layout import RecordLayout
from beamtagger.transforms.records import (DeadLetter, TextRecord, TokenizedRecord, one_line,
                                           path_text, raw_text)

__all__ = ["LINE_FORMATS", "BadRecord", "bad_utf8", "default_record_id", "file_name", "has_wildcard",
           "json_id", "parse_records", "path_from_folder", "path_text", "pattern_id_folder",
           "read_file_records", "read_path_records"]

# The formats read line by line here (Parquet: parquet_rows).
LINE_FORMATS = ("text", "jsonl", "conll", "conllu")
_new_record = tuple.__new__


def read_file_records(lines, input_format="text", layout=RecordLayout(),
                      keep_conllu_lines=False):
    """Records and DeadLetters of one file's FileLines, made as ``layout`` says; damage becomes
    one last DeadLetter."""
    try:
        yield from parse_records(lines, lines.path, input_format, layout.text_field,
                                 layout.id_field, keep_conllu_lines, layout.fields,
                                 layout.id_folder, layout.encoding)
    except DamagedInput as damage:
        yield damage.dead_letter()


def read_path_records(path, input_format="text", text_field="text", id_field="id",
                      keep_conllu_lines=False, fields=None, id_folder=None, encoding=UTF8):
    """``read_file_records`` of a local file (no Beam pipeline needed)."""
    return read_file_records(FileLines(path, lambda: open(path, "rb"), encoding), input_format,
                             RecordLayout(text_field, id_field, fields, id_folder, encoding),
                             keep_conllu_lines)


def parse_records(numbered_lines, path, input_format="text", text_field="text", id_field="id",
                  keep_conllu_lines=False, fields=None, id_folder=None, encoding=UTF8):
    """Records and DeadLetters from ``(line_number, bytes)`` pairs of one file (no Beam needed).

    ``keep_conllu_lines``: CoNLL-U records carry their sentence's lines in their fields, for a
    CoNLL-U writer to write back (``conllu_kept_lines``); ignored for the other formats.
    ``fields``: JSON Lines only, the fields carried (``jsonl_records``).
    ``id_folder``: the folder that a record without an id names its file from
    (``pattern_id_folder``; None: by its base name).
    ``encoding``: the file's, which the lines (UTF-8, ``decoded_lines``) were transcoded from:
    the dead letter of a line that did not decode names it."""
    path = str(path)   # as Python names the file: ids are made from it (file_name)
    if input_format == "text":
        return text_records(numbered_lines, path, id_folder, encoding)
    if input_format == "jsonl":
        return jsonl_records(numbered_lines, path, text_field, id_field, fields, id_folder,
                             encoding)
    if input_format in ("conll", "conllu"):
        return tokenized_records(numbered_lines, path, input_format,
                                 keep_conllu_lines and input_format == "conllu", id_folder,
                                 encoding)
    raise ValueError(f"input_format must be one of {LINE_FORMATS}, not {input_format!r}")


def text_records(numbered_lines, path, id_folder=None, encoding=UTF8):
    """One TextRecord a line (blank lines too: they become records without tokens), its id
    ``<file_name>:<line>``; a line that did not decode in ``encoding`` is its DeadLetter."""
    name, path = file_name(str(path), id_folder), path_text(str(path))
    for number, raw in numbered_lines:
        # _strip_newline inlined: its two calls a line cost more than the NUL check below
        # (bench/stage_costs.py, read stage).
        raw = raw.rstrip(b"\r\n")
        if number == 1:
            raw = _without_byte_order_mark(raw, number)
        source = f"{path}:{number}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            yield DeadLetter(source, undecodable(raw, error, encoding),
                             shown_line(raw, encoding), "decode")
            continue
        if "\x00" in text:
            wide = wide_line(raw)
            if wide is not None:
                yield DeadLetter(source, wide, shown_line(raw, encoding), "decode")
                continue
        # tuple.__new__: a NamedTuple's own __new__ is a Python function, a third of the
        # cost of reading a line (py-spy, bench/throughput_bench.py case G).
        yield _new_record(TextRecord, (f"{name}:{number}", text, source, None))


# Deeper JSON is refused: the output writers and Beam's coders recurse per level (orjson stops
# at 255, Python's json and pickle at the interpreter's recursion limit).
MAX_JSON_NESTING = 100


class BadRecord(ValueError):
    """A record that is read but cannot be tagged; the message is the dead letter's reason."""


def jsonl_records(numbered_lines, path, text_field="text", id_field="id", fields=None,
                  id_folder=None, encoding=UTF8):
    """One TextRecord per JSON object line: text from ``text_field``, id from ``id_field``, and
    the other fields pass through: all of them (``fields`` None), or only those ``fields``
    names, in that order. A record without one of those is carried without it (the records of
    one file vary). The line must still be JSON, but the fields not carried are not checked: a
    lone surrogate or nesting past ``MAX_JSON_NESTING`` there, which no writer could write,
    costs the record nothing.

    Every non-blank line yields exactly one TextRecord or DeadLetter, whatever its bytes (a
    line that did not decode in ``encoding`` names it). A record without an id is
    ``<file_name>:<line>``.
    """
    name, path = file_name(str(path), id_folder), path_text(str(path))
    for number, raw in numbered_lines:
        raw = _strip_newline(raw, number)
        if not raw.strip():
            continue
        source = f"{path}:{number}"
        try:
            yield _json_record(raw, f"{name}:{number}", source, text_field, id_field, fields,
                               encoding)
        except BadRecord as bad:
            yield DeadLetter(source, str(bad), shown_line(raw, encoding), "decode")
        except Exception as error:  # noqa: BLE001  (one record's failure must not fail the job)
            yield DeadLetter(source, one_line(f"cannot read the record: {error!r}"),
                             raw_text(raw), "decode")


def _json_record(raw, default_id, source, text_field, id_field, fields=None, encoding=UTF8):
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRecord(undecodable(raw, error, encoding)) from None
    if "\x00" in line:
        wide = wide_line(raw)
        if wide is not None:  # "invalid JSON: Expecting property name..." said less
            raise BadRecord(wide)
        if line.startswith("\x00"):
            # The second byte of a UTF-16LE line's newline (0A 00), left at the start of the
            # line after it: that line was a second dead letter, "invalid JSON".
            line = line[1:]
    try:
        value = json.loads(line)
    except RecursionError:
        raise BadRecord("invalid JSON: nested too deeply to read") from None
    except ValueError as error:  # JSONDecodeError, and integers beyond Python's digit limit
        raise BadRecord(one_line(f"invalid JSON: {error}")) from None
    if not isinstance(value, dict):
        raise BadRecord(f"expected a JSON object, found {_json_type(value)}")
    if fields is not None:
        kept = (text_field, id_field, *fields) if id_field else (text_field, *fields)
        value = {name: value[name] for name in kept if name in value}
    if line.count("[") + line.count("{") > MAX_JSON_NESTING:  # cheap test before the walk
        _check_nesting(value)
    if "\\u" in line:  # only an escape can produce a lone surrogate
        _check_surrogates(value)
    if text_field not in value:
        raise BadRecord(f"missing text field {text_field!r}")
    text = value.pop(text_field)
    if not isinstance(text, str):
        raise BadRecord(f"text field {text_field!r} is null" if text is None else
                        f"text field {text_field!r} is a {_json_type(text)}, not a string")
    record_id = value.pop(id_field, None) if id_field else None
    return TextRecord(default_id if record_id is None else json_id(record_id), text, source,
                      value or None)


def json_id(value) -> str:
    """A JSON id as the output's string id: strings as they are, anything else as its JSON text
    (``5`` -> "5", ``{"a": 1}`` -> '{"a":1}')."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)  # what json.dumps writes, without building an encoder per record
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadRecord(f"the id is {value}, which is not JSON")
        return repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _check_nesting(value):
    """BadRecord where objects and lists are nested more than ``MAX_JSON_NESTING`` deep. A
    scalar is no level: counted as one, 100 nested objects around a number were read where
    the line held 100 brackets (the cheap count skips the walk) and refused where a sibling
    field added one more."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_NESTING:
                raise BadRecord(f"JSON nested more than {MAX_JSON_NESTING} levels deep")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _check_surrogates(value):
    """A lone surrogate (``"\\ud800"``) is not text: no UTF-8 writer can write it back out."""
    stack = [("", value)]
    while stack:
        field, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                _check_string(field or key, key)
                stack.append((field or key, child))
        elif isinstance(item, list):
            stack.extend((field, child) for child in item)
        elif isinstance(item, str):
            _check_string(field, item)


def _check_string(field, text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = text[error.start]
        raise BadRecord(f"field {field!r} holds a lone surrogate (\\u{ord(bad):04x}), which is "
                        "not valid Unicode text") from None


def _json_type(value):
    return {bool: "boolean", int: "number", float: "number", list: "list",
            dict: "object"}.get(type(value), type(value).__name__)


def tokenized_records(numbered_lines, path, input_format, keep_lines=False, id_folder=None,
                      encoding=UTF8):
    """TokenizedRecords from CoNLL / CoNLL-U, one per sentence; a malformed sentence -> DeadLetter.

    Lines are grouped into blank-line separated blocks here and each block is parsed on its
    own by the corpus readers, so one bad block costs only its own sentence. If the file is
    damaged, the sentence being read there is reported with the damage, not tagged half.
    ``keep_lines``: each record's fields hold its block's lines as read, line endings and the
    blank line after it included (``conllu_kept_lines``). A sentence without an id is
    ``<file_name>:<line of its first token>``. A sentence with a line that did not decode in
    ``encoding`` is a DeadLetter naming it.
    """
    # None: the readers' own default ids, which are the base name's (flat ids stay as they were).
    name = None if id_folder is None else file_name(str(path), id_folder)
    # A token-only sentence's id names the file as text and JSON Lines ids do.
    flat_name, path = file_name(str(path)), path_text(str(path))
    block, kept = [], []
    after_nul = False
    try:
        for number, raw in numbered_lines:
            line = _strip_newline(raw, number)
            if after_nul and line.startswith(b"\x00"):
                # The 00 of a UTF-16LE line's newline (0A 00): left on the blank line after
                # the sentence, it joined the next sentence to that one's dead letter.
                line = line[1:]
            after_nul = b"\x00" in line
            # A -DOCSTART- line between sentences marks a document (CoNLL-2003); inside a
            # sentence it is a token (beamtagger's own output of a text holding that word).
            if line.strip() and not (input_format == "conll" and not block
                                     and line.startswith(b"-DOCSTART-")):
                block.append((number, line))
                if keep_lines:
                    kept.append(_without_byte_order_mark(raw, number))
                continue
            if keep_lines and block:
                kept.append(raw)
            yield from _block_records(block, path, input_format, kept if keep_lines else None,
                                      name, encoding, flat_name)
            block, kept = [], []
    except DamagedInput as damage:
        damage.pending = block
        raise
    yield from _block_records(block, path, input_format, kept if keep_lines else None, name,
                              encoding, flat_name)


def _block_records(block, path, input_format, kept=None, name=None, encoding=UTF8,
                   flat_name=None):
    """``kept``: the block's raw lines (and the blank line after it), for its records' fields;
    ``name``: the file's in the id of a sentence that names none (None: the readers' own);
    ``encoding``: the file's, named where a line did not decode; ``flat_name``: the file's
    base name in the id of a token-only CoNLL sentence (``file_name``; None: from ``path``)."""
    if not block:
        return
    fields = None
    try:
        if not is_utf8(encoding):
            # The corpus readers would call such a line "not valid UTF-8".
            _check_decoded(block, path, encoding)
        if input_format == "conllu":
            sentences = list(parse_conllu_lines(block, path)) or _comments_only(block, path)
        else:
            sentences = _conll_block_sentences(block, path, flat_name)
        if kept is not None:
            fields = kept_lines_fields(b"".join(kept).decode("utf-8"))
    except InputFormatError as error:
        raw = "\n".join(shown_line(line, encoding) for _, line in block)
        yield DeadLetter(f"{path}:{block[0][0]}", one_line(str(error)), raw, "decode")
        return
    except Exception as error:  # noqa: BLE001  (one sentence's failure must not fail the job)
        raw = "\n".join(raw_text(line) for _, line in block)
        yield DeadLetter(f"{path}:{block[0][0]}", one_line(f"cannot read the sentence: {error!r}"),
                         raw, "decode")
        return
    for sentence in sentences:
        sent_id = (sentence.sent_id if name is None or sentence.has_own_id
                   else f"{name}:{sentence.line}")
        yield TokenizedRecord.from_tokens(sent_id, sentence.tokens,
                                          source=f"{path}:{sentence.line}", fields=fields)


def _check_decoded(block, path, encoding):
    """InputFormatError for the first line of ``block`` that did not decode in ``encoding``."""
    for number, line in block:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputFormatError(path, number, undecodable(line, error, encoding)) from None


def _conll_block_sentences(block, path, flat_name=None):
    """A CoNLL block's sentence; leading comment lines (beamtagger's own ``# id = ...``) are
    skipped, and a block of comments only is an empty record when it names an id."""
    comments, tokens = split_conll_comments(block)
    sent_id = conll_comment_id(comments, path)
    if not tokens:
        return _comments_only(comments, path)
    if _is_token_only(tokens):
        sentence = _token_only_sentence(tokens, path, flat_name)
    else:
        sentence = next(iter(parse_conll_lines(tokens, path, document_starts=False)))
    if sent_id is not None:
        sentence = _TokenOnly(sent_id, tuple(sentence.tokens), sentence.line, True)
    return [sentence]


def _comments_only(block, path):
    """A block of comments only: an empty record where it names its id (as in CoNLL), else
    no record (a header such as ``# newdoc id = ...`` alone)."""
    sent_id = conll_comment_id(block, path)
    return [] if sent_id is None else [_TokenOnly(sent_id, (), block[0][0], True)]


class _TokenOnly(NamedTuple):
    """A sentence as ``corpus_readers.Sentence`` gives it, without tags."""
    sent_id: str
    tokens: tuple
    line: int
    has_own_id: bool


def _is_token_only(block):
    """A CoNLL block with one column (tokens, no tags): unlabelled input to tag."""
    return all(len(line.split()) == 1 and b"\t" not in line for _, line in block)


def _token_only_sentence(block, path, flat_name=None):
    tokens = []
    for number, raw in block:
        try:
            tokens.append(raw.decode("utf-8").strip())
        except UnicodeDecodeError as error:
            raise InputFormatError(path, number, bad_utf8(raw, error)) from None
    first = block[0][0]
    name = file_name(path) if flat_name is None else flat_name
    return _TokenOnly(f"{name}:{first}", tuple(tokens), first, False)


def _strip_newline(raw, number):
    return _without_byte_order_mark(raw.rstrip(b"\r\n"), number)


def _without_byte_order_mark(raw, number):
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:]  # UTF-8 byte-order mark written by some Windows editors
    return raw


def file_name(path, id_folder=None):
    """The name of the file ``path`` in its records' default ids: its path from ``id_folder``
    (``pattern_id_folder``), or its base name where that is None (``path_from_folder``), its
    bytes that are not UTF-8 written ``\\xNN`` (``path_text``).

    ``path`` as Python names the file (a name that is not UTF-8 holds lone surrogates), not as
    ``path_text`` writes it: the escapes are written only after the backslashes became
    slashes, so that a name that is UTF-8 keeps the id it always had whatever it holds
    (``caf\\xe9.txt`` typed with a backslash: ``xe9.txt``, where reading the escape's
    backslash as one that names a file gave it ``caf\\xe9.txt``, the id of the file whose
    name holds the byte 0xE9), and a backslash in an id is such an escape's."""
    return path_text(path_from_folder(path, id_folder))


def path_from_folder(path, id_folder=None):
    """``path`` from ``id_folder`` (None: its base name), as Python names it. Windows'
    backslashes separate folders as slashes do, and are written as slashes."""
    path = path.replace("\\", "/")
    if id_folder is None:
        return posixpath.basename(path)
    # Beam's matches start with the pattern as written; a path that does not (a library
    # caller's) keeps all of itself, which no other file's ids can hold.
    return path[len(id_folder):] if path.startswith(id_folder) else path


def default_record_id(source, file_pattern):
    """The id a record without one got in a run whose ``--input`` was ``file_pattern``, from
    its dead letter's ``source`` (``PATH:LINE``, ``PATH:@BYTE``, ``PATH:ROW``): what tagging
    the failed records again gives them, so that they keep the ids their run gave them."""
    path, _, place = source.rpartition(":")
    return f"{file_name(_named_path(path), pattern_id_folder(file_pattern))}:{place}"


# path_text's escape of a byte that is not UTF-8 (0x80..0xFF: below is ASCII, which is UTF-8).
_BYTE_ESCAPE = re.compile(r"\\x([89a-f][0-9a-f])")
# A Windows path (C:\..., \\server\...): Windows names files in UTF-16, never in bytes that
# are not UTF-8, so a "\\x86" there is a backslash and a folder x86.
_WINDOWS_PATH = re.compile(r"[A-Za-z]:\\|\\\\")


def _named_path(source_path):
    """A source's path as Python names the file: path_text's ``\\xNN`` escapes as the lone
    surrogates they were. A name that is UTF-8 and holds such an escape as text (a backslash,
    then x and two hex digits) is read as holding the byte too: its source is the same text."""
    if _WINDOWS_PATH.match(source_path):
        return source_path
    return _BYTE_ESCAPE.sub(lambda escape: chr(0xDC00 + int(escape.group(1), 16)), source_path)


def matchable_pattern(file_pattern):
    """``file_pattern`` as Beam's matching finds its files: a local glob whose first component
    has a wildcard (``*.txt``, ``*/*.parquet`` run inside a partitioned folder) matched nothing
    in Beam 2.78 (it lists the folder of the part before the wildcard, "", which holds no
    file), where ``./*.txt`` finds them; any other pattern (a ValueProvider too) as it is."""
    if (isinstance(file_pattern, str) and "://" not in file_pattern
            and has_wildcard(file_pattern.split("/", 1)[0])):
        return "./" + file_pattern
    return file_pattern


def pattern_id_folder(file_pattern):
    """The folder of ``file_pattern`` before its first component with a wildcard, ending in "/"
    (``logs/*/part-*.jsonl``: "logs/", ``gs://b/x/**``: "gs://b/x/"): default ids name each
    file by its path from there (``file_name``), since the files of different folders may share
    a name (Spark, Hive and pyarrow's ``write_to_dataset`` write ``part-00000`` in each).
    None where the pattern's only wildcards are in its last component, without ``**``: its
    files are in one folder, and their ids keep the base names they always had."""
    # As Python names the files it matches, which file_name takes.
    components = str(file_pattern).replace("\\", "/").split("/")
    for index, component in enumerate(components):
        if has_wildcard(component):
            if index == len(components) - 1 and "**" not in component:
                return None
            return "".join(folder + "/" for folder in components[:index])
    return None


def has_wildcard(component):
    """As Beam's ``FileSystem.translate_pattern`` reads a glob: ``*``, ``?`` and ``[...]`` (a
    ``[`` without a ``]`` after it is itself)."""
    bracket = component.find("[")
    return ("*" in component or "?" in component
            or (bracket >= 0 and "]" in component[bracket + 1:]))
