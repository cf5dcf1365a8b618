"""Which nodes Karpenter replaces (drifts) when a NodePool changes, as Karpenter 1.14.1 decides it.

kubernetes-sigs/karpenter v1.14.1 `pkg/controllers/nodeclaim/disruption/drift.go` (`isDrifted`):
- static drift: the NodePool's hash (`NodePool.Hash()`, `pkg/apis/v1/nodepool.go`) covers `spec.template`
  only, without `spec.template.spec.requirements` (`hash:"ignore"`); its slices are hashed as sets
  (`SlicesAsSets`). A change of a hashed field drifts every node of the pool, whatever its labels;
- requirements drift: a node drifts only when its labels no longer satisfy the NodePool's requirements
  (`NewLabelRequirements(nodeClaim.Labels).Compatible(...)`): reordering or adding values drifts none;
  removing a value drifts the nodes that have it;
- outside the template (`spec.weight`, `spec.limits`, `spec.disruption`, `spec.replicas`): behavioural, no
  drift (docs concepts/disruption.md, "Special Cases on Drift").

NODE_POOL_FIELDS is the table: a NodePool input path -> how its change drifts nodes. A new field is one
row; a path under `spec.template` that no row names is hashed, so it drifts every node.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from config.labels import SPREAD_LABEL_DOMAIN

ALL = "all"
"""Part of the template hash: every node of the pool drifts."""
REQUIREMENTS = "requirements"
"""Checked against each node's labels: only the nodes whose labels no longer satisfy them drift."""
NONE = "none"
"""Behavioural: no node drifts."""

NODE_POOL_FIELDS: dict[str, str] = {
    "spec.template.metadata.labels": ALL,
    "spec.template.metadata.annotations": ALL,
    "spec.template.spec.taints": ALL,
    "spec.template.spec.startupTaints": ALL,
    "spec.template.spec.nodeClassRef": ALL,
    "spec.template.spec.terminationGracePeriod": ALL,
    "spec.template.spec.expireAfter": ALL,
    "spec.template.spec.requirements": REQUIREMENTS,
    "spec.weight": NONE,
    "spec.limits": NONE,
    "spec.disruption": NONE,
    "spec.replicas": NONE,
    "metadata": NONE,
}
"""NodePool input path -> ALL, REQUIREMENTS or NONE (the longest matching row wins)."""

LABEL_NAMES: dict[str, str] = {
    "karpenter.k8s.aws/instance-family": "instance family",
    "karpenter.k8s.aws/instance-category": "instance category",
    "karpenter.k8s.aws/instance-generation": "instance generation",
    "karpenter.sh/capacity-type": "capacity type",
    "topology.kubernetes.io/zone": "zone",
    "kubernetes.io/arch": "architecture",
    "kubernetes.io/os": "OS",
    "node.kubernetes.io/instance-type": "instance type",
}
"""Well-known node labels, in words for the consequence line."""


def field_rule(path: str) -> str:
    """How a change of the input at `path` (shown form, `a.b[0].c`) drifts nodes."""
    bare = path.split(" (")[0]
    best, rule = "", None
    for prefix, value in NODE_POOL_FIELDS.items():
        if (bare == prefix or bare.startswith((prefix + ".", prefix + "["))) and len(prefix) > len(best):
            best, rule = prefix, value
    if rule is not None:
        return rule
    if bare == "spec.template" or bare.startswith("spec.template."):
        return ALL  # hashed unless Karpenter says otherwise (and the table would then say so)
    return NONE


@dataclass(frozen=True)
class _Allowed:
    """What one label key's requirements admit: `In` sets intersect, `NotIn` sets add up, Gt/Lt bound."""

    within: frozenset[str] | None
    excluded: frozenset[str]
    gt: float | None
    lt: float | None
    exists: bool
    absent: bool


