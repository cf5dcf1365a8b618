"""Discovery of hand-made Karpenter installs: four scenarios, each an account built in moto's server
(boto3 against localhost) and the cluster's `kubectl get -o json` answers from tests/data/migrate/.

moto 5.2.5 implements Fargate profiles but not EKS access entries or Pod Identity associations (its
server answers 404): those reads are tested as what discovery says it could not read, and their
parsing separately against botocore's Stubber.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ops.migrate import assess
from ops.migrate.__main__ import main
from ops.migrate.aws import Aws
from ops.migrate.discover import discover
from ops.migrate.kube import crd_from, decode_release, find_controller, find_objects
from ops.migrate.model import AccessEntry, Controller, Install, NodeRole, NoteKind
from ops.migrate.report import format_report
from ops.migrate.source import Notebook
from tests.support import migrate_fixtures
from tests.support.crd_validation import apply_defaults, load_crd, version_schema
from tests.support.migrate_scenarios import (
    ACCOUNT,
    DATA,
    NODE_POLICIES,
    REGION,
    RecordedKube,
    cfn_template,
)
from tests.support.render import shared_file

AWS_NODE_POLICIES = {f"arn:aws:iam::aws:policy/{p}" for p in NODE_POLICIES}


def unreadable(install: Install) -> set[str]:
    return {n.subject for n in install.notes_of(NoteKind.UNREADABLE)}


# ---------------------------------------------------------------------------------------------------------
# (a) the Fargate + IRSA guide


def test_fargate_irsa_controller_release_and_identity(found: dict[str, tuple[Install, RecordedKube]]) -> None:
    install, _ = found["fargate-irsa"]
    ctl = install.controller
    assert ctl is not None
    assert (ctl.namespace, ctl.service_account, ctl.version) == ("karpenter", "karpenter", "1.9.0")
    assert ctl.pod_labels["fargate"] == "enabled" and ctl.cluster_name == "fg-dev"
    assert ctl.interruption_queue is None and install.queue is None
    rel = install.helm_release
    assert rel is not None
    assert (rel.name, rel.revision, rel.status, rel.chart_version) == ("karpenter", 2, "deployed", "1.9.0")
    assert rel.values["podLabels"] == {"fargate": "enabled"}
    ident = install.identity
    assert ident is not None and ident.kind == "irsa" and ident.role is not None
    assert ident.role.name == "KarpenterIRSA-fgdev"
    assert [p.name for p in ident.role.inline_policies] == ["karpenter-controller"]
    assert ident.role.inline_policies[0].document["Statement"][0]["Sid"] == "Karpenter"
    assert ident.role.managed_policies == ()
    assert install.account == ACCOUNT and not install.pre_v1


def test_fargate_irsa_nodes_profiles_and_pools(found: dict[str, tuple[Install, RecordedKube]]) -> None:
    install, _ = found["fargate-irsa"]
    (role,) = install.node_roles
    assert role.name == "KarpenterNodeInstanceRole-fgdev" and role.used_by == ("default",)
    assert [p.name for p in role.instance_profiles] == ["KarpenterNodeInstanceProfile-fgdev"]
    assert role.role is not None and {p.arn for p in role.role.managed_policies} == AWS_NODE_POLICIES
    assert [(m.role_arn.rsplit("/")[-1], m.groups) for m in role.aws_auth] == [
        ("KarpenterNodeInstanceRole-fgdev", ("system:bootstrappers", "system:nodes"))
    ]
    runs = {p.name: p.runs_controller for p in install.fargate_profiles}
    assert runs == {"karpenter": True, "coredns": False}
    pools = {p.name: p for p in install.node_pools}
    assert pools["graviton"].weight == 100 and pools["graviton"].values("kubernetes.io/arch") == ("arm64",)
    assert pools["graviton"].values("karpenter.k8s.aws/instance-family") == ("m8g", "c7g", "r7g")
    assert pools["intel"].weight == 50 and pools["intel"].values("kubernetes.io/arch") == ("amd64",)
    assert pools["intel"].values("karpenter.k8s.aws/instance-family") == ("m7i", "c7i", "r7i")
    assert pools["intel"].budgets == ({"nodes": "10%"},)
    (nc,) = install.node_classes
    assert nc.ami_aliases == ("al2023@v20251120",) and nc.tags == {"team": "platform"}
    assert install.unsupported == ()
    # moto lacks access entries: said, not hidden, and not mistaken for "no access entry".
    assert unreadable(install) == {"EKS access entries"}
    assert not any(n.subject.startswith("node role") for n in install.notes)


def test_crds_without_helm_ownership_are_listed(found: dict[str, tuple[Install, RecordedKube]]) -> None:
    install, _ = found["fargate-irsa"]
    assert [c.name for c in install.crds] == [
        "ec2nodeclasses.karpenter.k8s.aws",
        "nodeclaims.karpenter.sh",
        "nodepools.karpenter.sh",
    ]  # cert-manager's CRD is not Karpenter's
    assert all(c.helm_release is None for c in install.crds)
    crd_notes = {n.subject for n in install.notes_of(NoteKind.INFO) if n.subject.startswith("CRD ")}
    assert crd_notes == {f"CRD {c.name}" for c in install.crds}


# ---------------------------------------------------------------------------------------------------------
# (b) "v1 in kube-system": rendered with helm template, applied with kubectl


def test_kube_system_guide(found: dict[str, tuple[Install, RecordedKube]]) -> None:
    install, _ = found["kube-system"]
    assert install.controller is not None and install.controller.namespace == "kube-system"
    assert install.helm_release is None
    assert any(n.subject == "Helm release" for n in install.unsupported)
    ident = install.identity
    assert (
        ident is not None and ident.role is not None and ident.role.name == "KarpenterControllerRole-ks-prod"
    )
    assert [p.name for p in ident.role.inline_policies] == ["KarpenterControllerPolicy-ks-prod"]
    (nc,) = install.node_classes
    (pool,) = install.node_pools
    assert (nc.name, pool.name, nc.ami_selector_terms) == (
        "default",
        "default",
        ({"id": "ami-0abcdef1234567890"},),
    )
    assert pool.weight is None
    (role,) = install.node_roles
    assert role.name == "KarpenterNodeRole-ks-prod"
    # The profile is the one Karpenter made for the role (its tags say so): discovery reports it as found.
    (profile,) = role.instance_profiles
    assert profile.name.startswith("ks-prod_") and profile.tags["karpenter.k8s.aws/ec2nodeclass"] == "default"
    # The guide's access entry cannot be built in moto: the model sees that it could not read it.
    assert role.access_entry is None and unreadable(install) == {"EKS access entries"}


# ---------------------------------------------------------------------------------------------------------
# (c) Karpenter's getting-started CloudFormation


def test_getting_started_queue_rules_and_node_role(found: dict[str, tuple[Install, RecordedKube]]) -> None:
    install, _ = found["getting-started"]
    template = cfn_template()
    queue = install.queue
    assert queue is not None and queue.name == "gs-demo"
    assert queue.arn == f"arn:aws:sqs:{REGION}:{ACCOUNT}:gs-demo"
    assert queue.attributes["MessageRetentionPeriod"] == "300"
    assert len(queue.rules) == 5 and {r.target_id for r in queue.rules} == {
        "KarpenterInterruptionQueueTarget"
    }
    if template is not None:
        patterns = [
            r["Properties"]["EventPattern"] for r in template["Resources"].values() if "Rule" in r["Type"]
        ]
        assert sorted(map(json.dumps, patterns)) == sorted(
            json.dumps(dict(r.event_pattern)) for r in queue.rules
        )
    (role,) = install.node_roles
    assert role.name == "KarpenterNodeRole-gs-demo" and role.role is not None
    assert {p.arn for p in role.role.managed_policies} == AWS_NODE_POLICIES
    assert install.helm_release is not None and install.helm_release.chart_version == "1.12.0"


def test_getting_started_pod_identity_and_crd_release(found: dict[str, tuple[Install, RecordedKube]]) -> None:
    install, _ = found["getting-started"]
    # eksctl's Pod Identity association: moto cannot serve it, so the identity is unknown and said so.
    assert install.identity is None
    assert unreadable(install) == {"EKS Pod Identity associations", "EKS access entries"}
    assert not any(n.subject == "controller identity" for n in install.notes)
    assert {c.helm_release for c in install.crds} == {("karpenter-crd", "kube-system")}
    assert not any(n.subject.startswith("CRD ") for n in install.notes)


# ---------------------------------------------------------------------------------------------------------
# (d) pre-v1


def test_pre_v1_is_flagged(found: dict[str, tuple[Install, RecordedKube]]) -> None:
    install, kube = found["pre-v1"]
    assert install.pre_v1
    assert {(o.kind, o.api_version) for o in install.legacy} == {
        ("Provisioner", "karpenter.sh/v1alpha5"),
        ("AWSNodeTemplate", "karpenter.k8s.aws/v1alpha1"),
    }
    assert len(install.notes_of(NoteKind.PRE_V1)) == 2
    assert "0.32" in install.notes_of(NoteKind.PRE_V1)[0].text
    assert install.node_pools == () and install.node_classes == ()
    assert ["nodepools.karpenter.sh"] not in kube.calls  # no CRD, no question
    assert any("CLUSTER_NAME" in n.text for n in install.unsupported)
    assert "PRE-V1" in format_report(install)


# ---------------------------------------------------------------------------------------------------------
# Detection and reading, without the account


class DictKube:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def get_json(self, args: list[str]) -> Any:
        answer = self.answers[args[0]]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _deployment(ns: str, labels: dict[str, str], image: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "x", "namespace": ns, "labels": labels},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}},
    }


def test_detection_is_by_image_or_label_in_any_namespace() -> None:
    unlabelled = _deployment(
        "platform-autoscaling", {}, "123.dkr.ecr.eu-west-1.amazonaws.com/karpenter/controller:1.6.3"
    )
    other = _deployment("kube-system", {"app": "karpenter-ish"}, "registry/something:1")
    notes = Notebook()
    ctl = find_controller(DictKube({"deployments": {"items": [other, unlabelled]}}), notes)
    assert ctl is not None and (ctl.namespace, ctl.version) == ("platform-autoscaling", "1.6.3")
    labelled = _deployment("tools", {"app.kubernetes.io/name": "karpenter"}, "mirror/kp:1")
    ctl = find_controller(DictKube({"deployments": {"items": [labelled]}}), notes)
    assert ctl is not None and ctl.namespace == "tools"


def test_kubectl_failure_is_a_note_not_a_crash(account: Any) -> None:
    kube = DictKube({"deployments": RuntimeError("Unauthorized"), "customresourcedefinitions": {"items": []}})
    kube.answers["configmaps"] = {"items": []}
    install = discover(kube, account, "fg-dev", REGION)
    assert install.controller is None
    first = install.notes_of(NoteKind.UNREADABLE)[0]
    assert first.line() == "[could not read] Deployments: Unauthorized"


def test_helm_release_secret_decodes() -> None:
    secrets = json.loads((DATA / "fargate-irsa" / "secrets.json").read_text())["items"]
    release = decode_release(secrets[1]["data"]["release"])
    assert release["chart"]["metadata"]["version"] == "1.9.0" and release["config"]["settings"]["clusterName"]


# ---------------------------------------------------------------------------------------------------------
# What moto lacks, against botocore's Stubber: Pod Identity and access entries as EKS answers them


class StubSession:
    def __init__(self) -> None:
        self.real = boto3.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
        self.clients: dict[str, Any] = {}

    def client(self, name: str) -> Any:
        if name not in self.clients:
            self.clients[name] = self.real.client(name)
        return self.clients[name]


def _controller() -> Controller:
    return Controller("kube-system", "karpenter", "karpenter", "img", "1.12.0", 2, {}, {}, {}, (), {}, {})


def test_pod_identity_association_is_followed_to_its_role() -> None:
    session, notes = StubSession(), Notebook()
    aws = Aws(session, "gs-demo", notes)
    arn = f"arn:aws:iam::{ACCOUNT}:role/gs-demo-karpenter"
    with Stubber(session.client("eks")) as eks, Stubber(session.client("iam")) as iam:
        eks.add_response(
            "list_pod_identity_associations",
            {
                "associations": [
                    {"associationId": "a-1", "namespace": "kube-system", "serviceAccount": "karpenter"}
                ]
            },
            {"clusterName": "gs-demo", "namespace": "kube-system", "serviceAccount": "karpenter"},
        )
        eks.add_response("describe_pod_identity_association", {"association": {"roleArn": arn}})
        iam.add_response(
            "get_role",
            {"Role": {"RoleName": "gs-demo-karpenter", "Arn": arn, "Path": "/", "RoleId": "AROA1234567890EX",
                      "CreateDate": "2026-01-01T00:00:00Z", "AssumeRolePolicyDocument": "%7B%7D"}},
        )  # fmt: skip
        iam.add_response("list_role_policies", {"PolicyNames": [], "IsTruncated": False})
        iam.add_response("list_attached_role_policies", {"AttachedPolicies": [], "IsTruncated": False})
        ident = aws.identity(_controller(), None)
    assert ident is not None and (ident.kind, ident.association_id, ident.role_arn) == (
        "pod-identity",
        "a-1",
        arn,
    )
    assert ident.role is not None and ident.role.name == "gs-demo-karpenter"
    assert notes.freeze() == ()


def test_access_entry_of_the_node_role() -> None:
    """The guide's entry: type STANDARD with an access policy (EKS itself gives nodes EC2_LINUX)."""
    session, notes = StubSession(), Notebook()
    aws = Aws(session, "ks-prod", notes)
    arn = f"arn:aws:iam::{ACCOUNT}:role/KarpenterNodeRole-ks-prod"
    policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSNodeAccess"
    with Stubber(session.client("eks")) as eks:
        eks.add_response(
            "list_access_entries", {"accessEntries": [f"arn:aws:iam::{ACCOUNT}:role/other", arn]}
        )
        eks.add_response("describe_access_entry", {"accessEntry": {"principalArn": arn, "type": "STANDARD"}})
        eks.add_response(
            "list_associated_access_policies",
            {"clusterName": "ks-prod", "principalArn": arn,
             "associatedAccessPolicies": [{"policyArn": policy, "accessScope": {"type": "cluster"}}]},
        )  # fmt: skip
        entry = aws.access_entry("KarpenterNodeRole-ks-prod")
    assert entry is not None and entry.type == "STANDARD"
    assert entry.access_policies == ((policy, {"type": "cluster"}),)


