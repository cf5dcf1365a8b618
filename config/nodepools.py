"""The `nodePools` list and the `nodeClass` section: what capacity Karpenter may buy, and how nodes boot.

Every rule here mirrors one Karpenter applies (the CRD's OpenAPI patterns and CEL rules of release 1.14,
and the controller's runtime checks of labels and taints), so a config that validates renders NodePools
and EC2NodeClasses the API server accepts and the controller marks ready. Messages say what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
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

from config.base import Model, Problem, collect_problems, raise_problems, repeats, rule, unique_items

# --------------------------------------------------------------------------------------------------
# Spot / On-Demand split arithmetic (pure; the renderer re-exports it)
# --------------------------------------------------------------------------------------------------

MAX_SPREAD_VALUES = 10
"""A mixed pool's Spot and On-Demand NodePools share at most this many spread-label values."""

_EXACT = 1e-9


def _split_text(fraction: Fraction) -> str:
    spot = fraction.numerator
    return f"{spot}:{fraction.denominator - spot}"


def _decimal_text(fraction: Fraction) -> str:
    return f"{float(fraction):.3f}".rstrip("0").rstrip(".") if fraction not in (0, 1) else str(int(fraction))


def _typeable(fraction: Fraction) -> bool:
    """True when the fraction is a finite decimal (denominator of 2s and 5s), so a config can state it."""
    d = fraction.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def nearby_ratios(ratio: float, max_values: int = MAX_SPREAD_VALUES, count: int = 3) -> list[Fraction]:
    """The `count` ratios nearest to `ratio` that need at most `max_values` values and that a decimal
    in a stack file states exactly (1/3 is left out: 0.333 is not 1/3), in increasing order."""
    candidates = {
        Fraction(n, d) for d in range(1, max_values + 1) for n in range(d + 1) if _typeable(Fraction(n, d))
    }
    nearest = sorted(candidates, key=lambda f: (abs(float(f) - ratio), f))[:count]
    return sorted(nearest)


def spot_split(ratio: float, max_values: int = MAX_SPREAD_VALUES) -> tuple[int, int]:
    """`(spot_values, on_demand_values)`: the exact fraction `ratio` with the fewest values.

    0.7 -> (7, 3), 0.75 -> (3, 1), 0.8 -> (4, 1), 0.5 -> (1, 1), 1 -> (1, 0), 0 -> (0, 1). A ratio that
    needs more than `max_values` values in all raises ValueError naming nearby ratios that work."""
    if not 0 <= ratio <= 1:
        raise ValueError(f"a Spot ratio is between 0 and 1, got {ratio}")
    fraction = Fraction(ratio).limit_denominator(max_values)
    if abs(float(fraction) - ratio) <= _EXACT:
        return fraction.numerator, fraction.denominator - fraction.numerator
    exact = Fraction(ratio).limit_denominator(1_000_000)
    needs = (
        f"needs {exact.denominator} spread values ({exact.numerator} Spot, "
        f"{exact.denominator - exact.numerator} On-Demand)"
        if abs(float(exact) - ratio) <= _EXACT
        else "needs more than a million spread values"
    )
    options = ", ".join(f"{_decimal_text(f)} ({_split_text(f)})" for f in nearby_ratios(ratio, max_values))
    raise ValueError(
        f"spot ratio {ratio} {needs}, more than the {max_values} a pool may use; nearby ratios that work "
        f"(Spot:On-Demand values): {options}"
    )


# --------------------------------------------------------------------------------------------------
# Instance families
# --------------------------------------------------------------------------------------------------

FAMILY_PATTERN = re.compile(
    r"^(?P<series>[a-z]{1,3})-?(?P<generation>[0-9]+)(?P<options>[a-z0-9]*(-[a-z0-9]+)?)$"
)
"""An EC2 instance family: 1 to 3 series letters, generation digits, option letters (`c7gn`, `x2iedn`,
`u7i-12tb`, `p6-b200`)."""

