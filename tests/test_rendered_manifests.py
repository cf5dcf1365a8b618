"""Every Karpenter object the stacks register, exactly as synth writes it, is valid for the pinned CRDs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.plan import Plan
from harness.synth import kubernetes_objects
from tests.support.crd_validation import check_against_crd
from tests.support.render import render, shared_file
from tests.support.stacks import ALL_STACKS, stack_plan

CRD_OF = {
    "NodePool": "crds/karpenter.sh_nodepools.yaml",
    "EC2NodeClass": "crds/karpenter.k8s.aws_ec2nodeclasses.yaml",
}


def karpenter_objects(plan: Plan) -> dict[str, Any]:
    return {name: doc for name, doc in kubernetes_objects(plan).items() if doc.get("kind") in CRD_OF}


EXPECTED_CLASSES = {
    "dev": (["bottlerocket", "default"], 4),
    "prod": (["default"], 4),
    "everything": (["bottlerocket", "default", "pinned"], 5),
}
"""The EC2NodeClasses and the number of NodePools the example stacks and the everything stack render."""


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_rendered_karpenter_object_passes_the_crds(stack: str) -> None:
    objects = karpenter_objects(stack_plan(stack))
    kinds = sorted(doc["kind"] for doc in objects.values())
    assert "EC2NodeClass" in kinds and "NodePool" in kinds, kinds
    if stack in EXPECTED_CLASSES:
        classes = sorted(d["metadata"]["name"] for d in objects.values() if d["kind"] == "EC2NodeClass")
        assert (classes, kinds.count("NodePool")) == EXPECTED_CLASSES[stack]
    for name, doc in objects.items():
        report = check_against_crd(doc, shared_file(CRD_OF[doc["kind"]]))
        assert report.errors == [], f"{name}: {report.errors}"
        assert report.rules_evaluated > 0


def test_dev_renders_the_documented_ratios(dev_plan: Plan) -> None:
    pools = {
        d["metadata"]["name"]: d for d in karpenter_objects(dev_plan).values() if d["kind"] == "NodePool"
    }

    def spread_values(name: str, key: str) -> list[str]:
        reqs = pools[name]["spec"]["template"]["spec"]["requirements"]
        return next(r["values"] for r in reqs if r["key"] == key)

    graviton = "spread.karpenter-eks.dev/graviton"
    x86 = "spread.karpenter-eks.dev/x86"
    assert (
        len(spread_values("graviton-spot", graviton)),
        len(spread_values("graviton-on-demand", graviton)),
    ) == (7, 3)
    assert (len(spread_values("x86-spot", x86)), len(spread_values("x86-on-demand", x86))) == (1, 1)
    assert not set(spread_values("graviton-spot", graviton)) & set(
        spread_values("graviton-on-demand", graviton)
    )
    weights = {name: doc["spec"]["weight"] for name, doc in pools.items()}
    assert weights == {"graviton-spot": 100, "graviton-on-demand": 99, "x86-spot": 50, "x86-on-demand": 49}


def test_snapshot_manifests_are_what_synth_writes(dev_plan: Plan) -> None:
    snapshot = Path(__file__).resolve().parent.parent / "snapshots" / "dev" / "manifests"
    node_class = yaml.safe_load((snapshot / "ec2nodeclass-default.yaml").read_text())
    assert node_class == karpenter_objects(dev_plan)["ec2nodeclass-default.yaml"]
    assert node_class["spec"]["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
    assert node_class["spec"]["metadataOptions"]["httpTokens"] == "required"
    assert node_class["spec"]["metadataOptions"]["httpPutResponseHopLimit"] == 1


def test_a_gpu_pool_gets_its_own_node_class(dev_values: dict[str, Any]) -> None:
    dev_values["nodePools"].append(
        {
            "name": "gpu",
            "architecture": "amd64",
            "gpu": "nvidia",
            "families": ["g5", "g4dn"],  # the GPU families offered in eu-west-1 (harness/catalogue)
            "weight": 10,
            "spotRatio": 0,
            "limits": {"cpu": 64, "memory": "512Gi"},
        }
    )
    plan = render(dev_values)
    objects = karpenter_objects(plan)
    gpu_class = objects["ec2nodeclass-gpu.yaml"]
    assert gpu_class["spec"]["blockDeviceMappings"][0]["ebs"]["volumeSize"] == "200Gi"
    assert (
        objects["ec2nodeclass-default.yaml"]["spec"]["blockDeviceMappings"][0]["ebs"]["volumeSize"] == "40Gi"
    )
    gpu_pool = objects["nodepool-gpu-on-demand.yaml"]["spec"]["template"]["spec"]
    assert gpu_pool["nodeClassRef"] == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"}
    assert {"key": "nvidia.com/gpu", "effect": "NoSchedule"} in gpu_pool["taints"]
    for name, doc in objects.items():
        assert check_against_crd(doc, shared_file(CRD_OF[doc["kind"]])).errors == [], name
