"""The stack's `nodeClass`, `nodeClasses` and `nodePools` for the live EC2NodeClasses and NodePools.

Each live object is described field by field as it is, under its own name, so the second `pulumi up`
changes it in place without drifting a node: Karpenter replaces the nodes of a NodePool whose template
hash changes (labels, annotations, taints, startup taints, node class reference, expiry, grace period)
and of an EC2NodeClass whose hashed spec changes (volumes, metadata options, kubelet, user data, tags,
AMI selection, ...): harness/diff/drift.py has the table, from Karpenter 1.14.1's sources. Whatever the
program cannot say as the live object says it is a line of `Written.unexpressed`; a line that says
DRIFTS names the nodes that would be replaced, before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from config.labels import DNS1123_LABEL, POOL_LABEL_NAME, SPREAD_LABEL_DOMAIN
from config.nodeclass import RESERVED_CLASS_NAMES
from config.nodepools import NodePoolConfig
from ops.migrate.model import Install, NodeClass, NodePool

DISCOVERY_TAG = "karpenter.sh/discovery"
PROGRAM_DEFAULT_CLASS = "default"
POOL_LABEL = f"{SPREAD_LABEL_DOMAIN}/{POOL_LABEL_NAME}"
"""The program's pool label (`nodePools[].poolLabel`)."""
DEFAULT_WEIGHT: int = NodePoolConfig.model_fields["weight"].default
"""The program's default pool weight, written for a NodePool that has none."""
MEMORY_PER_CPU_GI = 8
"""A memory limit where the NodePool has none (the program needs one): 8 GiB per vCPU of the CPU limit,
what memory-optimised r families have, so the limit never binds before the CPU limit does."""
POOL_NAME_MAX = 50
"""`nodePools[].name`'s longest (config.nodepools); longer NodePool names keep theirs in `nodePoolName`."""
ALIAS_FAMILIES = {"al2023": "AL2023", "bottlerocket": "Bottlerocket"}
FAMILIES = ("AL2023", "Bottlerocket")
EBS_KEYS = ("volumeSize", "volumeType", "iops", "throughput", "encrypted", "kmsKeyID", "deleteOnTermination")
CLASS_PASS_THROUGH = (
    "kubelet",
    "userData",
    "metadataOptions",
    "detailedMonitoring",
    "associatePublicIPAddress",
    "instanceStorePolicy",
    "capacityReservationSelectorTerms",
)
"""EC2NodeClass fields the program's class config spells as the CRD does: copied as found."""
POOL_KEYS = {
    "kubernetes.io/arch",
    "kubernetes.io/os",
    "karpenter.sh/capacity-type",
    "karpenter.k8s.aws/instance-family",
    "karpenter.k8s.aws/instance-category",
    "karpenter.k8s.aws/instance-generation",
    "topology.kubernetes.io/zone",
}
"""Requirement keys a pool's config carries (the other keys are listed, not carried)."""


class Out(Protocol):
    def note(self, subject: str, text: str) -> None: ...


# --- EC2NodeClasses ----------------------------------------------------------------------------------


def _ami(nc: NodeClass, out: Out) -> dict[str, Any]:
    subject = f"EC2NodeClass {nc.name}"
    aliases = nc.ami_aliases
    if aliases and len(nc.ami_selector_terms) == 1:
        family, _, version = aliases[0].partition("@")
        if family in ALIAS_FAMILIES:
            cfg: dict[str, Any] = {"amiFamily": ALIAS_FAMILIES[family], "amiVersion": version}
            if version == "latest":
                cfg["allowLatestAmi"] = True
                out.note(subject, "follows @latest: every new AMI release drifts its nodes (as it does now)")
            return cfg
    terms = [dict(t) for t in nc.ami_selector_terms]
    supported = all(set(t) <= {"id", "name", "owner", "tags"} and "alias" not in t for t in terms)
    if terms and supported and nc.ami_family in FAMILIES:
        return {"amiFamily": nc.ami_family, "amiSelectorTerms": terms}
    out.note(
        subject,
        f"AMI selection {terms} (amiFamily {nc.ami_family}) is not one the program can express (AL2023 or "
        "Bottlerocket, by alias or by id, name and owner, or tags): the stack writes al2023@latest, which "
        "DRIFTS EVERY NODE of the pools using it. Edit nodeClass/nodeClasses before the second run",
    )
    return {"amiFamily": "AL2023", "amiVersion": "latest", "allowLatestAmi": True}


