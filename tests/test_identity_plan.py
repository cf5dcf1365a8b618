"""Karpenter's AWS identities and interruption queue as the dev stack registers them."""

from __future__ import annotations

import json
from typing import Any

from components.blocks.naming import (
    STACK_TAG,
    bounded_name,
    bounded_prefix,
    controller_policy_name_prefix,
    controller_role_name_prefix,
    node_role_name,
    node_role_name_prefix,
    queue_name,
    queue_name_prefix,
    rule_name_prefix,
)
from harness.plan import Plan
from tests.support.render import render


def test_identities_are_wired_by_real_output_dependencies(dev_plan: Plan) -> None:
    node_role = dev_plan.one("aws:iam/role:Role", "nodes-role")
    profile = dev_plan.one("aws:iam/instanceProfile:InstanceProfile")
    access = dev_plan.one("aws:eks/accessEntry:AccessEntry", "nodes-access")
    queue = dev_plan.one("aws:sqs/queue:Queue")
    queue_policy = dev_plan.one("aws:sqs/queuePolicy:QueuePolicy")
    iam_integration = dev_plan.one("aws:iam/policy:Policy", "controller-IAMIntegration")
    interruption = dev_plan.one("aws:iam/policy:Policy", "controller-Interruption")
    controller_role = dev_plan.one("aws:iam/role:Role", "controller-role")
    cluster = dev_plan.one("eks:index:Cluster")

    assert node_role.urn in profile.property_dependencies["role"]
    assert node_role.urn in access.property_dependencies["principalArn"]
    assert cluster.urn in access.property_dependencies["clusterName"]
    assert access.inputs["type"] == "EC2_LINUX"
    assert node_role.urn in iam_integration.property_dependencies["policy"]  # iam:PassRole on the node role
    assert queue.urn in interruption.property_dependencies["policy"]
    assert queue.urn in queue_policy.property_dependencies["policy"]
    assert cluster.urn in controller_role.property_dependencies["assumeRolePolicy"]  # the OIDC provider
    for target in dev_plan.by_type("aws:cloudwatch/eventTarget:EventTarget"):
        assert queue.urn in target.property_dependencies["arn"]
        rule = dev_plan.one("aws:cloudwatch/eventRule:EventRule", target.name.removeprefix("interruption-"))
        assert rule.urn in target.property_dependencies["rule"]
    # No aws-auth ConfigMap anywhere: nodes join through the access entry.
    assert not [r for r in dev_plan.resources if r.type == "kubernetes:core/v1:ConfigMap"]


def test_node_role(dev_plan: Plan) -> None:
    role = dev_plan.one("aws:iam/role:Role", "nodes-role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": ["sts:AssumeRole"]}
    ]
    attached = sorted(
        a.inputs["policyArn"]
        for a in dev_plan.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith("nodes-")
    )
    assert attached == [
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    ]


def test_controller_trust_and_policies(dev_plan: Plan) -> None:
    role = dev_plan.one("aws:iam/role:Role", "controller-role")
    statement = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    issuer = statement["Principal"]["Federated"].split("oidc-provider/", 1)[1]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{issuer}:sub": "system:serviceaccount:karpenter:karpenter",
            f"{issuer}:aud": "sts.amazonaws.com",
        }
    }
    policies = dev_plan.by_type("aws:iam/policy:Policy")
    names = sorted(p.inputs["namePrefix"] for p in policies if p.name.startswith("controller-"))
    assert names == sorted(
        f"KarpenterController{p}Policy-karpenter-dev-"
        for p in (
            "NodeLifecycle",
            "IAMIntegration",
            "EKSIntegration",
            "Interruption",
            "ResourceDiscovery",
            "ZonalShift",
        )
    )
    iam = json.loads(dev_plan.one("aws:iam/policy:Policy", "controller-IAMIntegration").inputs["policy"])
    assert [s["Sid"] for s in iam["Statement"]] == ["AllowPassingInstanceRole"]


def test_queue_and_rules(dev_plan: Plan) -> None:
    queue = dev_plan.one("aws:sqs/queue:Queue")
    assert queue.inputs["messageRetentionSeconds"] == 300
    assert queue.inputs["sqsManagedSseEnabled"] is True
    rules = dev_plan.by_type("aws:cloudwatch/eventRule:EventRule")
    assert sorted(r.inputs["namePrefix"] for r in rules) == sorted(
        rule_name_prefix("karpenter-dev", k)
        for k in (
            "health",
            "spot-interruption",
            "rebalance",
            "state-change",
            "capacity-reservation-interruption",
        )
    )
    detail_types = sorted(json.loads(r.inputs["eventPattern"])["detail-type"][0] for r in rules)
    assert detail_types == [
        "AWS Health Event",
        "EC2 Capacity Reservation Instance Interruption Warning",
        "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification",
        "EC2 Spot Instance Interruption Warning",
    ]
    assert len(dev_plan.by_type("aws:cloudwatch/eventTarget:EventTarget")) == 5


