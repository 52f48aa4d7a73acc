#!/usr/bin/env python3
"""Regenerate rules/preflight/resource-permissions.tsv: for every CloudFormation resource type, the actions its
registry handlers call (create, update, delete), from the resource schemas a pinned cfn-lint wheel ships.

    python3 scripts/resource-permissions.py            # downloads the pinned wheel with `pip download`
    python3 scripts/resource-permissions.py WHEEL      # or reads a wheel already downloaded

One Region's providers index is read: us-east-1, the Region with the most resource types (new types appear there
first; every other Region's index in the wheel lists fewer). Provenance and format: docs/preflight.md#the-data.
The build never runs this script: the data file is committed and embedded.
"""

import datetime
import json
import pathlib
import subprocess
import sys
import tempfile
import zipfile

CFN_LINT_VERSION = "1.58.0"
REGION = "us-east-1"
HANDLERS = ("create", "update", "delete")
ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "rules" / "preflight" / "resource-permissions.tsv"
PREFIX = "cfnlint/data/schemas/"


def wheel_path(tmp):
    subprocess.run(
        [sys.executable, "-m", "pip", "download", f"cfn-lint=={CFN_LINT_VERSION}", "--no-deps",
         "--only-binary", ":all:", "-d", tmp, "-q"],
        check=True,
    )
    wheels = sorted(pathlib.Path(tmp).glob(f"cfn_lint-{CFN_LINT_VERSION}-*.whl"))
    if not wheels:
        sys.exit(f"pip download gave no cfn-lint {CFN_LINT_VERSION} wheel")
    return wheels[0]


def clean(action):
    a = action.strip()
    if ":" not in a or any(c.isspace() for c in a) or "\t" in a or "," in a:
        return None
    return a


def extract(wheel):
    with zipfile.ZipFile(wheel) as z:
        if f"cfn_lint-{CFN_LINT_VERSION}.dist-info/METADATA" not in z.namelist():
            sys.exit(f"{wheel} is not cfn-lint {CFN_LINT_VERSION}")
        schema_date = json.loads(z.read(PREFIX + "version.json")).get("schema_date", "unknown")
        index = json.loads(z.read(f"{PREFIX}providers/{REGION}.json"))
        rows = []
        for type_name in sorted(index):
            schema = json.loads(z.read(f"{PREFIX}resources/{index[type_name]}.json"))
            handlers = schema.get("handlers") or {}
            for h in HANDLERS:
                perms = (handlers.get(h) or {}).get("permissions") or []
                actions = []
                for p in perms:
                    a = clean(p) if isinstance(p, str) else None
                    if a and a not in actions:
                        actions.append(a)
                if h in handlers:
                    rows.append((type_name, h, actions))
            if not any(h in handlers for h in HANDLERS):
                # A type the registry knows whose schema lists no handler (no permissions to check).
                rows.append((type_name, "none", []))
    return schema_date, rows


def main():
    if len(sys.argv) > 1:
        schema_date, rows = extract(pathlib.Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            schema_date, rows = extract(wheel_path(tmp))
    today = datetime.date.today().isoformat()
    types = len({r[0] for r in rows})
    lines = [
        "# CloudFormation registry handler permissions: resource type, handler, the actions it calls.",
        f"# cfn-lint {CFN_LINT_VERSION}, providers index {REGION}, schema_date {schema_date}, made {today}.",
        f"# {types} types. Regenerate with scripts/resource-permissions.py; see docs/preflight.md.",
        f"#meta\tcfn-lint={CFN_LINT_VERSION}\tregion={REGION}\tschema-date={schema_date}\tmade={today}",
    ]
    lines += [f"{t}\t{h}\t{','.join(a)}" for t, h, a in rows]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(f"{OUT.relative_to(ROOT)}: {types} types, {len(rows)} handlers")


if __name__ == "__main__":
    main()
