"""A preview right after `pulumi up` shows no change: every stack file renders twice, with the answers AWS
gives anew each time (registry tokens, the newest add-on version) changed between the runs (the fake cloud
changes them on every render), and the offline diff of the two renders is empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.diff import diff_plans
from harness.plan import Plan
from harness.runner import run_program
from harness.stack_files import ROOT, flatten_config, load_stack_file
from harness.synth import world_for
from tests.support.render import PROJECT, stack_values
from tests.support.render import synth as cached_synth

STACK_FILES = sorted([*ROOT.glob("Pulumi.*.yaml"), *(ROOT / "tests" / "stacks").glob("Pulumi.*.yaml")])


def _stack(path: Path) -> str:
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def _fresh(stack: str, root: Path) -> Plan:
    """A render of its own (not the session cache): the fake cloud's answers of a new run."""
    project, config = load_stack_file(stack, root)
    return run_program(project, stack, config, world=world_for(project, config))


@pytest.mark.parametrize("path", STACK_FILES, ids=_stack)
def test_an_unchanged_stack_previews_no_change(path: Path) -> None:
    stack, root = _stack(path), path.parent
    first, second = cached_synth(stack, root), _fresh(stack, root)
    diff = diff_plans(first.as_json(), second.as_json(), None)
    assert [c.label for c in diff.changes] == []
    # Nothing was asked for the newest of pulumi-eks's add-ons: they are pinned. (The pre-flight asks for
    # the newest storage add-on versions only to refuse a pinned one EKS does not offer: no input.)
    asked = [a for t, a in second.invoke_args if t == "aws:eks/getAddonVersion:getAddonVersion"]
    assert not [a for a in asked if a.get("mostRecent") and a["addonName"] in ("vpc-cni", "kube-proxy")]
    for cluster in second.by_type("eks:index:Cluster"):
        assert cluster.inputs["vpcCniOptions"]["addonVersion"]
        assert cluster.inputs["kubeProxyAddonOptions"]["version"]


def test_a_private_ecr_mirror_token_is_new_every_run_and_shows_as_an_update() -> None:
    """The one input that must change: an ECR token lives 12 hours, and the provider logs in with the
    token in the release's inputs whenever it pulls (ignoring it would keep the first, expired one)."""
    values = stack_values("dev")
    mirror = "oci://123456789012.dkr.ecr.eu-west-1.amazonaws.com/karpenter"
    values["karpenter"] = {**values["karpenter"], "chartRepository": mirror}
    config = flatten_config(values, PROJECT)
    first, second = (run_program(PROJECT, "test", config, world=world_for(PROJECT, config)) for _ in "12")
    diff = diff_plans(first.as_json(), second.as_json(), None)
    changed = sorted((c.op, c.resource.type, c.resource.name, tuple(c.paths)) for c in diff.changes)
    release = "kubernetes:helm.sh/v3:Release"
    assert changed == [
        ("update", release, "karpenter-controller", ("repositoryOpts",)),
        ("update", release, "karpenter-crd", ("repositoryOpts",)),
    ]
