"""How long the two things every change pays for take: the test command and an offline render.

    python -m tools.benchmark [--runs 5] [--stack dev] [--only render|tests] [--pytest-args "-x"]

Each is run as the user runs it, in a fresh process (imports included), `--runs` times after one warm-up
run; the report gives every run, the median and the spread (max - min). The budgets: the render of dev
under 3 s median and the test command under 90 s, on a 2-core machine. Exit 1 when a median is over its
budget, so a reviewer can run it before and after a change.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGETS = {"render": 3.0, "tests": 90.0}


def timed(cmd: Sequence[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(cmd: Sequence[str], runs: int) -> list[float]:
    timed(cmd)  # warm-up: bytecode, the OS page cache, pytest's and mypy's caches
    return [timed(cmd) for _ in range(runs)]


def summary(name: str, times: Sequence[float]) -> tuple[str, bool]:
    median = statistics.median(times)
    within = median <= BUDGETS[name]
    runs = ", ".join(f"{t:.2f}" for t in times)
    line = (
        f"{name:7} median {median:7.2f} s  spread {max(times) - min(times):6.2f} s  "
        f"budget {BUDGETS[name]:5.1f} s  {'ok' if within else 'OVER'}   runs: {runs}"
    )
    return line, within


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.benchmark", description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--stack", default="dev")
    p.add_argument("--only", choices=sorted(BUDGETS))
    p.add_argument("--pytest-args", default="", help="extra pytest arguments for the tests measure")
    args = p.parse_args(argv)
    print(f"{os.cpu_count()} cores, python {sys.version.split()[0]}, {args.runs} runs after one warm-up")
    ok = True
    with tempfile.TemporaryDirectory(prefix="karpenter-eks-bench-") as out:
        commands = {
            "render": [sys.executable, "-m", "harness.synth", "--stack", args.stack, "--out", out],
            "tests": [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                *shlex.split(args.pytest_args),
            ],
        }
        for name, cmd in commands.items():
            if args.only and name != args.only:
                continue
            line, within = summary(name, measure(cmd, args.runs))
            print(line, flush=True)
            ok = ok and within
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
