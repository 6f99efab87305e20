#!/usr/bin/env python3
"""Shows that tests/lint/bare_asserts.py fails on a bare assertion, and only on it.

`make lint` runs it before the lint itself, so a lint that silently stopped finding anything
(a regex that no longer matches, a literal that swallows the rest of a file) breaks the build
instead of passing every tree. No pytest: plain asserts, exit 1 on the first broken promise.
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bare_asserts  # noqa: E402

# Exactly one bare assertion (line 3); everything else either carries a reason or only looks
# like an assertion (in a comment, in a string), and the literals around it carry the quotes,
# commas and parentheses that a naive scanner trips on.
FIXTURE = r'''#[test]
fn fixture() {
    assert_eq!(parse(r#"a, "b")"#), vec!['"', ',']);
    assert_eq!(parse("x,)"), Vec::<(u8, u8)>::new(), "an empty {} parses to nothing", "x");
    // assert!(commented_out);
    let s = "assert!(inside_a_string)";
    prop_assert!(matches!(v, Some(_)), "a value survives the round trip");
    assert!(
        xs.iter().all(|x| x > &0),
        r"every count is positive",
    );
}
'''


def bare_lines(text):
    return [line for line, _name, _start, _end in bare_asserts.find_bare(text)]


def main():
    found = bare_lines(FIXTURE)
    assert found == [3], f"the lint reports exactly the one bare assertion (line 3), got {found}"

    # Each macro form is checked, and an empty message is no reason.
    for src, want in [
        ("prop_assert_eq!(a, b);", [1]),
        ("debug_assert!(ok);", [1]),
        ('assert_ne!(a, b, "");', [1]),
        ("assert_eq!(m!(a, b), c,);", [1]),
        ('assert_ne!(a, b, "ids stay unique");', []),
        ('debug_assert!(ok, "{} is open", name);', []),
    ]:
        got = bare_lines(src)
        assert got == want, f"{src!r}: the lint reports bare lines {want}, got {got}"

    # Run as `make lint` runs it: a bare assertion fails with its file:line.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fixture.rs")
        with open(path, "w", encoding="utf-8") as f:
            f.write(FIXTURE)
        run = subprocess.run(
            [sys.executable, os.path.join(HERE, "bare_asserts.py"), tmp],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 1, f"a tree with a bare assertion fails the lint: {run}"
        lines = run.stdout.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"{path}:3: "), (
            f"the failure names the bare assertion's file:line and nothing else: {lines}"
        )
    print("bare_asserts self-test: ok")


if __name__ == "__main__":
    main()
