"""What a change to the program or a stack file creates, updates, REPLACES and deletes, offline.

    python3 tools/dev.py diff --stack dev [--base GITREF] [--fail-on-breaking]
    venv/bin/python -m harness.diff --stack dev --base-plan old/plan.json --plan new/plan.json

Exit status: 0 done (1 with --fail-on-breaking when a change breaks the running environment), 2 usage or
render error, 3 the replacement rules are absent (what needs no rule is still printed).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.diff.engine import diff_plans
from harness.diff.report import to_markdown
from harness.diff.rules import DEFAULT_RULES, ROOT, Rules, RulesMissing


class DiffError(Exception):
    """A usage or render problem: exit status 2."""


def render_now(stack: str, root: Path = ROOT, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The working tree's plan, rendered as an update of `base` (its inputs are what the engine holds for
    `ignoreChanges`), or as a first deployment without one."""
    from harness.stack_files import load_stack_file
    from harness.synth import synth, world_for

    project, config = load_stack_file(stack, root)
    world = world_for(project, config)
    world.prior = prior_inputs(base)
    return synth(stack, root, world).as_json()


def prior_inputs(base: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """URN -> inputs of a rendered plan, as the fake cloud's record of the last deployment."""
    return {r["urn"]: r["inputs"] for r in (base or {}).get("resources", [])}


def render_ref(
    ref: str, stack: str, root: Path = ROOT, python: str = sys.executable
) -> dict[str, Any] | None:
    """The plan of `stack` at git `ref`, rendered by that commit's own code; None when the commit has no
    such stack file (everything is then created)."""
    done = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", ref], capture_output=True, check=False
    )
    if done.returncode != 0:
        raise DiffError(f"git archive {ref} failed: {done.stderr.decode().strip()}")
    with tempfile.TemporaryDirectory(prefix="karpenter-eks-base-") as tmp:
        src = Path(tmp) / "src"
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
            archive.extractall(src, filter="data")
        if not (src / f"Pulumi.{stack}.yaml").exists():
            return None
        out = Path(tmp) / "out"
        env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
        # The renderer lives where that commit keeps it (commits before the layout step: tools/synth.py).
        synth_module = "harness.synth" if (src / "harness" / "synth.py").exists() else "tools.synth"
        run = subprocess.run(
            [python, "-m", synth_module, "--stack", stack, "--out", str(out)],
            cwd=src,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            raise DiffError(f"rendering {stack} at {ref} failed:\n{run.stderr.strip() or run.stdout.strip()}")
        return json.loads((out / "plan.json").read_text())


def _short(ref: str, root: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", ref], capture_output=True, text=True, check=False
    )
    return (
        f"`{ref}` ({done.stdout.strip()})"
        if done.returncode == 0 and done.stdout.strip() != ref
        else f"`{ref}`"
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness.diff", description=(__doc__ or "").split("\n")[0])
    p.add_argument("--stack", required=True, help="stack name (Pulumi.<stack>.yaml)")
    p.add_argument("--base", default="HEAD", help="git ref to compare with (default: HEAD)")
    p.add_argument(
        "--base-plan", type=Path, help="a plan.json to use as the base instead of rendering --base"
    )
    p.add_argument(
        "--plan", type=Path, help="a plan.json to use as now instead of rendering the working tree"
    )
    p.add_argument("--replacements", type=Path, help=f"replacements.json (default: {DEFAULT_RULES})")
    p.add_argument("--out", type=Path, help="also write the Markdown to this file")
    p.add_argument(
        "--fail-on-breaking", action="store_true", help="exit 1 when a change breaks the running environment"
    )
    return p


def _sides(args: argparse.Namespace) -> tuple[dict[str, Any] | None, str, dict[str, Any]]:
    """The base plan (None: the base has no such stack), how to name it, and the plan now."""
    if args.base_plan:
        base: dict[str, Any] | None = json.loads(args.base_plan.read_text())
        base_label = f"`{args.base_plan}`"
    else:
        base = render_ref(args.base, args.stack)
        base_label = _short(args.base, ROOT)
    now = json.loads(args.plan.read_text()) if args.plan else render_now(args.stack, base=base)
    return base, base_label, now


def _render(args: argparse.Namespace) -> tuple[dict[str, Any] | None, str, dict[str, Any]] | int:
    """Both sides, or the exit status of a usage or render error (said on stderr)."""
    try:
        return _sides(args)
    except (DiffError, OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a config the program refuses: say it the way synth does
        from config.base import ConfigError

        if isinstance(exc, ConfigError):
            print(f"Pulumi.{args.stack}.yaml: {exc.message}", file=sys.stderr)
            return 2
        raise


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    rules: Rules | None
    missing: str | None = None
    try:
        rules = Rules.load(args.replacements)
    except RulesMissing as exc:
        rules, missing = None, str(exc)
        print(f"error: {missing}", file=sys.stderr)
    sides = _render(args)
    if isinstance(sides, int):
        return sides
    base, base_label, now = sides
    if base is None:
        base_label += f" (no Pulumi.{args.stack}.yaml: everything is new)"
        base = {"resources": []}
    result = diff_plans(base, now, rules)
    text = to_markdown(result, args.stack, base_label, f"`{args.plan}`" if args.plan else "working tree")
    print(text, end="")
    if args.out:
        args.out.write_text(text)
    if missing:
        return 3
    return 1 if args.fail_on_breaking and result.breaking else 0
