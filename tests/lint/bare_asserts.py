#!/usr/bin/env python3
"""Fails when an assertion in Rust code carries no reason.

`make lint` runs it. Every `assert!`, `assert_eq!`, `assert_ne!`, their `debug_` forms and the
proptest forms (`prop_assert!`, `prop_assert_eq!`, `prop_assert_ne!`) must end with a message
that states the promise being checked ("a duplicate delivery is acknowledged without a second
effect"), so a failure reads as the broken promise, not as two values that differ. An assertion
is bare when it has no argument after its operands (one for `assert!`, two for the `_eq`/`_ne`
forms), or when that message is an empty string literal.

The scan reads Rust lexically: comments, string literals (raw `r#"..."#` and byte ones
included) and char literals are skipped, so a `"` or `,` inside them, or an `assert!(` inside a
comment or a string, is never mistaken for code. Arguments are split at top-level commas only:
commas inside (), [], {}, nested macros, closures' bodies and turbofish generics (`::<A, B>`) do
not count.

Usage: bare_asserts.py [--list] PATH...
  PATH is a .rs file or a folder (searched for .rs files; `target` and `node_modules` skipped).
  Default (lint): prints `file:line: bare macro!` for each bare assertion and a count, exit 1
  when any exists.
  --list: prints each bare assertion with the start of its arguments (a worklist), exit 0.
"""

import os
import re
import sys

from rust_source import IDENT_CHAR, skip_literal

# Macro name -> how many operands come before the message.
OPERANDS = {
    "assert": 1,
    "debug_assert": 1,
    "prop_assert": 1,
    "assert_eq": 2,
    "assert_ne": 2,
    "debug_assert_eq": 2,
    "debug_assert_ne": 2,
    "prop_assert_eq": 2,
    "prop_assert_ne": 2,
}

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
OPEN = {"(": ")", "[": "]", "{": "}"}
SKIP_DIRS = {"target", "node_modules", ".git"}


def blank(text):
    """The text with comments and literals replaced by spaces (line breaks kept), so offsets
    and line numbers stay those of the source. String literals keep their quotes, so an
    argument that is a literal can still be told from one that is empty."""
    out = []
    i, n = 0, len(text)
    while i < n:
        j = skip_literal(text, i)
        if j is None:
            out.append(text[i])
            i += 1
            continue
        chunk = text[i:j]
        if chunk.startswith(("//", "/*")):
            out.append(re.sub(r"[^\n]", " ", chunk))
        else:
            # Keep a marker that a literal stood here, and whether it was empty.
            body = re.sub(r"[^\n]", " ", chunk)
            empty = _literal_is_empty(chunk)
            mark = "\x01" if empty else "\x02"
            out.append(mark + body[1:])
        i = j
    return "".join(out)


def _literal_is_empty(lit):
    m = re.match(r'^(?:b|c)?r?(#*)"(.*)"\1$', lit, re.S)
    return bool(m) and m.group(2).strip() == ""


def split_args(code, i):
    """Splits the delimited group whose opener is code[i] into top-level arguments.
    Returns (args, index past the closer). `code` is already blanked."""
    closer = OPEN[code[i]]
    stack = [closer]
    args, cur = [], []
    j, n = i + 1, len(code)
    angle = 0  # depth of turbofish generics (`::<A, B>`), where a comma separates types
    while j < n and stack:
        c = code[j]
        if c in OPEN:
            stack.append(OPEN[c])
        elif c in ")]}":
            if c != stack[-1]:
                pass  # unbalanced: keep going, the source compiles so this is a blanking edge
            stack.pop()
            if not stack:
                break
        elif c == "<" and code[max(0, j - 2) : j] == "::":
            angle += 1
        elif c == ">" and angle and code[j - 1] != "-":
            angle -= 1
        elif c == "," and len(stack) == 1 and not angle:
            args.append("".join(cur))
            cur = []
            j += 1
            continue
        cur.append(c)
        j += 1
    if "".join(cur).strip():
        args.append("".join(cur))
    return args, j + 1


def find_bare(text):
    """Yields (line, macro, start offset, end offset) for each bare assertion in the source."""
    code = blank(text)
    names = "|".join(sorted(OPERANDS, key=len, reverse=True))
    for m in re.finditer(r"\b(" + names + r")\s*!\s*([(\[{])", code):
        start = m.start()
        # `macro_rules! assert` or a field/method named like one would not be followed by `!(`;
        # a path prefix (`std::assert!`, `proptest::prop_assert!`) is still the macro.
        if start and IDENT_CHAR.match(code[start - 1]):
            continue
        name = m.group(1)
        args, end = split_args(code, m.start(2))
        need = OPERANDS[name]
        message = args[need].strip() if len(args) > need else ""
        if not message or message == "\x01":  # none, or an empty string literal
            yield code.count("\n", 0, start) + 1, name, start, end


def rust_files(paths):
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
                for f in sorted(files):
                    if f.endswith(".rs"):
                        yield os.path.join(root, f)
        else:
            yield path


def main(argv):
    listing = "--list" in argv
    paths = [a for a in argv if a != "--list"]
    if not paths or any(a.startswith("-") for a in paths):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    count = 0
    for path in rust_files(paths):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for line, name, start, end in find_bare(text):
            count += 1
            if listing:
                snippet = " ".join(text[start:end].split())
                print(f"{path}:{line}: {snippet[:140]}")
            else:
                print(f"{path}:{line}: bare {name}! (add a message stating the promise it checks)")
    if listing:
        print(f"{count} bare assertion(s)", file=sys.stderr)
        return 0
    if count:
        print(f"{count} assertion(s) without a reason", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
