"""A pool's instance filters beyond families and categories, and its zones: each becomes one NodePool
requirement on a label Karpenter sets from the instance type (karpenter-provider-aws v1.14.1
`pkg/apis/v1/labels.go`: `instance-size`, `instance-cpu` (vCPUs), `instance-memory` (MiB),
`instance-hypervisor`, `instance-local-nvme` (GiB), `instance-network-bandwidth` (Mbps), all under
`karpenter.k8s.aws/`), and `topology.kubernetes.io/zone`.

Ranges are inclusive here and rendered with Karpenter's strict operators (`min: 4` is `Gt "3"`), whose
value the CRD wants as a single non-negative integer string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WrapValidator

from config.base import Model, Problem, hinted, rule, unique_items

LABEL_DOMAIN = "karpenter.k8s.aws"
SIZE = f"{LABEL_DOMAIN}/instance-size"
CPU = f"{LABEL_DOMAIN}/instance-cpu"
MEMORY = f"{LABEL_DOMAIN}/instance-memory"
HYPERVISOR = f"{LABEL_DOMAIN}/instance-hypervisor"
LOCAL_NVME = f"{LABEL_DOMAIN}/instance-local-nvme"
NETWORK_BANDWIDTH = f"{LABEL_DOMAIN}/instance-network-bandwidth"
ZONE = "topology.kubernetes.io/zone"

MEMORY_TEXT = re.compile(r"^([0-9]+)(Mi|Gi|Ti)$")
MIB_PER_UNIT = {"Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}
ZONE_NAME = re.compile(r"^([a-z]{2}(-[a-z]+)+-[0-9]+)([a-z])$")
"""An availability zone name: the region code and one letter (eu-west-1a)."""


def memory_mib(value: str) -> int:
    match = MEMORY_TEXT.match(value)
    assert match is not None
    return int(match[1]) * MIB_PER_UNIT[match[2]]


def _memory(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f'a bare number has no unit; write it with one, such as "{value}Gi"')
    if isinstance(value, str) and (not MEMORY_TEXT.match(value) or memory_mib(value) == 0):
        raise ValueError(
            "must be a whole number of Mi, Gi or Ti greater than zero, such as 512Mi, 4Gi or 1Ti"
        )
    return value


def _ordered(v: Mapping[str, Any], valid: Callable[..., bool], low: Any, high: Any) -> Iterable[Problem]:
    if v.get("min") is None and v.get("max") is None:
        yield Problem((), "set min, max or both (an inclusive range)", show=False)
    elif v.get("min") is not None and v.get("max") is not None and low > high:
        yield Problem(("max",), f"is below min ({v['min']}): no instance type could match", v["max"])


class CountRange(Model):
    """An inclusive range of a whole-number instance property; set min, max or both."""

    min: Annotated[int, Field(ge=1)] | None = Field(default=None, description="The least value admitted.")
    max: Annotated[int, Field(ge=1)] | None = Field(default=None, description="The largest value admitted.")

    @rule("min", "max")
    def _order(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        yield from _ordered(v, valid, v.get("min"), v.get("max"))


MemoryText = Annotated[str, BeforeValidator(_memory)]


class MemoryRange(Model):
    """An inclusive range of instance memory, as quantities (4Gi, 512Mi, 1Ti); set min, max or both."""

    min: MemoryText | None = Field(default=None, description="The least memory admitted (such as 4Gi).")
    max: MemoryText | None = Field(default=None, description="The most memory admitted (such as 256Gi).")

    @rule("min", "max")
    def _order(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        low, high = (memory_mib(v[k]) if v.get(k) is not None else None for k in ("min", "max"))
        yield from _ordered(v, valid, low, high)

    @property
    def min_mib(self) -> int | None:
        return memory_mib(self.min) if self.min is not None else None

    @property
    def max_mib(self) -> int | None:
        return memory_mib(self.max) if self.max is not None else None


SIZE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _size(value: str) -> str:
    if "." in value:
        raise ValueError("is an instance type; list sizes only, such as nano, micro or metal")
    if not SIZE_NAME.match(value) or len(value) > 20:
        raise ValueError(
            "must be an instance size: lowercase letters, digits and '-', such as nano, 48xlarge, metal-24xl"
        )
    return value


InstanceSize = Annotated[str, AfterValidator(_size)]


class InstanceFilters(Model):
    """Which instance types of the pool's families or categories Karpenter may buy; every filter is a
    NodePool requirement on the label Karpenter sets from the type. Checked at preview against the
    region's catalogue: a Spot NodePool left with no type is refused, with fewer than 15 warned."""

    exclude_sizes: (
        Annotated[list[InstanceSize], Field(min_length=1, max_length=50), WrapValidator(unique_items)] | None
    ) = Field(
        default=None,
        description="Sizes never bought (`karpenter.k8s.aws/instance-size` NotIn), such as nano, micro, "
        "metal. Unset: every size.",
    )
    cpu: CountRange | None = Field(
        default=None,
        description="vCPUs per instance, inclusive (`karpenter.k8s.aws/instance-cpu` Gt/Lt): {min: 2, "
        "max: 64}. Unset: any.",
    )
    memory: MemoryRange | None = Field(
        default=None,
        description="Memory per instance, inclusive (`karpenter.k8s.aws/instance-memory`, rendered in "
        "MiB): {min: 4Gi, max: 256Gi}. Unset: any.",
    )
    hypervisor: (
        Annotated[list[Literal["nitro", "xen"]], Field(min_length=1), WrapValidator(unique_items)] | None
    ) = Field(
        default=None,
        description="Hypervisors admitted (`karpenter.k8s.aws/instance-hypervisor` In): nitro, xen. Bare "
        "metal types have none, so [nitro] excludes them. Unset: any.",
    )
    local_nvme: bool = Field(
        default=False,
        description="true: only types with local NVMe instance storage (`karpenter.k8s.aws/"
        "instance-local-nvme` Gt 0), such as m6id, c7gd, i4i.",
    )
    network_bandwidth_mbps: CountRange | None = Field(
        default=None,
        description="Baseline network bandwidth in Mbps, inclusive (`karpenter.k8s.aws/"
        "instance-network-bandwidth` Gt/Lt): {min: 10000}. Unset: any.",
    )

    @property
    def needs_specs(self) -> bool:
        """Whether a filter reads instance properties beyond the type's name."""
        return bool(
            self.cpu or self.memory or self.hypervisor or self.local_nvme or self.network_bandwidth_mbps
        )