# Families whose architecture the naming rule (a Graviton family's options start with "g") gets wrong.
ARCHITECTURE_EXCEPTIONS: dict[str, Literal["arm64", "amd64"]] = {
    "a1": "arm64",  # first-generation Graviton, named before the "g" convention
    "p6e-gb200": "arm64",  # NVIDIA Grace CPU + Blackwell GPUs
}

GPU_SERIES = frozenset({"g", "gr", "p"})
"""Instance series with GPUs (Karpenter's instance-category values)."""

NON_NVIDIA_GPU_FAMILIES = {"g4ad": "AMD Radeon Pro V520"}

MACOS_SERIES = "mac"


def family_architecture(family: str) -> Literal["arm64", "amd64"]:
    """`arm64` for Graviton (and other Arm) families, `amd64` for x86 (Intel and AMD) families.

    Graviton families have options starting with `g` after the generation: m8g, c7gn, m7gd, im4gn,
    is4gen, x2gd, g5g, hpc7g. `ARCHITECTURE_EXCEPTIONS` holds the few that do not follow the rule."""
    if family in ARCHITECTURE_EXCEPTIONS:
        return ARCHITECTURE_EXCEPTIONS[family]
    match = FAMILY_PATTERN.match(family)
    if match is None:
        raise ValueError(f"{family!r} is not an EC2 instance family name")
    return "arm64" if match["options"].startswith("g") else "amd64"


def family_series(family: str) -> str:
    match = FAMILY_PATTERN.match(family)
    if match is None:
        raise ValueError(f"{family!r} is not an EC2 instance family name")
    return match["series"]


def is_nvidia_family(family: str) -> bool:
    return family_series(family) in GPU_SERIES and family not in NON_NVIDIA_GPU_FAMILIES


def _family_name(value: str) -> str:
    if "." in value:
        family = value.split(".", 1)[0]
        raise ValueError(
            f"{value} is an instance type; list instance families, here the family {family!r} "
            "(Karpenter picks the sizes)"
        )
    if value != value.lower():
        raise ValueError(f"instance families are lowercase, such as {value.lower()!r}")
    if FAMILY_PATTERN.match(value) is None:
        raise ValueError(
            "must be an EC2 instance family such as m8g, c7gn, m7i or r7a (series letters, generation "
            "digits, option letters)"
        )
    if family_series(value) == MACOS_SERIES:
        raise ValueError(f"{value} runs macOS only; EKS nodes need Linux instance families")
    return value


InstanceFamily = Annotated[str, AfterValidator(_family_name)]

Category = Literal[
    "a", "c", "d", "dl", "f", "g", "gr", "h", "hpc", "i", "im", "inf", "is", "m", "p", "r", "t", "trn", "u",
    "vt", "x", "z",
]  # fmt: skip

_EXAMPLES = {"arm64": "m8g, c7g, r7g", "amd64": "m7i, c7i, r7a"}
_ARCH_NAME = {"arm64": "a Graviton (arm64)", "amd64": "an x86 (amd64)"}


# --------------------------------------------------------------------------------------------------
# Durations, quantities, cron
# --------------------------------------------------------------------------------------------------

