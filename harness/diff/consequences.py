"""What a replacement, a delete or an update does to the running environment: the one line (BREAKS,
DISRUPTS or a note) the diff adds to a change a reviewer must not miss.

CONSEQUENCES maps a resource type token to the function that writes that line. Product resources are
recognised by the product's own naming constants (components/blocks/naming.py), not by copies of them."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from components.blocks.naming import (
    CONTROLLER_ROLE_PREFIX,
    FARGATE_ROLE_PREFIX,
    KARPENTER_CHART,
    KARPENTER_CRD_CHART,
    NODE_ROLE_PREFIX,
)
from harness.diff.drift import EVERY_NODE, node_class_drift, node_pool_drift
from harness.diff.model import Change, Diff, Res, resources
from harness.diff.paths import get_path

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

FARGATE_WORKLOADS: dict[tuple[str, str], str] = {
    ("k8s-app", "kube-dns"): "CoreDNS (cluster DNS)",
    ("app.kubernetes.io/name", "aws-load-balancer-controller"): (
        "the AWS Load Balancer Controller (no load balancer changes until it is back)"
    ),
    ("app", "ebs-csi-controller"): "the EBS CSI controller (no volume created, attached or detached)",
    ("app", "efs-csi-controller"): "the EFS CSI controller (no access point provisioned)",
    ("app", "s3-csi-controller"): "the Mountpoint for S3 controller (no new S3 mounts)",
    ("app.kubernetes.io/name", "portainer"): "Portainer",
}
"""What the pods a Fargate selector's label picks are, for the consequence line (the charts' own labels)."""


class Consequence(NamedTuple):
    text: str
    breaking: bool = False
    disrupts: bool = False
    """Not a replacement, but running nodes or pods are replaced (Karpenter drift, a controller restart)."""


@dataclass(frozen=True)
class Situation:
    """One change, with both plans: what a consequence rule reads."""

    change: Change
    base: Mapping[str, Any]
    now: Mapping[str, Any]
    diff: Diff

    @property
    def op(self) -> str:
        return self.change.op

    @property
    def r(self) -> Res:
        """What goes is described as it is today; what changes in place, as it will be."""
        old = self.change.old
        return old if self.op == "replace" and old is not None else self.change.resource

    @property
    def gone(self) -> bool:
        return self.op in ("replace", "delete")

    @property
    def gap(self) -> str:
        return (
            " between the delete and the create" if self.op == "replace" and self.change.delete_first else ""
        )

    @property
    def when(self) -> str:
        return "while it is replaced" if self.op == "replace" else "from now on"

    @property
    def gap_or_when(self) -> str:
        return self.gap or " " + self.when

    @property
    def cut_first(self) -> bool:
        """The old one goes before anything replaces it."""
        return self.change.delete_first or self.op == "delete"


ConsequenceRule = Callable[[Situation], Consequence | None]


# ---------------------------------------------------------------------------------------------------------
# Helpers the lines share


def _physical_name(r: Res) -> str:
    return str(r.inputs.get("name") or r.inputs.get("namePrefix") or "")


def _pool_name(r: Res) -> str:
    return str(get_path(r.inputs, "metadata.name") or r.name)


def _class_of(pool: Res) -> str | None:
    return get_path(pool.inputs, "spec.template.spec.nodeClassRef.name")


def _node_pools(plan: Mapping[str, Any]) -> list[Res]:
    return [r for r in resources(plan) if r.type == NODE_POOL]


def _chart(r: Res) -> str:
    return str(r.inputs.get("chart") or "")


def budgets_text(pool: Res | None, reason: str = "Drifted") -> str:
    """The NodePool's disruption budgets that limit `reason`, in words."""
    if pool is None:
        return "budget unknown"
    budgets = get_path(pool.inputs, "spec.disruption.budgets") or [{"nodes": "10%"}]
    parts = []
    for b in budgets:
        reasons = b.get("reasons")
        if reasons and reason not in reasons:
            continue
        nodes = str(b.get("nodes"))
        text = "none" if nodes == "0" else f"at most {nodes} of its nodes at a time"
        if b.get("schedule"):
            text += f" from `{b['schedule']}` (UTC) for {b.get('duration')}"
        parts.append(text)
    return "; ".join(parts) or "no budget limits it"


def pools_budgets(pools: Iterable[Res]) -> str:
    """`a, b: budget; c: other budget`, pools with the same budgets together."""
    grouped: dict[str, list[str]] = {}
    for p in sorted(pools, key=_pool_name):
        grouped.setdefault(budgets_text(p), []).append(_pool_name(p))
    return "; ".join(f"{', '.join(names)}: {text}" for text, names in grouped.items()) or "no NodePool"


