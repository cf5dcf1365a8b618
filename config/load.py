"""Read the stack config once from Pulumi and validate it: the only place that touches `pulumi.Config`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import ValidationError

from config.addons import stack_context
from config.base import ConfigError, problems_of
from config.models import StackConfig


def raw_stack_config(project: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The project's keys (`<project>:<key>`) of a Pulumi config map, structured values decoded."""
    out: dict[str, Any] = {}
    prefix = f"{project}:"
    for key, value in values.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        if isinstance(value, str) and value[:1] in "{[":
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ConfigError([f"{name}: is not valid JSON ({exc.msg})"]) from None
        out[name] = value
    return out


def misplaced_keys(project: str, values: Mapping[str, Any]) -> dict[str, str]:
    """Project keys written under another namespace (`aws:nodePools`): key -> where it was found."""
    known = {field.alias or name for name, field in StackConfig.model_fields.items()}
    found = {}
    for key in values:
        namespace, _, name = key.partition(":")
        if namespace != project and name in known and f"{project}:{name}" not in values:
            found[name] = key
    return found


def parse_stack_config(raw: Mapping[str, Any], misplaced: Mapping[str, str] | None = None) -> StackConfig:
    """Validate a decoded config map; every problem at once in one `ConfigError`."""
    try:
        return StackConfig.model_validate(dict(raw), context=stack_context(dict(raw)))
    except ValidationError as exc:
        problems = problems_of(exc)
        hints = misplaced or {}
        raise ConfigError(
            [
                f"{p} (found as {hints[key]}: write it under the project namespace)"
                if (key := p.split(":", 1)[0]) in hints and p.endswith("required key is missing")
                else p
                for p in problems
            ]
        ) from None


def load_stack_config() -> StackConfig:
    """The current stack's validated config (as `pulumi up` or the mocks pass it to the program)."""
    values: dict[str, Any] = dict(pulumi.runtime.config.get_config_env())
    values.update(pulumi.runtime.config.CONFIG.get())
    project = pulumi.get_project()
    return parse_stack_config(raw_stack_config(project, values), misplaced_keys(project, values))
