"""The pre-flight decisions, with exact inputs: who the caller is, what is another Karpenter's, which
registry login a chart repository needs."""

from __future__ import annotations

from config.cluster import AdminAccess
from preflight.caller import caller_admin_conflicts, caller_principal
from preflight.install import FoundRole, foreign_karpenter
from preflight.registry import chart_credentials_source


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


def test_chart_credentials_source() -> None:
    assert chart_credentials_source("oci://public.ecr.aws/karpenter") == {"kind": "public-ecr"}
    assert chart_credentials_source("oci://123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/charts") == {
        "kind": "ecr",
        "registry_id": "123456789012",
        "region": "cn-north-1",
    }
    assert chart_credentials_source("oci://registry.example.com/karpenter") == {"kind": "none"}
