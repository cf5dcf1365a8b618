"""The two sides and their difference: a resource of plan.json (as harness/synth.py writes it; older plans
without lifecycle options read fine), the old URNs its aliases give it, and the changes found."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Res:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    inputs: dict[str, Any]
    property_dependencies: dict[str, list[str]]
    delete_before_replace: bool | None
    replace_on_changes: list[str]
    ignore_changes: list[str]
    aliases: list[dict[str, Any]]
    secret_digests: dict[str, str]

    @classmethod
    def of(cls, r: Mapping[str, Any]) -> Res:
        return cls(
            urn=r["urn"],
            type=r["type"],
            name=r["name"],
            custom=bool(r.get("custom")),
            parent=r.get("parent"),
            provider=r.get("provider"),
            inputs=dict(r.get("inputs") or {}),
            property_dependencies=dict(r.get("propertyDependencies") or {}),
            delete_before_replace=r.get("deleteBeforeReplace"),
            replace_on_changes=list(r.get("replaceOnChanges") or []),
            ignore_changes=list(r.get("ignoreChanges") or []),
            aliases=list(r.get("aliases") or []),
            secret_digests=dict(r.get("secretDigests") or {}),
        )

    @property
    def label(self) -> str:
        if self.type.startswith("pulumi:providers:"):
            return f"{self.type.removeprefix('pulumi:providers:')}-provider:{self.name}"
        return f"{self.type.rsplit(':', 1)[-1]}:{self.name}"

    @property
    def provider_urn(self) -> str | None:
        return self.provider.rsplit("::", 1)[0] if self.provider else None


def resources(plan: Mapping[str, Any]) -> list[Res]:
    return [Res.of(r) for r in plan.get("resources", [])]


def _urn(stack: str, project: str, parent: str | None, typ: str, name: str) -> str:
    qualified = f"{parent.split('::')[2]}${typ}" if parent else typ
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def alias_urns(r: Res, index: Mapping[str, Res]) -> list[str]:
    """The old URNs a resource may have had: its own aliases (Alias specs resolved as the engine does) and
    those it inherits from its parents' aliases (the engine's inheritedChildAlias: the child under the
    parent's old URN, its name's parent-name prefix renamed too)."""
    out: list[str] = []
    stack, project = r.urn.split("::")[0].removeprefix("urn:pulumi:"), r.urn.split("::")[1]
    for alias in r.aliases:
        if "urn" in alias:
            out.append(alias["urn"])
            continue
        spec = alias.get("spec", alias)
        parent = None if spec.get("noParent") else (spec.get("parentUrn") or r.parent)
        out.append(
            _urn(
                spec.get("stack") or stack,
                spec.get("project") or project,
                parent,
                spec.get("type") or r.type,
                spec.get("name") or r.name,
            )
        )
    parent_res = index.get(r.parent or "")
    if parent_res is not None:
        for parent_alias in alias_urns(parent_res, index):
            old_parent_name = parent_alias.rsplit("::", 1)[1]
            name = r.name
            if name.startswith(parent_res.name):
                name = old_parent_name + name[len(parent_res.name) :]
            out.append(_urn(stack, project, parent_alias, r.type, name))
    return out


@dataclass
class Change:
    op: str  # create | update | replace | delete
    resource: Res
    paths: list[str] = field(default_factory=list)
    """Changed inputs (update and replace)."""
    forced_by: list[str] = field(default_factory=list)
    """What forces the replacement."""
    delete_first: bool = False
    may_replace: list[str] = field(default_factory=list)
    """Conditional rules the change touches: reported, not decided."""
    unclassified: bool = False
    """No rule for this type: it may replace."""
    consequence: str | None = None
    breaking: bool = False
    old: Res | None = None
    """The resource as it is now (replace and update)."""
    disrupts: bool = False
    """Not a replacement, but running nodes or pods are replaced (Karpenter drift, a controller restart)."""

    @property
    def label(self) -> str:
        return self.resource.label


@dataclass
class Diff:
    changes: list[Change]
    unchanged: int
    rules_missing: str | None = None

    def of(self, op: str) -> list[Change]:
        return [c for c in self.changes if c.op == op]

    def labels(self, op: str) -> list[str]:
        return sorted(c.label for c in self.of(op))

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]
