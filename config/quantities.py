"""Durations, Kubernetes quantities and cron schedules, in the forms Karpenter's NodePool accepts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# The CRD patterns of karpenter.sh/v1 NodePool (spec.disruption.consolidateAfter,
# spec.template.spec.expireAfter and spec.disruption.budgets[].duration).
KARPENTER_DURATION = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")
BUDGET_DURATION = re.compile(r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$")
BUDGET_NODES = re.compile(r"^((100|[0-9]{1,2})%|[0-9]+)$")
CPU_QUANTITY = re.compile(r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(m|[kMGTPE]|[KMGTPE]i)?$")
MEMORY_QUANTITY = re.compile(r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))([kMGTPE]|[KMGTPE]i)$")


def unitless(example: str) -> Callable[[Any], Any]:
    """A BeforeValidator for durations and quantities: a bare number gets a message saying what to write."""

    def check(value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(f"a bare number has no unit; write it with one, such as {example.format(value)}")
        return value

    return check


def karpenter_duration(value: str) -> str:
    if not KARPENTER_DURATION.match(value):
        raise ValueError(
            "must be a duration in whole hours, minutes and seconds such as 30s, 10m, 1h30m or 720h "
            "(Karpenter accepts no days and no decimals), or Never"
        )
    return value


def expiry_duration(value: str) -> str:
    karpenter_duration(value)
    if value != "Never" and not any(int(n) for n in re.findall(r"[0-9]+", value)):
        raise ValueError("must be longer than zero (0s replaces every node as soon as it starts), or Never")
    return value


GRACE_PERIOD = re.compile(r"^([0-9]+(s|m|h))+$")
"""The CRD pattern of spec.template.spec.terminationGracePeriod (no Never: unset means no limit)."""


def grace_period(value: str) -> str:
    if not GRACE_PERIOD.match(value):
        raise ValueError(
            "must be a duration in whole hours, minutes and seconds such as 30m, 2h or 24h (Karpenter "
            "accepts no days, no decimals and no Never: leave it unset for no limit)"
        )
    return value


def budget_duration(value: str) -> str:
    if not BUDGET_DURATION.match(value):
        raise ValueError("must be hours and/or minutes such as 10h, 30m or 1h30m (cron has minute precision)")
    return value


def budget_nodes(value: str) -> str:
    if not BUDGET_NODES.match(value):
        raise ValueError('must be a node count such as "3" or a percentage from "0%" to "100%"')
    return value


def int_to_str(value: Any) -> Any:
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


def cron_schedule(value: str) -> str:
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


def cpu_limit(value: Any) -> int | str:
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


def memory_limit(value: str) -> str:
    if not MEMORY_QUANTITY.match(value):
        raise ValueError("must be a Kubernetes quantity with a unit such as 800Gi or 2Ti")
    if quantity_value(value) < 2**30:
        raise ValueError("must be at least 1Gi (Karpenter could not launch a single node below it)")
    return value