def fargate_workloads(profile: Res, base: Mapping[str, Any]) -> list[str]:
    """What runs on a Fargate profile, from its selectors: the Karpenter controller is the `fargate:
    enabled` selector in the namespace of the `karpenter` release."""
    karpenter_ns = {
        str(r.inputs.get("namespace"))
        for r in resources(base)
        if r.type == HELM_RELEASE and _chart(r).endswith(f"/{KARPENTER_CHART}")
    }
    runs = []
    for selector in profile.inputs.get("selectors") or []:
        namespace, labels = str(selector.get("namespace")), dict(selector.get("labels") or {})
        # Selectors take `*` and `?` wildcards in namespaces, label keys and values (EKS user guide).
        known = [
            text
            for (key, value), text in FARGATE_WORKLOADS.items()
            if any(fnmatch.fnmatchcase(key, k) and fnmatch.fnmatchcase(value, v) for k, v in labels.items())
        ]
        if known:
            runs += known
        elif labels.get("fargate") == "enabled" and any(
            fnmatch.fnmatchcase(n, namespace) for n in karpenter_ns
        ):
            runs.append(
                "the Karpenter controller (no provisioning, no interruption handling until it is back)"
                + (
                    ", and every other pod labelled fargate=enabled (the load balancer controller, "
                    "opted-in workloads)"
                    if namespace == "*"
                    else ""
                )
            )
        else:
            shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "any labels"
            runs.append(f"pods in {namespace} labelled {shown}")
    return runs


# ---------------------------------------------------------------------------------------------------------
# One rule per type


def fargate_profile(s: Situation) -> Consequence | None:
    if not s.gone:
        return None
    runs = fargate_workloads(s.r, s.base)
    namespaces = sorted({str(sel.get("namespace")) for sel in s.r.inputs.get("selectors") or []})
    where = "every namespace" if "*" in namespaces else ", ".join(namespaces)
    return Consequence(
        f"deleting the old profile stops every pod it runs in {where} without honouring "
        f"PodDisruptionBudgets: {'; '.join(runs)}; they restart on the new profile",
        breaking=True,
    )


RELEASE_LOGIN_INPUTS = ("repositoryOpts", "chart")
"""Release inputs that change where or how the chart is pulled, not what it renders (the same version)."""


def helm_release(s: Situation) -> Consequence | None:
    if s.op == "update" and _chart(s.r).endswith(f"/{KARPENTER_CHART}"):
        if all(p.split(".")[0].split(" (")[0] in RELEASE_LOGIN_INPUTS for p in s.change.paths):
            return Consequence(
                "helm upgrade with the same manifests (only the chart's source or login): nothing restarts"
            )
        return Consequence(
            "helm upgrade: the controller pods restart one by one (leader election hands over)", disrupts=True
        )
    if not s.gone:
        return None
    chart = str(s.r.inputs.get("chart") or s.r.inputs.get("name") or "")
    if chart.endswith(KARPENTER_CRD_CHART):
        text = (
            f"removing the old {KARPENTER_CRD_CHART} release deletes Karpenter's CRDs: every NodePool, "
            "EC2NodeClass and NodeClaim is deleted and every Karpenter node terminated"
        )
    elif chart.endswith(KARPENTER_CHART):
        text = (
            "no Karpenter controller between the delete and the new install: no provisioning, no "
            "interruption handling"
            if s.cut_first
            else "two Karpenter controllers run at once (old and new release) until the old one is "
            "deleted, both acting on the same NodePools and NodeClaims"
        )
    else:
        text = f"Helm release {chart} is uninstalled{s.gap}"
    return Consequence(text, breaking=True)


def namespace(s: Situation) -> Consequence | None:
    if not s.gone:
        return None
    return Consequence(
        f"deleting namespace {get_path(s.r.inputs, 'metadata.name')} deletes everything still in it",
        breaking=True,
    )


