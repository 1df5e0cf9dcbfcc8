"""spaCy's tokenizer algorithm in plain Python, over rules exported from spaCy once.

Why not spaCy itself at run time: importing spaCy costs about 0.6 s of a single-threaded
start-up (the whole ``spacy`` package loads, thinc and the pipeline registry included, for a
tokenizer that needs none of it), and that import competes with TensorFlow's for the one
interpreter lock, so every ``beamtagger tag`` run and every worker paid it before its first
record. The rules stay spaCy's: ``python -m beamtagger.tokenizer_rules`` writes the English
prefix, suffix and infix expressions, the URL matcher, beamtagger's own ``token_match`` and
every special case (with the EWT adjustments of ``beamtagger.tokenizer``) to
``data/tokenizer_rules.json``, stamped with the spaCy version and a digest of the adjustments.
When the installed spaCy or the adjustments differ from the stamp, ``beamtagger.tokenizer``
goes back to spaCy itself, so a stale file can cost speed but never change a token.

``AffixTokenizer.cut`` follows spaCy 3.8's ``Tokenizer`` on one whitespace-free chunk:
special cases, then prefixes and suffixes stripped in turn (``_split_affixes``), infixes
(``_attach_tokens``), and the final pass that re-joins special cases the affix rules cut
apart (``_apply_special_cases``, e.g. ":)" after a word). Tests compare it with spaCy on
EWT and WNUT-17 text and on random text.
"""
import json
import pathlib
import re

__all__ = ["AffixTokenizer", "RULES_FILE", "export_rules", "load_rules", "write_rules"]

RULES_FILE = pathlib.Path(__file__).parent / "data" / "tokenizer_rules.json"


def _pattern(bound_method):
    """(pattern, flags) of a compiled expression's bound ``search``/``match``/``finditer``."""
    if bound_method is None:
        return None
    compiled = bound_method.__self__
    return [compiled.pattern, int(compiled.flags)]


def export_rules(spacy_tokenizer, stamp):
    """The rules of a spaCy ``Tokenizer`` as JSON-ready data, with ``stamp`` to check later."""
    from spacy.attrs import ORTH

    return {
        "stamp": stamp,
        "prefix_search": _pattern(spacy_tokenizer.prefix_search),
        "suffix_search": _pattern(spacy_tokenizer.suffix_search),
        "infix_finditer": _pattern(spacy_tokenizer.infix_finditer),
        "token_match": _pattern(spacy_tokenizer.token_match),
        "url_match": _pattern(spacy_tokenizer.url_match),
        "special_cases": {text: [piece[ORTH] if ORTH in piece else piece["ORTH"] for piece in pieces]
                          for text, pieces in sorted(spacy_tokenizer.rules.items())},
    }


def write_rules(spacy_tokenizer, stamp, path=None):
    data = export_rules(spacy_tokenizer, stamp)
    pathlib.Path(path or RULES_FILE).write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n",
                                  encoding="utf-8")
    return data


