"""A richer hand-made install than the guides': several EC2NodeClasses (one Bottlerocket, one with its own
volumes, kubelet, user data and metadata options), pools on named classes with minValues, taints,
startup taints and a grace period. The written stack describes each object as it is, so its second run
drifts no node; what the program cannot say is announced as a DRIFT before anything runs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from config.load import parse_stack_config
from harness.diff.rules import DEFAULT_RULES, Rules
from ops.migrate.imports import import_file
from ops.migrate.kube import node_class_from, node_pool_from
from ops.migrate.model import Install
from ops.migrate.review import format_review, review
from ops.migrate.stack_file import stack_config
from tests.support import migrate_fixtures as fx
from tests.support.migrate_scenarios import RecordedKube
from tests.support.render import render
from tests.support.second_run import harm_to_nodes, second_run

STACK = "rich"
CLUSTER = "ks-prod"
ROLE = "KarpenterNodeRole-ks-prod"
USER_DATA = "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    flags: [--v=2]\n"


def _classes() -> list[dict[str, Any]]:
    general = fx.node_class(
        "general",
        ROLE,
        CLUSTER,
        [{"alias": "al2023@v20251120"}],
        blockDeviceMappings=[
            {
                "deviceName": "/dev/xvda",
                "rootVolume": True,
                "ebs": {"volumeSize": "100Gi", "volumeType": "gp3", "iops": 4000, "encrypted": True},
            },
            {"deviceName": "/dev/xvdf", "ebs": {"volumeSize": "200Gi", "volumeType": "gp3"}},
        ],
        kubelet={"maxPods": 110, "systemReserved": {"cpu": "100m", "memory": "200Mi"}},
        userData=USER_DATA,
        tags={"team": "platform"},
        detailedMonitoring=True,
    )
    general["spec"]["metadataOptions"]["httpPutResponseHopLimit"] = 2
    rocket = fx.node_class(
        "rocket", ROLE, CLUSTER, [{"alias": "bottlerocket@v1.50.0"}], kubelet={"maxPods": 58}
    )
    return [general, rocket]


def _pools() -> list[dict[str, Any]]:
    arm = [
        fx.req("kubernetes.io/arch", ["arm64"]),
        {
            "key": "karpenter.k8s.aws/instance-family",
            "operator": "In",
            "values": ["m7g", "c7g"],
            "minValues": 2,
        },
        fx.req("karpenter.sh/capacity-type", ["spot"]),
    ]
    web = fx.node_pool("web", arm, 80)
    web["spec"]["template"]["spec"].update(
        nodeClassRef={"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "general"},
        taints=[{"key": "tier", "value": "web", "effect": "NoSchedule"}],
        startupTaints=[{"key": "agent", "effect": "NoExecute"}],
        terminationGracePeriod="24h",
    )
    web["spec"]["template"]["metadata"] = {"labels": {"example.com/tier": "web"}}
    amd = [
        fx.req("kubernetes.io/arch", ["amd64"]),
        fx.req("karpenter.k8s.aws/instance-category", ["c", "m"]),
        fx.req("karpenter.k8s.aws/instance-generation", ["5"], "Gt"),
        fx.req("karpenter.sh/capacity-type", ["on-demand"]),
    ]
    batch = fx.node_pool("batch", amd, 20)
    batch["spec"]["template"]["spec"]["nodeClassRef"]["name"] = "rocket"
    return [web, batch]


def _live(objs: list[dict[str, Any]], resource: str) -> dict[tuple[str, str], Any]:
    return {(resource, o["metadata"]["name"]): o for o in objs}


@pytest.fixture(scope="module")
def rich(found: dict[str, tuple[Install, RecordedKube]]) -> Install:
    base, _ = found["kube-system"]
    return replace(
        base,
        node_classes=tuple(node_class_from(c) for c in _classes()),
        node_pools=tuple(node_pool_from(p) for p in _pools()),
    )


def test_each_object_is_written_as_it_is(rich: Install) -> None:
    out = stack_config(rich)
    cfg = out.config
    assert set(cfg["nodeClasses"]) == {"general", "rocket"}
    general = cfg["nodeClasses"]["general"]
    assert general["kubelet"] == {"maxPods": 110, "systemReserved": {"cpu": "100m", "memory": "200Mi"}}
    assert (general["userData"], general["detailedMonitoring"]) == (USER_DATA, True)
    assert general["metadataOptions"]["httpPutResponseHopLimit"] == 2
    assert general["blockDeviceMappings"][1] == {
        "deviceName": "/dev/xvdf",
        "ebs": {"volumeSize": "200Gi", "volumeType": "gp3", "encrypted": None, "deleteOnTermination": None},
    }
    assert cfg["nodeClasses"]["rocket"]["amiFamily"] == "Bottlerocket"
    pools = {p["nodePoolName"]: p for p in cfg["nodePools"]}
    assert (pools["web"]["nodeClass"], pools["web"]["minFamilies"], pools["web"]["spotRatio"]) == (
        "general",
        2,
        1,
    )
    assert pools["web"]["terminationGracePeriod"] == "24h"
    assert (pools["batch"]["nodeClass"], pools["batch"]["minGeneration"]) == ("rocket", 6)
    assert not [u for u in out.unexpressed if "DRIFT" in u], out.unexpressed
    parse_stack_config(cfg)  # the program's own loader accepts it


def test_the_second_run_drifts_no_node_of_any_class(rich: Install) -> None:
    rules = Rules.load(DEFAULT_RULES) if DEFAULT_RULES.is_file() else pytest.skip("../shared is absent")
    out = stack_config(rich)
    imports = import_file(rich, out, STACK)
    ids = {e["id"] for e in imports.resources if e["type"].startswith("kubernetes:karpenter")}
    assert ids == {"general", "rocket", "web", "batch"}
    live = _live(_classes(), "ec2nodeclasses.karpenter.k8s.aws") | _live(_pools(), "nodepools.karpenter.sh")
    diff = second_run(render(out.config, stack=STACK), imports, STACK, live, rules)
    assert harm_to_nodes(diff) == []
    assert "NOT KEPT" not in format_review(review(rich, out, imports), [], [])


def test_what_cannot_be_said_is_announced_as_drift_before_anything_runs(rich: Install) -> None:
    general, rocket = _classes()
    general["spec"]["context"] = "arn:aws:ec2:eu-west-1:123456789012:launch-template/lt-1"
    rocket["spec"]["amiFamily"] = "AL2"
    rocket["spec"]["amiSelectorTerms"] = [{"id": "ami-0123456789abcdef0"}]
    odd = replace(rich, node_classes=(node_class_from(general), node_class_from(rocket)))
    out = stack_config(odd)
    text = format_review(review(odd, out, import_file(odd, out, STACK)), [], [])
    drifts = text.split("Nodes the next pulumi up replaces")[1].split("Version:")[0]
    assert "EC2NodeClass general: sets context" in drifts and "DRIFTS EVERY NODE" in drifts
    assert "EC2NodeClass rocket: AMI selection" in drifts


def test_a_class_no_pool_uses_is_left_alone_not_blocking(rich: Install) -> None:
    spare = fx.node_class("default", ROLE, CLUSTER, [{"alias": "al2023@v20251120"}])
    with_spare = replace(rich, node_classes=(*rich.node_classes, node_class_from(spare)))
    out = stack_config(with_spare)
    rev = review(with_spare, out, import_file(with_spare, out, STACK))
    assert "EC2NodeClass default: no NodePool uses it: never touched" in rev.kept_names
    assert rev.blocking == []


def test_a_class_naming_an_instance_profile_beside_role_based_ones_is_announced(rich: Install) -> None:
    general, rocket = _classes()
    del rocket["spec"]["role"]
    rocket["spec"]["instanceProfile"] = "hand-made-profile"
    mixed = replace(rich, node_classes=(node_class_from(general), node_class_from(rocket)))
    out = stack_config(mixed)
    assert (
        f"EC2NodeClass rocket: uses instanceProfile hand-made-profile; the stack's classes say role {ROLE}, "
        "which DRIFTS EVERY NODE of its pools"
    ) in out.unexpressed
    assert not [u for u in out.unexpressed if u.startswith("EC2NodeClass general: uses")]