def node_pool(s: Situation) -> Consequence | None:
    """Deleting a pool terminates its nodes (breaking); an update drifts the nodes harness/diff/drift.py
    names: all of them, those whose labels the requirements no longer admit, or none."""
    name = _pool_name(s.r)
    if s.gone:
        return Consequence(
            f"Karpenter drains and terminates every node of NodePool {name} (the delete waits up to 45m)",
            breaking=True,
        )
    if s.op != "update":
        return None
    old = s.change.old.inputs if s.change.old is not None else {}
    drift = node_pool_drift(s.change.paths, old, s.r.inputs)
    budget = f"under its Drifted budget: {budgets_text(s.r)}"
    if drift.hashed:
        fields = ", ".join(f"`{p}`" for p in dict.fromkeys(drift.hashed))
        return Consequence(
            f"every node of NodePool {name} drifts and is replaced ({fields}: part of the template's "
            f"hash), {budget}",
            disrupts=True,
        )
    if drift.requirement_nodes:
        return Consequence(
            f"the nodes of NodePool {name} with {'; '.join(drift.requirement_nodes)} drift and are "
            f"replaced (the requirements no longer admit them), {budget}; the others stay",
            disrupts=True,
        )
    if any(p.startswith("spec.template") for p in s.change.paths):
        return Consequence(
            f"no node of NodePool {name} drifts: the requirements still admit every running node "
            "(reordered or widened)"
        )
    return Consequence("no node is replaced (limits, weight and disruption settings do not drift nodes)")


def node_class(s: Situation) -> Consequence | None:
    name = str(get_path(s.r.inputs, "metadata.name") or s.r.name)
    pools = [p for p in _node_pools(s.now if s.op != "delete" else s.base) if _class_of(p) == name]
    if s.gone:
        return Consequence(
            f"every node launched from EC2NodeClass {name} is drained and terminated, and NodePools "
            f"{', '.join(sorted(_pool_name(p) for p in pools)) or '(none)'} cannot launch nodes "
            "until it exists",
            breaking=True,
        )
    drift = node_class_drift(s.change.paths) if s.op == "update" else []
    if drift:
        budget = f"under each NodePool's Drifted budget ({pools_budgets(pools)})"
        if drift[0] == EVERY_NODE:
            return Consequence(
                f"every node of EC2NodeClass {name} drifts and is replaced, {budget}", disrupts=True
            )
        return Consequence(
            f"{'; '.join(drift)} (EC2NodeClass {name}) drift and are replaced, {budget}", disrupts=True
        )
    return None


def access_entry(s: Situation) -> Consequence | None:
    if not s.gone:
        return None
    if s.r.inputs.get("type") == "EC2_LINUX":
        text = (
            "new nodes cannot join the cluster between the delete and the create, and running nodes "
            "lose API access"
            if s.cut_first
            else "when the old entry is deleted, nodes still running with the old principal lose API "
            "access (their kubelet is authorised through it)"
        )
    else:
        principal = s.r.inputs.get("principalArn") or "the principal"
        text = f"{principal} loses its cluster access{s.gap_or_when}"
    return Consequence(text, breaking=True)


def access_policy_association(s: Situation) -> Consequence | None:
    if not s.gone:
        return None
    principal = s.r.inputs.get("principalArn") or "the principal"
    return Consequence(f"{principal} loses its access policy{s.gap}", breaking=s.cut_first)


ROLE_KINDS: tuple[tuple[str, Callable[[str], bool], str], ...] = (
    (
        NODE_ROLE_PREFIX,
        lambda logical: logical.endswith("nodes-role"),
        "node role{when}: Karpenter cannot launch nodes, new nodes cannot join, and running nodes lose "
        "their IAM credentials (a recreated role has a new unique ID; EKS access entries and instance "
        "profiles must be recreated for it)",
    ),
    (
        CONTROLLER_ROLE_PREFIX,
        lambda logical: logical.endswith("controller-role"),
        "controller role{when}: the Karpenter controller loses its AWS credentials (IRSA): no "
        "provisioning, no interruption handling",
    ),
    (
        FARGATE_ROLE_PREFIX,
        lambda logical: "pod-execution" in logical,
        "Fargate pod execution role{when}: no Fargate pod (controller, CoreDNS) can start, and the Fargate "
        "profile naming it is replaced",
    ),
)
"""The product's roles, by the name prefix the product gives them (or the logical name of older plans
without one), and what losing each does."""


def iam_role(s: Situation) -> Consequence | None:
    if not s.gone:
        return None
    name = _physical_name(s.r)
    for prefix, logical, text in ROLE_KINDS:
        if name.startswith(prefix) or logical(s.r.name):
            return Consequence(text.format(when=s.gap_or_when), breaking=True)
    return Consequence(f"IAM role {name or s.r.name} is recreated{s.gap}", breaking=True)


def instance_profile(s: Situation) -> Consequence | None:
    if not s.gone:
        return None
    return Consequence(
        f"Karpenter cannot launch nodes {s.when}: the EC2NodeClass names this instance profile", breaking=True
    )