# The CRD patterns of karpenter.sh/v1 NodePool (spec.disruption.consolidateAfter,
# spec.template.spec.expireAfter and spec.disruption.budgets[].duration).
KARPENTER_DURATION = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")
BUDGET_DURATION = re.compile(r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$")
BUDGET_NODES = re.compile(r"^((100|[0-9]{1,2})%|[0-9]+)$")
CPU_QUANTITY = re.compile(r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(m|[kMGTPE]|[KMGTPE]i)?$")
MEMORY_QUANTITY = re.compile(r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))([kMGTPE]|[KMGTPE]i)$")


def _unitless(example: str) -> Callable[[Any], Any]:
    """A BeforeValidator for durations and quantities: a bare number gets a message saying what to write."""

    def check(value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(f"a bare number has no unit; write it with one, such as {example.format(value)}")
        return value

    return check


def _karpenter_duration(value: str) -> str:
    if not KARPENTER_DURATION.match(value):
        raise ValueError(
            "must be a duration in whole hours, minutes and seconds such as 30s, 10m, 1h30m or 720h "
            "(Karpenter accepts no days and no decimals), or Never"
        )
    return value


def _expire_after(value: str) -> str:
    _karpenter_duration(value)
    if value != "Never" and not any(int(n) for n in re.findall(r"[0-9]+", value)):
        raise ValueError("must be longer than zero (0s replaces every node as soon as it starts), or Never")
    return value


def _budget_duration(value: str) -> str:
    if not BUDGET_DURATION.match(value):
        raise ValueError("must be hours and/or minutes such as 10h, 30m or 1h30m (cron has minute precision)")
    return value


def _budget_nodes(value: str) -> str:
    if not BUDGET_NODES.match(value):
        raise ValueError('must be a node count such as "3" or a percentage from "0%" to "100%"')
    return value


def _int_to_str(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (name, low, high, names mapped to numbers)
_CRON_FIELDS: list[tuple[str, int, int, dict[str, int]]] = [
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(_MONTHS)}),
    ("day of week", 0, 6, {d: i for i, d in enumerate(_DAYS)}),
]


def _cron_value(token: str, low: int, high: int, names: dict[str, int], field: str) -> int:
    number = names.get(token.lower()) if not token.isdigit() else int(token)
    if number is None or not low <= number <= high:
        allowed = f"{low}-{high}" + (f" or names such as {next(iter(names))}" if names else "")
        raise ValueError(f"schedule's {field} field takes {allowed}, not {token!r}")
    return number


def _cron_field(text: str, low: int, high: int, names: dict[str, int], field: str) -> None:
    for part in text.split(","):
        span, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            raise ValueError(f"schedule's {field} field has a bad step {part!r}")
        if span in ("*", "?"):
            continue
        first, _, last = span.partition("-")
        a = _cron_value(first, low, high, names, field)
        if last and _cron_value(last, low, high, names, field) < a:
            raise ValueError(f"schedule's {field} range {span!r} runs backwards")


def _cron(value: str) -> str:
    """The standard cron syntax Karpenter parses budgets with: 5 fields or a @macro, in UTC."""
    text = value.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        raise ValueError("schedules are in UTC: Karpenter does not support a time zone in a budget schedule")
    if text.startswith("@"):
        if text not in _CRON_MACROS:
            raise ValueError(f"the cron macros Karpenter accepts are {', '.join(sorted(_CRON_MACROS))}")
        return value
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(
            "must be a 5-field cron schedule (minute hour day-of-month month day-of-week, in UTC) such as "
            '"0 8 * * mon-fri", or a macro such as @daily'
        )
    for text_field, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        _cron_field(text_field, low, high, names, name)
    return value


def _cpu(value: Any) -> int | str:
    """One check for a value that is a count or a quantity: one message, whatever the wrong type."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ValueError("must be at least 1 CPU")
        return value
    if not isinstance(value, str) or not CPU_QUANTITY.match(value):
        raise ValueError('must be a whole CPU count such as 200 or a Kubernetes quantity such as "1500m"')
    if cpu_millis(value) < 1:
        raise ValueError("must be more than zero CPUs")
    return value


_SUFFIX = {"m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_SUFFIX |= {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def quantity_value(text: str) -> float:
    """The number a Kubernetes quantity stands for ("1500m" -> 1.5, "1Gi" -> 1073741824)."""
    match = re.match(r"^([0-9.]+)([a-zA-Z]*)$", text)
    if match is None or match[2] not in _SUFFIX:
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    return float(match[1]) * _SUFFIX[match[2]]


def cpu_millis(text: str) -> float:
    return quantity_value(text) * 1000


def _memory(value: str) -> str:
    if not MEMORY_QUANTITY.match(value):
        raise ValueError("must be a Kubernetes quantity with a unit such as 800Gi or 2Ti")
    if quantity_value(value) < 2**30:
        raise ValueError("must be at least 1Gi (Karpenter could not launch a single node below it)")
    return value


# --------------------------------------------------------------------------------------------------
# Kubernetes labels and taints
# --------------------------------------------------------------------------------------------------

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

SPREAD_LABEL_DOMAIN = "spread.karpenter-eks.dev"
"""The label domain this program writes: `<domain>/pool` names a node's pool, `<domain>/<pool>` holds
the spread value of a mixed pool. Not a domain Kubernetes or Karpenter restricts; reserved in configs."""

POOL_LABEL_NAME = "pool"

# Karpenter refuses NodePool template labels in these domains (and their subdomains), except the
# exception subdomains and the well-known labels: karpenter.sh pkg/apis/v1/labels.go and the AWS
# provider's additions, enforced by the CRD's CEL rules (karpenter.sh, karpenter.k8s.aws,
# kubernetes.io/hostname) and by the controller's runtime validation (kubernetes.io, k8s.io).
RESTRICTED_LABEL_DOMAINS = ("kubernetes.io", "k8s.io", "karpenter.sh", "karpenter.k8s.aws")
LABEL_DOMAIN_EXCEPTIONS = ("kops.k8s.io", "node.kubernetes.io", "node-restriction.kubernetes.io")
# Labels Karpenter sets itself from a NodePool's requirements and an instance's properties. Karpenter
# accepts them as template labels, but one here would pin a single value against what the pool's
# architecture, capacity type and families say, so configs may not set them.
WELL_KNOWN_LABELS = frozenset(
    {
        "karpenter.sh/nodepool",
        "karpenter.sh/capacity-type",
        "kubernetes.io/hostname",
        "kubernetes.io/arch",
        "kubernetes.io/os",
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "node.kubernetes.io/instance-type",
        "node.kubernetes.io/windows-build",
    }
)


def _domain(key: str) -> str:
    return key.split("/", 1)[0] if "/" in key else ""


def _in_domain(domain: str, parent: str) -> bool:
    return domain == parent or domain.endswith("." + parent)


def qualified_name_problem(key: str) -> str | None:
    """Why `key` is not a Kubernetes qualified name (`[prefix/]name`), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
        return f"{key!r} has a bad prefix: a prefix is a lowercase DNS subdomain such as example.com"
    if not name or len(name) > 63 or not LABEL_NAME.match(name):
        return (
            f"{key!r} has a bad name: a name is 1 to 63 letters, digits, '-', '_' or '.', starting and "
            "ending with a letter or digit"
        )
    return None


def label_key_problem(key: str) -> str | None:
    """Why a pool may not set the node label `key`, or None."""
    syntax = qualified_name_problem(key)
    if syntax:
        return f"label key {syntax}"
    domain = _domain(key)
    if key in WELL_KNOWN_LABELS:
        return (
            f"label {key} is a well-known label Kubernetes and Karpenter set on every node (from its "
            "pool, architecture, capacity type, zone and instance); choose a label of your own domain"
        )
    for owned in ("karpenter.sh", "karpenter.k8s.aws"):
        if _in_domain(domain, owned):
            return (
                f"label domain {owned} belongs to Karpenter: it sets those labels from the pool's "
                "requirements and instance properties, and refuses others; choose a label of your own domain"
            )
    if _in_domain(domain, SPREAD_LABEL_DOMAIN):
        return (
            f"label domain {SPREAD_LABEL_DOMAIN} is reserved for the pool and spread labels this program adds"
        )
    if any(_in_domain(domain, allowed) for allowed in LABEL_DOMAIN_EXCEPTIONS):
        return None
    for restricted in RESTRICTED_LABEL_DOMAINS:
        if _in_domain(domain, restricted):
            return (
                f"label {key} is in the domain {restricted}, which Karpenter restricts; use your own domain "
                "(such as example.com/team) or node.kubernetes.io / node-restriction.kubernetes.io"
            )
    return None


def _labels(value: dict[str, str]) -> dict[str, str]:
    problems = []
    for key, label in value.items():
        problem = label_key_problem(key)
        if problem:
            problems.append(Problem((), problem, show=False))
        if len(label) > 63 or not LABEL_VALUE.match(label):
            problems.append(
                Problem(
                    (),
                    f"label {key} has the value {label!r}; a label value is at most 63 letters, digits, "
                    "'-', '_' or '.', starting and ending with a letter or digit (or empty)",
                    show=False,
                )
            )
    raise_problems(problems)
    return value


# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


class PoolLimits(Model):
    """The most a NodePool may hold at once; Karpenter stops launching at the limit."""

    cpu: Annotated[int | str, PlainValidator(_cpu)] = Field(
        description='Total vCPUs of the NodePool\'s nodes: a count (200) or a quantity ("1500m").'
    )
    memory: Annotated[str, BeforeValidator(_unitless('"{}Gi"')), AfterValidator(_memory)] = Field(
        description="Total memory of the NodePool's nodes, a quantity with a unit (800Gi, 2Ti), at least 1Gi."
    )


class BudgetConfig(Model):
    """A disruption budget: at most `nodes` nodes disrupted at once (while its schedule is active)."""

    nodes: Annotated[str, BeforeValidator(_int_to_str), AfterValidator(_budget_nodes)] = Field(
        description='Nodes that may be disrupted at once: a count ("0" blocks, "3") or a percentage '
        'of the NodePool\'s nodes ("10%").'
    )
    schedule: Annotated[str, AfterValidator(_cron)] | None = Field(
        default=None,
        description='When the budget starts being active: 5-field cron in UTC ("0 8 * * mon-fri") or a '
        "macro (@daily). Set together with `duration`. Unset: always active.",
    )
    duration: Annotated[str, BeforeValidator(_unitless('"{}h"')), AfterValidator(_budget_duration)] | None = (
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
        str, BeforeValidator(_unitless('"{}m"')), AfterValidator(_karpenter_duration)
    ] = Field(
        default="1m",
        description="How long a node must stay empty or underutilized before consolidation acts on it "
        "(30s, 10m, 1h), or Never.",
    )
    expire_after: Annotated[str, BeforeValidator(_unitless('"{}h"')), AfterValidator(_expire_after)] = Field(
        default="720h",
        description="Age at which a node is replaced, so nodes pick up new AMIs and never live forever "
        "(336h, 720h), or Never.",
    )
    budgets: Annotated[list[BudgetConfig], Field(min_length=1, max_length=50)] = Field(
        default=[BudgetConfig(nodes="10%")],
        description="Disruption budgets; when several are active the most restrictive wins.",
    )


class TaintConfig(Model):
    """A taint on the pool's nodes; only pods that tolerate it run there."""

    key: str = Field(description="Taint key, a Kubernetes qualified name (`example.com/dedicated`).")
    value: str | None = Field(default=None, description="Taint value (a label value). Unset: no value.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = Field(
        description="What happens to pods that do not tolerate the taint."
    )

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        problem = qualified_name_problem(value)
        if problem:
            raise ValueError(f"taint key {problem}")
        if _in_domain(_domain(value), "karpenter.sh"):
            raise ValueError(
                "the karpenter.sh domain is reserved for Karpenter's own taints (karpenter.sh/disrupted, "
                "karpenter.sh/unregistered); use your own domain"
            )
        return value

    @field_validator("value")
    @classmethod
    def _value(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 63 or not LABEL_VALUE.match(value)):
            raise ValueError(
                "a taint value is at most 63 letters, digits, '-', '_' or '.', starting and ending with a "
                "letter or digit"
            )
        return value


GPU_TAINT = TaintConfig(key="nvidia.com/gpu", effect="NoSchedule")


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
    limits: PoolLimits = Field(
        description="Caps of each NodePool of the pool (the Spot and the On-Demand NodePool separately, "
        "so the pool can fall back to On-Demand entirely when Spot is short)."
    )
    disruption: DisruptionConfig = Field(
        default=DisruptionConfig(), description="Consolidation, expiry and disruption budgets."
    )
    labels: Annotated[dict[str, str], Field(max_length=50), AfterValidator(_labels)] = Field(
        default={},
        description="Labels on every node of the pool, for workloads to select. Domains Karpenter "
        "restricts (kubernetes.io, k8s.io, karpenter.sh, karpenter.k8s.aws) are refused, except "
        f"node.kubernetes.io and node-restriction.kubernetes.io; `{SPREAD_LABEL_DOMAIN}/pool: <name>` is "
        "always added.",
    )
    taints: Annotated[list[TaintConfig], Field(max_length=50)] = Field(
        default=[], description="Taints on every node of the pool (GPU pools get the GPU taint added)."
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
                    f"{family} is {_ARCH_NAME[actual]} family; {_ARCH_NAME[arch]} pool takes families such "
                    f"as {_EXAMPLES[arch]}",
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


# --------------------------------------------------------------------------------------------------
# EC2NodeClass
# --------------------------------------------------------------------------------------------------

AMI_VERSION = re.compile(r"^(v[0-9]{8}|latest)$")

# EC2NodeClass spec.tags: the CRD's CEL rules (and the AWS provider's RestrictedTagPatterns).
RESTRICTED_TAG_KEYS = frozenset(
    {
        "eks:eks-cluster-name",
        "karpenter.sh/nodepool",
        "karpenter.sh/nodeclaim",
        "karpenter.k8s.aws/ec2nodeclass",
    }
)
RESTRICTED_TAG_PREFIXES = ("kubernetes.io/cluster",)


def _ami_version(value: str) -> str:
    if not AMI_VERSION.match(value):
        raise ValueError(
            "must be an Amazon Linux 2023 EKS AMI release such as v20251120 (awslabs/amazon-eks-ami "
            "releases), or latest"
        )
    return value


def _tags(value: dict[str, str]) -> dict[str, str]:
    problems = []
    for key, tag in value.items():
        if not key or len(key) > 128:
            problems.append(f"tag key {key!r} must be 1 to 128 characters")
        if len(tag) > 256:
            problems.append(f"tag {key} has a value longer than 256 characters")
        if key.lower().startswith("aws:"):
            problems.append(f"tag key {key} uses the aws: prefix, which AWS reserves")
        if key in RESTRICTED_TAG_KEYS or key.startswith(RESTRICTED_TAG_PREFIXES):
            problems.append(
                f"tag {key} is one Karpenter sets itself and refuses on an EC2NodeClass (restricted: "
                f"{', '.join(sorted(RESTRICTED_TAG_KEYS))}, kubernetes.io/cluster/*)"
            )
    raise_problems([Problem((), p, show=False) for p in problems])
    return value


class NodeClassConfig(Model):
    """The EC2NodeClass: AMI, root volume and tags of Karpenter's nodes (subnets and security groups
    are found by the `karpenter.sh/discovery: <cluster>` tag)."""

    ami_version: Annotated[str, AfterValidator(_ami_version)] = Field(
        description="Amazon Linux 2023 EKS AMI release (`al2023@<version>` alias), such as v20251120. "
        "`latest` needs `allowLatestAmi: true`."
    )
    allow_latest_ami: bool = Field(
        default=False,
        description="Allow `amiVersion: latest`: every new AMI release then drifts and replaces all nodes "
        "unannounced. For dev stacks; production pins a release.",
    )
    root_volume_size: int = Field(
        default=40, ge=20, le=16384, description="Root volume (gp3, encrypted) of each node, GiB."
    )
    gpu_root_volume_size: int = Field(
        default=200,
        ge=20,
        le=16384,
        description="Root volume of each GPU node (GPU images and models are large), GiB.",
    )
    tags: Annotated[dict[str, str], Field(max_length=40), AfterValidator(_tags)] = Field(
        default={},
        description="Tags on the instances, volumes and launch templates Karpenter creates. Keys Karpenter "
        "sets itself (karpenter.sh/nodepool, kubernetes.io/cluster/*, ...) are refused.",
    )

    @rule("ami_version", "allow_latest_ami")
    def _pinned(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        if v["ami_version"] == "latest" and not v.get("allow_latest_ami"):
            yield Problem(
                ("amiVersion",),
                "amiVersion latest is refused unless allowLatestAmi is true: with latest, every AMI release "
                "drifts and replaces all nodes unannounced; production should pin a release such as "
                "v20251120",
                show=False,
            )