def _allowed(requirements: Iterable[Mapping[str, Any]]) -> _Allowed:
    within: frozenset[str] | None = None
    excluded: set[str] = set()
    gt: float | None = None
    lt: float | None = None
    exists = absent = False
    for r in requirements:
        op, values = r.get("operator"), [str(v) for v in r.get("values") or []]
        if op == "In":
            within = frozenset(values) if within is None else within & frozenset(values)
        elif op == "NotIn":
            excluded |= set(values)
        elif op == "Gt" and values:
            gt = max(gt, float(values[0])) if gt is not None else float(values[0])
        elif op == "Lt" and values:
            lt = min(lt, float(values[0])) if lt is not None else float(values[0])
        elif op == "Exists":
            exists = True
        elif op == "DoesNotExist":
            absent = True
    return _Allowed(within, frozenset(excluded), gt, lt, exists, absent)


def _by_key(requirements: Sequence[Mapping[str, Any]] | None) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for r in requirements or []:
        if isinstance(r, Mapping) and r.get("key"):
            out.setdefault(str(r["key"]), []).append(r)
    return out


def _values(values: Iterable[str]) -> str:
    """Values in order, numbers by value (`8, 9, 10`)."""
    return ", ".join(sorted(values, key=lambda v: (0, int(v), "") if v.isdigit() else (1, 0, v)))


def _bound_text(old: _Allowed, new: _Allowed) -> list[str]:
    parts = []
    if new.gt is not None and (old.gt is None or new.gt > old.gt):
        parts.append(f"<= {new.gt:g}" + (f" (and > {old.gt:g})" if old.gt is not None else ""))
    if new.lt is not None and (old.lt is None or new.lt < old.lt):
        parts.append(f">= {new.lt:g}" + (f" (and < {old.lt:g})" if old.lt is not None else ""))
    return parts


def _key_drift(key: str, old: _Allowed, new: _Allowed) -> str | None:
    """The nodes of this label key that no longer satisfy the requirements, in words; None: none."""
    name = LABEL_NAMES.get(key, f"label {key}")
    if key.startswith(f"{SPREAD_LABEL_DOMAIN}/"):
        name = f"Spot/On-Demand spread value ({key})"
    old_set = None if old.within is None else old.within - old.excluded
    if new.within is not None:
        new_set = new.within - new.excluded
        if old_set is not None:
            removed = sorted(old_set - new_set)
            if removed:
                return f"{name} {_values(removed)}"
        elif new_set:
            return f"{name} other than {_values(new_set)}"
    else:
        removed = sorted(new.excluded - old.excluded)
        if old_set is not None:
            removed = [v for v in removed if v in old_set]
        if removed:
            return f"{name} {_values(removed)}"
    bounds = _bound_text(old, new)
    if bounds:
        return f"{name} {' or '.join(bounds)}"
    if new.exists and not old.exists and old.within is None:
        return f"no {name} label"
    if new.absent and not old.absent:
        return f"a {name} label"
    return None


IMPLIED_LABELS: dict[str, frozenset[str]] = {"kubernetes.io/os": frozenset({"linux"})}
"""Labels every node of the program's node classes has whatever the NodePool requires: AL2023 and
Bottlerocket (the only `amiFamily` values config.nodeclass allows) boot Linux, so requiring
`kubernetes.io/os In [linux]` where a NodePool required nothing drifts no node."""


def _old_allowed(key: str, requirements: list[Mapping[str, Any]]) -> _Allowed:
    allowed = _allowed(requirements)
    implied = IMPLIED_LABELS.get(key)
    if implied is not None and allowed.within is None:
        return replace(allowed, within=implied)
    return allowed


def requirements_drift(
    old: Sequence[Mapping[str, Any]] | None, new: Sequence[Mapping[str, Any]] | None
) -> list[str]:
    """Which nodes no longer satisfy the requirements, one phrase per label key (`instance family m5`);
    empty when every node that satisfied the old requirements satisfies the new ones."""
    old_keys, new_keys = _by_key(old), _by_key(new)
    return [
        phrase
        for key in sorted(new_keys)
        if (phrase := _key_drift(key, _old_allowed(key, old_keys.get(key, [])), _allowed(new_keys[key])))
        is not None
    ]


