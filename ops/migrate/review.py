"""The plan a reviewer signs off before anything runs, the CRD ownership commands, and the version path.

Four lists: imported as is (the first step, `pulumi import --file`), changed in place by the next
`pulumi up` (with what that does to the controller and the nodes), created, and never touched. The
names running nodes use (node role, instance profile, NodePools, EC2NodeClasses) are checked to stay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ops.migrate.imports import (
    CRD_RELEASE,
    CRD_RELEASE_NAMESPACE,
    KARPENTER_CRDS,
    ImportFile,
    handmade_policies,
    rendered_classes,
)
from ops.migrate.model import Crd, Install
from ops.migrate.stack_file import PINNED_VERSION, Written


class Runner(Protocol):
    def run(self, args: Sequence[str], *, stdin: str | None = None, timeout: float = 120) -> str: ...


def crd_ownership_commands(crds: Sequence[Crd]) -> list[list[str]]:
    """kubectl commands that let the `karpenter-crd` release adopt the existing CRDs (Helm 3 adopts an
    object carrying its managed-by label and release annotations; Karpenter's upgrade guide documents
    these commands for moving CRDs under the karpenter-crd chart). Nothing is deleted or replaced."""
    commands: list[list[str]] = []
    for crd in crds:
        if crd.name not in KARPENTER_CRDS or crd.helm_release == (CRD_RELEASE, CRD_RELEASE_NAMESPACE):
            continue
        commands.append(["label", "crd", crd.name, "app.kubernetes.io/managed-by=Helm", "--overwrite"])
        commands.append(
            [
                "annotate",
                "crd",
                crd.name,
                f"meta.helm.sh/release-name={CRD_RELEASE}",
                f"meta.helm.sh/release-namespace={CRD_RELEASE_NAMESPACE}",
                "--overwrite",
            ]
        )
    return commands


def apply_crd_ownership(kubectl: Runner, crds: Sequence[Crd]) -> list[str]:
    """Run `crd_ownership_commands` through kubectl; returns what it ran."""
    ran = []
    for args in crd_ownership_commands(crds):
        kubectl.run(args)
        ran.append("kubectl " + " ".join(args))
    return ran


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("-")[0].split(".")[:3] if p.isdigit())


def version_path(install: Install) -> tuple[list[str], bool]:
    """(lines, refused): how the running version gets to the pinned one.

    Karpenter's v1 migration guide (karpenter.sh/docs/upgrading/v1-migration): every upgrade from before
    v1.0 goes through 1.0 (from 0.33+, itself reached through 0.32.x); 1.1 stops serving v1beta1, so
    on 1.0.x every stored object must be v1 first (a CRD update that drops a version still listed in
    its `status.storedVersions` is refused by the API server). From 1.1 on, minors upgrade in place."""
    if install.pre_v1:
        return ["REFUSED: pre-v1 objects exist; " + _pre_v1_path()], True
    ctl = install.controller
    version = ctl.version if ctl else None
    if not version:
        return ["version unknown (image tag not read): check it is 1.0 or later before going on"], False
    current = _version_tuple(version)
    if current < (1,):
        return [f"REFUSED: Karpenter {version} is pre-v1; " + _pre_v1_path()], True
    stored_beta = [c.name for c in install.crds if "v1beta1" in c.stored_versions]
    if current < (1, 1) and stored_beta:
        return [
            f"REFUSED: Karpenter {version} still stores v1beta1 objects ({', '.join(stored_beta)}); 1.1+ "
            "stops serving v1beta1. Finish the v1 migration on 1.0.x first (Karpenter's v1 migration "
            "guide: rewrite every stored object as v1, then drop v1beta1 from the CRDs' storedVersions)"
        ], True
    if current >= _version_tuple(PINNED_VERSION):
        return [f"Karpenter {version}: at or past the pinned {PINNED_VERSION}; no upgrade"], False
    return [
        f"Karpenter {version} -> {PINNED_VERSION} on the second run, in one step (charts karpenter-crd "
        "first, then karpenter): every v1 minor upgrades in place; read the upgrade guide's "
        f'"Upgrading to 1.x.0+" notes for each minor after {version.rsplit(".", 1)[0]} before the run '
        "(the controller's IAM policies, which those notes change, are the program's own after the run)"
    ], False


def _pre_v1_path() -> str:
    return (
        "upgrade in place first: to 0.32.x, then to 0.33+ (v1beta1 NodePool/EC2NodeClass replace "
        "Provisioner/AWSNodeTemplate), then to 1.0.x (which converts v1beta1 to v1), as Karpenter's v1 "
        "migration guide describes; run this again on v1"
    )


@dataclass
class Review:
    imported: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    untouched: list[str] = field(default_factory=list)
    kept_names: list[str] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)
    drifts: list[str] = field(default_factory=list)
    """What the stack cannot say as the live NodePools and EC2NodeClasses do, where that replaces nodes."""
    cloudformation: list[str] = field(default_factory=list)
    """What to do with the CloudFormation stacks owning resources the stack takes over."""


def _changed(install: Install, written: Written, imports: ImportFile, out: Review) -> None:
    types = {str(e["type"]) for e in imports.resources}
    if "aws:iam/role:Role" in types:
        out.changed.append("IAM roles: description and the stack tag added in place (nothing uses them)")
    if any(e["logicalName"] == "controller-role" for e in imports.resources):
        out.changed.append(
            "controller role: trust policy rewritten for IRSA on the service account (in place); the six "
            "upstream policies attached before anything is removed"
        )
    handmade = handmade_policies(imports)
    if handmade:
        out.changed.append(
            f"controller role's hand-made policies {', '.join(handmade)}: DELETED by the same run, after "
            "the six upstream policies are attached (Pulumi deletes what the program no longer declares "
            "last). Save them first to be able to go back (`aws iam get-role-policy`, and the role's trust "
            "policy with `aws iam get-role`); check `pulumi preview` lists them as deletes, and the "
            "controller's logs for AccessDenied after the run"
        )
    if any(e["logicalName"] == "karpenter-controller" for e in imports.resources):
        out.changed.append(
            f"Helm release karpenter: upgraded to {PINNED_VERSION} with the program's values: the "
            "controller restarts once (rolling; running nodes are not touched by a restart)"
        )
    pools = [str(e["id"]) for e in imports.resources if e["type"] == "kubernetes:karpenter.sh/v1:NodePool"]
    classes = [
        str(e["id"]) for e in imports.resources if e["type"] == "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
    ]
    for kind, names in (("NodePools", pools), ("EC2NodeClasses", classes)):
        if names:
            out.changed.append(
                f"{kind} {', '.join(names)}: updated in place (same names), described as they are; "
                + ("no node drifts" if not out.drifts else "nodes drift only as the DRIFT list says")
            )


def _created(install: Install, written: Written, imports: ImportFile, out: Review) -> None:
    logical = {str(e["logicalName"]) for e in imports.resources}
    if CRD_RELEASE not in logical:
        out.created.append(
            f"Helm release {CRD_RELEASE} in {CRD_RELEASE_NAMESPACE} (adopts the CRDs, see below)"
        )
    else:
        out.changed.append(
            f"Helm release {CRD_RELEASE}: upgraded to {PINNED_VERSION} (CRDs updated in place)"
        )
    out.created.append("the controller's six managed policies and their attachments")
    out.created.append("Fargate pod execution role and the stack's Fargate profile for the controller")
    if "interruption-queue" not in logical:
        out.created.append("interruption queue, its policy, and its five EventBridge rules with targets")
    else:
        policy = "" if "interruption-queue-policy" in logical else "its queue policy and "
        out.created.append(f"{policy}the stack's five EventBridge rules and targets for the imported queue")
    if "karpenter-controller" not in logical:
        out.created.append(
            f"Helm release karpenter in {written.config['karpenter'].get('namespace', 'karpenter')}: two "
            "controllers would act on the same NodePools (each leads in its own namespace), so scale the "
            "old Deployment to 0 just before this run; running nodes are untouched, pending pods wait "
            "for the new controller"
        )
    if "nodes-access" not in logical:
        out.created.append("EKS access entry (EC2_LINUX) for the node role")
    if "nodes-profile" not in logical:
        out.created.append("an instance profile for the node role (no EC2NodeClass uses it)")


def _kept(install: Install, written: Written, out: Review) -> None:
    cfg = written.config
    role = (cfg.get("iam") or {}).get("nodeRoleName")
    for live in install.node_roles[:1]:
        mark = "kept" if role == live.name else "NOT KEPT"
        out.kept_names.append(f"node role {live.name}: {mark}")
    names = {p.get("nodePoolName") for p in cfg.get("nodePools") or []}
    for pool in install.node_pools:
        out.kept_names.append(f"NodePool {pool.name}: {'kept' if pool.name in names else 'NOT KEPT'}")
    classes = rendered_classes(cfg)
    used = {str(p.node_class_ref.get("name") or "default") for p in install.node_pools}
    for nc in install.node_classes:
        if nc.name in classes:
            mark = "kept"
        elif nc.name not in used:
            mark = "no NodePool uses it: never touched"
        else:
            mark = "NOT KEPT"
        out.kept_names.append(f"EC2NodeClass {nc.name}: {mark}")
    if any("NOT KEPT" in line for line in out.kept_names):
        out.blocking.append("a name running nodes use would not be kept (see above)")


def cloudformation_steps(stacks: Mapping[str, str]) -> list[str]:
    """How to take the stack's resources out of their CloudFormation stacks without deleting them: AWS's
    documented way is `DeletionPolicy: Retain` (CloudFormation keeps a resource with that policy when
    the stack is deleted, or when the resource is removed from its template); `delete-stack
    --retain-resources` only applies to a stack already in DELETE_FAILED."""
    out = []
    for stack in sorted(set(stacks.values())):
        owned = sorted(label for label, owner in stacks.items() if owner == stack)
        out.append(
            f"CloudFormation stack {stack} owns {', '.join(owned)}, which running nodes or the new stack "
            "use: never delete that stack as it is (it would delete them). After the second run: add "
            "`DeletionPolicy: Retain` and `UpdateReplacePolicy: Retain` to each of them in its template, "
            f"`aws cloudformation update-stack --stack-name {stack} --template-body file://<edited template> "
            "--capabilities CAPABILITY_NAMED_IAM --parameters "
            "ParameterKey=ClusterName,UsePreviousValue=true`, "
            "check `aws cloudformation get-template` shows Retain on them, then `aws cloudformation "
            f"delete-stack --stack-name {stack}`: the retained ones stay (now the Pulumi stack's); the rest "
            "goes (its EventBridge rules, whose events the stack's own five rules now send; its managed "
            "controller policies, detached by the second run)"
        )
    return out


def review(install: Install, written: Written, imports: ImportFile) -> Review:
    out = Review()
    out.drifts = [line for line in written.unexpressed if "DRIFT" in line]
    out.cloudformation = cloudformation_steps(install.stacks)
    out.imported = [f"{e['type']} {e['logicalName']} <- {e['id']}" for e in imports.resources]
    _changed(install, written, imports, out)
    _created(install, written, imports, out)
    out.untouched = list(imports.skipped)
    _kept(install, written, out)
    out.blocking += [s for s in imports.skipped if "resolve before the first run" in s]
    return out


def format_review(
    rev: Review,
    crd_commands: Sequence[Sequence[str]],
    versions: Sequence[str],
    import_path: str = "import.json",
) -> str:
    def section(title: str, lines: Sequence[str]) -> list[str]:
        return [title] + [f"  - {line}" for line in lines or ["(none)"]]

    lines = section(
        f"1. Imported as is (pulumi import --file {import_path} --generate-code=false --protect=false):",
        rev.imported,
    )
    lines += section("2. Changed in place by the next pulumi up:", rev.changed)
    lines += section("3. Created by the next pulumi up:", rev.created)
    lines += section("4. Never touched:", rev.untouched)
    lines += section("Names running nodes use:", rev.kept_names)
    lines += section(
        "Nodes the next pulumi up replaces (Karpenter drift, at the pace of each pool's budgets):",
        rev.drifts,
    )
    lines += section("Version:", list(versions))
    lines += section(
        f"CRDs: let the {CRD_RELEASE} release adopt them (before the next pulumi up):",
        ["kubectl " + " ".join(c) for c in crd_commands],
    )
    if rev.cloudformation:
        lines += section("CloudFormation (after the second run):", rev.cloudformation)
    if rev.blocking:
        lines += section("BLOCKING (resolve before anything runs):", rev.blocking)
    return "\n".join(lines) + "\n"
