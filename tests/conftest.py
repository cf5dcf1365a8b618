"""Shared fixtures: the stacks rendered once per session under the shared mocks, and the dev stack's values.

Helpers live in tests/support (a test never imports conftest or another test module)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from harness import synth as synth_module
from harness import timing
from harness.plan import Plan
from harness.stack_files import ROOT
from ops.migrate.discover import discover
from ops.migrate.model import Install
from tests.support.migrate_scenarios import REGION, SCENARIOS, RecordedKube, SharedClients, moto_server
from tests.support.render import run, stack_values, synth


@pytest.fixture(scope="session", autouse=True)
def shared_renders() -> Iterator[None]:
    """The harness's own renders (synth, snapshots, timing) go through the session cache too, so a config
    rendered by several tests, or by a test and the harness, runs once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(synth_module, "run_program", run)
        patch.setattr(timing, "run_program", run)
        yield


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


# The migration scenarios: one moto server per session (moto's backends are process-wide, so every
# module that migrates shares this one account), each scenario discovered once.
@pytest.fixture(scope="session")
def account() -> Iterator[Any]:
    with moto_server():
        session = SharedClients()
        for _cluster, build in SCENARIOS.values():
            build(session)
        yield session


@pytest.fixture(scope="session")
def found(account: Any) -> dict[str, tuple[Install, RecordedKube]]:
    out = {}
    for name, (cluster, _build) in SCENARIOS.items():
        kube = RecordedKube(name)
        out[name] = (discover(kube, account, cluster, REGION), kube)
    return out