# ---------------------------------------------------------------------------------------------------------
# The command


def test_cli_reports_the_fargate_guide(
    account: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m ops.migrate` end to end, with a kubectl that prints the scenario's (unfiltered) files."""
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(
        "#!/bin/sh\n"
        '[ "$1" = --kubeconfig ] && shift 2\n'
        f'cat "{DATA / "fargate-irsa"}/$2.json" 2>/dev/null || {{ echo "no type $2" >&2; exit 1; }}\n'
    )
    kubectl.chmod(kubectl.stat().st_mode | stat.S_IEXEC)
    argv = ["--cluster", "fg-dev", "--region", REGION, "--kubeconfig", "kc", "--kubectl", str(kubectl)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Controller: Deployment karpenter/karpenter" in out
    assert "NodePool graviton (karpenter.sh/v1): weight 100" in out
    assert "instance profile KarpenterNodeInstanceProfile-fgdev" in out
    assert "[could not read] EKS access entries" in out


def test_standard_access_entry_for_nodes_is_noted() -> None:
    entry = AccessEntry("arn:aws:iam::1:role/n", "STANDARD", None, (), ())
    notes = Notebook()
    assess.node_roles((NodeRole("n", None, (), entry, (), ("default",)),), notes)
    assert [n.text for n in notes.freeze()] == ["type STANDARD (EKS gives nodes EC2_LINUX entries)"]


def test_v1beta1_objects_are_pre_v1() -> None:
    """A v0.33-v0.37 install: NodePool and EC2NodeClass exist, but only as v1beta1."""
    crds = (
        crd_from({"metadata": {"name": "nodepools.karpenter.sh"}, "spec": {"group": "karpenter.sh",
                  "versions": [{"name": "v1beta1", "served": True}]}}),
    )  # fmt: skip
    pool = {"apiVersion": "karpenter.sh/v1beta1", "metadata": {"name": "default"}, "spec": {}}
    notes = Notebook()
    classes, pools, legacy = find_objects(
        DictKube({"nodepools.karpenter.sh": {"items": [pool]}}), crds, notes
    )
    assert classes == () and [p.name for p in pools] == ["default"]
    assert [(o.kind, o.api_version) for o in legacy] == [("NodePool", "karpenter.sh/v1beta1")]


def test_fixture_files_are_what_their_writer_writes() -> None:
    written = migrate_fixtures.files()
    stale = [str(p) for p, text in written.items() if not p.exists() or p.read_text() != text]
    assert not stale, f"run venv/bin/python -m tests.support.migrate_fixtures: {stale}"
    assert set(DATA.glob("*/*.json")) == set(written)


def test_a_queue_named_in_the_settings_but_absent_is_said(account: Any) -> None:
    notes = Notebook()
    assert Aws(account, "fg-dev", notes).queue("fg-dev-missing") is None
    (note,) = notes.freeze()
    assert note.kind is NoteKind.UNREADABLE and "fg-dev-missing" in note.subject
    assert note.text.startswith("GetQueueUrl: ")


def test_recorded_objects_carry_the_defaults_the_api_server_stores() -> None:
    """The recordings show what `kubectl get` returns: the pinned CRDs' structural defaults applied."""
    for kind, crd_file in (
        ("nodepools.karpenter.sh", "karpenter.sh_nodepools.yaml"),
        ("ec2nodeclasses.karpenter.k8s.aws", "karpenter.k8s.aws_ec2nodeclasses.yaml"),
    ):
        crd = load_crd(shared_file(f"crds/{crd_file}"))
        for scenario in ("fargate-irsa", "kube-system", "getting-started"):
            for item in json.loads((DATA / scenario / f"{kind}.json").read_text())["items"]:
                schema = version_schema(crd, item["apiVersion"])
                assert schema is not None
                assert apply_defaults(schema, item) == item, (scenario, item["metadata"]["name"])


def test_the_cloudformation_stack_owning_a_resource_is_found() -> None:
    """`DescribeStackResources` by physical id names the owner; a resource of no stack is a
    ValidationError (none); AccessDenied is a note, never a silent "not owned"."""
    session, notes = StubSession(), Notebook()
    aws = Aws(session, "gs-demo", notes)
    owned = {
        "StackName": "Karpenter-gs-demo",
        "LogicalResourceId": "KarpenterNodeRole",
        "PhysicalResourceId": "KarpenterNodeRole-gs-demo",
        "ResourceType": "AWS::IAM::Role",
        "ResourceStatus": "CREATE_COMPLETE",
        "Timestamp": "2026-01-01T00:00:00Z",
    }
    with Stubber(session.client("cloudformation")) as cfn:
        cfn.add_response(
            "describe_stack_resources",
            {"StackResources": [owned]},
            {"PhysicalResourceId": "KarpenterNodeRole-gs-demo"},
        )
        cfn.add_client_error(
            "describe_stack_resources", "ValidationError", "Stack for KarpenterIRSA-x does not exist"
        )
        cfn.add_client_error("describe_stack_resources", "AccessDenied", "not allowed")
        assert aws.stack_of("KarpenterNodeRole-gs-demo") == "Karpenter-gs-demo"
        assert aws.stack_of("KarpenterIRSA-x") is None
        assert notes.freeze() == ()
        assert aws.stack_of("gs-demo") is None
    assert [n.subject for n in notes.freeze()] == ["CloudFormation owner of gs-demo"]
