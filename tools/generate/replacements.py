"""Which input changes replace a resource, derived from the upstream reference table into the project.

    python -m tools.generate.replacements            print what would be written
    python -m tools.generate.replacements --write    write harness/diff/replacements.json

Source: `../shared/pulumi-replacements/replacements.json` (read by hand from the pinned providers'
sources; its README says how). The reference file stays there; only what the offline diff reads is
committed, so `tools/dev.py diff` classifies replacements in any clone. A test checks the committed file
equals what this script derives from the reference whenever the reference is beside the checkout.

Kept: every type of the reference table (the types the program registers, the EKS control plane
pulumi-eks creates as a child, and the ones its add-ons register), each with only the fields
harness/diff/rules.py reads (`replaceOn`, `conditional`, `autoNamed`, `deleteBeforeReplace`,
`component`, `regionalChild`). Dropped: the sources read, in-place lists, notes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT.parent / "shared" / "pulumi-replacements" / "replacements.json"
OUT = ROOT / "harness" / "diff" / "replacements.json"

FIELDS = ("replaceOn", "conditional", "autoNamed", "deleteBeforeReplace", "component", "regionalChild")
"""The fields of a type the diff engine reads (harness/diff/rules.py `Rules.load`)."""


def derive(reference: dict[str, Any]) -> dict[str, Any]:
    types = {
        token: {
            "replaceOn": list(entry.get("replaceOn") or ()),
            "conditional": [{"path": c["path"], "when": c["when"]} for c in entry.get("conditional") or ()],
            "autoNamed": entry.get("autoNamed"),
            "deleteBeforeReplace": str(entry.get("deleteBeforeReplace") or "n/a"),
            "component": bool(entry.get("component")),
            "regionalChild": bool(entry.get("regionalChild")),
        }
        for token, entry in sorted(reference["types"].items())
    }
    return {
        "source": (
            "derived by tools/generate/replacements.py from ../shared/pulumi-replacements/replacements.json "
            "(read from the pinned providers' sources; see that folder's README)"
        ),
        "providers": {
            name: {key: value for key, value in source.items() if key.startswith("pulumi")}
            for name, source in reference["sources"].items()
        },
        "pathSyntax": reference["pathSyntax"],
        "types": types,
    }


def derived(path: Path = SOURCE) -> dict[str, Any]:
    if not path.is_file():
        raise SystemExit(f"{path} is absent: this generator needs the reference folder ../shared")
    return derive(json.loads(path.read_text()))


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.generate.replacements")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    text = render(derived())
    if args.write:
        OUT.write_text(text)
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
