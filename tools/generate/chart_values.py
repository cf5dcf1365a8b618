"""The value paths of the pinned `karpenter` chart, derived from its values.yaml into the project.

    python -m tools.generate.chart_values            print what would be written
    python -m tools.generate.chart_values --write    write config/chart_values/karpenter-<version>.json

Source: `../shared/karpenter/<version>/chart-values.yaml` (the chart's own values.yaml; the reference
file stays in shared, only the derived paths are committed). A test checks the committed file equals
what this script derives from the reference, so a new pinned version is one `--write` away.

`paths` are every key the chart's values.yaml defines (maps and leaves, dotted). `free` are the
paths under which any key is legitimate: maps the chart leaves empty (`podAnnotations: {}`), lists
(a list value replaces the chart's list whole, so its items are free), and the Kubernetes objects and
free-form maps the chart passes through as they are (`FREE_FORM`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "karpenter"
OUT = ROOT / "config" / "chart_values"

FREE_FORM = (
    "nodeSelector",  # label -> value
    "affinity",  # a Kubernetes Affinity
    "podSecurityContext",  # a Kubernetes PodSecurityContext
    "controller.securityContext",  # a Kubernetes SecurityContext
    "strategy",  # a Deployment strategy (type, rollingUpdate.maxSurge, ...)
    "settings.featureGates",  # gate name -> bool; new releases add gates
)
"""Non-empty maps of the chart that still take keys the chart's values.yaml does not list."""


def derive(values: dict[str, Any], version: str) -> dict[str, Any]:
    paths: list[str] = []
    free: list[str] = []

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}{key}"
            paths.append(path)
            if path in FREE_FORM or isinstance(value, list) or value == {}:
                free.append(path)
            elif isinstance(value, dict):
                walk(value, f"{path}.")

    walk(values, "")
    missing = sorted(set(FREE_FORM) - set(paths))
    if missing:
        raise SystemExit(f"FREE_FORM names paths the chart {version} does not have: {', '.join(missing)}")
    return {
        "chart": "karpenter",
        "version": version,
        "source": (
            f"derived by tools/generate/chart_values.py from ../shared/karpenter/{version}/chart-values.yaml"
        ),
        "paths": sorted(paths),
        "free": sorted(free),
    }


def derived(version: str) -> dict[str, Any]:
    values = yaml.safe_load((SHARED / version / "chart-values.yaml").read_text())
    return derive(values, version)


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.generate.chart_values")
    parser.add_argument("--version", default="1.14.1")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    text = render(derived(args.version))
    if args.write:
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"karpenter-{args.version}.json").write_text(text)
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