def _range_requirements(key: str, low: int | None, high: int | None) -> list[dict[str, Any]]:
    out = []
    if low is not None:
        out.append({"key": key, "operator": "Gt", "values": [str(low - 1)]})
    if high is not None:
        out.append({"key": key, "operator": "Lt", "values": [str(high + 1)]})
    return out


def filter_requirements(filters: InstanceFilters | None) -> list[dict[str, Any]]:
    """The NodePool requirements of a pool's `instanceFilters`, in a fixed order."""
    if filters is None:
        return []
    out: list[dict[str, Any]] = []
    if filters.exclude_sizes:
        out.append({"key": SIZE, "operator": "NotIn", "values": list(filters.exclude_sizes)})
    if filters.cpu:
        out += _range_requirements(CPU, filters.cpu.min, filters.cpu.max)
    if filters.memory:
        out += _range_requirements(MEMORY, filters.memory.min_mib, filters.memory.max_mib)
    if filters.hypervisor:
        out.append({"key": HYPERVISOR, "operator": "In", "values": list(filters.hypervisor)})
    if filters.local_nvme:
        out.append({"key": LOCAL_NVME, "operator": "Gt", "values": ["0"]})
    if filters.network_bandwidth_mbps:
        bandwidth = filters.network_bandwidth_mbps
        out += _range_requirements(NETWORK_BANDWIDTH, bandwidth.min, bandwidth.max)
    return out


TypeSpec = tuple[int, int, str, int, int]
"""An instance type's vCPUs, memory (MiB), hypervisor ("" for bare metal), local NVMe (GiB) and baseline
network bandwidth (Mbps): the values of the labels the filters require on."""


def spec_admits(filters: InstanceFilters | None, size: str, spec: TypeSpec | None) -> bool:
    """Whether an instance type of `size` with `spec` (vcpus, memory MiB, hypervisor, local NVMe GiB,
    bandwidth Mbps) passes the filters; a type whose properties are unknown passes only filters that do
    not read them."""
    if filters is None:
        return True
    if filters.exclude_sizes and size in filters.exclude_sizes:
        return False
    if not filters.needs_specs:
        return True
    if spec is None:
        return False
    vcpus, memory, hypervisor, nvme, bandwidth = spec

    def within(value: int, low: int | None, high: int | None) -> bool:
        return (low is None or value >= low) and (high is None or value <= high)

    memory_range = filters.memory
    bandwidth_range = filters.network_bandwidth_mbps
    return (
        (filters.cpu is None or within(vcpus, filters.cpu.min, filters.cpu.max))
        and (memory_range is None or within(memory, memory_range.min_mib, memory_range.max_mib))
        and (not filters.hypervisor or hypervisor in filters.hypervisor)
        and (not filters.local_nvme or nvme > 0)
        and (bandwidth_range is None or within(bandwidth, bandwidth_range.min, bandwidth_range.max))
    )


ZoneName = Annotated[
    str,
    StringConstraints(
        pattern=hinted(ZONE_NAME.pattern, "an availability zone name such as eu-west-1a"), max_length=40
    ),
]


def zone_requirement(zones: list[str] | None) -> list[dict[str, Any]]:
    return [{"key": ZONE, "operator": "In", "values": list(zones)}] if zones else []


def pool_zone_problems(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
    """Each pool zone in the stack's region and (create mode) among the VPC's zone letters: Karpenter
    finds subnets only there, so a node of any other zone could never launch."""
    region, pools, cluster = v["region"], v.get("node_pools"), v.get("cluster")
    if not isinstance(pools, list):
        return
    letters = None
    if isinstance(cluster, Mapping) and cluster.get("mode", "create") == "create" and valid("cluster", "vpc"):
        vpc = cluster.get("vpc")
        letters = (
            vpc.get("availabilityZones", ["a", "b", "c"]) if isinstance(vpc, Mapping) else ["a", "b", "c"]
        )
    for i, pool in enumerate(pools):
        if not isinstance(pool, Mapping) or not valid("nodePools", i, "zones"):
            continue
        for j, zone in enumerate(pool.get("zones") or []):
            match = ZONE_NAME.match(zone)
            if match is None:
                continue
            if match[1] != region:
                yield Problem(
                    ("nodePools", i, "zones", j),
                    f"is not a zone of the stack's region {region}; write {region}<letter>",
                    zone,
                )
            elif letters is not None and match[3] not in letters:
                have = ", ".join(f"{region}{letter}" for letter in letters)
                yield Problem(
                    ("nodePools", i, "zones", j),
                    f"has no subnet: cluster.vpc.availabilityZones creates subnets in {have} only",
                    zone,
                )
