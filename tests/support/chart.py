"""Checking values the program gives a Helm chart against the chart's own values.yaml."""

from __future__ import annotations

from typing import Any


def key_paths(values: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(values, dict) and values:
        return [p for k, v in values.items() for p in key_paths(v, (*prefix, k))]
    return [prefix]


def missing_from_chart(values: dict[str, Any], chart: dict[str, Any]) -> list[str]:
    """Key paths not in the chart's values.yaml. A map the chart leaves empty (`{}`) is free-form."""
    missing = []
    for path in key_paths(values):
        node: Any = chart
        for i, key in enumerate(path):
            if isinstance(node, dict) and node == {} and i > 0:
                break
            if not isinstance(node, dict) or key not in node:
                missing.append(".".join(path))
                break
            node = node[key]
    return missing
