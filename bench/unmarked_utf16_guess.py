"""Which file heads ``text_encodings.other_encoding`` takes for UTF-16 or UTF-32, side by side
with a checkout before a change, in one run: real UTF-16 and UTF-32 heads (found before, found
now), beamtagger's own CoNLL and CoNLL-U results holding NULs (taken for UTF-16 before, now),
and the CPU seconds of the guess on all of them.

Real heads: stretches of EWT dev (CoNLL-U and its sentences), WNUT-17 dev (CoNLL), GloVe words
one a line, and random words and prose of eleven scripts (CJK, hiragana, katakana, Cyrillic,
Greek, Arabic, Hebrew, Thai, Devanagari, Gurmukhi, Hangul), each in UTF-16LE, UTF-16BE,
UTF-32LE and UTF-32BE, cut at 4 KB and at 8-400 bytes; those holding a NUL are counted.
Since 2026-12-08 also: each script's prose and words with CRLF and CR line ends, and short
files of words whose characters' UTF-16 bytes are UTF-8 text once their NULs are out (上,
U+4E0A, is 0A 4E: "\nN"; the hard case, where only the line ends tell UTF-16 from UTF-8 with
NULs), one word or several a line, with LF, CRLF and CR line ends.
Results: up to 6 records of 1-6 tokens of "a", "b", NUL, ".", "é", "я" (labels and ids of
those or plain), written by ``to_conll_block`` and ``conllu_block``; those holding a NUL.

  git archive main beamtagger | tar -x -C /tmp/before
  python bench/unmarked_utf16_guess.py --before /tmp/before
"""
import argparse
import gzip
import importlib.util
import pathlib
import random
import sys
import time
import unicodedata

REPO = pathlib.Path(__file__).resolve().parent.parent
DATA = pathlib.Path("/work/shared/data")
SCRIPTS = {"cjk": (0x4E00, 0x9FA5), "hiragana": (0x3041, 0x3096), "katakana": (0x30A1, 0x30FA),
           "cyrillic": (0x0410, 0x044F), "greek": (0x03B1, 0x03C9), "arabic": (0x0621, 0x064A),
           "hebrew": (0x05D0, 0x05EA), "thai": (0x0E01, 0x0E30), "devanagari": (0x0915, 0x0939),
           "gurmukhi": (0x0A05, 0x0A74), "hangul": (0xAC00, 0xD7A3)}


