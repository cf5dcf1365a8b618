"""Read `Pulumi.<stack>.yaml` as the Pulumi CLI passes it to a program: `project:key` -> string."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
"""The project: where Pulumi.yaml, the stack files and __main__.py are."""

EXAMPLE_STACKS = ("dev", "prod")
"""The example stacks this repository ships: the README's generated sections (timing) and the tests about
them name these. Any other `Pulumi.<stack>.yaml` a user adds is checked like them where a check holds for
every stack (renders, schemas, CRDs), and never makes a generated section stale."""


def stack_names(root: Path = ROOT) -> list[str]:
    """Every stack with a `Pulumi.<stack>.yaml` in `root`, sorted."""
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml"))


def load_stack_file(stack: str, root: Path = ROOT) -> tuple[str, dict[str, str]]:
    """The project name, and the stack's config as Pulumi passes it to a program: `project:key` ->
    string (structured values as JSON), secure values replaced by placeholders."""
    import yaml

    project_file = root / "Pulumi.yaml" if (root / "Pulumi.yaml").exists() else ROOT / "Pulumi.yaml"
    project_doc = yaml.safe_load(project_file.read_text())
    project = project_doc["name"]
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name} in {root}")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path.name} is not valid YAML: {exc}") from None
    values = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(values, dict):
        raise StackFileError(f"{path.name}: expected a `config:` mapping of `namespace:key: value` entries")
    bare = sorted(k for k in values if ":" not in str(k))
    if bare:
        # The Pulumi CLI refuses stack config keys without a namespace; say so before it does.
        raise StackFileError(
            f"{path.name}: config keys need their namespace: write "
            + ", ".join(f"{project}:{k}" for k in bare)
        )
    config = flatten_config(values, project)
    # As the Pulumi CLI does: a project-level default applies where the stack sets no value.
    defaults = {k: d["default"] for k, d in (project_doc.get("config") or {}).items() if "default" in d}
    for key, value in flatten_config(defaults, project).items():
        config.setdefault(key, value)
    return project, config


class StackFileError(Exception):
    """A stack file that Pulumi itself could not read."""


def flatten_config(values: Mapping[str, Any], project: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in values.items():
        full = key if ":" in key else f"{project}:{key}"
        out[full] = value if isinstance(value, str) else json.dumps(_placeholders(value))
    return out


def _placeholders(value: Any) -> Any:
    if isinstance(value, Mapping):
        if set(value) == {"secure"}:
            return "[secret placeholder]"
        return {k: _placeholders(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v) for v in value]
    return value
