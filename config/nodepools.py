"""The `nodePools` list: what capacity Karpenter may buy, one entry per pool.

Every rule of this section and of `nodeClass` (here and in the modules beside it: families, labels,
quantities, spot_split, nodeclass) mirrors one Karpenter applies (the CRD's OpenAPI patterns and CEL rules
of release 1.14, and the controller's runtime checks of labels and taints), so a config that validates
renders NodePools and EC2NodeClasses the API server accepts and the controller marks ready. Messages say
what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainValidator,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)

from config.base import Model, Problem, collect_problems, repeats, rule, unique_items
from config.families import (
    ARCH_EXAMPLES,
    ARCH_NAME,
    GPU_SERIES,
    NON_NVIDIA_GPU_FAMILIES,
    Category,
    InstanceFamily,
    family_architecture,
    family_series,
    is_nvidia_family,
)
from config.instance_filters import InstanceFilters, ZoneName
from config.labels import (
    DNS1123_LABEL,
    GPU_TAINT,
    POOL_LABEL_NAME,
    SPREAD_LABEL_DOMAIN,
    TaintConfig,
    node_labels,
)
from config.quantities import (
    budget_duration,
    budget_nodes,
    cpu_limit,
    cron_schedule,
    expiry_duration,
    grace_period,
    int_to_str,
    karpenter_duration,
    memory_limit,
    unitless,
)
from config.spot_split import MAX_SPREAD_VALUES, spot_split


class PoolLimits(Model):
    """The most a NodePool may hold at once; Karpenter stops launching at the limit."""

    cpu: Annotated[int | str, PlainValidator(cpu_limit)] = Field(
        description='Total vCPUs of the NodePool\'s nodes: a count (200) or a quantity ("1500m").'
    )
    memory: Annotated[str, BeforeValidator(unitless('"{}Gi"')), AfterValidator(memory_limit)] = Field(
        description="Total memory of the NodePool's nodes, a quantity with a unit (800Gi, 2Ti), at least 1Gi."
    )


class BudgetConfig(Model):
    """A disruption budget: at most `nodes` nodes disrupted at once (while its schedule is active)."""

    nodes: Annotated[str, BeforeValidator(int_to_str), AfterValidator(budget_nodes)] = Field(
        description='Nodes that may be disrupted at once: a count ("0" blocks, "3") or a percentage '
        'of the NodePool\'s nodes ("10%").'
    )
    schedule: Annotated[str, AfterValidator(cron_schedule)] | None = Field(
        default=None,
        description='When the budget starts being active: 5-field cron in UTC ("0 8 * * mon-fri") or a '
        "macro (@daily). Set together with `duration`. Unset: always active.",
    )
    duration: Annotated[str, BeforeValidator(unitless('"{}h"')), AfterValidator(budget_duration)] | None = (
        Field(
            default=None,
            description="How long the budget stays active after each schedule hit: hours and minutes (10h, "
            "1h30m). Set together with `schedule`.",
        )
    )
    reasons: (
        Annotated[
            list[Literal["Underutilized", "Empty", "Drifted"]],
            Field(min_length=1),
            WrapValidator(unique_items),
        ]
        | None
    ) = Field(
        default=None,
        description="Disruption reasons the budget limits (Underutilized, Empty, Drifted). Unset: all of "
        "them (expiry and interruption are never budgeted).",
    )

    @rule("schedule", "duration")
    def _schedule_with_duration(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        if (v.get("schedule") is None) != (v.get("duration") is None):
            missing = "duration" if v.get("duration") is None else "schedule"
            yield Problem(
                (missing,),
                "schedule and duration go together: set both (a window that opens on the schedule and "
                "lasts the duration) or neither (always active)",
                show=False,
            )


class DisruptionConfig(Model):
    """How Karpenter replaces and removes the pool's nodes."""

    consolidation_policy: Literal["WhenEmptyOrUnderutilized", "WhenEmpty"] = Field(
        default="WhenEmptyOrUnderutilized",
        description="`WhenEmptyOrUnderutilized`: remove or replace nodes whose pods fit elsewhere "
        "(cheapest). `WhenEmpty`: only remove nodes without workload pods.",
    )
    consolidate_after: Annotated[
        str, BeforeValidator(unitless('"{}m"')), AfterValidator(karpenter_duration)
    ] = Field(
        default="1m",
        description="How long a node must stay empty or underutilized before consolidation acts on it "
        "(30s, 10m, 1h), or Never.",
    )
    expire_after: Annotated[str, BeforeValidator(unitless('"{}h"')), AfterValidator(expiry_duration)] = Field(
        default="720h",
        description="Age at which a node is replaced, so nodes pick up new AMIs and never live forever "
        "(336h, 720h), or Never.",
    )
    budgets: Annotated[list[BudgetConfig], Field(min_length=1, max_length=50)] = Field(
        default=[BudgetConfig(nodes="10%")],
        description="Disruption budgets; when several are active the most restrictive wins.",
    )