def _volumes(nc: NodeClass, out: Out) -> list[dict[str, Any]]:
    """The class's volumes as they are; `[]` (none) leaves Karpenter's family defaults, as now."""
    volumes = []
    for device in nc.block_device_mappings:
        ebs = dict(device.get("ebs") or {})
        dropped = sorted(set(ebs) - set(EBS_KEYS))
        if dropped:
            out.note(
                f"EC2NodeClass {nc.name}",
                f"volume {device.get('deviceName')} sets {dropped}, which the program does not: the "
                "stack's class lacks them, which DRIFTS EVERY NODE of the pools using it",
            )
        volume: dict[str, Any] = {"deviceName": device.get("deviceName")}
        if "rootVolume" in device:
            volume["rootVolume"] = device["rootVolume"]
        written = {k: ebs[k] for k in EBS_KEYS if k in ebs}
        # Unset on the live class: unset in the stack too (the program's defaults would be a change).
        written.setdefault("encrypted", None)
        written.setdefault("deleteOnTermination", None)
        volume["ebs"] = written
        volumes.append(volume)
    return volumes


def _selectors(nc: NodeClass, cluster: str, out: Out) -> None:
    discovery = [{"tags": {DISCOVERY_TAG: cluster}}]
    for field, terms in (
        ("subnetSelectorTerms", nc.subnet_selector_terms),
        ("securityGroupSelectorTerms", nc.security_group_selector_terms),
    ):
        if [dict(t) for t in terms] != discovery:
            out.note(
                f"EC2NodeClass {nc.name}",
                f"{field} {[dict(t) for t in terms]}: the stack selects by {DISCOVERY_TAG}: {cluster}. "
                "Nodes in subnets or with security groups that tag does not select DRIFT; tag the ones "
                "the nodes use before the second run",
            )


def node_class(nc: NodeClass, cluster: str, out: Out) -> dict[str, Any]:
    """The class config describing `nc` (the identity, role or instance profile, is in `iam`)."""
    cfg = _ami(nc, out)
    cfg["blockDeviceMappings"] = _volumes(nc, out)
    found = {
        **nc.other,
        "kubelet": nc.kubelet,
        "userData": nc.user_data,
        "metadataOptions": nc.metadata_options,
    }
    for key in CLASS_PASS_THROUGH:
        value = found.get(key)
        if value is not None:
            cfg[key] = dict(value) if isinstance(value, Mapping) else value
    if nc.tags:
        cfg["tags"] = dict(nc.tags)
    _selectors(nc, cluster, out)
    for key in sorted(set(nc.other) - set(CLASS_PASS_THROUGH)):
        out.note(
            f"EC2NodeClass {nc.name}",
            f"sets {key}, which the program does not: the stack's class lacks it, which DRIFTS EVERY NODE "
            "of the pools using it",
        )
    return cfg


def node_classes(install: Install, out: Out) -> tuple[dict[str, Any], dict[str, Any]]:
    """(`nodeClass`, `nodeClasses`): the live `default` is `nodeClass`, every other class is named as it
    is. Without a live `default`, `nodeClass` is a copy of the first class (rendered only when a pool
    uses it, and no pool does)."""
    named: dict[str, Any] = {}
    default: dict[str, Any] | None = None
    for nc in install.node_classes:
        cfg = node_class(nc, install.cluster, out)
        if nc.name == PROGRAM_DEFAULT_CLASS:
            default = cfg
        elif nc.name in RESERVED_CLASS_NAMES:
            out.note(
                f"EC2NodeClass {nc.name}",
                "its name is the program's GPU copy of nodeClass, which the stack cannot take over: it is "
                "never touched, and the pools using it move to a class the stack names",
            )
        else:
            named[nc.name] = cfg
    if default is None:
        first = next(iter(named.values()), {"amiVersion": "latest", "allowLatestAmi": True})
        default = dict(first)
    return default, named


