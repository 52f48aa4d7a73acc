#!/usr/bin/env python3
"""Write the fuzz targets' seed inputs, from the repository's real inputs, into DIR/<target>/ (default
fuzz/seeds). `cargo fuzz cmin` then keeps the few that matter in fuzz/corpus/<target>/ (scripts/fuzz.sh --seed)."""

import hashlib
import json
import pathlib
import re
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fuzz" / "seeds"
MAX = 64 * 1024  # libFuzzer's inputs stay small; bigger files would only slow every run


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    if not data or len(data) > MAX:
        return
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def strings(v, keys):
    """Every string under one of `keys`, anywhere in a JSON value."""
    if isinstance(v, dict):
        for k, x in v.items():
            if k in keys and isinstance(x, str):
                yield x
            else:
                yield from strings(x, keys)
    elif isinstance(v, list):
        for x in v:
            yield from strings(x, keys)


MESSAGES = {"ResourceStatusReason", "StatusReason", "Reason", "Message", "message"}
files = sorted(p for d in ("samples", "tests/fixtures") for p in (ROOT / d).rglob("*") if p.is_file())
for p in files:
    if p.suffix == ".md" or p.suffix == ".toml":
        continue
    raw = p.read_bytes()
    put("offline", raw)
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        continue
    for m in strings(doc, MESSAGES):
        put("unwrap", m)
        put("classify", m)
    for body in strings(doc, {"TemplateBody"}):
        put("yaml", body)
    for content in strings(doc, {"Content"}):
        put("scp_policy", content)
    if "Policy" in doc or "Statement" in doc or "levels" in doc:
        put("scp_policy", raw)
    if isinstance(doc, dict) and doc.get("source") == "aws.cloudformation":
        put("event", raw)

for line in (ROOT / "tests/corpus/holdout.jsonl").read_text().splitlines():
    if line.strip():
        m = json.loads(line)["message"]
        put("unwrap", m)
        put("classify", m)

for p in sorted((ROOT / "rules").rglob("*.toml")):
    rule = tomllib.loads(p.read_text())
    for ex in rule.get("examples", []) + rule.get("counter_examples", []):
        if isinstance(ex, dict) and isinstance(ex.get("message"), str):
            put("unwrap", ex["message"])
            put("classify", ex["message"])

# Policies written out in the tests and docs (a JSON object with a Statement).
for p in [ROOT / "docs/scp-semantics.md", ROOT / "tests/scp.rs", ROOT / "README.md"]:
    for m in re.finditer(r"\{[^`]*?\"Statement\"[^`]*?\n?\}", p.read_text()):
        put("scp_policy", m.group(0))

# Templates written out in the template module's tests (YAML short forms, JSON).
for p in sorted((ROOT / "src/template").glob("*.rs")):
    for m in re.finditer(r'r#"(.*?)"#', p.read_text(), re.S):
        if "Resources" in m.group(1) or "!" in m.group(1):
            put("yaml", m.group(1))

for t in sorted(OUT.iterdir()):
    print(t.name, len(list(t.iterdir())))
