"""Read the stack config once from Pulumi and validate it: the only place that touches `pulumi.Config`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import ValidationError

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


def parse_stack_config(raw: Mapping[str, Any]) -> StackConfig:
    """Validate a decoded config map; every problem at once in one `ConfigError`."""
    try:
        return StackConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(problems_of(exc)) from None


def load_stack_config() -> StackConfig:
    """The current stack's validated config (as `pulumi up` or the mocks pass it to the program)."""
    values: dict[str, Any] = dict(pulumi.runtime.config.get_config_env())
    values.update(pulumi.runtime.config.CONFIG.get())
    return parse_stack_config(raw_stack_config(pulumi.get_project(), values))
