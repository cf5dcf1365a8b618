"""Which stacks a test runs on: the example stacks (tests about them say so), or every stack of the
project (checks that must hold for any `Pulumi.<stack>.yaml` a user adds: renders, schemas, CRDs)."""

from __future__ import annotations

from pathlib import Path

from harness.plan import Plan
from harness.stack_files import EXAMPLE_STACKS, ROOT, stack_names
from tests.support.render import synth

EVERYTHING_DIR = ROOT / "tests" / "stacks"
"""tests/stacks/Pulumi.everything.yaml: the dev cluster with every add-on and every option."""

PROJECT_STACKS = tuple(stack_names(ROOT))
"""Every `Pulumi.<stack>.yaml` at the project root: the example stacks and any a user added."""

ALL_STACKS = (*PROJECT_STACKS, "everything")
"""Every project stack, and the test stack that takes every add-on branch."""

__all__ = ["ALL_STACKS", "EVERYTHING_DIR", "EXAMPLE_STACKS", "PROJECT_STACKS", "stack_dir", "stack_plan"]


def stack_dir(stack: str) -> Path:
    """The folder holding `Pulumi.<stack>.yaml`."""
    return EVERYTHING_DIR if stack == "everything" else ROOT


def stack_plan(stack: str) -> Plan:
    """The stack rendered from its file, through the session cache (one render per stack per session)."""
    return synth(stack, root=stack_dir(stack))
