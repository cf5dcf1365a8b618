"""What only the AWS account can answer, checked at program start (preview and up), before any resource
other than the AWS provider is registered: the region exists, its availability zones have the letters the
VPC uses, every listed instance family is offered in the region for the pool's architecture, and each
Spot NodePool admits enough instance types.

`account_report` is pure (plain answers in, problems, warnings and counts out; the tests drive it
directly); `ask_account` is the thin part that calls the data sources through the explicit provider:
- `aws.get_availability_zones(state="available")` -> `names` (the region's AZs, Local Zones excluded);
- `aws.ec2.get_instance_type_offerings(filters=[instance-type: <family>.*, ...], location_type="region")`
  -> `instance_types` (the types offered in the region);
- `aws.ec2.get_instance_types(filters=[instance-type: ..., processor-info.supported-architecture: arm64])`
  and the same with x86_64 -> `instance_types` (each type's architecture).
Arguments and result fields as the pinned SDK defines them (pulumi_aws 7.51.1: get_availability_zones.py,
ec2/get_instance_type_offerings.py, ec2/get_instance_types.py; filter names are EC2's own
DescribeInstanceTypeOfferings / DescribeInstanceTypes filters, which take `*` wildcards: AWS's
DescribeInstanceTypes example filters `instance-type` by "*.micro" and by
`processor-info.supported-architecture`
(docs.aws.amazon.com/ec2/latest/devguide/example_ec2_DescribeInstanceTypes_section.html). The role running
preview needs ec2:DescribeAvailabilityZones, ec2:DescribeInstanceTypeOfferings and
ec2:DescribeInstanceTypes. A pool with `instanceFilters` on instance properties adds one
`aws.ec2.get_instance_type` per candidate type (see `ask_specs`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from config.base import ConfigError
from config.cluster import VpcConfig
from config.families import FAMILY_PATTERN
from config.instance_filters import InstanceFilters, TypeSpec, spec_admits
from config.nodepools import NodePoolConfig
from config.stack import StackConfig

SPOT_DIVERSITY_WARNING = 15
"""Below this many instance types a Spot NodePool is warned about: AWS's Spot guidance is to be flexible
across many instance types (and sizes) so capacity is found when one pool of Spot capacity runs out."""

ACCOUNT_CHECKS: dict[str, str] = {
    "region": "the region exists and answers (a well-formed but unknown code such as eu-west-9 is refused)",
    "cluster.vpc.availabilityZones": "each letter is an availability zone of the region (d is refused in "
    "eu-west-1, which has a to c)",
    "nodePools[].families": "each family has instance types offered in the region, of the pool's "
    "architecture (a typo such as m8gg or zz9 is refused, with the nearest offered families)",
    "nodePools[].categories": "the categories and minGeneration admit at least one offered type",
    "nodePools[].minFamilies": "a Spot pool has at least this many of its families offered in the region",
    "nodePools[].instanceFilters": "the filters leave at least one offered type of the pool's families or "
    "categories (vCPUs, memory, hypervisor, NVMe and bandwidth as DescribeInstanceTypes answers), and a Spot "
    "pool enough families for minFamilies; an excluded size no type of the pool has is warned about",
    "nodePools[].zones": "each zone is an availability zone of the region; in adopt mode, one of the "
    "cluster's private subnets is in it",
    "nodePools[] (Spot)": f"a Spot NodePool admits at least one instance type in the region (refused at "
    f"none, a warning below {SPOT_DIVERSITY_WARNING}); the counts are the stack output "
    "`spotInstanceTypeCounts`",
}
"""The checks that need the AWS account: they run at program start of `pulumi preview` and `pulumi up`
(and under the mocks, against harness/catalogue/), on every key that passed the offline checks."""

EC2_ARCHITECTURE = {"arm64": "arm64", "amd64": "x86_64"}
"""Kubernetes architecture -> EC2's `processor-info.supported-architecture`."""


