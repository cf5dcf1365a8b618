"""The pre-flight decisions, with exact inputs: who the caller is, what is another Karpenter's, which
registry login a chart repository needs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pulumi import RunError

from config.cluster import AdminAccess
from config.load import parse_stack_config
from harness.fake.world import World
from harness.runner import FAKE_TOOLS, run_program
from harness.stack_files import load_stack_file
from harness.synth import world_for
from preflight.addons import certificate_account_problem, mountpoint_policy_problem, version_problems
from preflight.caller import caller_admin_conflicts, caller_principal
from preflight.install import (
    FoundInstance,
    FoundRole,
    foreign_karpenter,
    launched_filters,
    own_pool_filters,
    stack_node_pool_names,
)
from preflight.registry import chart_credentials_source
from preflight.tools import check_aws_cli
from tests.support.render import render, stack_values


def test_caller_principal() -> None:
    assert caller_principal("arn:aws:sts::123456789012:assumed-role/admins/alice") == (
        "123456789012",
        "role",
        "admins",
    )
    assert caller_principal("arn:aws:iam::123456789012:user/ops/bob") == ("123456789012", "user", "bob")
    assert caller_principal("arn:aws-cn:iam::123456789012:user/bob") == ("123456789012", "user", "bob")
    assert caller_principal("arn:aws:iam::123456789012:root") is None
    assert caller_principal("arn:aws:sts::123456789012:federated-user/bob") is None


def test_a_session_matches_its_role_whatever_the_path_and_only_in_its_account() -> None:
    entries = [
        AdminAccess(principal_arn="arn:aws:iam::123456789012:role/teams/platform/admins"),
        AdminAccess(principal_arn="arn:aws:iam::210987654321:role/admins"),
        AdminAccess(principal_arn="arn:aws:iam::123456789012:user/admins"),
        AdminAccess(principal_arn="arn:aws:iam::123456789012:role/admins-readonly"),
    ]
    problems = caller_admin_conflicts("arn:aws:sts::123456789012:assumed-role/admins/ci", entries)
    assert len(problems) == 1 and problems[0].startswith("cluster.adminAccess[0].principalArn: ")


def test_foreign_karpenter() -> None:
    node = FoundRole("KarpenterNodeRole-c1", "arn:aws:iam::1:role/KarpenterNodeRole-c1", "", {})
    assert foreign_karpenter("c1", "p/s", [], {}) == []
    [problem] = foreign_karpenter("c1", "p/s", [node], {"c1": {}})
    assert "IAM role KarpenterNodeRole-c1" in problem and "SQS queue c1" in problem
    assert "karpenter-eks/stack=p/s" in problem
    ours = FoundRole(node.name, node.arn, "", {"karpenter-eks/stack": "p/s"})
    assert foreign_karpenter("c1", "p/s", [ours], {"c1": {"karpenter-eks/stack": "p/s"}}) == []
    # A stack deployed before the tag: its node role carries this program's description, and its queue
    # has the guide's name.
    legacy = FoundRole(node.name, node.arn, "Nodes Karpenter launches for EKS cluster c1", {})
    assert foreign_karpenter("c1", "p/s", [legacy], {"c1": {}}) == []
    assert foreign_karpenter("c1", "p/s", [], {"c1": {}}) != []
    # Named exactly in the config (written by the migrate tool): taken over, not foreign.
    assert foreign_karpenter("c1", "p/s", [node], {"c1": {}}, taken_over=[node.name, "c1"]) == []
    # The refusal never advises deleting what running nodes use, and points to the migration.
    assert "tools/dev.py migrate --stack" in problem and "helm uninstall" not in problem
    assert "Do not delete" in problem


def test_foreign_karpenter_by_the_instances_it_launched() -> None:
    profile = "KarpenterNodeInstanceProfile-x"
    theirs = FoundInstance("i-1", "default", profile, "KarpenterNodeRole-x", more=4)
    [problem] = foreign_karpenter("c1", "p/s", [], {}, instances=[theirs], own_pools=["general-spot"])
    assert problem.startswith(
        "cluster c1 seems to have a Karpenter installed outside this stack: EC2 instance i-1 (NodePool "
        "default, instance profile KarpenterNodeInstanceProfile-x (role KarpenterNodeRole-x)) and 4 more "
        "like it are not this stack's (no tag karpenter-eks/stack=p/s, no NodePool this stack renders). "
        "Two Karpenters would fight over the same nodes. Do not delete anything: "
    )
    assert "`python3 tools/dev.py migrate --stack <stack> --cluster c1 --region <region>`" in problem
    # Of a NodePool the stack renders (an exact `nodePoolName` the migrate tool wrote): the stack's.
    assert foreign_karpenter("c1", "p/s", [], {}, instances=[theirs], own_pools=["default"]) == []
    # Its role is the stack's (a pool renamed in the config keeps nodes until the update drains them),
    # or one the config takes over by name.
    ours = FoundRole("KarpenterNodeRole-x", "arn:aws:iam::1:role/KarpenterNodeRole-x", "", {})
    tagged = FoundRole(ours.name, ours.arn, "", {"karpenter-eks/stack": "p/s"})
    assert foreign_karpenter("c1", "p/s", [tagged], {}, instances=[theirs]) == []
    assert foreign_karpenter("c1", "p/s", [ours], {}, ["KarpenterNodeRole-x"], [theirs]) == []
    assert foreign_karpenter("c1", "p/t", [tagged], {}, instances=[theirs]) != []  # another stack's tag
    # The profile's role, not the stack's, is reported once beside the instance.
    [problem] = foreign_karpenter("c1", "p/s", [ours, ours], {}, instances=[theirs])
    assert (
        "(role KarpenterNodeRole-x)) and 4 more like it, IAM role KarpenterNodeRole-x "
        "(arn:aws:iam::1:role/KarpenterNodeRole-x) are not this stack's" in problem
    )
    # A node without NodePool tag (a Provisioner's) or not looked at: never the stack's.
    bare = FoundInstance("i-2", "", "", "")
    [problem] = foreign_karpenter("c1", "p/s", [], {}, instances=[bare], own_pools=["default"])
    assert "outside this stack: EC2 instance i-2 (no NodePool tag) are not this stack's" in problem


def test_the_instance_lookups_filter_on_karpenters_tags() -> None:
    launched = [
        {"name": "tag-key", "values": ["karpenter.sh/nodepool", "karpenter.sh/provisioner-name"]},
        {"name": "tag-key", "values": ["kubernetes.io/cluster/c1"]},
    ]
    assert launched_filters("c1") == launched
    assert own_pool_filters("c1", {"b", "a"}) == [
        *launched,
        {"name": "tag:karpenter.sh/nodepool", "values": ["a", "b"]},
    ]


def test_the_stacks_node_pool_names_are_the_rendered_ones() -> None:
    values = stack_values("prod")
    assert stack_node_pool_names(parse_stack_config(values).node_pools) == [
        "graviton-spot",
        "graviton-on-demand",
        "x86-spot",
        "x86-on-demand",
    ]
    values["nodePools"][0] |= {"spotRatio": 1, "nodePoolName": "default"}
    values["nodePools"][1] |= {"spotRatio": 0}
    assert stack_node_pool_names(parse_stack_config(values).node_pools) == ["default", "x86-on-demand"]


def test_chart_credentials_source() -> None:
    assert chart_credentials_source("oci://public.ecr.aws/karpenter") == {"kind": "public-ecr"}
    assert chart_credentials_source("oci://123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/charts") == {
        "kind": "ecr",
        "registry_id": "123456789012",
        "region": "cn-north-1",
    }
    assert chart_credentials_source("oci://registry.example.com/karpenter") == {"kind": "none"}


def test_the_aws_cli_must_be_on_path() -> None:
    check_aws_cli(which=lambda name: f"/usr/local/bin/{name}")
    with pytest.raises(RunError) as refused:
        check_aws_cli(which=lambda name: None)
    message = str(refused.value)
    assert "\n" not in message  # one clear line
    assert message.startswith(
        "the AWS CLI (`aws`) is not on PATH: the cluster's kubeconfig runs `aws eks get-token`"
    )


def test_a_machine_without_the_aws_cli_is_refused_before_anything_is_registered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, config = load_stack_file("dev")
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no `aws`
    with pytest.raises(RunError) as refused:
        run_program(project, "dev", config, world=world_for(project, config), tools=None)
    assert "the AWS CLI (`aws`) is not on PATH" in str(refused.value)
    # Nothing but the stack itself (which Pulumi registers before the program runs).
    assert [r.type for r in refused.value.registered] == ["pulumi:pulumi:Stack"]  # type: ignore[attr-defined]
    # The offline renders put a stand-in first on PATH (it never runs), and the check passes there.
    assert shutil.which("aws", path=str(FAKE_TOOLS)) == str(FAKE_TOOLS / "aws")
    run = subprocess.run([str(FAKE_TOOLS / "aws"), "eks", "get-token"], capture_output=True, text=True)
    assert run.returncode == 1 and "offline stand-in" in run.stderr


# --- the EKS add-ons as the account offers them ----------------------------------------------------------


def test_pinned_versions_newer_than_eks_offers_are_refused_with_what_exists() -> None:
    pinned = {
        "addons.ebs.version": ("aws-ebs-csi-driver", "v1.65.0-eksbuild.1"),
        "addons.efs.version": ("aws-efs-csi-driver", "v3.4.1-eksbuild.1"),
        "addons.s3.version": ("aws-mountpoint-s3-csi-driver", "v2.7.0-eksbuild.1"),
    }
    newest = {
        "aws-ebs-csi-driver": "v1.64.0-eksbuild.1",
        "aws-efs-csi-driver": "v3.4.1-eksbuild.2",
        "aws-mountpoint-s3-csi-driver": None,
    }
    assert version_problems(pinned, newest, "1.34") == [
        "addons.ebs.version: v1.65.0-eksbuild.1 is not offered for Kubernetes 1.34; the newest "
        "aws-ebs-csi-driver for it is v1.64.0-eksbuild.1 (list them: aws eks describe-addon-versions "
        "--addon-name aws-ebs-csi-driver --kubernetes-version 1.34)",
        "addons.s3.version: EKS offers no version of aws-mountpoint-s3-csi-driver for Kubernetes 1.34 "
        "(aws eks describe-addon-versions --addon-name aws-mountpoint-s3-csi-driver --kubernetes-version "
        "1.34)",
    ]
    # eksbuild numbers compare as numbers: build 10 is newer than build 9.
    ten = {"k": ("aws-ebs-csi-driver", "v1.64.0-eksbuild.10")}
    assert version_problems(ten, {"aws-ebs-csi-driver": "v1.64.0-eksbuild.9"}, "1.34") != []
    assert version_problems(ten, {"aws-ebs-csi-driver": "v1.64.0-eksbuild.11"}, "1.34") == []


def test_a_pinned_version_eks_does_not_offer_is_refused_before_anything() -> None:
    values = stack_values("dev")
    world = World()
    world.newest_addon_versions["aws-ebs-csi-driver"] = "v1.63.0-eksbuild.1"
    with pytest.raises(RunError) as refused:
        render(values, world=world)
    assert "addons.ebs.version: v1.64.0-eksbuild.1 is not offered for Kubernetes 1.34" in str(refused.value)
    registered = {r.type for r in refused.value.registered}  # type: ignore[attr-defined]
    assert registered <= {"pulumi:pulumi:Stack", "pulumi:providers:aws"}


def test_adopted_cluster_without_the_pod_identity_agent_is_refused_for_s3() -> None:
    values = stack_values("prod")  # adopt mode, Mountpoint for S3 enabled
    world = World(region="us-east-1")
    world.add_cluster("prod-main")
    world.absent_addons.add("eks-pod-identity-agent")
    with pytest.raises(RunError) as refused:
        render(values, world=world)
    message = str(refused.value)
    assert "addons.s3.enabled: cluster prod-main does not run the EKS Pod Identity Agent" in message
    assert "aws eks create-addon --cluster-name prod-main --addon-name eks-pod-identity-agent" in message
    registered = {r.type for r in refused.value.registered}  # type: ignore[attr-defined]
    assert registered <= {"pulumi:pulumi:Stack", "pulumi:providers:aws"}
    values["addons"]["s3"]["enabled"] = False
    render(values, world=world)  # without Mountpoint, no agent is needed


def test_a_certificate_of_another_account_is_refused() -> None:
    arn = "arn:aws:acm:eu-west-1:210987654321:certificate/0a1b2c3d-1111-2222-3333-444455556666"
    assert certificate_account_problem(arn, "210987654321") is None
    assert certificate_account_problem(None, "123456789012") is None
    problem = certificate_account_problem(arn, "123456789012")
    assert problem == (
        "addons.portainer.ingress.certificateArn: the certificate belongs to account 210987654321, but the "
        "stack deploys into account 123456789012; an ALB uses ACM certificates of its own account only: "
        "request or import the certificate in 123456789012"
    )


def test_a_bucket_policy_over_iams_size_quota_is_refused() -> None:
    few = [(f"bucket-{i:02d}", False) for i in range(10)]
    assert mountpoint_policy_problem("aws", few) is None
    assert mountpoint_policy_problem("aws", []) is None
    many = [(f"{'b' * 55}-{i:03d}", i % 2 == 0) for i in range(60)]
    problem = mountpoint_policy_problem("aws", many)
    assert problem is not None and problem.startswith("addons.s3.buckets: the 60 buckets make the driver's")
    assert "over IAM's 6144 for a managed policy" in problem


def test_every_add_on_problem_of_the_account_is_refused_at_once() -> None:
    values = stack_values("prod")  # adopt mode, EBS and Mountpoint for S3 pinned
    world = World(region="us-east-1")
    world.add_cluster("prod-main")
    world.absent_addons.add("eks-pod-identity-agent")
    world.newest_addon_versions["aws-ebs-csi-driver"] = "v1.60.0-eksbuild.1"
    with pytest.raises(RunError) as refused:
        render(values, world=world)
    lines = [line for line in str(refused.value).splitlines() if line.startswith("  - ")]
    assert [line.split(":")[0] for line in lines] == ["  - addons.s3.enabled", "  - addons.ebs.version"]
    # The adopted cluster's own Kubernetes version (the fake's 1.33) is the one asked about.
    assert "is not offered for Kubernetes 1.33" in lines[1]
