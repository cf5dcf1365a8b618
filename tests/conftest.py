"""Shared fixtures: the stacks rendered once per session under the shared mocks, and the dev stack's values.

Helpers live in tests/support (a test never imports conftest or another test module)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from harness.mocks import ROOT, Plan
from harness.synth import synth
from tests.support.render import stack_values


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