@dataclass(frozen=True)
class PoolQuery:
    """What one pool asks of the region, as plain values (`key` is its key path, `nodePools[0]`)."""

    key: str
    name: str
    architecture: Literal["arm64", "amd64"]
    families: tuple[str, ...] | None
    categories: tuple[str, ...] | None
    min_generation: int | None
    min_families: int
    spot: bool
    filters: InstanceFilters | None = None
    zones: tuple[str, ...] | None = None

    @property
    def patterns(self) -> list[str]:
        """EC2 `instance-type` filter values (wildcards) covering the pool: its families' whole series
        (`m*` for m8g), so a family that is not offered can be compared with the ones that are."""
        if self.families is not None:
            series = [m["series"] if (m := FAMILY_PATTERN.match(f)) else f for f in self.families]
            return sorted({f"{s}*" for s in series})
        return sorted({f"{c}*" for c in self.categories or ()})

    def admits(self, family: str) -> bool:
        if self.families is not None:
            return family in self.families
        match = FAMILY_PATTERN.match(family)
        return bool(
            match
            and match["series"] in (self.categories or ())
            and int(match["generation"]) >= (self.min_generation or 0)
        )


@dataclass(frozen=True)
class AccountAnswers:
    """The account's answers: the region's AZ names, and each offered type (of the queried patterns)
    with the Kubernetes architectures it supports."""

    zones: tuple[str, ...]
    types: dict[str, frozenset[str]]
    specs: dict[str, TypeSpec] = field(default_factory=dict)
    """Instance type -> the properties `instanceFilters` read, for the types of pools that have them."""


@dataclass
class AccountReport:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    spot_instance_type_counts: dict[str, int] = field(default_factory=dict)
    """Spot NodePool name (`<pool>-spot`) -> the number of instance types it admits in the region."""


def pool_queries(cfg: StackConfig) -> list[PoolQuery]:
    return [
        PoolQuery(
            key=f"nodePools[{i}]",
            name=p.name,
            architecture=p.architecture,
            families=tuple(p.families) if p.families is not None else None,
            categories=tuple(p.categories) if p.categories is not None else None,
            min_generation=p.min_generation,
            min_families=p.min_families,
            spot=p.spot_ratio > 0,
            filters=p.instance_filters,
            zones=tuple(p.zones) if p.zones is not None else None,
        )
        for i, p in enumerate(cfg.node_pools)
    ]


def zone_letters(cfg: StackConfig) -> list[str] | None:
    """The AZ letters the stack uses (create mode), or None (adopt mode: the cluster's subnets decide)."""
    return list(cfg.cluster.vpc_or_default.availability_zones) if cfg.cluster.mode == "create" else None


ACCESS_DENIED = ("AccessDenied", "UnauthorizedOperation", "not authorized")


def region_problem(region: str, error: Exception) -> str:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if any(marker in reason for marker in ACCESS_DENIED):
        return (
            f"region: the caller may not look up {region}'s zones and instance types ({reason}); grant "
            "ec2:DescribeAvailabilityZones, ec2:DescribeInstanceTypeOfferings and ec2:DescribeInstanceTypes "
            "(README, Pull-request previews, lists what a preview role needs)"
        )
    return (
        f"region: AWS does not answer for {region!r} ({reason}); check the region code (such as eu-west-1), "
        "and that the account has the region enabled"
    )


def _zone_problems(region: str, letters: Sequence[str], zones: Sequence[str]) -> list[str]:
    have = sorted(z.removeprefix(region) for z in zones if z.startswith(region))
    return [
        f"cluster.vpc.availabilityZones[{i}]: {region}{letter} is not an availability zone of "
        f"{region} (it has {', '.join(have) or 'none this account can use'}), got {letter!r}"
        for i, letter in enumerate(letters)
        if f"{region}{letter}" not in zones
    ]


