"""What was found that needs a reviewer's attention before any stack is written, listed as notes: the
controller's setup, node roles and their access, CRD owners, pre-v1 objects. Whether the stack can say
what each EC2NodeClass and NodePool says is the stack writer's to decide, field by field
(ops/migrate/capacity.py), since it is the one that knows what the program renders.
"""

from __future__ import annotations

from ops.migrate.model import (
    Controller,
    Crd,
    FargateProfile,
    LegacyObject,
    NodeRole,
    NoteKind,
)
from ops.migrate.source import Notebook

CRD_RELEASE = "karpenter-crd"
PRE_V1_PATH = (
    "upgrade in place first: to 0.32.x, then to v0.33+ (v1beta1 NodePool/EC2NodeClass replace "
    "Provisioner/AWSNodeTemplate), then to 1.0.x (which converts v1beta1 to v1), as Karpenter's v1 "
    "migration guide describes; run this again on v1"
)


def node_roles(roles: tuple[NodeRole, ...], notes: Notebook) -> None:
    if len(roles) > 1:
        notes.unsupported(
            "node role", f"EC2NodeClasses use {len(roles)} roles: {', '.join(r.name for r in roles)}"
        )
    for role in roles:
        entry = role.access_entry
        if entry is not None and entry.type != "EC2_LINUX":
            notes.add(
                NoteKind.INFO,
                f"access entry of {role.name}",
                f"type {entry.type} (EKS gives nodes EC2_LINUX entries)",
            )
        if entry is None and not role.aws_auth and not notes.has("EKS access entries"):
            notes.add(
                NoteKind.INFO, f"node role {role.name}", "no access entry or aws-auth mapping was found"
            )


def controller(ctl: Controller, profiles: tuple[FargateProfile, ...], notes: Notebook) -> None:
    on_fargate = any(p.runs_controller for p in profiles)
    wants_fargate = ctl.node_selector.get("eks.amazonaws.com/compute-type") == "fargate"
    if wants_fargate and not on_fargate:
        notes.unsupported(
            "Karpenter controller", "selects Fargate nodes, but no Fargate profile matches its pods"
        )
    if not ctl.cluster_name:
        notes.unsupported("Karpenter controller", "no CLUSTER_NAME setting (pre-v0.33 settings ConfigMap?)")


def crds(found: tuple[Crd, ...], notes: Notebook) -> None:
    for crd in found:
        if crd.managed_by != "Helm" or crd.helm_release is None or crd.helm_release[0] != CRD_RELEASE:
            owner = f"Helm release {crd.helm_release[0]}" if crd.helm_release else "no Helm release"
            notes.add(NoteKind.INFO, f"CRD {crd.name}", f"owned by {owner}: {CRD_RELEASE} must take it over")


def legacy(objects: tuple[LegacyObject, ...], notes: Notebook) -> None:
    for obj in objects:
        notes.add(NoteKind.PRE_V1, f"{obj.kind} {obj.name}", f"{obj.api_version}: {PRE_V1_PATH}")