def iam_policy(s: Situation) -> Consequence | None:
    if not s.gone:
        return None
    return Consequence(
        f"the Karpenter controller lacks policy {_physical_name(s.r) or s.r.name}{s.gap_or_when}",
        breaking=s.cut_first,
    )


def role_policy_attachment(s: Situation) -> Consequence | None:
    if not s.gone:
        return None
    return Consequence(f"the role lacks this policy{s.gap_or_when}", breaking=s.cut_first)


def sqs_queue(s: Situation) -> Consequence | None:
    if not s.gone:
        return None
    return Consequence(
        f"interruption messages are lost {s.when}, and the controller restarts with the new queue "
        "(settings.interruptionQueue)",
        breaking=True,
    )


ADDON_OPTIONS = {
    "vpcCniOptions": "vpc-cni",
    "kubeProxyAddonOptions": "kube-proxy",
    "corednsAddonOptions": "coredns",
}
"""pulumi-eks Cluster inputs that configure an EKS add-on it manages -> the add-on."""


def eks_cluster(s: Situation) -> Consequence | None:
    if s.gone:
        return Consequence(
            "a NEW EKS cluster: every node, workload and Kubernetes object of the old cluster is lost",
            breaking=True,
        )
    if s.op != "update":
        return None
    if "version" not in s.change.paths:
        addons = sorted(
            {ADDON_OPTIONS[p.split(".")[0]] for p in s.change.paths if p.split(".")[0] in ADDON_OPTIONS}
        )
        if not addons:
            return None
        return Consequence(
            f"add-on {' and '.join(addons)}: updated in place to the given version where the running one "
            "differs (its pods roll one by one; no node is replaced)"
        )
    pools = sorted(_node_pools(s.now), key=_pool_name)
    return Consequence(
        "control plane upgrade (add-ons follow); Karpenter's AMI alias then resolves to the new "
        f"version's AMI, so every node drifts and is replaced under its NodePool's Drifted budget "
        f"({pools_budgets(pools)})",
        disrupts=True,
    )


def kubernetes_provider(s: Situation) -> Consequence | None:
    if not s.gone:
        return None
    managed = [c.label for c in s.diff.changes if c.resource.provider_urn == s.r.urn]
    return Consequence(
        "every Kubernetes object this stack manages is replaced with it"
        + (f" ({', '.join(managed)})" if managed else ""),
        breaking=True,
    )


def eks_addon(s: Situation) -> Consequence | None:
    if not s.gone:
        return None
    return Consequence(
        f"add-on {s.r.inputs.get('addonName')} is removed and reinstalled{s.gap}",
        breaking=s.r.inputs.get("addonName") == "coredns",
    )


def network(s: Situation) -> Consequence | None:
    if not s.gone:
        return None
    return Consequence(
        "what runs in it (nodes, Fargate pods, the control plane's network interfaces) loses its "
        "network; the delete waits until no network interface uses it",
        breaking=True,
    )


CONSEQUENCES: Mapping[str, ConsequenceRule] = {
    "aws:eks/fargateProfile:FargateProfile": fargate_profile,
    HELM_RELEASE: helm_release,
    "kubernetes:core/v1:Namespace": namespace,
    NODE_POOL: node_pool,
    NODE_CLASS: node_class,
    "aws:eks/accessEntry:AccessEntry": access_entry,
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": access_policy_association,
    "aws:iam/role:Role": iam_role,
    "aws:iam/instanceProfile:InstanceProfile": instance_profile,
    "aws:iam/policy:Policy": iam_policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": role_policy_attachment,
    "aws:sqs/queue:Queue": sqs_queue,
    "eks:index:Cluster": eks_cluster,
    "pulumi:providers:kubernetes": kubernetes_provider,
    "aws:eks/addon:Addon": eks_addon,
    "aws:ec2/vpc:Vpc": network,
    "aws:ec2/subnet:Subnet": network,
    "aws:ec2/natGateway:NatGateway": network,
}
"""Type token -> the rule that writes a change's consequence line (no entry: no line)."""


def annotate(change: Change, base: Mapping[str, Any], now: Mapping[str, Any], diff: Diff) -> None:
    """Sets the change's consequence line, whether it breaks the running environment, and whether it
    disrupts running nodes or pods."""
    situation = Situation(change, base, now, diff)
    rule = CONSEQUENCES.get(situation.r.type)
    found = rule(situation) if rule else None
    change.consequence = found.text if found else None
    change.breaking = found.breaking if found else False
    if found and found.disrupts:
        change.disrupts = True
