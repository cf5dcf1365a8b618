"""From a discovered install to the stack that takes it over: the written `Pulumi.<stack>.yaml` loads
with the program's own config loader and renders offline; the rendered node role, instance profile,
NodePool and EC2NodeClass names are the live ones; every import entry names a resource of the rendered
plan with the live id."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.karpenter.release import CRD_NAMESPACE
from config.base import ConfigError
from config.load import parse_stack_config, raw_stack_config
from harness.diff.rules import DEFAULT_RULES, Rules
from harness.plan import Plan
from ops.migrate.__main__ import main, write_stack
from ops.migrate.imports import HANDMADE, expected_urn, import_file
from ops.migrate.model import AccessEntry, Install
from ops.migrate.review import (
    CRD_RELEASE_NAMESPACE,
    KARPENTER_CRDS,
    crd_ownership_commands,
    format_review,
    review,
    version_path,
)
from ops.migrate.stack_file import Written, stack_config, stack_yaml
from tests.support.migrate_scenarios import ACCOUNT, DATA, REGION, RecordedKube
from tests.support.render import render
from tests.support.second_run import harm_to_nodes, recorded_objects, second_run

MIGRATED = ("fargate-irsa", "kube-system", "getting-started")
STACK = "migrated"


def written(found: dict[str, tuple[Install, RecordedKube]], scenario: str) -> tuple[Install, Written]:
    install, _ = found[scenario]
    return install, stack_config(install)


_PLANS: dict[str, Plan] = {}


def plan_of(found: dict[str, tuple[Install, RecordedKube]], scenario: str) -> Plan:
    if scenario not in _PLANS:
        _PLANS[scenario] = render(written(found, scenario)[1].config, stack=STACK)
    return _PLANS[scenario]


def inputs(plan: Plan, typ: str) -> list[dict[str, Any]]:
    return [r.inputs for r in plan.by_type(typ)]


@pytest.mark.parametrize("scenario", MIGRATED)
def test_the_written_file_loads_with_the_programs_config_loader(
    found: dict[str, tuple[Install, RecordedKube]], scenario: str
) -> None:
    _install, out = written(found, scenario)
    doc = yaml.safe_load(stack_yaml(out))
    cfg = parse_stack_config(raw_stack_config("karpenter-eks", doc["config"]))
    assert cfg.cluster.mode == "adopt"
    assert cfg.karpenter.version == "1.14.1"


@pytest.mark.parametrize("scenario", MIGRATED)
def test_rendered_names_are_the_live_ones(
    found: dict[str, tuple[Install, RecordedKube]], scenario: str
) -> None:
    install, out = written(found, scenario)
    plan = plan_of(found, scenario)
    (role,) = install.node_roles
    assert [r["name"] for r in inputs(plan, "aws:iam/role:Role") if r.get("name") == role.name] == [role.name]
    pools = {r["metadata"]["name"] for r in inputs(plan, "kubernetes:karpenter.sh/v1:NodePool")}
    assert pools == {p.name for p in install.node_pools}
    classes = inputs(plan, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
    assert {c["metadata"]["name"] for c in classes} == {nc.name for nc in install.node_classes}
    # Role-based classes stay role-based, with the same role: no change of the class for its nodes.
    assert [c["spec"].get("role") for c in classes] == [nc.role for nc in install.node_classes]
    profile = out.config["iam"].get("nodeInstanceProfileName")
    if profile:
        assert [p["name"] for p in inputs(plan, "aws:iam/instanceProfile:InstanceProfile")] == [profile]
    ident = install.identity
    if ident is not None and ident.role is not None:
        assert ident.role.name in {r.get("name") for r in inputs(plan, "aws:iam/role:Role")}
    if install.queue is not None:
        assert [q["name"] for q in inputs(plan, "aws:sqs/queue:Queue")] == [install.queue.name]
    # An exact name replaces the prefix; the resources the stack creates keep their prefixes.
    for r in inputs(plan, "aws:iam/role:Role") + inputs(plan, "aws:sqs/queue:Queue"):
        assert ("name" in r) != ("namePrefix" in r), r


def test_fargate_irsa_keeps_its_pools_as_they_are(found: dict[str, tuple[Install, RecordedKube]]) -> None:
    _install, out = written(found, "fargate-irsa")
    pools = {p["name"]: p for p in out.config["nodePools"]}
    assert pools["graviton"]["families"] == ["m8g", "c7g", "r7g"]
    assert (pools["graviton"]["architecture"], pools["graviton"]["weight"]) == ("arm64", 100)
    assert (pools["intel"]["architecture"], pools["intel"]["weight"]) == ("amd64", 50)
    assert pools["intel"]["disruption"]["budgets"] == [{"nodes": "10%"}]
    assert out.config["karpenter"]["namespace"] == "karpenter"
    assert out.config["iam"]["nodeInstanceProfileName"] == "KarpenterNodeInstanceProfile-fgdev"
    # One NodePool that allows Spot and On-Demand is not a spot ratio: Spot with On-Demand fallback.
    assert (pools["graviton"]["spotRatio"], pools["graviton"]["onDemandFallback"]) == (1, True)
    # Nothing the nodes were made with is added or changed: no pool label, the volume as it is.
    assert pools["graviton"]["poolLabel"] is False and pools["graviton"]["minFamilies"] == 1
    assert out.config["nodeClass"]["blockDeviceMappings"] == [
        {
            "deviceName": "/dev/xvda",
            "rootVolume": True,
            "ebs": {
                "volumeSize": "50Gi",
                "volumeType": "gp3",
                "encrypted": None,
                "deleteOnTermination": None,
            },
        }
    ]
    assert not [u for u in out.unexpressed if "DRIFT" in u]


def test_what_cannot_be_expressed_is_listed(found: dict[str, tuple[Install, RecordedKube]]) -> None:
    _install, out = written(found, "kube-system")
    text = "\n".join(out.unexpressed)
    assert "kube-system is a system namespace" in text
    assert "DRIFT" not in text
    # The pinned AMI id stays the class's AMI; no volumes on the class: none in the stack either.
    assert out.config["nodeClass"]["amiSelectorTerms"] == [{"id": "ami-0abcdef1234567890"}]
    assert (out.config["nodeClass"]["amiFamily"], out.config["nodeClass"]["blockDeviceMappings"]) == (
        "AL2023",
        [],
    )
    assert "namespace" not in out.config["karpenter"]
    header = stack_yaml(out).split("config:")[0]
    assert all(line in header for line in out.unexpressed)


def test_pre_v1_is_refused(found: dict[str, tuple[Install, RecordedKube]]) -> None:
    install, _ = found["pre-v1"]
    with pytest.raises(ValueError, match="pre-v1"):
        stack_config(install)


@pytest.mark.parametrize("scenario", MIGRATED)
def test_every_import_names_a_rendered_resource_with_the_live_id(
    found: dict[str, tuple[Install, RecordedKube]], scenario: str
) -> None:
    install, out = written(found, scenario)
    plan = plan_of(found, scenario)
    doc = import_file(install, out, STACK).document()
    # The mocks put the root stack's type into top-level URNs, which the engine leaves out.
    urns = {u.replace("::pulumi:pulumi:Stack$", "::"): r for u, r in plan.urn_index().items()}
    entries = [e for e in doc["resources"] if not e.get("component")]
    assert entries, "nothing to import"
    for entry in doc["resources"]:
        urn = expected_urn(entry, STACK)
        if str(entry["logicalName"]).startswith(HANDMADE):
            # The controller's hand-made policies: imported so that the next run deletes them.
            assert urn not in urns, f"{urn} is declared by the program"
            continue
        assert urn in urns, f"{urn} is not in the rendered plan"
        resource = urns[urn]
        if not entry.get("component"):
            provider = (resource.provider or "").replace("::pulumi:pulumi:Stack$", "::")
            assert provider.startswith(doc["nameTable"][entry["provider"]] + "::")
            name = resource.inputs.get("name") or (resource.inputs.get("metadata") or {}).get("name")
            if entry["type"] in ("aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile"):
                assert entry["id"] == name
            if entry["type"].startswith("kubernetes:karpenter"):
                assert entry["id"] == name
    types = {e["type"] for e in entries}
    assert {"aws:iam/role:Role", "kubernetes:karpenter.sh/v1:NodePool"} <= types


class FakeKubectl:
    """Records what would run (the signature of ops.kubectl.Kubectl.run)."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def run(self, args: Any, *, stdin: str | None = None, timeout: float = 120) -> str:
        self.calls.append(list(args))
        return ""