def test_names_respect_aws_limits_deterministically() -> None:
    long_cluster = "c" * 100
    assert len(node_role_name(long_cluster)) == 64
    assert node_role_name(long_cluster) == node_role_name(long_cluster)
    assert node_role_name(long_cluster) != node_role_name("c" * 99 + "d")
    # Prefixes leave room for the provider's 26-character unique suffix (38 for roles and rules).
    assert len(node_role_name_prefix(long_cluster)) == 38
    assert len(controller_role_name_prefix(long_cluster)) <= 38
    assert node_role_name_prefix(long_cluster) != node_role_name_prefix("c" * 99 + "d")
    assert len(controller_policy_name_prefix("ResourceDiscovery", long_cluster)) <= 102
    assert len(queue_name(long_cluster)) <= 80
    assert len(queue_name_prefix(long_cluster)) <= 54
    assert len(rule_name_prefix(long_cluster, "capacity-reservation-interruption")) <= 38
    assert node_role_name("karpenter-dev") == "KarpenterNodeRole-karpenter-dev"  # short names untouched
    assert node_role_name_prefix("karpenter-dev") == "KarpenterNodeRole-karpenter-dev-"
    assert bounded_name("x" * 70, 64).startswith("x" * 55 + "-")
    assert bounded_prefix("x" * 70, 38).endswith("-") and len(bounded_prefix("x" * 70, 38)) == 38


def test_long_cluster_names_render(dev_values: dict[str, Any]) -> None:
    dev_values["cluster"]["name"] = "a" * 100
    plan = render(dev_values)
    for role in plan.by_type("aws:iam/role:Role"):
        assert len(role.inputs["namePrefix"]) <= 38
    for rule in plan.by_type("aws:cloudwatch/eventRule:EventRule"):
        assert len(rule.inputs["namePrefix"]) <= 38


def test_switches(dev_values: dict[str, Any]) -> None:
    dev_values["iam"] = {
        "karpenterManagesInstanceProfiles": True,
        "spotServiceLinkedRole": "create",
        "path": "/karpenter/",
        "permissionsBoundaryArn": "arn:aws:iam::123456789012:policy/boundary",
        "extraNodePolicyArns": ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"],
    }
    plan = render(dev_values)
    slr = plan.one("aws:iam/serviceLinkedRole:ServiceLinkedRole")
    assert slr.inputs["awsServiceName"] == "spot.amazonaws.com"
    iam = json.loads(plan.one("aws:iam/policy:Policy", "controller-IAMIntegration").inputs["policy"])
    assert [s["Sid"] for s in iam["Statement"]] == [
        "AllowPassingInstanceRole",
        "AllowScopedInstanceProfileCreationActions",
        "AllowScopedInstanceProfileTagActions",
        "AllowScopedInstanceProfileActions",
    ]
    for node_class in plan.by_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"):  # default, bottlerocket
        assert node_class.inputs["spec"]["role"].startswith("KarpenterNodeRole-karpenter-dev-")
        assert "instanceProfile" not in node_class.inputs["spec"]
    for role in plan.by_type("aws:iam/role:Role"):
        assert role.inputs["path"] == "/karpenter/"
        assert role.inputs["permissionsBoundary"] == "arn:aws:iam::123456789012:policy/boundary"
    assert plan.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "CloudWatchAgentServerPolicy")


def test_china_partition_has_no_aws_commercial_arn(dev_values: dict[str, Any]) -> None:
    dev_values["region"] = "cn-north-1"
    dev_values["cluster"]["vpc"]["availabilityZones"] = ["a", "b"]
    dev_values["cluster"]["adminAccess"] = [{"principalArn": "arn:aws-cn:iam::123456789012:role/admins"}]
    dev_values["addons"]["loadBalancerController"] = {"enabled": False}  # no image mirror setting yet
    dev_values["karpenter"]["chartRepository"] = (
        "oci://123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/karpenter"
    )
    plan = render(dev_values)
    text = json.dumps([r.inputs for r in plan.resources])
    assert "arn:aws:" not in text
    assert "arn:aws-cn:iam::aws:policy/AmazonEKSWorkerNodePolicy" in text
    node_trust = json.loads(plan.one("aws:iam/role:Role", "nodes-role").inputs["assumeRolePolicy"])
    assert node_trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com.cn"}


def test_every_role_the_stack_creates_carries_the_stack_tag(dev_plan: Plan, prod_plan: Plan) -> None:
    """Core and add-on roles alike, so a lookup tells this stack's roles from ones made by hand."""
    for stack, plan in (("dev", dev_plan), ("prod", prod_plan)):
        roles = [r for r in plan.resources if r.type == "aws:iam/role:Role"]
        assert roles
        for role in roles:
            assert (role.inputs.get("tags") or {}).get(STACK_TAG) == f"karpenter-eks/{stack}", role.name