# --- NodePools ---------------------------------------------------------------------------------------


def _capacity(pool: NodePool, out: Out) -> dict[str, Any]:
    """spotRatio from the capacity types the NodePool allows (Karpenter's default, none: on-demand)."""
    types = set(pool.values("karpenter.sh/capacity-type")) or {"on-demand"}
    if types == {"spot"}:
        return {"spotRatio": 1}
    if types == {"on-demand"}:
        return {"spotRatio": 0}
    if types == {"spot", "on-demand"}:
        return {"spotRatio": 1, "onDemandFallback": True}
    if types == {"on-demand", "reserved"}:
        return {"spotRatio": 0, "reservedCapacity": True}
    out.note(
        f"NodePool {pool.name}",
        f"allows the capacity types {sorted(types)}, which no pool of the program does in one NodePool: "
        "the stack writes Spot with On-Demand fallback; its reserved nodes DRIFT",
    )
    return {"spotRatio": 1, "onDemandFallback": True}


def _architecture(pool: NodePool, out: Out) -> str:
    arches = pool.values("kubernetes.io/arch")
    if len(arches) == 1:
        return arches[0]
    out.note(
        f"NodePool {pool.name}",
        f"allows the architectures {list(arches) or 'all'}; a pool of the program has one: the stack "
        "writes amd64, so its arm64 nodes DRIFT. Split it into two pools (new names) instead",
    )
    return "amd64"


def _requirement(pool: NodePool, key: str) -> Mapping[str, Any] | None:
    return next((r for r in pool.requirements if r.get("key") == key), None)


def _instances(pool: NodePool, out: Out) -> dict[str, Any]:
    family = _requirement(pool, "karpenter.k8s.aws/instance-family")
    families = pool.values("karpenter.k8s.aws/instance-family")
    # The program asks a Spot NodePool for `minFamilies` families (minValues); 1 asks for nothing.
    min_values = int(family["minValues"]) if family and "minValues" in family else 1
    if families:
        return {"families": list(families), "minFamilies": min_values}
    categories = pool.values("karpenter.k8s.aws/instance-category")
    cfg: dict[str, Any] = {"categories": list(categories or ("c", "m", "r")), "minFamilies": min_values}
    if not categories:
        out.note(
            f"NodePool {pool.name}",
            "has no family or category requirement: the stack writes categories c, m, r. Running nodes of "
            "other categories DRIFT",
        )
    generation = _requirement(pool, "karpenter.k8s.aws/instance-generation")
    if generation and generation.get("operator") == "Gt":
        cfg["minGeneration"] = int(generation["values"][0]) + 1
    else:
        # `Gt 0`: every generation, as without the requirement.
        cfg["minGeneration"] = 1
        if generation:
            out.note(f"NodePool {pool.name}", f"instance generation {dict(generation)}: not carried")
    return cfg


def _other_requirements(pool: NodePool, out: Out) -> None:
    for req in pool.requirements:
        key, operator = str(req.get("key")), req.get("operator")
        carried = key in POOL_KEYS and operator in ("In", "Exists", "Gt")
        if not carried:
            out.note(
                f"NodePool {pool.name}",
                f"requirement {dict(req)} is not carried: the stack's NodePool admits what it excluded "
                "(running nodes still satisfy the rest, none drifts; new nodes may be of such types)",
            )


def _limits(pool: NodePool, out: Out) -> dict[str, Any]:
    cpu = pool.limits.get("cpu", "1000")
    cpu_value: int | str = int(cpu) if str(cpu).isdigit() else str(cpu)
    memory = pool.limits.get("memory")
    if memory is None:
        count = int(cpu) if str(cpu).isdigit() else 1000
        memory = f"{count * MEMORY_PER_CPU_GI}Gi"
        out.note(f"NodePool {pool.name}", f"has no memory limit: the stack writes {memory} (no drift)")
    if "cpu" not in pool.limits:
        out.note(f"NodePool {pool.name}", "has no CPU limit: the stack writes 1000 (no drift)")
    return {"cpu": cpu_value, "memory": str(memory)}