def _family_problems(region: str, pool: PoolQuery, offered_families: dict[str, set[str]]) -> list[str]:
    problems = []
    for j, family in enumerate(pool.families or ()):
        if family not in offered_families:
            same_arch = sorted(f for f, a in offered_families.items() if pool.architecture in a)
            close = difflib.get_close_matches(family, same_arch, n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else " (check the spelling)"
            problems.append(
                f"{pool.key}.families[{j}]: no instance type of the family {family} is offered in "
                f"{region}{hint}, got {family!r}"
            )
        elif pool.architecture not in offered_families[family]:
            arch_text = ", ".join(sorted(offered_families[family])) or "of no architecture Kubernetes runs"
            problems.append(
                f"{pool.key}.families[{j}]: {family} instances in {region} are {arch_text}, not "
                f"{pool.architecture}; move it to a pool of that architecture, got {family!r}"
            )
    return problems


def _spot_findings(region: str, pool: PoolQuery, admitted: list[str], report: AccountReport) -> None:
    """A Spot pool's type count, and the problem or warning it makes."""
    families = {t.split(".", 1)[0] for t in admitted}
    spot_name = f"{pool.name}-spot"
    report.spot_instance_type_counts[spot_name] = len(admitted)
    if not admitted:
        report.problems.append(
            f"{pool.key}: the Spot NodePool {spot_name} admits no instance type in {region}, so "
            "Karpenter could never launch a node for it; list families offered in the region"
        )
    elif len(families) < pool.min_families:
        passing = " and pass its instanceFilters" if pool.filters else ""
        report.problems.append(
            f"{pool.key}.minFamilies: the Spot NodePool {spot_name} needs {pool.min_families} families "
            f"(minValues) but only {len(families)} of its families are offered in {region}{passing} "
            f"({', '.join(sorted(families))}), so Karpenter could never launch a Spot node; list more "
            "families or lower minFamilies"
        )
    elif len(admitted) < SPOT_DIVERSITY_WARNING:
        report.warnings.append(
            f"{pool.key}: the Spot NodePool {spot_name} admits only {len(admitted)} instance types in "
            f"{region}; AWS advises flexibility across many types (at least {SPOT_DIVERSITY_WARNING} "
            "here) so Spot capacity is found: list more families"
            + (" or widen its instanceFilters" if pool.filters else "")
        )


def _unknown_size_warnings(region: str, pool: PoolQuery, candidates: list[str]) -> list[str]:
    """An excluded size no type of the pool has excludes nothing: most likely a typo (metal24xl)."""
    sizes = {t.split(".", 1)[1] for t in candidates}
    excluded = pool.filters.exclude_sizes if pool.filters is not None else None
    return [
        f"{pool.key}.instanceFilters.excludeSizes[{j}]: no instance type of the pool in {region} has the "
        f"size {size!r}, so it excludes nothing (its sizes: {', '.join(_size_order(sizes))})"
        for j, size in enumerate(excluded or ())
        if candidates and size not in sizes
    ]


def _size_order(sizes: set[str]) -> list[str]:
    return sorted(sizes, key=lambda s: (s.startswith("metal"), len(s), s))


def _pool_zone_problems(region: str, pool: PoolQuery, zones: Sequence[str]) -> list[str]:
    have = ", ".join(sorted(zones)) or "none this account can use"
    return [
        f"{pool.key}.zones[{j}]: {zone} is not an availability zone of {region} (it has {have}), got {zone!r}"
        for j, zone in enumerate(pool.zones or ())
        if zone not in zones
    ]


def account_report(
    region: str, letters: Sequence[str] | None, pools: Sequence[PoolQuery], answers: AccountAnswers
) -> AccountReport:
    """Every problem the account's answers reveal, by key path; warnings; the Spot pools' type counts."""
    report = AccountReport()
    if letters is not None:
        report.problems.extend(_zone_problems(region, letters, answers.zones))
    offered_families: dict[str, set[str]] = {}
    for instance_type, archs in answers.types.items():
        offered_families.setdefault(instance_type.split(".", 1)[0], set()).update(archs)
    for pool in pools:
        candidates = sorted(
            t
            for t, archs in answers.types.items()
            if pool.admits(t.split(".", 1)[0]) and pool.architecture in archs
        )
        admitted = [
            t for t in candidates if spec_admits(pool.filters, t.split(".", 1)[1], answers.specs.get(t))
        ]
        report.problems.extend(_family_problems(region, pool, offered_families))
        report.problems.extend(_pool_zone_problems(region, pool, answers.zones))
        report.warnings.extend(_unknown_size_warnings(region, pool, candidates))
        if candidates and not admitted:
            report.problems.append(
                f"{pool.key}.instanceFilters: no {pool.architecture} instance type of the pool's families "
                f"or categories offered in {region} passes the filters ({len(candidates)} before them), "
                "so Karpenter could never launch a node for it; widen the ranges or exclude fewer sizes"
            )
            if pool.spot:
                report.spot_instance_type_counts[f"{pool.name}-spot"] = 0
            continue
        if pool.families is None and not candidates:
            report.problems.append(
                f"{pool.key}.categories: no {pool.architecture} instance type of the categories "
                f"{', '.join(pool.categories or ())} and generation {pool.min_generation} or newer is "
                f"offered in {region}"
            )
        if pool.spot:
            _spot_findings(region, pool, admitted, report)
    return report


def _type_name_ok(name: Any) -> bool:
    return isinstance(name, str) and re.match(r"^[a-z0-9-]+\.[a-z0-9-]+$", name) is not None


def ask_account(provider: Any, pools: Sequence[PoolQuery]) -> AccountAnswers:
    """Call the data sources through `provider` (synchronously: the answers decide whether anything is
    registered at all). Raises what the provider raises, such as for a region that does not exist."""
    import pulumi
    import pulumi_aws as aws

    opts = pulumi.InvokeOptions(provider=provider)
    zones = aws.get_availability_zones(state="available", opts=opts).names
    patterns = sorted({p for pool in pools for p in pool.patterns})
    types: dict[str, set[str]] = {}
    if patterns:
        type_filter = aws.ec2.GetInstanceTypeOfferingsFilterArgs(name="instance-type", values=patterns)
        offered = aws.ec2.get_instance_type_offerings(
            filters=[type_filter], location_type="region", opts=opts
        ).instance_types
        for arch, ec2_arch in EC2_ARCHITECTURE.items():
            listed = aws.ec2.get_instance_types(
                filters=[
                    aws.ec2.GetInstanceTypesFilterArgs(name="instance-type", values=patterns),
                    aws.ec2.GetInstanceTypesFilterArgs(
                        name="processor-info.supported-architecture", values=[ec2_arch]
                    ),
                ],
                opts=opts,
            ).instance_types
            for name in listed:
                if name in offered and _type_name_ok(name):
                    types.setdefault(name, set()).add(arch)
        for name in offered:
            if _type_name_ok(name):
                types.setdefault(name, set())
    answers = AccountAnswers(tuple(zones), {t: frozenset(a) for t, a in types.items()})
    answers.specs.update(ask_specs(provider, pools, answers))
    return answers


def ask_specs(provider: Any, pools: Sequence[PoolQuery], answers: AccountAnswers) -> dict[str, TypeSpec]:
    """The properties `instanceFilters` read, for each offered type of a pool whose filters read them:
    one `aws.ec2.get_instance_type(instance_type=...)` per type (`default_vcpus`, `memory_size` in MiB,
    `hypervisor`, `total_instance_storage` in GB, `network_cards[].baseline_bandwidth` in Gbps), and one
    `aws.ec2.get_instance_types` with EC2's `instance-storage-info.nvme-support` filter for which of them
    have NVMe instance storage (pulumi_aws 7.51.1 ec2/get_instance_type.py, ec2/get_instance_types.py).
    Karpenter's labels hold the same values (instance-local-nvme: the NVMe storage's size;
    instance-network-bandwidth: the baseline in Mbps)."""
    import pulumi
    import pulumi_aws as aws

    wanted = sorted(
        {
            t
            for pool in pools
            if pool.filters is not None and pool.filters.needs_specs
            for t, archs in answers.types.items()
            if pool.admits(t.split(".", 1)[0]) and pool.architecture in archs
        }
    )
    if not wanted:
        return {}
    opts = pulumi.InvokeOptions(provider=provider)
    nvme = set(
        aws.ec2.get_instance_types(
            filters=[
                # The pools' series wildcards, as the other lookups use (a few values, not every type).
                aws.ec2.GetInstanceTypesFilterArgs(
                    name="instance-type", values=sorted({p for pool in pools for p in pool.patterns})
                ),
                aws.ec2.GetInstanceTypesFilterArgs(
                    name="instance-storage-info.nvme-support", values=["supported", "required"]
                ),
            ],
            opts=opts,
        ).instance_types
    )
    specs: dict[str, TypeSpec] = {}
    for name in wanted:
        info = aws.ec2.get_instance_type(instance_type=name, opts=opts)
        bandwidth = sum(card.baseline_bandwidth for card in info.network_cards or [])
        specs[name] = (
            int(info.default_vcpus or 0),
            int(info.memory_size or 0),
            info.hypervisor or "",
            int(info.total_instance_storage or 0) if name in nvme else 0,
            round(bandwidth * 1000),
        )
    return specs


def _valid_pool_queries(error: ConfigError) -> list[PoolQuery]:
    """The pools of a config the models refused whose keys the account checks read are valid."""
    pools = (error.raw or {}).get("nodePools")
    if not isinstance(pools, list):
        return []
    fields = NodePoolConfig.model_fields
    out = []
    for i, raw in enumerate(pools):
        keys = ("name", "architecture", "families", "categories", "minGeneration", "minFamilies", "spotRatio")
        if not isinstance(raw, dict) or not all(error.valid("nodePools", i, k) for k in keys):
            continue
        if "spotRatio" not in raw or (raw.get("families") is None) == (raw.get("categories") is None):
            continue
        out.append(
            PoolQuery(
                key=f"nodePools[{i}]",
                name=raw["name"],
                architecture=raw["architecture"],
                families=tuple(raw["families"]) if raw.get("families") is not None else None,
                categories=tuple(raw["categories"]) if raw.get("categories") is not None else None,
                min_generation=raw.get("minGeneration"),
                min_families=raw.get("minFamilies", fields["min_families"].default),
                spot=raw["spotRatio"] > 0,
                filters=_valid_filters(error, i, raw.get("instanceFilters")),
                zones=tuple(raw["zones"])
                if raw.get("zones") and error.valid("nodePools", i, "zones")
                else None,
            )
        )
    return out


def _valid_filters(error: ConfigError, i: int, raw: Any) -> InstanceFilters | None:
    """A pool's filters when the models found nothing wrong with them (else the pool is counted without)."""
    if not isinstance(raw, dict) or not error.valid("nodePools", i, "instanceFilters"):
        return None
    return InstanceFilters.model_validate(raw)


def _valid_zone_letters(error: ConfigError) -> list[str] | None:
    cluster = (error.raw or {}).get("cluster")
    if not isinstance(cluster, dict) or cluster.get("mode") != "create" or not error.valid("cluster", "mode"):
        return None
    if not error.valid("cluster", "vpc", "availabilityZones"):
        return None
    vpc: dict[str, Any] = cluster["vpc"] if isinstance(cluster.get("vpc"), dict) else {}
    letters = vpc.get("availabilityZones", VpcConfig.model_fields["availability_zones"].default)
    return list(letters) if isinstance(letters, list) else None


def with_account_problems(error: ConfigError) -> ConfigError:
    """The models' problems, then what the account says of the config's valid parts (the region, the
    AZ letters and the pools whose keys are valid), in one `ConfigError`. Needs a valid region: the
    lookups go through a provider for it (registered here, as it would be on success)."""
    import pulumi_aws as aws

    raw = error.raw or {}
    region = raw.get("region")
    if not isinstance(region, str) or not error.valid("region"):
        return error
    pools = _valid_pool_queries(error)
    letters = _valid_zone_letters(error)
    if not pools and letters is None:
        return error
    provider = aws.Provider("aws", region=region)
    try:
        answers = ask_account(provider, pools)
    except Exception as exc:
        return ConfigError([*error.problems, region_problem(region, exc)])
    report = account_report(region, letters, pools, answers)
    return ConfigError([*error.problems, *report.problems])


def check_account(cfg: StackConfig, provider: Any) -> AccountReport:
    """Ask the account, refuse what cannot work (one `ConfigError`, every problem by key path), log the
    warnings, and return the report (its Spot type counts become a stack output)."""
    import pulumi

    pools = pool_queries(cfg)
    try:
        answers = ask_account(provider, pools)
    except Exception as exc:  # the provider's own error for a region it cannot reach, with its reason
        raise ConfigError([region_problem(cfg.region, exc)]) from None
    report = account_report(cfg.region, zone_letters(cfg), pools, answers)
    if report.problems:
        raise ConfigError(report.problems)
    for warning in report.warnings:
        pulumi.log.warn(warning)
    return report
