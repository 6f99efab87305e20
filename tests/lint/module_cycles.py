#!/usr/bin/env python3
"""Fails when modules of the engine crate import each other in a cycle.

`make lint` runs it. For every module P (the crate root included) it draws a graph between P's
direct children: child X -> child Y when any file inside X names a path inside Y (`use
crate::...`, `use super::...`, or a path written inline like `crate::store::log::append(..)`).
A cycle among siblings (or among top-level modules) means neither can be understood, tested or
replaced without the other: layers should point one way. A module and its own parent or child
never form a cycle here (a parent re-exporting its children is how Rust modules work).

Test code is left out (`#[cfg(test)]` inline modules and files declared under `#[cfg(test)]`):
a test may reach anywhere.

Usage: module_cycles.py [SRC_DIR]   (default: src). Exit 1 and a list of cycles when any exist.
"""

import os
import re
import sys

from rust_source import strip_comments_and_strings

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def cut_test_modules(text):
    """Blanks every `#[cfg(test)] mod name { ... }` block (line breaks kept)."""
    for m in list(re.finditer(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+" + IDENT + r"\s*\{", text)):
        start = m.start()
        if text[start] == "\0":
            continue
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        block = text[start:j]
        text = text[:start] + "\0" * 0 + re.sub(r"[^\n]", " ", block) + text[j:]
    return text


def module_files(src):
    """{module path tuple: file} for every .rs file under src (the crate root is ())."""
    modules = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, src)[:-3].split(os.sep)
            if rel == ["lib"]:
                mod = ()
            elif rel[-1] == "mod":
                mod = tuple(rel[:-1])
            else:
                mod = tuple(rel)
            if rel == ["main"] or rel[0] == "bin" or rel[0] == "cli":
                continue  # binaries are their own crates
            modules[mod] = path
    return modules


def test_only(modules, texts):
    """Modules declared as `#[cfg(test)] mod name;` in their parent."""
    out = set()
    for mod in modules:
        if not mod:
            continue
        parent = texts.get(mod[:-1], "")
        if re.search(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+" + re.escape(mod[-1]) + r"\s*;", parent):
            out.add(mod)
    return {m for m in modules if any(m[:len(t)] == t for t in out)}


def parse_tree(text, i):
    """Parses a `use` tree after `::` at text[i]; returns (list of path tuples, end)."""
    while i < len(text) and text[i].isspace():
        i += 1
    if i < len(text) and text[i] == "{":
        paths, i = [], i + 1
        while True:
            while i < len(text) and (text[i].isspace() or text[i] == ","):
                i += 1
            if i >= len(text) or text[i] == "}":
                return paths, i + 1
            sub, i = parse_path(text, i)
            paths.extend(sub)
    return parse_path(text, i)


def parse_path(text, i):
    m = re.compile(r"(" + IDENT + r"|\*)").match(text, i)
    if not m:
        return [()], i
    head, i = m.group(1), m.end()
    j = i
    while j < len(text) and text[j] in " \t\n":
        j += 1
    if text.startswith("::", j):
        rest, i = parse_tree(text, j + 2)
        return [(head,) + r for r in rest], i
    return [(head,)], i


def references(text):
    """(line, absolute-or-relative path tuple) for every crate::/super::/self:: path."""
    refs = []
    for m in re.finditer(r"(?<![A-Za-z0-9_:])(crate|super|self)\s*::", text):
        line = text.count("\n", 0, m.start()) + 1
        paths, _ = parse_tree(text, m.end())
        for p in paths:
            refs.append((line, (m.group(1),) + p))
    return refs


def resolve(mod, is_dir_module, path, modules):
    """The module a referenced path lands in (longest known prefix), or None."""
    base = list(mod)
    parts = list(path)
    if parts[0] == "crate":
        base, parts = [], parts[1:]
    elif parts[0] == "self":
        parts = parts[1:]
    else:
        while parts and parts[0] == "super":
            base = base[:-1]
            parts = parts[1:]
    full = base + [p for p in parts if p not in ("*", "self")]
    for k in range(len(full), -1, -1):
        if tuple(full[:k]) in modules:
            return tuple(full[:k])
    return None


def sccs(nodes, edges):
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def name(mod):
    return "::".join(mod) if mod else "crate"


def main():
    args = sys.argv[1:]
    src = args[0] if args else "src"
    modules = module_files(src)
    texts = {m: open(p, encoding="utf-8").read() for m, p in modules.items()}
    skip = test_only(modules, texts)
    # (from module, to module) -> first "file:line" that makes the edge
    evidence = {}
    for mod, path in sorted(modules.items()):
        if mod in skip:
            continue
        text = cut_test_modules(strip_comments_and_strings(texts[mod]))
        is_dir = os.path.basename(path) == "mod.rs"
        for line, ref in references(text):
            target = resolve(mod, is_dir, ref, modules)
            if target is None or target in skip:
                continue
            evidence.setdefault((mod, target), f"{os.path.relpath(path)}:{line}")
    found = []
    parents = {m[:k] for m in modules for k in range(len(m))}
    for parent in sorted(parents):
        depth = len(parent)
        edges, nodes = {}, set()
        for (a, b), where in evidence.items():
            if a[:depth] != parent or b[:depth] != parent or len(a) <= depth or len(b) <= depth:
                continue
            x, y = a[:depth + 1], b[:depth + 1]
            if x == y:
                continue
            nodes.update((x, y))
            edges.setdefault(x, {}).setdefault(y, where)
        for comp in sccs(nodes, edges):
            lines = []
            for x in comp:
                for y in comp:
                    if y in edges.get(x, {}):
                        lines.append(f"    {name(x)} -> {name(y)}  ({edges[x][y]})")
            found.append((parent, comp, lines))
    key = lambda comp: " <-> ".join(sorted(name(c) for c in comp))
    if not found:
        print(f"module_cycles: no import cycle between the {len(modules)} modules of {src}")
        return 0
    print(f"module_cycles: {len(found)} import cycle(s); layers must point one way:")
    for parent, comp, lines in found:
        print(f"  in {name(parent)}: {key(comp)}")
        print("\n".join(lines))
    return 1


if __name__ == "__main__":
    sys.exit(main())
