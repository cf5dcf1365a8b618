"""`kubelet` of an EC2NodeClass: the subset of kubelet settings Karpenter's v1 API passes to the nodes.

Field names and rules are the CRD's (`karpenter.k8s.aws_ec2nodeclasses.yaml` 1.14.1, `spec.kubelet`: its
patterns, key enums and CEL rules, messages quoted), plus the checks Karpenter does not make but users trip
on: a soft eviction threshold without a grace period, and reserved resources that leave the smallest
instance of a pool nothing for pods (`smallest_instance`, a documented static estimate).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from config.base import Model, Problem, rule
from config.families import GPU_SERIES, family_series
from config.quantities import quantity_value

# The CRD's patterns (spec.kubelet.kubeReserved / systemReserved values, evictionHard / evictionSoft values).
RESERVED_QUANTITY = re.compile(
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
EVICTION_VALUE = re.compile(
    r"^((\d{1,2}(\.\d{1,2})?|100(\.0{1,2})?)%|" + RESERVED_QUANTITY.pattern[1:-1] + r")$"
)
GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$")

ReservedResource = Literal["cpu", "memory", "ephemeral-storage", "pid"]
EvictionSignal = Literal[
    "memory.available",
    "nodefs.available",
    "nodefs.inodesFree",
    "imagefs.available",
    "imagefs.inodesFree",
    "pid.available",
]


def _reserved(value: dict[str, str]) -> dict[str, str]:
    for key, quantity in value.items():
        if quantity.startswith("-"):
            raise ValueError(f"{key} {quantity} is a negative resource quantity, which Karpenter refuses")
        if not RESERVED_QUANTITY.match(quantity):
            raise ValueError(f"{key} {quantity!r} is not a Kubernetes quantity such as 100m, 512Mi or 1Gi")
    return value


def _eviction(value: dict[str, str]) -> dict[str, str]:
    for key, threshold in value.items():
        if not EVICTION_VALUE.match(threshold) or threshold.startswith("-"):
            raise ValueError(
                f"{key} {threshold!r} must be a percentage such as 10% or a quantity such as 500Mi"
            )
    return value


def _grace(value: dict[str, str]) -> dict[str, str]:
    for key, period in value.items():
        if not GO_DURATION.match(period):
            raise ValueError(f"{key} {period!r} must be a duration such as 30s, 1m or 1m30s")
    return value


def _dns(value: list[str]) -> list[str]:
    for address in value:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError(f"{address!r} is not an IP address such as 172.20.0.10") from None
    return value


ReservedMap = Annotated[dict[ReservedResource, str], AfterValidator(_reserved)]
EvictionMap = Annotated[dict[EvictionSignal, str], AfterValidator(_eviction)]


class KubeletConfig(Model):
    """Kubelet settings of the class's nodes (`spec.kubelet`). Unset keys keep the AMI's defaults."""

    max_pods: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = Field(
        default=None, description="Most pods per node (the AMI's default follows the ENI limits)."
    )
    pods_per_core: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = Field(
        default=None,
        description="Most pods per vCPU (the lower of this and maxPods wins). AL2023 only: Bottlerocket "
        "ignores it.",
    )
    system_reserved: ReservedMap | None = Field(
        default=None,
        description="Resources kept for the OS (keys cpu, memory, ephemeral-storage, pid), such as "
        "{cpu: 100m, memory: 100Mi}.",
    )
    kube_reserved: ReservedMap | None = Field(
        default=None,
        description="Resources kept for the kubelet and container runtime (keys cpu, memory, "
        "ephemeral-storage, pid). Unset: the AMI computes them from the instance size.",
    )
    eviction_hard: EvictionMap | None = Field(
        default=None,
        description="Hard eviction thresholds by signal (memory.available, nodefs.available, "
        "nodefs.inodesFree, imagefs.available, imagefs.inodesFree, pid.available): percentages or "
        "quantities.",
    )
    eviction_soft: EvictionMap | None = Field(
        default=None,
        description="Soft eviction thresholds by signal, each with its grace period in "
        "`evictionSoftGracePeriod`.",
    )
    eviction_soft_grace_period: Annotated[dict[EvictionSignal, str], AfterValidator(_grace)] | None = Field(
        default=None,
        description="How long each soft threshold must hold before pods are evicted (30s, 1m30s); one entry "
        "per `evictionSoft` signal, no other.",
    )
    eviction_max_pod_grace_period: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = Field(
        default=None, description="Longest termination grace period (seconds) a soft eviction grants a pod."
    )
    image_gc_high_threshold_percent: Annotated[int, Field(ge=0, le=100)] | None = Field(
        default=None,
        alias="imageGCHighThresholdPercent",
        description="Disk usage (percent) above which image garbage collection always runs.",
    )
    image_gc_low_threshold_percent: Annotated[int, Field(ge=0, le=100)] | None = Field(
        default=None,
        alias="imageGCLowThresholdPercent",
        description="Disk usage (percent) image garbage collection frees down to; below the high threshold.",
    )
    cpu_cfs_quota: bool | None = Field(
        default=None,
        alias="cpuCFSQuota",
        description="Enforce CPU limits with CFS quota (the kubelet's default: true).",
    )
    cluster_dns: Annotated[list[str], Field(min_length=1), AfterValidator(_dns)] | None = Field(
        default=None,
        alias="clusterDNS",
        description="DNS server IPs the pods use (Bottlerocket takes the first), such as a node-local DNS "
        "cache 169.254.20.10. Unset: the cluster's DNS service.",
    )

    @rule("image_gc_high_threshold_percent", "image_gc_low_threshold_percent")
    def _gc_order(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        high, low = v.get("image_gc_high_threshold_percent"), v.get("image_gc_low_threshold_percent")
        if high is not None and low is not None and high <= low:
            yield Problem(
                ("imageGCHighThresholdPercent",),
                f"imageGCHighThresholdPercent must be greater than imageGCLowThresholdPercent ({high} is not "
                f"above {low})",
                show=False,
            )

    @rule("eviction_soft", "eviction_soft_grace_period")
    def _soft_with_grace(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        soft = v.get("eviction_soft") or {}
        grace = v.get("eviction_soft_grace_period") or {}
        for signal in soft:
            if signal not in grace:
                yield Problem(
                    ("evictionSoft", signal),
                    f"has no grace period: add evictionSoftGracePeriod.{signal} (such as 1m30s); Karpenter "
                    'refuses a soft threshold without one ("evictionSoft OwnerKey does not have a matching '
                    'evictionSoftGracePeriod")',
                    show=False,
                )
        for signal in grace:
            if signal not in soft:
                yield Problem(
                    ("evictionSoftGracePeriod", signal),
                    f"has no soft threshold: add evictionSoft.{signal} or remove it "
                    '("evictionSoftGracePeriod '
                    'OwnerKey does not have a matching evictionSoft")',
                    show=False,
                )


# The smallest instance a pool can get, estimated statically (the preflight catalogue carries instance
# type names, not their CPU and memory): Graviton families start at `medium` (1 vCPU), x86 families at
# `large` (2 vCPUs), GPU families at `xlarge` (4 vCPUs); memory per vCPU by series (Amazon EC2 instance
# types: c 2 GiB, m 4 GiB, r, i, d and z 8 GiB, x 16 GiB; other series taken as 2 GiB, GPU families
# 4 GiB). The estimate errs large for the rare smaller sizes (t nano/micro), so the check refuses what
# leaves the smallest node of the pool nothing for pods.
GIB_PER_VCPU = {"c": 2, "m": 4, "r": 8, "i": 8, "d": 8, "z": 8, "x": 16}


def smallest_instance(
    architecture: str, families: Sequence[str] | None, categories: Sequence[str] | None
) -> tuple[float, float]:
    """(vCPUs, GiB of memory) of the smallest instance a pool admits, estimated (see above)."""
    series = [family_series(f) for f in families] if families else list(categories or ["c"])
    sizes = []
    for s in series:
        if s in GPU_SERIES:
            sizes.append((4.0, 16.0))
            continue
        vcpu = 1.0 if architecture == "arm64" else 2.0
        sizes.append((vcpu, vcpu * GIB_PER_VCPU.get(s, 2)))
    return min(c for c, _ in sizes), min(m for _, m in sizes)


def reserved_totals(kubelet: Mapping[str, Any]) -> tuple[float, float]:
    """(vCPUs, GiB) of systemReserved plus kubeReserved, from raw config values."""
    cpu = memory = 0.0
    for key in ("systemReserved", "kubeReserved"):
        reserved = kubelet.get(key) or {}
        try:
            cpu += quantity_value(reserved["cpu"]) if "cpu" in reserved else 0
            memory += quantity_value(reserved["memory"]) / 2**30 if "memory" in reserved else 0
        except ValueError:  # an exponent form (1e3): rare, and then not estimated
            continue
    return cpu, memory
