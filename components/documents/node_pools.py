"""The Karpenter objects of the stack's `nodeClass` and `nodePools`, rendered as plain dicts.

Pure: no Pulumi, no I/O, so tests validate the output against the pinned CRDs (schema and CEL rules).

How a mixed pool (0 < spotRatio < 1) holds its ratio: its Spot and On-Demand NodePools both require a
label `<spread prefix>/<pool>` with disjoint value sets, in the proportion of the ratio (0.7: Spot takes
"1".."7", On-Demand "8".."10"). Karpenter gives each node one of its NodePool's values, and a workload
that spreads over that label with `maxSkew: 1` (see `spread_constraint`) lands on the values evenly,
hence on Spot and On-Demand in the ratio.
"""

from __future__ import annotations

from typing import Any

from components.blocks.naming import DISCOVERY_TAG
from config.instance_filters import filter_requirements, zone_requirement
from config.labels import POOL_LABEL_NAME, SPREAD_LABEL_DOMAIN, TaintConfig
from config.nodeclass import NodeClassSpec
from config.nodepools import NodePoolConfig
from config.spot_split import MAX_SPREAD_VALUES, spot_split

__all__ = [
    "MAX_SPREAD_VALUES",
    "SPREAD_PREFIX",
    "node_class_manifest",
    "node_pool_manifests",
    "pool_label_key",
    "spot_split",
    "spread_constraint",
    "spread_label_key",
]

SPREAD_PREFIX = SPREAD_LABEL_DOMAIN
"""Default label prefix of the pool and spread labels (not a domain Kubernetes or Karpenter restricts)."""

NODE_POOL_API = "karpenter.sh/v1"
NODE_CLASS_GROUP = "karpenter.k8s.aws"
NODE_CLASS_API = f"{NODE_CLASS_GROUP}/v1"


def spread_label_key(prefix: str, pool_name: str) -> str:
    """The label a mixed pool's nodes spread over: `<prefix>/<pool>`."""
    return f"{prefix}/{pool_name}"


def pool_label_key(prefix: str) -> str:
    """The label naming the pool of a node (`<prefix>/pool: <pool>`), for workloads to pin to a pool."""
    return f"{prefix}/{POOL_LABEL_NAME}"


BOTTLEROCKET_OS_VOLUME = "4Gi"
"""Bottlerocket's OS volume /dev/xvda: Karpenter's own default (`amifamily/bottlerocket.go`
`DefaultBlockDeviceMappings`, 1.14.1); images and pods live on the data volume /dev/xvdb."""