@pytest.mark.parametrize("scenario", MIGRATED)
def test_migrate_writes_both_files_and_a_plan_to_sign_off(
    found: dict[str, tuple[Install, RecordedKube]], scenario: str, tmp_path: Path
) -> None:
    install, _ = found[scenario]
    kubectl = FakeKubectl()
    text, status = write_stack(install, STACK, tmp_path, kubectl)
    assert status == 0, text
    doc = yaml.safe_load((tmp_path / f"Pulumi.{STACK}.yaml").read_text())
    parse_stack_config(raw_stack_config("karpenter-eks", doc["config"]))
    imports = json.loads((tmp_path / f"import-{STACK}.json").read_text())
    assert set(imports) == {"nameTable", "resources"}
    for title in (
        "Imported as is",
        "Changed in place",
        "Created",
        "Never touched",
        "Names running nodes use",
    ):
        assert title in text
    assert "NOT KEPT" not in text
    assert f"NodePool {install.node_pools[0].name}: kept" in text
    # The CRDs are relabelled for Helm, never deleted or replaced.
    crds = {c.name for c in install.crds}
    owned = {c.name for c in install.crds if c.helm_release == ("karpenter-crd", CRD_NAMESPACE)}
    assert {c[2] for c in kubectl.calls} == (crds & set(KARPENTER_CRDS)) - owned
    if owned:  # the existing karpenter-crd release is imported, not created beside itself
        assert {"kubernetes:helm.sh/v3:Release"} <= {e["type"] for e in imports["resources"]}
        assert f"{CRD_NAMESPACE}/karpenter-crd" in {e.get("id") for e in imports["resources"]}
        return
    assert {c[0] for c in kubectl.calls} == {"label", "annotate"}
    annotate = next(c for c in kubectl.calls if c[0] == "annotate")
    assert "meta.helm.sh/release-namespace=" + CRD_NAMESPACE in annotate
    assert "meta.helm.sh/release-name=karpenter-crd" in annotate


