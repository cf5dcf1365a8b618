"""Adopt mode: an existing cluster, looked up with a mocked describe-cluster."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi import RunError

from harness.fake.world import World
from harness.plan import Plan
from tests.support.render import render, stack_values


def adopt_values(**existing: Any) -> dict[str, Any]:
    values = stack_values("prod")
    values["cluster"]["existing"] = existing
    return values


def test_prod_adopts_and_tags_with_tag_resources(prod_plan: Plan) -> None:
    assert prod_plan.by_type("eks:index:Cluster") == []
    assert prod_plan.by_type("aws:ec2/vpc:Vpc") == []
    tags = prod_plan.by_type("aws:ec2/tag:Tag")
    subnet_tags = sorted(t.inputs["resourceId"] for t in tags if t.inputs["resourceId"].startswith("subnet-"))
    assert subnet_tags == ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002", "subnet-0a1b2c3d4e5f60003"]
    assert all(t.inputs["key"] == "karpenter.sh/discovery" and t.inputs["value"] == "prod-main" for t in tags)
    assert any(t.inputs["resourceId"].startswith("sg-") for t in tags)
    assert prod_plan.by_type("aws:ec2/subnet:Subnet") == []  # never replaced, only tagged
    # No OIDC provider unless asked; IRSA trusts the existing one.
    assert prod_plan.by_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    assert prod_plan.outputs["clusterName"] == "prod-main"
    # The CoreDNS add-on of an existing cluster is not taken over.
    assert "coredns" not in {a.inputs["addonName"] for a in prod_plan.by_type("aws:eks/addon:Addon")}
    # us-east-1: every ARN carries the account of the fake world and the stack's region.
    assert prod_plan.outputs["controllerRoleArn"].startswith(
        "arn:aws:iam::123456789012:role/KarpenterController-prod-main-"
    )


def test_adopt_creates_the_oidc_provider_only_when_asked() -> None:
    plan = render(adopt_values(createOidcProvider=True))
    provider = plan.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert provider.inputs["url"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")


def test_adopt_discovers_subnets_by_tag_when_none_listed() -> None:
    plan = render(adopt_values())
    profile = plan.one("aws:eks/fargateProfile:FargateProfile", "fargate-pods")
    assert len(profile.inputs["subnetIds"]) == 3
    assert [t for t in plan.by_type("aws:ec2/tag:Tag") if t.inputs["resourceId"].startswith("subnet-")] == []


def test_adopt_refuses_a_config_map_only_cluster_with_the_fix() -> None:
    world = World(region="us-east-1")
    world.add_cluster("prod-main", authentication_mode="CONFIG_MAP")
    with pytest.raises(RunError) as refused:
        render(stack_values("prod"), world=world)
    message = str(refused.value)
    # Refused before anything real exists: only the provider and logical components were registered.
    registered = {r.type for r in refused.value.registered}  # type: ignore[attr-defined]
    assert registered <= {"pulumi:pulumi:Stack", "pulumi:providers:aws", "karpenter-eks:cluster:Cluster"}
    assert "CONFIG_MAP" in message
    assert (
        "aws eks update-cluster-config --name prod-main --access-config authenticationMode=API_AND_CONFIG_MAP"
        in message
    )


def test_adopt_of_a_missing_cluster_fails() -> None:
    with pytest.raises(Exception, match="No cluster found"):
        render(stack_values("prod"), world=World(region="us-east-1"))


def test_adopt_leaves_coredns_where_it_runs_unless_asked(prod_plan: Plan) -> None:
    """The profile always selects CoreDNS (fixed selectors); an EC2-configured CoreDNS carries the
    annotation `eks.amazonaws.com/compute-type: ec2`, which keeps it off Fargate, and in adopt mode the
    program never touches CoreDNS itself."""
    profile = prod_plan.one("aws:eks/fargateProfile:FargateProfile", "fargate-pods")
    assert {"namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}} in profile.inputs["selectors"]
    values = stack_values("prod")
    values["karpenter"]["coreDnsOnFargate"] = True
    plan = render(values)
    assert plan.one("aws:eks/fargateProfile:FargateProfile", "fargate-pods").inputs == profile.inputs
    # the existing add-on is never taken over
    assert "coredns" not in {a.inputs["addonName"] for a in plan.by_type("aws:eks/addon:Addon")}


def _prod_world() -> World:
    world = World(region="us-east-1")
    world.add_cluster("prod-main")
    return world


def test_adopt_refuses_the_nodes_of_another_karpenter_whatever_its_names() -> None:
    world = _prod_world()
    # A hand-made install with names no guide uses: only its nodes give it away.
    world.add_role("eks-autoscaling-nodes")
    first = world.add_karpenter_node(
        "prod-main", "general", profile="nodes-profile", role="eks-autoscaling-nodes"
    )
    world.add_karpenter_node("prod-main", "general", profile="nodes-profile", role="eks-autoscaling-nodes")
    with pytest.raises(RunError) as refused:
        render(stack_values("prod"), world=world, stack="prod")
    message = str(refused.value)
    assert message.startswith(
        "cluster prod-main seems to have a Karpenter installed outside this stack: "
        f"EC2 instance {first} (NodePool general, instance profile nodes-profile (role "
        "eks-autoscaling-nodes)) and 1 more like it, IAM role eks-autoscaling-nodes "
        "(arn:aws:iam::123456789012:role/eks-autoscaling-nodes) are not this stack's"
    )
    assert "python3 tools/dev.py migrate --stack <stack> --cluster prod-main" in message
    assert "Do not delete anything" in message and "helm uninstall" not in message
    registered = {r.type for r in refused.value.registered}  # type: ignore[attr-defined]
    assert registered <= {"pulumi:pulumi:Stack", "pulumi:providers:aws", "karpenter-eks:cluster:Cluster"}


def test_adopt_accepts_nodes_of_its_own_node_pools_and_roles() -> None:
    world = _prod_world()
    world.add_role("eks-autoscaling-nodes")
    world.add_role("prod-nodes", tags={"karpenter-eks/stack": "karpenter-eks/prod"})
    # Of a NodePool the stack renders; of the stack's own role under a NodePool it no longer renders;
    # stopped; of another cluster: none is another Karpenter's.
    world.add_karpenter_node("prod-main", "x86-spot", profile="nodes-profile", role="eks-autoscaling-nodes")
    world.add_karpenter_node("prod-main", "old-pool", profile="prod-profile", role="prod-nodes")
    world.add_karpenter_node(
        "prod-main", "general", profile="nodes-profile", role="eks-autoscaling-nodes", state="stopped"
    )
    world.add_karpenter_node("other", "general", profile="nodes-profile", role="eks-autoscaling-nodes")
    plan = render(stack_values("prod"), world=world, stack="prod")
    asked = [a for t, a in plan.invoke_args if t == "aws:ec2/getInstances:getInstances"]
    launched = [
        {"name": "tag-key", "values": ["karpenter.sh/nodepool", "karpenter.sh/provisioner-name"]},
        {"name": "tag-key", "values": ["kubernetes.io/cluster/prod-main"]},
    ]
    own = {
        "name": "tag:karpenter.sh/nodepool",
        "values": ["graviton-on-demand", "graviton-spot", "x86-on-demand", "x86-spot"],
    }
    assert asked[:2] == [
        {"filters": launched, "instanceStateNames": ["pending", "running"]},
        {"filters": [*launched, own], "instanceStateNames": ["pending", "running"]},
    ]
    assert [a for t, a in plan.invoke_args if t == "aws:ec2/getInstance:getInstance"] == [
        {
            "instanceId": next(
                i for i, v in world.instances.items() if v["tags"]["karpenter.sh/nodepool"] == "old-pool"
            )
        }
    ]