def _ebs(size: str) -> dict[str, Any]:
    return {"volumeSize": size, "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True}


def block_device_mappings(node_class: NodeClassSpec, root_volume_gib: int) -> list[dict[str, Any]]:
    """The class's volumes: its `blockDeviceMappings`, or the family's defaults with the images-and-pods
    volume at `root_volume_gib` (AL2023: /dev/xvda; Bottlerocket: /dev/xvda 4Gi OS + /dev/xvdb data)."""
    if node_class.block_device_mappings is None:
        if node_class.ami_family == "Bottlerocket":
            return [
                {"deviceName": "/dev/xvda", "ebs": _ebs(BOTTLEROCKET_OS_VOLUME)},
                {"deviceName": "/dev/xvdb", "ebs": _ebs(f"{root_volume_gib}Gi")},
            ]
        return [{"deviceName": "/dev/xvda", "ebs": _ebs(f"{root_volume_gib}Gi")}]
    out = []
    for m in node_class.block_device_mappings:
        ebs = m.ebs.model_dump(by_alias=True, exclude_none=True)
        rendered: dict[str, Any] = {"deviceName": m.device_name, "ebs": ebs}
        if m.root_volume is not None:
            rendered["rootVolume"] = m.root_volume
        out.append(rendered)
    return out


def _ami_terms(node_class: NodeClassSpec) -> list[dict[str, Any]]:
    if node_class.alias is not None:
        return [{"alias": node_class.alias}]
    assert node_class.ami_selector_terms is not None
    return [t.model_dump(by_alias=True, exclude_none=True) for t in node_class.ami_selector_terms]


def node_class_manifest(
    *,
    name: str,
    cluster_name: str,
    instance_profile: str,
    node_class: NodeClassSpec,
    root_volume_gib: int | None = None,
) -> dict[str, Any]:
    """An EC2NodeClass of `node_class`: its AMI (alias, or explicit terms with `amiFamily`), subnets and
    security groups found by the discovery tag, its volumes (`block_device_mappings`, the images-and-pods
    volume at `root_volume_gib`, default the class's `rootVolumeSize`), its metadata options (default
    IMDSv2 only with a hop limit of 1: pods cannot reach the node's role), and whichever of kubelet,
    instance store policy, monitoring, public IP, user data, capacity reservations and tags it sets."""
    discovery = [{"tags": {DISCOVERY_TAG: cluster_name}}]
    volume = node_class.root_volume_size if root_volume_gib is None else root_volume_gib
    spec: dict[str, Any] = {
        "instanceProfile": instance_profile,
        "amiSelectorTerms": _ami_terms(node_class),
        "subnetSelectorTerms": discovery,
        "securityGroupSelectorTerms": [dict(term) for term in discovery],
        "blockDeviceMappings": block_device_mappings(node_class, volume),
        "metadataOptions": node_class.metadata_options.model_dump(by_alias=True),
    }
    if not spec["blockDeviceMappings"]:
        # `blockDeviceMappings: []`: none, so Karpenter applies its AMI family's defaults.
        del spec["blockDeviceMappings"]
    if node_class.alias is None:
        # The CRD: "must specify amiFamily if amiSelectorTerms does not contain an alias".
        spec["amiFamily"] = node_class.ami_family
    optional = {
        "kubelet": node_class.kubelet.model_dump(by_alias=True, exclude_none=True)
        if node_class.kubelet
        else None,
        "instanceStorePolicy": node_class.instance_store_policy,
        "detailedMonitoring": node_class.detailed_monitoring,
        "associatePublicIPAddress": node_class.associate_public_ip_address,
        "userData": node_class.user_data,
        "capacityReservationSelectorTerms": [
            t.model_dump(by_alias=True, exclude_none=True)
            for t in node_class.capacity_reservation_selector_terms
        ]
        if node_class.capacity_reservation_selector_terms
        else None,
        "tags": dict(node_class.tags) or None,
    }
    spec.update({k: v for k, v in optional.items() if v is not None})
    return {"apiVersion": NODE_CLASS_API, "kind": "EC2NodeClass", "metadata": {"name": name}, "spec": spec}


def _capacity_types(pool: NodePoolConfig, capacity_type: str) -> list[str]:
    """`reservedCapacity`: the On-Demand NodePool also takes `reserved` (Karpenter launches into a matching
    reservation first, then On-Demand; core `CapacityTypeReserved`, feature gate ReservedCapacity on by
    default in 1.14). `onDemandFallback`: the Spot-only NodePool also allows On-Demand (Karpenter prefers
    Spot offerings while there are any)."""
    if capacity_type == "on-demand" and pool.reserved_capacity:
        return ["on-demand", "reserved"]
    if capacity_type == "spot" and pool.on_demand_fallback:
        return ["spot", "on-demand"]
    return [capacity_type]


def _requirements(
    pool: NodePoolConfig, capacity_type: str, spread: tuple[str, list[str]] | None
) -> list[Any]:
    requirements: list[dict[str, Any]] = [
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
        {"key": "kubernetes.io/arch", "operator": "In", "values": [pool.architecture]},
        {
            "key": "karpenter.sh/capacity-type",
            "operator": "In",
            "values": _capacity_types(pool, capacity_type),
        },
    ]
    # Spot diversity: launch only when enough families can serve the node (the CRD's minValues).
    min_values = pool.min_families if capacity_type == "spot" and pool.min_families > 1 else None
    if pool.families is not None:
        family: dict[str, Any] = {"key": "karpenter.k8s.aws/instance-family", "operator": "In"}
        family["values"] = list(pool.families)
        if min_values:
            family["minValues"] = min_values
        requirements.append(family)
    else:
        assert pool.categories is not None and pool.min_generation is not None
        requirements += [
            {"key": "karpenter.k8s.aws/instance-category", "operator": "In", "values": list(pool.categories)},
            {
                "key": "karpenter.k8s.aws/instance-generation",
                "operator": "Gt",
                "values": [str(pool.min_generation - 1)],
            },
        ]
        if min_values:
            requirements.append(
                {"key": "karpenter.k8s.aws/instance-family", "operator": "Exists", "minValues": min_values}
            )
    requirements += filter_requirements(pool.instance_filters)
    requirements += zone_requirement(pool.zones)
    if spread is not None:
        key, values = spread
        requirements.append({"key": key, "operator": "In", "values": values})
    return requirements


def _disruption(pool: NodePoolConfig) -> dict[str, Any]:
    budgets = []
    for budget in pool.disruption.budgets:
        rendered: dict[str, Any] = {"nodes": budget.nodes}
        if budget.schedule is not None:
            rendered["schedule"] = budget.schedule
        if budget.duration is not None:
            rendered["duration"] = budget.duration
        if budget.reasons is not None:
            rendered["reasons"] = list(budget.reasons)
        budgets.append(rendered)
    return {
        "consolidationPolicy": pool.disruption.consolidation_policy,
        "consolidateAfter": pool.disruption.consolidate_after,
        "budgets": budgets,
    }


def _taints(taints: list[TaintConfig]) -> list[dict[str, str]]:
    out = []
    for taint in taints:
        rendered = {"key": taint.key, "effect": taint.effect}
        if taint.value is not None:
            rendered["value"] = taint.value
        out.append(rendered)
    return out


def _template(pool: NodePoolConfig, spread_prefix: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The node template: labels only when there are any (an empty `labels: {}` is stored as is and
    would hash differently from none, drifting the nodes of a NodePool made without labels)."""
    labels = dict(pool.labels)
    if pool.pool_label:
        labels[pool_label_key(spread_prefix)] = pool.name
    return {"metadata": {"labels": labels}, "spec": spec} if labels else {"spec": spec}


def _node_pool(
    pool: NodePoolConfig,
    *,
    capacity_type: str,
    weight: int,
    spread: tuple[str, list[str]] | None,
    node_class_name: str,
    spread_prefix: str,
) -> dict[str, Any]:
    suffix = "spot" if capacity_type == "spot" else "on-demand"
    template_spec: dict[str, Any] = {
        "nodeClassRef": {"group": NODE_CLASS_GROUP, "kind": "EC2NodeClass", "name": node_class_name},
        "requirements": _requirements(pool, capacity_type, spread),
        "expireAfter": pool.disruption.expire_after,
    }
    taints = _taints(pool.all_taints)
    if taints:
        template_spec["taints"] = taints
    if pool.startup_taints:
        template_spec["startupTaints"] = _taints(pool.startup_taints)
    if pool.termination_grace_period is not None:
        template_spec["terminationGracePeriod"] = pool.termination_grace_period
    return {
        "apiVersion": NODE_POOL_API,
        "kind": "NodePool",
        "metadata": {"name": pool.node_pool_name or f"{pool.name}-{suffix}"},
        "spec": {
            "weight": weight,
            "limits": {"cpu": pool.limits.cpu, "memory": pool.limits.memory},
            "disruption": _disruption(pool),
            "template": _template(pool, spread_prefix, template_spec),
        },
    }


def node_pool_manifests(
    pool: NodePoolConfig, *, node_class_name: str, spread_prefix: str
) -> list[dict[str, Any]]:
    """The NodePools of one pool.

    - 0 < spotRatio < 1: `<name>-spot` and `<name>-on-demand`. Both require the spread label
      `<spread_prefix>/<name>`, with disjoint values in the ratio: for s:o spread values, Spot gets
      "1".."s" and On-Demand "s+1".."s+o". Spot has the pool's `weight`, On-Demand `weight - 1`:
      pods that do not spread over the label prefer Spot, and fall back to On-Demand when Spot is short.
    - spotRatio 1: `<name>-spot` only. spotRatio 0: `<name>-on-demand` only. No spread label.

    Each NodePool gets the pool's labels plus `<spread_prefix>/pool: <name>` (unless `poolLabel` is
    false), its taints (plus `nvidia.com/gpu:NoSchedule` for a GPU pool) and startup taints, its
    termination grace period, its instance filters and zones as requirements, its limits (per NodePool)
    and its disruption settings.
    The Spot NodePool asks for at least `minFamilies` instance families (`minValues`).
    """
    spot, on_demand = spot_split(pool.spot_ratio)
    common = {"node_class_name": node_class_name, "spread_prefix": spread_prefix}
    if not pool.mixed:
        capacity_type = "spot" if spot else "on-demand"
        weight = pool.node_pool_weights[capacity_type]
        return [_node_pool(pool, capacity_type=capacity_type, weight=weight, spread=None, **common)]
    key = spread_label_key(spread_prefix, pool.name)
    spot_values = [str(i) for i in range(1, spot + 1)]
    on_demand_values = [str(i) for i in range(spot + 1, spot + on_demand + 1)]
    return [
        _node_pool(
            pool,
            capacity_type="spot",
            weight=pool.node_pool_weights["spot"],
            spread=(key, spot_values),
            **common,
        ),
        _node_pool(
            pool,
            capacity_type="on-demand",
            weight=pool.node_pool_weights["on-demand"],
            spread=(key, on_demand_values),
            **common,
        ),
    ]


def spread_constraint(pool: NodePoolConfig, spread_prefix: str) -> dict[str, Any] | None:
    """The `topologySpreadConstraints` entry a workload adds to run on a mixed pool in its Spot ratio
    (replace `<your-app>` with the workload's own labels). None for a Spot-only or On-Demand-only pool.

    Nodes without the label are not candidates for a `DoNotSchedule` spread, so the entry also keeps the
    workload on this pool."""
    if not pool.mixed:
        return None
    return {
        "maxSkew": 1,
        "topologyKey": spread_label_key(spread_prefix, pool.name),
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "<your-app>"}},
    }
