"""Shared fixtures: the stacks rendered once per session under the shared mocks, and config helpers."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.fake.world import World
from harness.plan import Plan
from harness.runner import run_program
from harness.stack_files import ROOT, flatten_config
from harness.synth import synth, world_for

PROJECT = "karpenter-eks"
SHARED = ROOT.parent / "shared" / "karpenter" / "1.14.1"


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


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    return synth("dev")


@pytest.fixture(scope="session")
def prod_plan() -> Plan:
    return synth("prod")


@pytest.fixture(scope="session")
def everything_plan() -> Plan:
    """tests/stacks/Pulumi.everything.yaml: the dev cluster with every add-on and every option."""
    return synth("everything", root=ROOT / "tests" / "stacks")


@pytest.fixture
def dev_values() -> dict[str, Any]:
    return copy.deepcopy(stack_values("dev"))


Mutator = Callable[[dict[str, Any]], None]
