#!/usr/bin/env python3
"""Seeds the fuzz corpora from tests/fixtures (idempotent; file names are content hashes).

envelope_projection: each fixture compact on one line, as pretty-printed, and all of them in
one input in several orders (a reaction or receipt before its message).
signature: `<header>\n<body>` with the reference raw and canonical signatures.
"""
import hashlib
import json
import pathlib

root = pathlib.Path(__file__).resolve().parent
fixtures = root.parent / "tests" / "fixtures"


def put(target, data: bytes):
    d = root / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


files = sorted((fixtures / "events").glob("*.json")) + sorted((fixtures / "v3").glob("*.json"))
compact = []
for f in files:
    raw = f.read_bytes()
    put("envelope_projection", raw)
    line = json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False).encode()
    compact.append(line)
    put("envelope_projection", line)
put("envelope_projection", b"\n".join(compact))
put("envelope_projection", b"\n".join(reversed(compact)))

for row in (fixtures / "signatures.tsv").read_text().splitlines()[1:]:
    if not row.strip():
        continue
    name, _secret, raw_sig, canon_sig = row.split("\t")
    body = (fixtures / name).read_bytes()
    put("signature", raw_sig.encode() + b"\n" + body)
    put("signature", canon_sig.encode() + b"\n" + body)
    put("signature", b"\n" + body)
print("seeded", *(f"{d.name}: {len(list(d.iterdir()))}" for d in sorted((root / "corpus").iterdir())))