def _disruption(pool: NodePool) -> dict[str, Any]:
    d = pool.disruption
    cfg: dict[str, Any] = {k: d[k] for k in ("consolidationPolicy", "consolidateAfter") if k in d}
    if pool.expire_after:
        cfg["expireAfter"] = pool.expire_after
    if pool.budgets:
        cfg["budgets"] = [dict(b) for b in pool.budgets]
    return cfg


def _template(pool: NodePool, out: Out) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    labels = {k: v for k, v in pool.labels.items() if k != POOL_LABEL}
    # The program's pool label only where the NodePool already has it: adding it drifts every node.
    cfg["poolLabel"] = pool.labels.get(POOL_LABEL) == pool.name
    if labels:
        cfg["labels"] = labels
    if pool.taints:
        cfg["taints"] = [dict(t) for t in pool.taints]
    if pool.startup_taints:
        cfg["startupTaints"] = [dict(t) for t in pool.startup_taints]
    if pool.termination_grace_period:
        cfg["terminationGracePeriod"] = pool.termination_grace_period
    zones = pool.values("topology.kubernetes.io/zone")
    if zones:
        cfg["zones"] = list(zones)
    for key in sorted(pool.other):
        out.note(f"NodePool {pool.name}", f"template sets {key}: not carried, which DRIFTS EVERY NODE of it")
    if pool.annotations:
        out.note(
            f"NodePool {pool.name}",
            f"template annotations {dict(pool.annotations)}: not carried, which DRIFTS EVERY NODE of it",
        )
    return cfg


def _pool_name(pool: NodePool, index: int) -> str:
    """The pool's config name: the NodePool's, where the program allows it (`nodePoolName` keeps the
    NodePool's own name in every case; the config name is then only a key)."""
    if DNS1123_LABEL.match(pool.name) and len(pool.name) <= POOL_NAME_MAX and pool.name != POOL_LABEL_NAME:
        return pool.name
    return f"pool{index + 1}"


def node_pool(pool: NodePool, index: int, classes: Mapping[str, Any], out: Out) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "name": _pool_name(pool, index),
        "nodePoolName": pool.name,
        "architecture": _architecture(pool, out),
        **_instances(pool, out),
        **_capacity(pool, out),
    }
    cfg["weight"] = pool.weight if pool.weight is not None else DEFAULT_WEIGHT
    if pool.weight is None:
        out.note(
            f"NodePool {pool.name}", f"has no weight: the stack writes {DEFAULT_WEIGHT} (an update, no drift)"
        )
    cfg["limits"] = _limits(pool, out)
    disruption = _disruption(pool)
    if disruption:
        cfg["disruption"] = disruption
    cfg.update(_template(pool, out))
    ref = str(pool.node_class_ref.get("name") or PROGRAM_DEFAULT_CLASS)
    if ref != PROGRAM_DEFAULT_CLASS and ref in classes:
        cfg["nodeClass"] = ref
    elif ref != PROGRAM_DEFAULT_CLASS:
        out.note(
            f"NodePool {pool.name}",
            f"uses EC2NodeClass {ref}, which the stack cannot name: it writes nodeClass, which DRIFTS "
            "EVERY NODE of the pool",
        )
    _other_requirements(pool, out)
    return cfg


def distinct_weights(pools: list[dict[str, Any]], out: Out) -> list[dict[str, Any]]:
    """The program refuses two NodePools of one weight (Karpenter's choice between them is arbitrary):
    a repeated weight is lowered to the next free one (weight is updated in place; no node drifts)."""
    taken: set[int] = set()
    for pool in sorted(pools, key=lambda p: -int(p.get("weight", DEFAULT_WEIGHT))):
        weight = int(pool.get("weight", DEFAULT_WEIGHT))
        free = weight
        while free in taken and free > 1:
            free -= 1
        if free != weight:
            out.note(
                f"NodePool {pool['nodePoolName']}",
                f"weight {weight} is another pool's too: the stack writes {free} (an update, no drift)",
            )
            pool["weight"] = free
        taken.add(free)
    return pools


def node_pools(install: Install, classes: Mapping[str, Any], out: Out) -> list[dict[str, Any]]:
    pools = [node_pool(p, i, classes, out) for i, p in enumerate(install.node_pools)]
    return distinct_weights(pools, out)