def module_at(root, name):
    spec = importlib.util.spec_from_file_location(name, root / "beamtagger" / "text_encodings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def utf8_bytes_characters(encoding):
    """Letters of CJK, hiragana, Hangul and the Indic scripts whose bytes in ``encoding`` (a
    UTF-16), their NULs out, are UTF-8 text (no control character), and the common U+xx0A
    ones (上 尊 刊 吊 弊 渊 焊 伊) four times over."""
    found = []
    for low, high in ((0x0900, 0x0E00), (0x3041, 0x3100), (0x4E00, 0x9FA6), (0xAC00, 0xD7A4)):
        for character in map(chr, range(low, high)):
            if not unicodedata.category(character).startswith(("L", "M")):
                continue
            try:
                text = character.encode(encoding).replace(b"\x00", b"").decode("utf-8")
            except UnicodeDecodeError:
                continue
            if text.isprintable() or text in "\t\n\r\x0c":
                found.append(character)
    return found + list("上尊刊吊弊渊焊伊") * 4


def real_heads(chosen, samples):
    ewt = (DATA / "ud-english-ewt/en_ewt-ud-dev.conllu").read_text(encoding="utf-8")
    wnut = (DATA / "wnut17/emerging.dev.conll").read_text(encoding="utf-8")
    with gzip.open(DATA / "glove/glove.6B.50d.subset.txt.gz", "rt", encoding="utf-8") as lines:
        glove = [line.split(" ", 1)[0] for _, line in zip(range(20000), lines)]
    sentences = [line[9:] for line in ewt.splitlines() if line.startswith("# text = ")]

    def stretch(text):
        start = text.index("\n", chosen.randrange(len(text) - 5000)) + 1
        return text[start:start + 5000]

    def words(low, high, count, separators):
        return "".join("".join(chr(chosen.randint(low, high))
                               for _ in range(chosen.randint(1, 8))) + chosen.choice(separators)
                       for _ in range(count))

    texts = []
    for _ in range(samples):
        texts += [("EWT CoNLL-U", stretch(ewt)), ("WNUT CoNLL", stretch(wnut)),
                  ("EWT text", "\n".join(chosen.sample(sentences, 40)) + "\n"),
                  ("GloVe words", "\n".join(chosen.sample(glove, chosen.choice([2, 5, 50, 800])))
                   + "\n")]
        for low, high in SCRIPTS.values():
            line_end = chosen.choice(["\n", "\r\n", "\r"])
            texts += [("prose", words(low, high, chosen.choice([3, 20, 600]),
                                      [" ", " ", " ", line_end, ", ", ". "])),
                      ("one word a line", words(low, high, chosen.choice([2, 5, 600]),
                                                [line_end]))]
    encodings = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
    texts = [(kind, text, encoding) for kind, text in texts for encoding in encodings]
    for encoding in encodings[:2]:
        characters = utf8_bytes_characters(encoding)
        for _ in range(samples * 10):
            line_end = chosen.choice(["\n", "\r\n", "\r"])
            separators = chosen.choice([[line_end], [" ", line_end], ["\t", line_end]])
            text = "".join("".join(chosen.choice(characters) for _ in range(chosen.randint(1, 4)))
                           + chosen.choice(separators) for _ in range(chosen.randint(1, 8)))
            texts.append((f"UTF-8 bytes {line_end!r}", text + line_end, encoding))
    for kind, text, encoding in texts:
        data = text.encode(encoding)
        for head in (data[:4096], data[:chosen.randint(8, 400)]):
            if b"\x00" in head:
                yield kind, head


def result_heads(chosen, files):
    sys.path.insert(0, str(REPO))
    from beamtagger.transforms.conllu_blocks import conllu_block
    from beamtagger.transforms.records import TaggedRecord
    from beamtagger.transforms.write_results import to_conll_block

    def text(alphabet, low, high):
        return "".join(chosen.choice(alphabet) for _ in range(chosen.randint(low, high)))

    for _ in range(files):
        output_format = chosen.choice(["conll", "conllu"])
        alphabet = chosen.choice([["a", "\x00"], ["a", "b", "\x00", ".", "é", "я"]])
        blocks = []
        for number in range(chosen.randint(1, 6)):
            tokens = tuple(text(alphabet, 1, 6) for _ in range(chosen.randint(1, 6)))
            labels = tuple(text(alphabet, 1, 3) if chosen.random() < 0.2 else "X"
                           for _ in tokens)
            record_id = (text(alphabet + ["r", "1"], 0, 5) if chosen.random() < 0.5
                         else f"in.jsonl:{number + 1}")
            starts = tuple(range(0, 8 * len(tokens), 8))
            record = TaggedRecord(record_id, tokens, starts,
                                  tuple(s + len(t) for s, t in zip(starts, tokens)), labels,
                                  (0.5,) * len(tokens), "f:1", {})
            try:
                blocks.append((to_conll_block(record) if output_format == "conll"
                               else conllu_block(record, chosen.choice(["upos", "misc:Tag"])))
                              + "\n")
            except ValueError:
                pass   # refused by the writer: a dead letter, never in the file
        head = "".join(blocks).encode("utf-8")[:4096]
        if b"\x00" in head:
            yield output_format, head


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, type=pathlib.Path)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--results", type=int, default=20000)
    args = parser.parse_args()
    before, after = module_at(args.before, "before"), module_at(REPO, "after")
    real = list(real_heads(random.Random(7), args.samples))
    results = list(result_heads(random.Random(8), args.results))
    found = {}
    for kind, head in real:
        counts = found.setdefault(kind, [0, 0, 0])
        counts[0] += 1
        counts[1] += before.other_encoding(head) is not None
        counts[2] += after.other_encoding(head) is not None
    print("real UTF-16/UTF-32 heads holding a NUL: heads, found before, found after")
    for kind, counts in sorted(found.items()):
        print(f"  {kind:16} {counts[0]:7,} {counts[1]:7,} {counts[2]:7,}")
    lost = sum(before.other_encoding(h) is not None and after.other_encoding(h) is None
               for _, h in real)
    print(f"  found before, left to UTF-8 after: {lost:,}")
    print(f"beamtagger results holding a NUL: {len(results):,}; taken for UTF-16/32 before "
          f"{sum(before.other_encoding(h) is not None for _, h in results):,}, after "
          f"{sum(after.other_encoding(h) is not None for _, h in results):,}")
    heads = [head for _, head in real] + [head for _, head in results]
    for name, module in (("before", before), ("after", after), ("before", before),
                         ("after", after)):
        started = time.process_time()
        for head in heads:
            module.other_encoding(head)
        print(f"  {name}: {time.process_time() - started:.3f} CPU s for {len(heads):,} heads")


if __name__ == "__main__":
    main()
