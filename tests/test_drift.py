"""Which nodes a NodePool change drifts (harness/diff/drift.py), as Karpenter 1.14.1 decides it: the
template's hashed fields drift every node, requirements only the nodes they no longer admit."""

from __future__ import annotations

from typing import Any

import pytest

from harness.diff.drift import ALL, NONE, REQUIREMENTS, field_rule, node_pool_drift, requirements_drift

FAMILY = "karpenter.k8s.aws/instance-family"


def req(key: str, op: str, *values: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "operator": op, **({"values": list(values)} if values else {}), **extra}


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("spec.template.metadata.labels.team", ALL),
        ("spec.template.spec.taints[0].effect", ALL),
        ("spec.template.spec.nodeClassRef.name", ALL),
        ("spec.template.spec.expireAfter", ALL),
        ("spec.template.spec.somethingNew", ALL),
        ("spec.template.spec.requirements[3].values", REQUIREMENTS),
        ("spec.template.spec.requirements", REQUIREMENTS),
        ("spec.weight", NONE),
        ("spec.limits.cpu", NONE),
        ("spec.disruption.budgets[0].nodes", NONE),
        ("spec.template.spec.requirements (unknown at preview)", REQUIREMENTS),
    ],
)
def test_each_field_has_a_rule(path: str, rule: str) -> None:
    assert field_rule(path) == rule


def test_reordered_or_widened_requirements_drift_no_node() -> None:
    old = [req(FAMILY, "In", "m8g", "c7g", "r7g")]
    assert requirements_drift(old, [req(FAMILY, "In", "r7g", "m8g", "c7g")]) == []
    assert requirements_drift(old, [req(FAMILY, "In", "m8g", "c7g", "r7g", "m7g")]) == []
    assert requirements_drift(old, [req(FAMILY, "In", "m8g", "c7g", "r7g", minValues=2)]) == []
    assert requirements_drift(old, []) == []  # a removed requirement admits more


def test_narrowed_requirements_name_the_nodes_that_drift() -> None:
    assert requirements_drift(
        [req(FAMILY, "In", "m8g", "c7g", "r7g"), req("topology.kubernetes.io/zone", "In", "a", "b", "c")],
        [req(FAMILY, "In", "m8g", "c7g"), req("topology.kubernetes.io/zone", "In", "a", "b")],
    ) == ["instance family r7g", "zone c"]
    assert requirements_drift(
        [req("karpenter.sh/capacity-type", "In", "spot", "on-demand")],
        [req("karpenter.sh/capacity-type", "In", "on-demand")],
    ) == ["capacity type spot"]
    assert requirements_drift(
        [req("kubernetes.io/arch", "In", "amd64")], [req("kubernetes.io/arch", "In", "arm64")]
    ) == ["architecture amd64"]
    assert requirements_drift([], [req(FAMILY, "In", "m8g")]) == ["instance family other than m8g"]
    assert requirements_drift([req(FAMILY, "NotIn", "t3")], [req(FAMILY, "NotIn", "t3", "t4g")]) == [
        "instance family t4g"
    ]
    generation = "karpenter.k8s.aws/instance-generation"
    assert requirements_drift([req(generation, "Gt", "5")], [req(generation, "Gt", "6")]) == [
        "instance generation <= 6 (and > 5)"
    ]
    assert requirements_drift([req("s", "In", "8", "9", "10", "11")], [req("s", "In", "11")]) == [
        "label s 8, 9, 10"
    ]


def test_a_pool_update_drifts_all_some_or_none() -> None:
    def pool(families: list[str], labels: dict[str, str] | None = None) -> dict[str, Any]:
        return {
            "spec": {
                "template": {
                    "metadata": {"labels": labels or {}},
                    "spec": {"requirements": [req(FAMILY, "In", *families)]},
                },
                "weight": 10,
            }
        }

    old = pool(["m8g", "c7g"])
    some = node_pool_drift(["spec.template.spec.requirements[0].values"], old, pool(["m8g"]))
    assert (some.hashed, some.requirement_nodes, some.drifts) == ([], ["instance family c7g"], True)
    every = node_pool_drift(["spec.template.metadata.labels"], old, pool(["m8g", "c7g"], {"a": "b"}))
    assert (every.hashed, every.drifts) == (["spec.template.metadata.labels"], True)
    assert not node_pool_drift(["spec.weight"], old, old).drifts


def test_requiring_linux_drifts_no_node_of_the_programs_families() -> None:
    """A NodePool made without an OS requirement gets `kubernetes.io/os In [linux]` from the stack: its
    nodes (AL2023 or Bottlerocket, Linux both) satisfy it; requiring another OS drifts them all."""
    OS = "kubernetes.io/os"
    assert requirements_drift([], [req(OS, "In", "linux")]) == []
    assert requirements_drift([], [req(OS, "In", "windows")]) == ["OS linux"]
    assert requirements_drift([req(OS, "In", "linux")], [req(OS, "In", "linux")]) == []
