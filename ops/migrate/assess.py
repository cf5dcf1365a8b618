"""What was found that the stack may not be able to express, listed as notes (the stack writer decides).

The checks compare with what the program models: pools of one architecture chosen by instance family,
category, generation and capacity type; an EC2NodeClass with an AL2023 alias, a root volume and tags.
"""

from __future__ import annotations

from ops.migrate.model import (
    Controller,
    Crd,
    FargateProfile,
    LegacyObject,
    NodeClass,
    NodePool,
    NodeRole,
    NoteKind,
)
from ops.migrate.source import Notebook

POOL_KEYS = {
    "kubernetes.io/arch",
    "kubernetes.io/os",
    "karpenter.sh/capacity-type",
    "karpenter.k8s.aws/instance-family",
    "karpenter.k8s.aws/instance-category",
    "karpenter.k8s.aws/instance-generation",
}
# Karpenter v1's defaults: a NodeClass that sets exactly these says nothing the program must carry.
DEFAULT_METADATA = {
    "httpEndpoint": "enabled",
    "httpProtocolIPv6": "disabled",
    "httpPutResponseHopLimit": 1,
    "httpTokens": "required",
}
CRD_RELEASE = "karpenter-crd"
PRE_V1_PATH = (
    "upgrade in place first: to 0.32.x, then to v0.33+ (v1beta1 NodePool/EC2NodeClass replace "
    "Provisioner/AWSNodeTemplate), then to 1.0.x (which converts v1beta1 to v1), as Karpenter's v1 "
    "migration guide describes; run this again on v1"
)


def node_class(nc: NodeClass, notes: Notebook) -> None:
    subject = f"EC2NodeClass {nc.name}"
    if nc.instance_profile and not nc.role:
        notes.unsupported(subject, f"uses instanceProfile {nc.instance_profile} instead of role")
    pinned = [t for t in nc.ami_selector_terms if "alias" not in t]
    if pinned:
        notes.unsupported(
            subject, f"amiSelectorTerms select by {sorted({k for t in pinned for k in t})}, not an alias"
        )
    aliases = [a for a in nc.ami_aliases if not a.startswith("al2023@")]
    if aliases or (nc.ami_family and nc.ami_family != "AL2023"):
        notes.unsupported(
            subject, f"AMI family {nc.ami_family or ', '.join(aliases)} (the program runs AL2023)"
        )
    for field, value in (("userData", nc.user_data), ("kubelet", nc.kubelet)):
        if value:
            notes.unsupported(subject, f"sets {field}")
    if nc.metadata_options and dict(nc.metadata_options) != DEFAULT_METADATA:
        notes.unsupported(
            subject, f"metadataOptions {dict(nc.metadata_options)} differ from Karpenter's defaults"
        )
    if len(nc.block_device_mappings) > 1 or any(not b.get("rootVolume") for b in nc.block_device_mappings):
        notes.unsupported(subject, "blockDeviceMappings other than one root volume")
    for key in sorted(nc.other):
        notes.unsupported(subject, f"sets {key}")


def node_pool(pool: NodePool, notes: Notebook) -> None:
    subject = f"NodePool {pool.name}"
    keys = {str(r.get("key")) for r in pool.requirements}
    for key in sorted(keys - POOL_KEYS):
        notes.unsupported(subject, f"requirement on {key}")
    arches = pool.values("kubernetes.io/arch")
    if len(arches) != 1:
        notes.unsupported(subject, f"architectures {list(arches) or 'unrestricted'} (a pool has exactly one)")
    if pool.startup_taints:
        notes.unsupported(subject, "sets startupTaints")
    if any(r.get("operator") not in ("In", "Exists", "Gt") for r in pool.requirements):
        notes.unsupported(subject, "requirements with NotIn/DoesNotExist/Lt operators")


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
