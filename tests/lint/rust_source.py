"""Reading Rust source as text for the lints: where comments, string and char literals start
and end, so that neither lint mistakes what is inside one for code."""

import re

IDENT_CHAR = re.compile(r"[A-Za-z0-9_]")
RAW_STRING = re.compile(r'(?:b|c)?r(#*)"')
CHAR = re.compile(r"'(?:\\u\{[0-9A-Fa-f_]+\}|\\.|[^\\'\n])'")


def skip_literal(text, i):
    """If a comment, string or char literal starts at i, returns the index just past it;
    otherwise None. Lifetimes ('a) are not literals and return None."""
    n = len(text)
    if text.startswith("//", i):
        j = text.find("\n", i)
        return n if j < 0 else j
    if text.startswith("/*", i):
        depth, j = 1, i + 2
        while j < n and depth:
            if text.startswith("/*", j):
                depth, j = depth + 1, j + 2
            elif text.startswith("*/", j):
                depth, j = depth - 1, j + 2
            else:
                j += 1
        return j
    # Raw strings: r"..", r#".."#, br#".."#, cr#".."# (no escapes inside).
    m = RAW_STRING.match(text, i)
    if m and (i == 0 or not IDENT_CHAR.match(text[i - 1])):
        close = '"' + m.group(1)
        j = text.find(close, m.end())
        return n if j < 0 else j + len(close)
    # Plain and byte strings.
    if text[i] == '"' or (
        text.startswith(('b"', 'c"'), i) and (i == 0 or not IDENT_CHAR.match(text[i - 1]))
    ):
        j = i + (1 if text[i] == '"' else 2)
        while j < n:
            if text[j] == "\\":
                j += 2
            elif text[j] == '"':
                return j + 1
            else:
                j += 1
        return n
    # Char literals ('x', '\n', '\'', '\u{1F600}', b'x'); a lifetime ('a) has no closing quote.
    start = i + 1 if text.startswith("b'", i) and (i == 0 or not IDENT_CHAR.match(text[i - 1])) else i
    if text[start] == "'":
        m = CHAR.match(text, start)
        if m:
            return m.end()
    return None


def strip_comments_and_strings(text):
    """Blanks comments, string and char literals, keeping line breaks (for line numbers): a
    string becomes `""`, a char `' '`, a comment only its line breaks."""
    out = []
    i, n = 0, len(text)
    while i < n:
        j = skip_literal(text, i)
        if j is None:
            out.append(text[i])
            i += 1
            continue
        chunk = text[i:j]
        breaks = "\n" * chunk.count("\n")
        if chunk.startswith(("//", "/*")):
            out.append(breaks)
        elif chunk.startswith(("'", "b'")):
            out.append("' '")
        else:
            out.append('""' + breaks)
        i = j
    return "".join(out)