def test_crd_release_namespace_is_the_programs(found: dict[str, tuple[Install, RecordedKube]]) -> None:
    assert CRD_RELEASE_NAMESPACE == CRD_NAMESPACE
    install, _ = found["fargate-irsa"]
    commands = crd_ownership_commands(install.crds)
    assert ["label", "crd", "nodepools.karpenter.sh", "app.kubernetes.io/managed-by=Helm", "--overwrite"] in (
        commands
    )


def test_versions(found: dict[str, tuple[Install, RecordedKube]], tmp_path: Path) -> None:
    lines, refused = version_path(found["fargate-irsa"][0])
    assert not refused and "1.9.0 -> 1.14.1" in lines[0]
    text, status = write_stack(found["pre-v1"][0], STACK, tmp_path, None)
    assert status == 1 and text.startswith("REFUSED") and "0.32.x" in text
    assert not (tmp_path / f"Pulumi.{STACK}.yaml").exists()


def test_cli_writes_the_stack(account: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m ops.migrate --stack` end to end, with a kubectl that prints the scenario's files."""
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(
        "#!/bin/sh\n"
        '[ "$1" = --kubeconfig ] && shift 2\n'
        f'cat "{DATA / "fargate-irsa"}/$2.json" 2>/dev/null || {{ echo "no type $2" >&2; exit 1; }}\n'
    )
    kubectl.chmod(kubectl.stat().st_mode | stat.S_IEXEC)
    out = tmp_path / "out"
    argv = ["--cluster", "fg-dev", "--region", REGION, "--kubectl", str(kubectl), "--stack", "dev"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"Wrote {out / 'Pulumi.dev.yaml'} and {out / 'import-dev.json'}" in printed
    assert "kubectl label crd nodepools.karpenter.sh app.kubernetes.io/managed-by=Helm --overwrite" in printed
    assert "Applied:" not in printed  # without --apply-crd-ownership nothing is changed
    stack = yaml.safe_load((out / "Pulumi.dev.yaml").read_text())["config"]
    assert stack["karpenter-eks:iam"]["nodeRoleName"] == "KarpenterNodeInstanceRole-fgdev"


def test_exact_name_keys_are_checked(dev_values: dict[str, Any]) -> None:
    dev_values["nodePools"][0]["nodePoolName"] = "graviton"  # a mixed pool: two NodePools
    dev_values["iam"] = {"nodeRoleName": "a b", "controllerRoleName": "x" * 65}
    dev_values["karpenter"]["interruptionQueueName"] = "q.fifo"
    with pytest.raises(ConfigError) as exc:
        parse_stack_config(dev_values)
    text = str(exc.value)
    assert "nodePools[0].nodePoolName: names the one NodePool of a pool with spotRatio 0 or 1" in text
    for key in ("iam.nodeRoleName", "iam.controllerRoleName", "karpenter.interruptionQueueName"):
        assert f"{key}: must be" in text


def test_a_standard_access_entry_blocks_and_is_never_imported(
    found: dict[str, tuple[Install, RecordedKube]],
) -> None:
    install, _ = found["kube-system"]
    (role,) = install.node_roles
    entry = AccessEntry(f"arn:aws:iam::{ACCOUNT}:role/{role.name}", "STANDARD", None, (), ())
    standard = replace(install, node_roles=(replace(role, access_entry=entry),))
    out = stack_config(standard)
    imports = import_file(standard, out, STACK)
    assert "nodes-access" not in {e["logicalName"] for e in imports.resources}
    assert any("type STANDARD" in line for line in review(standard, out, imports).blocking)
    # The way out depends on what keeps nodes joining while the entry is gone: the role's aws-auth mapping.
    (line,) = [u for u in imports.skipped if "type STANDARD" in u]
    assert ("aws eks delete-access-entry --cluster-name ks-prod" in line) == bool(role.aws_auth)
    assert ("add one (mapRoles" in line) == (not role.aws_auth)
    ec2 = replace(install, node_roles=(replace(role, access_entry=replace(entry, type="EC2_LINUX")),))
    ids = {e["logicalName"]: e["id"] for e in import_file(ec2, stack_config(ec2), STACK).resources}
    assert ids["nodes-access"] == f"ks-prod:{entry.principal_arn}"


@pytest.mark.parametrize("scenario", MIGRATED)
def test_the_second_run_replaces_nothing_nodes_use_and_drifts_no_node(
    found: dict[str, tuple[Install, RecordedKube]], scenario: str
) -> None:
    """The offline diff engine from the imported state (the live values that decide replacements) to the
    converged stack: updates in place and creations; nothing nodes use is replaced or deleted, and no
    NodePool or EC2NodeClass change drifts a node (each is described as it is)."""
    rules = Rules.load(DEFAULT_RULES) if DEFAULT_RULES.is_file() else pytest.skip("../shared is absent")
    install, out = written(found, scenario)
    imports = import_file(install, out, STACK)
    diff = second_run(plan_of(found, scenario), imports, STACK, recorded_objects(scenario), rules)
    assert harm_to_nodes(diff) == []
    # The controller's hand-made policies go, in the same run (Pulumi runs these deletes last).
    handmade = {e["logicalName"] for e in imports.resources if str(e["logicalName"]).startswith(HANDMADE)}
    assert {c.resource.name for c in diff.of("delete")} == handmade
    assert bool(handmade) == (scenario != "getting-started")
    updated = {c.resource.type for c in diff.of("update")}
    assert "kubernetes:karpenter.sh/v1:NodePool" in updated  # it does converge them, in place


def test_v1_0_still_storing_v1beta1_is_refused(found: dict[str, tuple[Install, RecordedKube]]) -> None:
    install, _ = found["fargate-irsa"]
    assert install.controller is not None
    old = replace(install, controller=replace(install.controller, version="1.0.8"))
    assert version_path(old)[1] is False  # 1.0.x storing only v1: upgraded in one step
    stored = tuple(replace(c, stored_versions=("v1beta1", "v1")) for c in install.crds)
    lines, refused = version_path(replace(old, crds=stored))
    assert refused and "stores v1beta1 objects" in lines[0]


def test_repeated_weights_become_distinct(found: dict[str, tuple[Install, RecordedKube]]) -> None:
    install, _ = found["fargate-irsa"]
    unweighted = replace(install, node_pools=tuple(replace(p, weight=None) for p in install.node_pools))
    out = stack_config(unweighted)
    weights = [p["weight"] for p in out.config["nodePools"]]
    assert sorted(weights) == [49, 50]
    assert any("is another pool's too: the stack writes 49" in u for u in out.unexpressed)
    parse_stack_config(out.config)  # the program's own loader accepts it


def test_a_controller_in_kube_system_is_replaced_by_the_stacks_own_never_run_beside_it(
    found: dict[str, tuple[Install, RecordedKube]],
) -> None:
    install, out = written(found, "getting-started")
    imports = import_file(install, out, STACK)
    rev = review(install, out, imports)
    assert not any(line.startswith("Helm release karpenter:") for line in rev.changed)
    assert any(
        "kube-system/karpenter (revision 1)" in line and "Scale its Deployment to 0" in line
        for line in rev.untouched
    )
    assert any(
        line.startswith("Helm release karpenter in karpenter: two controllers") for line in rev.created
    )
    # The existing karpenter-crd release is imported and upgraded, never created a second time.
    assert not any("karpenter-crd in kube-system" in line for line in rev.created)


def test_the_controllers_inline_policy_is_imported_to_be_removed_after_the_upstream_ones(
    found: dict[str, tuple[Install, RecordedKube]],
) -> None:
    install, out = written(found, "kube-system")
    imports = import_file(install, out, STACK)
    (entry,) = [e for e in imports.resources if e["type"] == "aws:iam/rolePolicy:RolePolicy"]
    assert (entry["id"], entry["parent"]) == (
        "KarpenterControllerRole-ks-prod:KarpenterControllerPolicy-ks-prod",
        "component:controller",
    )
    changed = "\n".join(review(install, out, imports).changed)
    assert (
        "KarpenterControllerRole-ks-prod:KarpenterControllerPolicy-ks-prod: DELETED by the same run"
        in changed
    )


def test_a_cloudformation_owner_gets_the_retain_steps_never_a_delete(
    found: dict[str, tuple[Install, RecordedKube]],
) -> None:
    install, _ = found["getting-started"]
    owned = replace(
        install,
        stacks={
            "IAM role KarpenterNodeRole-gs-demo": "Karpenter-gs-demo",
            "SQS queue gs-demo": "Karpenter-gs-demo",
        },
    )
    out = stack_config(owned)
    text = format_review(review(owned, out, import_file(owned, out, STACK)), [], [])
    steps = text.split("CloudFormation (after the second run):")[1]
    assert "Karpenter-gs-demo owns IAM role KarpenterNodeRole-gs-demo, SQS queue gs-demo" in steps
    assert "never delete that stack as it is" in steps and "`DeletionPolicy: Retain`" in steps
    assert steps.index("update-stack") < steps.index("delete-stack")
    assert "CloudFormation" not in format_review(
        review(install, out, import_file(install, out, STACK)), [], []
    )