@dataclass(frozen=True)
class PoolDrift:
    """What an update of a NodePool drifts: every node (with the hashed fields that changed), the nodes
    that no longer satisfy the requirements, or none."""

    hashed: list[str]
    requirement_nodes: list[str]

    @property
    def drifts(self) -> bool:
        return bool(self.hashed or self.requirement_nodes)


def node_pool_drift(
    paths: Iterable[str], old_inputs: Mapping[str, Any], new_inputs: Mapping[str, Any]
) -> PoolDrift:
    hashed, requirements_changed = [], False
    for path in paths:
        rule = field_rule(path)
        if rule == ALL:
            hashed.append(path.split(" (")[0])
        elif rule == REQUIREMENTS:
            requirements_changed = True
    nodes: list[str] = []
    if requirements_changed:
        nodes = requirements_drift(_requirements(old_inputs), _requirements(new_inputs))
    return PoolDrift(hashed, nodes)


def _requirements(inputs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    doc: Any = inputs
    for part in ("spec", "template", "spec", "requirements"):
        doc = doc.get(part) if isinstance(doc, Mapping) else None
    return list(doc) if isinstance(doc, list) else []


# EC2NodeClass fields whose change makes Karpenter replace nodes (drift), as aws/karpenter-provider-aws
# v1.14.1 decides it (`pkg/cloudprovider/drift.go`, `EC2NodeClass.Hash` in `pkg/apis/v1/ec2nodeclass.go`):
# the spec is hashed except the selector terms and ipPrefixCount (`hash:"ignore"`); a hashed field drifts
# every node; a selector drifts the nodes whose resolved AMI, subnet, security groups or reservation the
# new terms no longer select (checked against `status`). NodePool fields: NODE_POOL_FIELDS above.
EVERY_NODE = "every node"
NODECLASS_DRIFT_FIELDS: dict[str, str] = {
    "blockDeviceMappings": EVERY_NODE,
    "metadataOptions": EVERY_NODE,
    "role": EVERY_NODE,
    "instanceProfile": EVERY_NODE,
    "userData": EVERY_NODE,
    "tags": EVERY_NODE,
    "kubelet": EVERY_NODE,
    "associatePublicIPAddress": EVERY_NODE,
    "instanceStorePolicy": EVERY_NODE,
    "detailedMonitoring": EVERY_NODE,
    "placementGroupSelector": EVERY_NODE,
    "networkInterfaces": EVERY_NODE,
    "context": EVERY_NODE,
    "cpuOptions": EVERY_NODE,
    # AMI drift is checked per node (its image among `status.amis`), but the program's terms are one
    # alias: a new alias selects other AMIs, so every node runs one no longer selected.
    "amiSelectorTerms": EVERY_NODE,
    "amiFamily": EVERY_NODE,
    "subnetSelectorTerms": "the nodes in a subnet the new terms no longer select",
    "securityGroupSelectorTerms": "every node whose security groups differ from the new selection",
    "capacityReservationSelectorTerms": "the nodes in a capacity reservation the new terms no longer select",
}
"""EC2NodeClass spec field -> which of its nodes drift when it changes (no row: none, e.g. ipPrefixCount)."""


def node_class_drift(paths: Iterable[str]) -> list[str]:
    """Which nodes the changed EC2NodeClass fields drift, one phrase per rule, EVERY_NODE first."""
    found = {
        NODECLASS_DRIFT_FIELDS[field]
        for p in paths
        if p.startswith("spec.")
        and (field := p.split(".")[1].split("[")[0].split(" (")[0]) in NODECLASS_DRIFT_FIELDS
    }
    return sorted(found, key=lambda text: (text != EVERY_NODE, text))
