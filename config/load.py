"""Read the stack config once from Pulumi and validate it: the only place that touches `pulumi.Config`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import ValidationError

from config.addons import stack_context
from config.base import ConfigError, problems_of
from config.stack import StackConfig


def raw_stack_config(project: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The project's keys (`<project>:<key>`) of a Pulumi config map, structured values decoded."""
    out: dict[str, Any] = {}
    prefix = f"{project}:"
    for key, value in values.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        if isinstance(value, str) and value.startswith(("{", "[")):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ConfigError([f"{name}: is not valid JSON ({exc.msg})"]) from None
        out[name] = value
    return out


PROVIDER_KEYS: dict[str, frozenset[str]] = {"aws": frozenset({"region"})}
"""Keys another namespace really has that share a project key's name: `aws:region` configures Pulumi's
default AWS provider. Accepted beside the project's key when the two agree (the program's explicit provider
uses the project's `region`); on its own it is not read, and the missing project key says so."""


def misplaced_keys(project: str, values: Mapping[str, Any]) -> dict[str, str]:
    """Project keys written under another namespace (`aws:nodePools`, `aws:karpenter`): key -> where
    it was found. Pulumi would pass them to the program under that namespace, where nothing reads them."""
    known = {field.alias or name for name, field in StackConfig.model_fields.items()}
    found = {}
    for key, value in values.items():
        namespace, _, name = key.partition(":")
        if namespace == project or name not in known:
            continue
        if name in PROVIDER_KEYS.get(namespace, ()) and values.get(f"{project}:{name}") == value:
            continue
        found[name] = key
    return found


def misplaced_problems(project: str, misplaced: Mapping[str, str]) -> list[str]:
    """One line per project key found under another namespace, with the fix."""
    return [
        f"{where}: {name} is a key of this project, so {where} is never read; write it as "
        f"{project}:{name} (under `config:` in Pulumi.<stack>.yaml)"
        for name, where in sorted(misplaced.items(), key=lambda item: item[1])
    ]


def missing_key_hint(project: str, name: str, where: str) -> str:
    """What to add to `<name>: required key is missing` when the key was written as `where` instead."""
    namespace = where.partition(":")[0]
    if name in PROVIDER_KEYS.get(namespace, ()):
        return (
            f" ({where} is not read: it configures only Pulumi's default {namespace} provider, which this "
            f"program does not use; set {project}:{name}, e.g. `pulumi config set {name} <value>` in this "
            "project)"
        )
    return f" ({where} is not read: set {project}:{name}, under `config:` in Pulumi.<stack>.yaml)"


def parse_stack_config(
    raw: Mapping[str, Any], misplaced: Mapping[str, str] | None = None, project: str = "karpenter-eks"
) -> StackConfig:
    """Validate a decoded config map; every problem at once in one `ConfigError` (project keys under
    another namespace included)."""
    hints = misplaced or {}
    bad: list[tuple[int | str, ...]] = []
    try:
        cfg = StackConfig.model_validate(dict(raw), context=stack_context(dict(raw)))
        problems: list[str] = []
    except ValidationError as exc:
        cfg = None
        bad = [tuple(e["loc"]) for e in exc.errors(include_url=False)]
        problems = problems_of(exc)
    hinted_keys = {
        key
        for p in problems
        if (key := p.split(":", 1)[0]) in hints and p.endswith("required key is missing")
    }
    problems = [
        p + missing_key_hint(project, key, hints[key]) if (key := p.split(":", 1)[0]) in hinted_keys else p
        for p in problems
    ]
    problems += misplaced_problems(project, {k: v for k, v in hints.items() if k not in hinted_keys})
    if cfg is None:
        raise ConfigError(problems, raw, bad)
    if problems:
        raise ConfigError(problems)
    return cfg


def load_stack_config() -> StackConfig:
    """The current stack's validated config (as `pulumi up` or the mocks pass it to the program)."""
    values: dict[str, Any] = dict(pulumi.runtime.config.get_config_env())
    values.update(pulumi.runtime.config.CONFIG.get())
    project = pulumi.get_project()
    return parse_stack_config(raw_stack_config(project, values), misplaced_keys(project, values), project)
