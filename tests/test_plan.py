"""The offline plan: its contract, and that it holds what a `pulumi up` of each stack creates."""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness.plan import Plan
from harness.synth import main as synth_main

RESOURCE_KEYS = {
    "urn",
    "type",
    "name",
    "custom",
    "parent",
    "dependencies",
    "propertyDependencies",
    "provider",
    "protect",
    "retainOnDelete",
    "deleteBeforeReplace",
    "replaceOnChanges",
    "ignoreChanges",
    "customTimeouts",
    "aliases",
    "secretDigests",
    "inputs",
}


def test_synth_writes_the_plan_contract(tmp_path: Path) -> None:
    assert synth_main(["--stack", "dev", "--out", str(tmp_path)]) == 0
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert set(plan) == {"project", "stack", "resources", "outputs"}
    assert (plan["project"], plan["stack"]) == ("karpenter-eks", "dev")
    seen: set[str] = set()
    for r in plan["resources"]:
        assert set(r) == RESOURCE_KEYS
        assert isinstance(r["custom"], bool) and isinstance(r["protect"], bool)
        # Registration order: a parent and every dependency is registered before the resource.
        assert (
            r["parent"] is None
            or r["parent"] in seen
            or r["parent"].endswith("pulumi:pulumi:Stack::karpenter-eks-dev")
        )
        for dep in [*r["dependencies"], *(u for urns in r["propertyDependencies"].values() for u in urns)]:
            assert dep in seen, f"{r['name']} depends on {dep}, registered later or never"
        seen.add(r["urn"])
    assert (tmp_path / "manifests").is_dir() and (tmp_path / "iam").is_dir()
    assert any(p.name.startswith("nodepool-") for p in (tmp_path / "manifests").iterdir())
    assert (tmp_path / "manifests" / "helm-karpenter-values.yaml").exists()
    assert any(p.name.startswith("policy-controller-") for p in (tmp_path / "iam").iterdir())


def test_custom_resources_use_explicit_providers(dev_plan: Plan) -> None:
    for r in dev_plan.resources:
        if r.custom and not r.type.startswith("pulumi:providers:"):
            assert r.provider is not None, f"{r.type} {r.name} would use an ambient default provider"
            assert "::default_" not in r.provider, f"{r.type} {r.name} uses a default provider"


def test_data_sources_use_the_explicit_provider(dev_plan: Plan, prod_plan: Plan) -> None:
    for plan in (dev_plan, prod_plan):
        assert plan.invokes, "the program reads partition and account from AWS"
        for token, provider in plan.invokes:
            assert provider and "pulumi:providers:aws::aws::" in provider, f"{token} uses an ambient provider"
    assert "aws:eks/getCluster:getCluster" in {t for t, _ in prod_plan.invokes}


def test_outputs(dev_plan: Plan) -> None:
    out = dev_plan.outputs
    assert out["clusterName"] == "karpenter-dev"
    assert "kubeconfig" in dev_plan.secret_outputs and out["kubeconfig"] == "[secret]"
    # Prefixed names: the provider adds a 26-character unique suffix (the mocks a fixed fake one).
    assert re.fullmatch(
        r"arn:aws:iam::123456789012:role/KarpenterNodeRole-karpenter-dev-\d{26}", out["nodeRoleArn"]
    )
    assert re.fullmatch(r"KarpenterNodeRole-karpenter-dev-\d{26}", out["instanceProfileName"])
    assert re.fullmatch(
        r"arn:aws:iam::123456789012:role/KarpenterController-karpenter-dev-\d{26}", out["controllerRoleArn"]
    )
    assert re.fullmatch(r"Karpenter-karpenter-dev-\d{26}", out["interruptionQueueName"])
    assert sorted(out["nodePoolNames"]) == [
        "graviton-on-demand",
        "graviton-spot",
        "x86-on-demand",
        "x86-spot",
    ]
    assert set(out["spreadConstraints"]) == {"graviton", "x86"}


def test_create_mode_builds_vpc_and_cluster(dev_plan: Plan) -> None:
    subnets = dev_plan.by_type("aws:ec2/subnet:Subnet")
    private = [s for s in subnets if "private" in s.name]
    public = [s for s in subnets if "public" in s.name]
    assert len(private) == len(public) == 3
    for s in private:
        assert s.inputs["tags"]["karpenter.sh/discovery"] == "karpenter-dev"
        assert s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1"
    for s in public:
        assert s.inputs["tags"]["kubernetes.io/role/elb"] == "1"
    assert len(dev_plan.by_type("aws:ec2/natGateway:NatGateway")) == 1
    eks = dev_plan.one("eks:index:Cluster")
    assert eks.inputs["authenticationMode"] == "API"
    assert eks.inputs["createOidcProvider"] is True
    assert eks.inputs["skipDefaultNodeGroup"] is True
    assert eks.inputs["version"] == "1.34"
    assert eks.inputs["useDefaultVpcCni"] is False  # vpc-cni as a managed add-on
    assert eks.inputs["corednsAddonOptions"]["enabled"] is False  # installed after the Fargate profile
    sg_tag = dev_plan.one("aws:ec2/tag:Tag", "sg-discovery")
    assert sg_tag.inputs["key"] == "karpenter.sh/discovery" and sg_tag.inputs["value"] == "karpenter-dev"
    addons = {a.inputs["addonName"] for a in dev_plan.by_type("aws:eks/addon:Addon")}
    assert addons == {"coredns", "eks-pod-identity-agent", "aws-ebs-csi-driver", "aws-efs-csi-driver"}