class NodePoolConfig(Model):
    """One pool of capacity. A mixed pool (0 < spotRatio < 1) becomes two NodePools, `<name>-spot` and
    `<name>-on-demand`, that spread workloads over a label in the ratio; 1 gives Spot only, 0 On-Demand."""

    name: Annotated[str, Field(min_length=1, max_length=50)] = Field(
        description="Pool name: a DNS label of at most 50 characters (the NodePools are `<name>-spot` and "
        "`<name>-on-demand`). `pool` is reserved."
    )
    architecture: Literal["arm64", "amd64"] = Field(
        description="CPU architecture of every node: `arm64` (Graviton) or `amd64` (x86)."
    )
    gpu: Literal["nvidia"] | None = Field(
        default=None,
        description="`nvidia`: a GPU pool. Its nodes get the `nvidia.com/gpu:NoSchedule` taint and use "
        "their own EC2NodeClass with `nodeClass.gpuRootVolumeSize`. Its families are NVIDIA GPU families.",
    )
    spot_ratio: Annotated[float, Field(ge=0, le=1)] = Field(
        description="Share of Spot capacity for workloads that spread over the pool: 0 (On-Demand only) "
        f"to 1 (Spot only), a fraction with at most {MAX_SPREAD_VALUES} parts (0.7 is 7:3, 0.75 is 3:1)."
    )
    min_families: int = Field(
        default=2,
        ge=1,
        le=50,
        description="Spot diversity: a Spot node is launched only when at least this many instance "
        "families can serve it (`minValues`), so one interrupted family cannot starve the pool. At most "
        "the number of `families`.",
    )
    families: (
        Annotated[list[InstanceFamily], Field(min_length=1, max_length=50), WrapValidator(unique_items)]
        | None
    ) = Field(
        default=None,
        description="Instance families the pool may buy (m8g, c7g, r7g), lowercase, no sizes. Set "
        "either `families` or `categories`.",
    )
    categories: Annotated[list[Category], Field(min_length=1), WrapValidator(unique_items)] | None = Field(
        default=None,
        description="Instance categories (c, m, r, ...) instead of families, with `minGeneration`; every "
        "family of those categories and generations matching `architecture` qualifies.",
    )
    min_generation: int | None = Field(
        default=None,
        ge=1,
        le=20,
        description="With `categories`: the oldest instance generation allowed (7: c7g, m7i, r7a and newer).",
    )
    weight: int = Field(
        default=50,
        ge=1,
        le=100,
        description="Priority among pools, 1 to 100; higher wins when a pod fits several pools. A mixed "
        "pool's On-Demand NodePool gets one less, so pods that do not spread prefer Spot.",
    )
    node_pool_name: Annotated[str, Field(min_length=1, max_length=63)] | None = Field(
        default=None,
        description="Exact name of the pool's one NodePool (spotRatio 0 or 1 only), instead of "
        "`<name>-spot` or `<name>-on-demand`: imported resources keep their names; prefixes are for what "
        "the program creates. Set it only to take over an existing NodePool (`tools/dev.py migrate` writes "
        "it); a change later replaces the NodePool and Karpenter replaces its nodes.",
    )
    limits: PoolLimits = Field(
        description="Caps of each NodePool of the pool (the Spot and the On-Demand NodePool separately, "
        "so the pool can fall back to On-Demand entirely when Spot is short)."
    )
    disruption: DisruptionConfig = Field(
        default=DisruptionConfig(), description="Consolidation, expiry and disruption budgets."
    )
    labels: Annotated[dict[str, str], Field(max_length=50), AfterValidator(node_labels)] = Field(
        default={},
        description="Labels on every node of the pool, for workloads to select. Domains Karpenter "
        "restricts (kubernetes.io, k8s.io, karpenter.sh, karpenter.k8s.aws) are refused, except "
        f"node.kubernetes.io and node-restriction.kubernetes.io; `{SPREAD_LABEL_DOMAIN}/pool: <name>` is "
        "added unless `poolLabel` is false.",
    )
    taints: Annotated[list[TaintConfig], Field(max_length=50)] = Field(
        default=[], description="Taints on every node of the pool (GPU pools get the GPU taint added)."
    )
    startup_taints: Annotated[list[TaintConfig], Field(max_length=50)] = Field(
        default=[],
        description="Taints a node starts with and something on the node removes once it is ready (such "
        "as a CNI or security agent); Karpenter does not wait for pods to tolerate them. Changing them "
        "drifts every node of the pool.",
    )
    termination_grace_period: (
        Annotated[str, BeforeValidator(unitless('"{}m"')), AfterValidator(grace_period)] | None
    ) = Field(
        default=None,
        description="Longest a node drains before Karpenter terminates it anyway, whatever pod disruption "
        "budgets and do-not-disrupt annotations say (30m, 2h, 24h). Unset: drains wait for the pods. "
        "Changing it drifts every node of the pool.",
    )
    instance_filters: InstanceFilters | None = Field(
        default=None,
        description="Sizes, vCPU and memory ranges, hypervisor, local NVMe and network bandwidth the "
        "pool's types must have, within its families or categories; checked against the region at "
        "preview (needs the account). Unset: every type of the families or categories.",
    )
    zones: (
        Annotated[list[ZoneName], Field(min_length=1, max_length=10), WrapValidator(unique_items)] | None
    ) = Field(
        default=None,
        description="Availability zones the pool's nodes may run in (eu-west-1a), of the stack's region: "
        "in create mode among cluster.vpc.availabilityZones, in adopt mode zones of the cluster's private "
        "subnets (needs the account). Unset: every zone with a cluster subnet.",
    )
    node_class: Annotated[str, Field(min_length=1, max_length=63)] | None = Field(
        default=None,
        description="The class of `nodeClasses` the pool's nodes use. Unset: `nodeClass` (its `gpu` copy "
        "for a GPU pool).",
    )
    reserved_capacity: bool = Field(
        default=False,
        description="Let the pool's On-Demand NodePool launch into the capacity reservations of its class "
        "first (`karpenter.sh/capacity-type: reserved`, Karpenter's ReservedCapacity feature, on by "
        "default): needs the class's `capacityReservationSelectorTerms` and a spotRatio below 1.",
    )
    on_demand_fallback: bool = Field(
        default=False,
        description="With spotRatio 1: the pool's one NodePool also allows On-Demand "
        "(`karpenter.sh/capacity-type In [spot, on-demand]`). Karpenter launches Spot while it has an "
        "offering and On-Demand when Spot is unavailable (docs concepts/nodepools.md, capacity type): a "
        "fallback, not a ratio. A NodePool made by hand often allows both; `tools/dev.py migrate` writes "
        "this for it, since removing a value drifts the nodes that have it.",
    )
    pool_label: bool = Field(
        default=True,
        description=f"Label every node of the pool `{SPREAD_LABEL_DOMAIN}/pool: <name>`, for workloads to "
        "pin to a pool. false: no such label, as on a NodePool made by hand (`tools/dev.py migrate` writes "
        "false: adding the label drifts every node of the pool). Changing it drifts every node of the pool.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not DNS1123_LABEL.match(value):
            raise ValueError(
                "must be a DNS label: lowercase letters, digits and '-', starting and ending alphanumeric"
            )
        if value == POOL_LABEL_NAME:
            raise ValueError(
                f"{POOL_LABEL_NAME!r} is reserved (the label {SPREAD_LABEL_DOMAIN}/pool names pools)"
            )
        return value

    @field_validator("spot_ratio")
    @classmethod
    def _splits(cls, value: float) -> float:
        spot, on_demand = spot_split(value)
        if value not in (0, 1) and 0 in (spot, on_demand):
            # A ratio within rounding of 0 or 1 would render a NodePool with no spread values, which
            # Karpenter's CRD refuses (operator In needs values). Refused rather than silently snapped.
            exact = 0 if spot == 0 else 1
            what = "On-Demand only" if exact == 0 else "Spot only"
            raise ValueError(
                f"is within rounding of {exact} but not {exact}; write {exact} ({what}) or a ratio with at "
                f"most {MAX_SPREAD_VALUES} parts such as {'0.1' if exact == 0 else '0.9'}"
            )
        return value

    @staticmethod
    def _valid_families(v: Mapping[str, Any], valid: Callable[..., bool]) -> list[tuple[int, str]]:
        """The families that are themselves valid (whatever is wrong with the others)."""
        families = v.get("families")
        if not isinstance(families, list):
            return []
        return [(i, f) for i, f in enumerate(families) if isinstance(f, str) and valid("families", i)]

    @rule("architecture")
    def _families_fit(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        """Each family of the wrong architecture, one line each (whatever `gpu` or the other families
        say)."""
        arch = v["architecture"]
        for i, family in NodePoolConfig._valid_families(v, valid):
            actual = family_architecture(family)
            if actual != arch:
                yield Problem(
                    ("families", i),
                    f"{family} is {ARCH_NAME[actual]} family; {ARCH_NAME[arch]} pool takes families such "
                    f"as {ARCH_EXAMPLES[arch]}",
                    show=False,
                )

    @rule("architecture", "gpu")
    def _families_fit_gpu(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        """Each family of the right architecture but the wrong GPU kind, one line each."""
        arch, gpu = v["architecture"], v.get("gpu")
        for i, family in NodePoolConfig._valid_families(v, valid):
            if family_architecture(family) != arch:
                continue
            series = family_series(family)
            if gpu is None and series in GPU_SERIES:
                yield Problem(
                    ("families", i),
                    f"{family} is a GPU family; put it in a pool with gpu: nvidia (its nodes get the GPU "
                    "taint and a larger root volume)",
                    show=False,
                )
            if gpu == "nvidia" and not is_nvidia_family(family):
                why = (
                    f"has {NON_NVIDIA_GPU_FAMILIES[family]} GPUs"
                    if family in NON_NVIDIA_GPU_FAMILIES
                    else "has no NVIDIA GPU"
                )
                examples = "g5g" if arch == "arm64" else "g5, g6, g6e, p4d, p5"
                yield Problem(
                    ("families", i),
                    f"{family} {why}; a gpu: nvidia pool takes NVIDIA families such as {examples}",
                    show=False,
                )

    @rule("families", "min_families", "spot_ratio")
    def _enough_families(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        families, min_families = v.get("families"), v["min_families"]
        if families is not None and v["spot_ratio"] > 0 and min_families > len(families):
            count = f"{len(families)} famil{'y' if len(families) == 1 else 'ies'}"
            yield Problem(
                ("families",),
                f"lists {count} but a Spot node needs at least minFamilies ({min_families}) families to "
                "choose from; list more families or lower minFamilies",
            )

    @rule("categories", "gpu")
    def _categories_fit(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        categories, gpu = v.get("categories"), v.get("gpu")
        if categories is None:
            return
        gpu_categories = sorted(GPU_SERIES.intersection(categories))
        if gpu is None and gpu_categories:
            what = "is a GPU category" if len(gpu_categories) == 1 else "are GPU categories"
            yield Problem(
                ("categories",),
                f"{', '.join(gpu_categories)} {what}; put GPU instances in a pool with gpu: nvidia",
            )
        if gpu == "nvidia" and not set(categories) <= GPU_SERIES:
            others = ", ".join(sorted(set(categories) - GPU_SERIES))
            yield Problem(
                ("categories",), f"a gpu: nvidia pool takes the GPU categories g, gr and p only, not {others}"
            )

    @rule("taints")
    def _taints_once(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        seen: set[tuple[str, str]] = set()
        for i, taint in enumerate(v.get("taints") or []):
            pair = (taint["key"], taint["effect"])
            if pair in seen:
                yield Problem(
                    ("taints", i),
                    f"taint {pair[0]}:{pair[1]} is listed twice; Karpenter refuses duplicates",
                    show=False,
                )
            seen.add(pair)

    @rule("startup_taints", "taints", "gpu")
    def _startup_taints_once(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        """Karpenter refuses a key and effect listed twice across taints and startupTaints together
        (kubernetes-sigs/karpenter v1.14.1 pkg/apis/v1 nodeclaim validation: one map for both lists)."""
        taints = {(t["key"], t["effect"]) for t in v.get("taints") or []}
        if v.get("gpu"):
            taints.add((GPU_TAINT.key, GPU_TAINT.effect))
        seen: set[tuple[str, str]] = set()
        for i, taint in enumerate(v.get("startup_taints") or []):
            pair = (taint["key"], taint["effect"])
            where = "listed twice" if pair in seen else "also a taint of the pool" if pair in taints else ""
            if where:
                yield Problem(
                    ("startupTaints", i),
                    f"startup taint {pair[0]}:{pair[1]} is {where}; Karpenter refuses a key and effect "
                    "listed twice across taints and startupTaints",
                    show=False,
                )
            seen.add(pair)

    @rule("taints", "gpu")
    def _gpu_taint_once(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        for i, taint in enumerate(v.get("taints") or []):
            if v.get("gpu") and (taint["key"], taint["effect"]) == (GPU_TAINT.key, GPU_TAINT.effect):
                yield Problem(
                    ("taints", i),
                    f"gpu pools get the taint {GPU_TAINT.key}:{GPU_TAINT.effect} already; remove it",
                    show=False,
                )

    @rule("families", "categories")
    def _families_or_categories(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        if (v.get("families") is None) == (v.get("categories") is None):
            yield Problem(
                ("families",) if v.get("families") is None else ("categories",),
                "set exactly one of families (such as [m8g, c7g, r7g]) and categories (such as [c, m, r], "
                "with minGeneration)",
                show=False,
            )

    @rule("families", "categories", "min_generation")
    def _generation(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        if v.get("categories") is not None and v.get("min_generation") is None:
            yield Problem(
                ("minGeneration",),
                "categories need minGeneration, the oldest instance generation allowed (such as 7)",
                show=False,
            )
        if v.get("families") is not None and v.get("min_generation") is not None:
            yield Problem(
                ("minGeneration",),
                "minGeneration goes with categories; with families, list the generations you want",
                v["min_generation"],
            )

    @rule("spot_ratio", "weight")
    def _room_below(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        if 0 < v["spot_ratio"] < 1 and v["weight"] < 2:
            yield Problem(
                ("weight",),
                f"weight {v['weight']} leaves no room below it: a pool with 0 < spotRatio < 1 gives its "
                "On-Demand NodePool weight-1 so pods that do not spread prefer Spot; use weight 2 or more",
                show=False,
            )

    @rule("spot_ratio", "node_pool_name")
    def _exact_name_of_one_node_pool(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        name = v.get("node_pool_name")
        if name is not None and not DNS1123_LABEL.match(name):
            yield Problem(("nodePoolName",), "must be a DNS label (a NodePool's name)", name)
        elif name is not None and 0 < v["spot_ratio"] < 1:
            yield Problem(
                ("nodePoolName",),
                "names the one NodePool of a pool with spotRatio 0 or 1; a mixed pool has two "
                "(`<name>-spot` and `<name>-on-demand`)",
                name,
            )

    @rule("spot_ratio", "reserved_capacity")
    def _reserved_on_demand(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        if v["reserved_capacity"] and v["spot_ratio"] == 1:
            yield Problem(
                ("reservedCapacity",),
                "goes with the pool's On-Demand NodePool, and spotRatio 1 has none; lower spotRatio",
                show=False,
            )

    @rule("spot_ratio", "on_demand_fallback")
    def _fallback_of_spot_only(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        if v["on_demand_fallback"] and v["spot_ratio"] != 1:
            yield Problem(
                ("onDemandFallback",),
                "is for a Spot-only pool (spotRatio 1), whose one NodePool then also allows On-Demand; "
                "with a lower spotRatio the pool has its own On-Demand NodePool",
                show=False,
            )

    @property
    def node_pool_weights(self) -> dict[str, int]:
        """The weight of each NodePool of this pool, keyed by capacity type."""
        return node_pool_weights(self.spot_ratio, self.weight)

    @property
    def mixed(self) -> bool:
        """Both a Spot and an On-Demand NodePool."""
        return 0 < self.spot_ratio < 1

    @property
    def all_taints(self) -> list[TaintConfig]:
        return [*self.taints, GPU_TAINT] if self.gpu else list(self.taints)


def node_pool_weights(spot_ratio: float, weight: int) -> dict[str, int]:
    """The weight of each NodePool of a pool, keyed by capacity type."""
    weights = {}
    if spot_ratio > 0:
        weights["spot"] = weight
    if spot_ratio < 1:
        weights["on-demand"] = weight - 1 if 0 < spot_ratio < 1 else weight
    return weights


def _pool_list_problems(pools: Any, valid: Callable[..., bool]) -> Iterable[Problem]:
    """At least one pool, every pool name once, no two NodePools of the same weight: each checked on
    the pools whose keys involved are valid, whatever is wrong elsewhere."""
    if not isinstance(pools, list):
        return
    if not pools:
        yield Problem(
            (), "must list at least one pool: Karpenter launches no node without a NodePool", show=False
        )
        return
    entries = [(i, p) for i, p in enumerate(pools) if isinstance(p, dict)]
    yield from repeats(
        [((i, "name"), p["name"]) for i, p in entries if "name" in p and valid(i, "name")], "the name "
    )
    owners: dict[int, str] = {}
    for i, p in entries:
        if not (valid(i, "name") and valid(i, "spotRatio") and valid(i, "weight") and "spotRatio" in p):
            continue
        name = p.get("name")
        weights = node_pool_weights(
            p["spotRatio"], p.get("weight", NodePoolConfig.model_fields["weight"].default)
        )
        for capacity, weight in weights.items():
            other = owners.setdefault(weight, f"{name}-{capacity}")
            if other != f"{name}-{capacity}":
                yield Problem(
                    (i, "weight"),
                    f"the NodePools {other} and {name}-{capacity} would both have weight {weight}, so "
                    "Karpenter's choice between them is arbitrary; give the pools weights at least 2 apart "
                    "(a mixed pool's On-Demand NodePool has its weight-1)",
                    show=False,
                )


def validate_pool_list(pools: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    return collect_problems(pools, handler, _pool_list_problems)


NodePoolList = Annotated[list[NodePoolConfig], WrapValidator(validate_pool_list)]
