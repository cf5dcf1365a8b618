"""Committed renders of every stack, so each pull request shows what changes in IAM and NodePools.

    python -m harness.snapshots            refresh snapshots/<stack>/ for every Pulumi.<stack>.yaml
    python -m harness.snapshots --check    exit 1 when a snapshot is stale (the tests do this)

`--check` covers the example stacks and every other stack whose `snapshots/<stack>/` is committed: a stack
a user adds is checked from the first time its snapshot is written and committed, not before.

A snapshot holds the IAM documents, the Kubernetes manifests and Helm values, and `resources.txt`: one
line per resource with what it waits for. Sorted, free of volatile values: the same program and config
give the same files, byte for byte.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
from pathlib import Path

from harness.plan import Plan
from harness.stack_files import EXAMPLE_STACKS, ROOT, stack_names
from harness.synth import synth, write_artifacts

SNAPSHOTS = ROOT / "snapshots"


def stacks(root: Path = ROOT) -> list[str]:
    """Every stack of the project (what `python -m harness.snapshots` writes)."""
    return stack_names(root)


def checked_stacks(root: Path = ROOT) -> list[str]:
    """The stacks `--check` compares: the example stacks, and those whose snapshot is committed."""
    return [s for s in stacks(root) if s in EXAMPLE_STACKS or (SNAPSHOTS / s).is_dir()]


def resource_list(plan: Plan) -> str:
    """`type name` per resource, sorted, each followed by the resources it waits for."""
    names = {r.urn: f"{r.type} {r.name}" for r in plan.resources}
    lines = []
    for r in plan.resources:
        deps = set(r.dependencies)
        for urns in r.property_dependencies.values():
            deps.update(urns)
        waits = sorted(names[u] for u in deps if u in names)
        parent = names.get(r.parent or "", "")
        entry = f"{r.type} {r.name}" + (f"\n    parent: {parent}" if parent else "")
        entry += "".join(f"\n    waits for: {w}" for w in waits)
        lines.append(entry)
    return "\n".join(sorted(lines)) + "\n"


def render(stack: str, out: Path) -> None:
    plan = synth(stack)
    out.mkdir(parents=True, exist_ok=True)
    write_artifacts(plan, out)
    (out / "resources.txt").write_text(resource_list(plan))


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def stale(stack: str) -> list[str]:
    """Unified diffs between the committed snapshot of `stack` and a fresh render (empty: up to date)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        render(stack, fresh)
        new, old = _files(fresh), _files(SNAPSHOTS / stack) if (SNAPSHOTS / stack).exists() else {}
    diffs = []
    for name in sorted(set(new) | set(old)):
        if new.get(name) != old.get(name):
            diffs.append(
                "".join(
                    difflib.unified_diff(
                        old.get(name, "").splitlines(keepends=True),
                        new.get(name, "").splitlines(keepends=True),
                        f"snapshots/{stack}/{name}",
                        f"fresh/{stack}/{name}",
                    )
                )
                or f"{name}: differs"
            )
    return diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.snapshots")
    parser.add_argument("--check", action="store_true", help="fail when a snapshot is stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = [d for s in checked_stacks() for d in stale(s)]
        for d in problems:
            print(d)
        if problems:
            print(
                "snapshots are stale: run `python3 tools/dev.py snapshots` and commit snapshots/",
                file=sys.stderr,
            )
        return 1 if problems else 0
    for stack in stacks():
        out = SNAPSHOTS / stack
        for old in sorted(out.rglob("*"), reverse=True) if out.exists() else []:
            old.unlink() if old.is_file() else old.rmdir()
        render(stack, out)
        print(f"snapshots/{stack}/ refreshed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
