"""Rendering the program under the mocks for tests: stack values, ad-hoc configs, reference data."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.fake.world import World
from harness.plan import Plan
from harness.runner import run_program
from harness.stack_files import ROOT, flatten_config, load_stack_file
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


# Pickled plans by their exact inputs: many tests render the same config (the dev stack, the everything
# stack, a catalogue case), and a render costs far more than unpickling its result.
_PLANS: dict[str, bytes] = {}


def run(
    project: str,
    stack: str,
    config: Mapping[str, str],
    world: World | None = None,
    program: Path = ROOT / "__main__.py",
) -> Plan:
    """run_program, rendered once per session for the same project, stack, config text and fake account.

    Each call returns its own copy, so a test may change its plan without touching another test's. A
    render that fails is not kept: it raises again, afresh, each time."""
    key = json.dumps([project, stack, sorted(config.items()), str(program)]) + repr(world)
    if key not in _PLANS:
        _PLANS[key] = pickle.dumps(run_program(project, stack, config, world=world, program=program))
    plan: Plan = pickle.loads(_PLANS[key])
    return plan


def render(values: dict[str, Any], world: World | None = None, stack: str = "test") -> Plan:
    config = flatten_config(values, PROJECT)
    return run(PROJECT, stack, config, world=world or world_for(PROJECT, config))


def synth(stack: str, root: Path = ROOT, world: World | None = None) -> Plan:
    """harness.synth.synth through the session cache: Pulumi.<stack>.yaml of root, rendered once."""
    project, config = load_stack_file(stack, root)
    return run(project, stack, config, world=world or world_for(project, config))
