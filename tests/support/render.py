"""Rendering the program under the mocks for tests: stack values, ad-hoc configs, reference data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.mocks import ROOT, Plan, World, flatten_config, run_program
from harness.synth import world_for

PROJECT = "karpenter-eks"
SHARED = ROOT.parent / "shared" / "karpenter" / "1.14.1"

Mutator = Callable[[dict[str, Any]], None]


def shared_file(relative: str) -> Path:
    """A file of ../shared/karpenter/1.14.1, or a skip that says the reference folder is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"reference data {path} is absent (../shared is not next to this checkout)")
    return path


def stack_values(stack: str) -> dict[str, Any]:
    """The project's keys of Pulumi.<stack>.yaml, without the namespace, as plain data."""
    doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    prefix = f"{PROJECT}:"
    return {k.removeprefix(prefix): v for k, v in doc.items() if k.startswith(prefix)}


def render(values: dict[str, Any], world: World | None = None, stack: str = "test") -> Plan:
    config = flatten_config(values, PROJECT)
    return run_program(PROJECT, stack, config, world=world or world_for(PROJECT, config))