def stamped_spacy_version(path=None):
    """The spaCy version the exported rules were written with (from their stamp), or None."""
    try:
        stamp = json.loads(pathlib.Path(path or RULES_FILE).read_text(encoding="utf-8"))["stamp"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    match = re.match(r"spacy ([^,]+),", stamp) if isinstance(stamp, str) else None
    return match.group(1) if match else None


def load_rules(stamp, path=None):
    """The exported rules if their stamp is ``stamp``, else None."""
    try:
        data = json.loads(pathlib.Path(path or RULES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("stamp") == stamp else None


def _compiled(pattern_and_flags, method):
    if pattern_and_flags is None:
        return None
    pattern, flags = pattern_and_flags
    return getattr(re.compile(pattern, flags), method)


class AffixTokenizer:
    """One chunk (no whitespace) -> its token strings, as spaCy's tokenizer cuts it.

    Args:
      rules: the data ``export_rules`` returns.
    """

    def __init__(self, rules):
        self._prefix_search = _compiled(rules["prefix_search"], "search")
        self._suffix_search = _compiled(rules["suffix_search"], "search")
        self._infix_finditer = _compiled(rules["infix_finditer"], "finditer")
        self._token_match = _compiled(rules["token_match"], "match")
        self._url_match = _compiled(rules["url_match"], "match")
        self.special_cases = {text: tuple(pieces)
                              for text, pieces in rules["special_cases"].items()}
        # spaCy re-joins, after the affix rules, the special cases those rules can cut: it
        # matches each one's affix-only tokens (as spaCy's add_special_case does, keyed here
        # by the first token) against the chunk's tokens.
        self._rejoin = {}
        for text in sorted(self.special_cases):
            if " " in text:
                continue  # never inside a whitespace-free chunk
            if self._prefix_length(text) or self._suffix_length(text) or self._has_infix(text):
                pieces = tuple(self.cut(text, with_special_cases=False))
                self._rejoin.setdefault(pieces[0], []).append(pieces)

    def _prefix_length(self, string):
        match = self._prefix_search(string) if self._prefix_search else None
        return match.end() - match.start() if match is not None else 0

    def _suffix_length(self, string):
        match = self._suffix_search(string) if self._suffix_search else None
        return match.end() - match.start() if match is not None else 0

    def _has_infix(self, string):
        return self._infix_finditer is not None and any(True for _ in self._infix_finditer(string))

    def _whole(self, string):
        return bool((self._token_match and self._token_match(string))
                    or (self._url_match and self._url_match(string)))

    def cut(self, chunk, with_special_cases=True):
        specials = self.special_cases if with_special_cases else {}
        if chunk in specials:
            return list(specials[chunk])
        string, prefixes, suffixes = self._split_affixes(chunk, specials)
        tokens = prefixes
        if string:
            if string in specials:
                tokens.extend(specials[string])
            elif self._whole(string):
                tokens.append(string)
            else:
                tokens.extend(self._split_infixes(string))
        tokens.extend(reversed(suffixes))
        if with_special_cases and len(tokens) > 1:
            tokens = self._rejoin_special_cases(tokens)
        return tokens

    def _split_affixes(self, string, specials):
        """Strips prefixes and suffixes until none is left, a special case or a token_match
        remains (spaCy's ``_split_affixes``, in its order of checks)."""
        prefixes, suffixes = [], []
        last_size = 0
        while string and len(string) != last_size:
            if self._token_match and self._token_match(string):
                break
            if string in specials:
                break
            last_size = len(string)
            pre_len = self._prefix_length(string)
            if pre_len:
                prefix, minus_pre = string[:pre_len], string[pre_len:]
                if minus_pre and minus_pre in specials:
                    prefixes.append(prefix)
                    string = minus_pre
                    break
            suf_len = self._suffix_length(string[pre_len:])
            if suf_len:
                suffix, minus_suf = string[-suf_len:], string[:-suf_len]
                if minus_suf and minus_suf in specials:
                    suffixes.append(suffix)
                    string = minus_suf
                    break
            if pre_len and suf_len and pre_len + suf_len <= len(string):
                prefixes.append(prefix)
                suffixes.append(suffix)
                string = string[pre_len:-suf_len]
            elif pre_len:
                prefixes.append(prefix)
                string = minus_pre
            elif suf_len:
                suffixes.append(suffix)
                string = minus_suf
        return string, prefixes, suffixes

    def _split_infixes(self, string):
        """spaCy's ``_attach_tokens`` for what is left: cut at each infix match, keeping the
        infix as a token; a match at the very start is ignored."""
        pieces, start = [], 0
        for match in self._infix_finditer(string) if self._infix_finditer else ():
            infix_start, infix_end = match.span()
            if infix_start == 0:
                continue
            if infix_start != start:
                pieces.append(string[start:infix_start])
            if infix_start != infix_end:
                pieces.append(string[infix_start:infix_end])
            start = infix_end
        if start < len(string):
            pieces.append(string[start:])
        return pieces

    def _rejoin_special_cases(self, tokens):
        """spaCy's ``_apply_special_cases``: longest match first, then leftmost; a match is
        kept when neither its first nor its last token lies in a match considered before it,
        and every considered match marks its tokens."""
        matches = []
        for start, token in enumerate(tokens):
            for pieces in self._rejoin.get(token, ()):
                end = start + len(pieces)
                if tuple(tokens[start:end]) == pieces:
                    matches.append((start, end))
        if not matches:
            return tokens
        matches.sort(key=lambda span: (span[0] - span[1], span[0]))
        seen, kept = set(), []
        for start, end in matches:
            if start not in seen and end - 1 not in seen:
                kept.append((start, end))
            seen.update(range(start, end))
        rejoined, done = [], 0
        for start, end in sorted(kept):
            rejoined.extend(tokens[done:start])
            text = "".join(tokens[start:end])
            rejoined.extend(self.special_cases.get(text, tokens[start:end]))
            done = end
        rejoined.extend(tokens[done:])
        return rejoined
