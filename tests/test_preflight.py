"""The pre-flight decisions, with exact inputs: who the caller is, what is another Karpenter's, which
registry login a chart repository needs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pulumi import RunError

from config.cluster import AdminAccess
from harness.runner import FAKE_TOOLS, run_program
from harness.stack_files import load_stack_file
from harness.synth import world_for
from preflight.caller import caller_admin_conflicts, caller_principal
from preflight.install import FoundRole, foreign_karpenter
from preflight.registry import chart_credentials_source
from preflight.tools import check_aws_cli


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
