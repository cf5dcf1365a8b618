"""Which change is a create, an update, a replacement or a delete, as the engine decides it at preview.

The engine's cascade is modelled: an input that depends (propertyDependencies) on a resource being created
or replaced is unknown at preview, and an unknown ForceNew input replaces too; a replaced provider replaces
every resource it manages; a changed AWS region replaces every regional resource."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.diff.consequences import annotate
from harness.diff.model import Change, Diff, Res, alias_urns, resources
from harness.diff.paths import Path_, changed_paths, get_path, matches, show
from harness.diff.rules import Rules, TypeRule

KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"
UNKNOWN_WHY = "unknown at preview: it depends on a resource being created or replaced"


def delete_first(rule: TypeRule, old: Res, new: Res) -> bool:
    """Whether the engine deletes the old resource before creating the new one (replacements.json's
    `deleteBeforeReplace`, or the program's `delete_before_replace` option)."""
    if new.delete_before_replace:
        return True
    text = rule.delete_before_replace
    if text.startswith(("no", "n/a")):
        return False
    if text.startswith("always"):
        return True
    if text.startswith("when the auto-named field is set explicitly"):
        return rule.auto_named is not None and get_path(new.inputs, rule.auto_named) is not None
    if text.startswith("when metadata.name is set explicitly and unchanged"):
        name = get_path(new.inputs, "metadata.name")
        return (
            name is not None
            and name == get_path(old.inputs, "metadata.name")
            and get_path(new.inputs, "metadata.namespace") == get_path(old.inputs, "metadata.namespace")
        )
    if text.startswith("child control plane: yes when name is given"):
        return new.inputs.get("name") is not None
    raise ValueError(f"{rule.token}: unknown deleteBeforeReplace rule {text!r}")


def _input_changes(old: Res, new: Res) -> list[Path_]:
    paths: list[Path_] = []
    secret_keys = set(old.secret_digests) | set(new.secret_digests)
    for path in changed_paths(
        {k: v for k, v in old.inputs.items() if k not in secret_keys},
        {k: v for k, v in new.inputs.items() if k not in secret_keys},
    ):
        paths.append(path)
    for key in sorted(secret_keys):
        if "." in key:
            continue
        if (key in old.inputs) != (key in new.inputs):
            paths.append((key,))  # a secret input added or removed
            continue
        # A plan written before plan.json had digests cannot tell: no change is claimed.
        if key not in old.secret_digests or key not in new.secret_digests:
            continue
        if old.secret_digests[key] != new.secret_digests[key]:
            paths.append((key,))
    return paths


def _kubernetes_provider(old: Res, new: Res, unknown: set[str]) -> list[str]:
    """pulumi-kubernetes DiffConfig (replacements.json `pulumi:providers:kubernetes`): replaced when a set
    clusterIdentifier changes; otherwise when the kubeconfig is unknown at preview or its active cluster
    entry changes, unless clusterIdentifier is set and unchanged."""
    old_id, new_id = old.inputs.get("clusterIdentifier"), new.inputs.get("clusterIdentifier")
    if "clusterIdentifier" in unknown and old_id is not None:
        return ["clusterIdentifier (unknown at preview)"]
    if old_id is not None and new_id is not None:
        return [f"clusterIdentifier ({old_id} -> {new_id})"] if old_id != new_id else []
    if "kubeconfig" in unknown:
        return ["kubeconfig (unknown at preview: the cluster it points at is being created or replaced)"]
    key = "kubeconfig.activeCluster"
    if (
        key in new.secret_digests
        and key in old.secret_digests
        and old.secret_digests[key] != new.secret_digests[key]
    ):
        return ["kubeconfig (its active cluster entry changes)"]
    return []


def _aws_region_changed(old_index: Mapping[str, Res], new_list: Iterable[Res]) -> bool:
    for new in new_list:
        if (
            new.type == "pulumi:providers:aws"
            and new.urn in old_index
            and old_index[new.urn].inputs.get("region") != new.inputs.get("region")
        ):
            return True
    return False


def _unknown_mark(path: Path_, unknown: set[str], why: str) -> str:
    """The path as shown, marked when it is a top-level input unknown at preview."""
    return f"{show(path)} ({why})" if path[0] in unknown and len(path) == 1 else show(path)


def _forced_by_rule(rule: TypeRule, paths: list[Path_], unknown: set[str]) -> list[str]:
    return [
        _unknown_mark(path, unknown, UNKNOWN_WHY)
        for path in paths
        if any(matches(p, path) for p in rule.replace_on)
    ]


def _may_replace(rule: TypeRule, new: Res, paths: list[Path_]) -> list[str]:
    """The conditional rules a change touches (the Kubernetes provider's are decided, not reported)."""
    if new.type == KUBERNETES_PROVIDER:
        return []
    return [
        f"{show(path)}: {when}"
        for cond_path, when in rule.conditional
        for path in paths
        if any(matches(alt, path) for alt in cond_path.split("|"))
    ]


@dataclass
class _Walk:
    """One pass over the plan as it is now, against the base: the changes so far and what they cascade."""

    rules: Rules | None
    packages: tuple[str, ...]
    """Type-token prefixes of the program's own components and the stack: they hold no provider state."""
    new_index: Mapping[str, Res]
    aws_region_changed: bool
    changes: list[Change] = field(default_factory=list)
    created_or_replaced: set[str] = field(default_factory=set)
    unchanged: int = 0

    def rule(self, r: Res) -> TypeRule | None:
        return self.rules.types.get(r.type) if self.rules else None

    def grouping(self, r: Res, rule: TypeRule | None) -> bool:
        return (rule is not None and rule.grouping_only) or (
            not r.custom and r.type.startswith(self.packages)
        )

    def visit(self, new: Res, old_index: Mapping[str, Res]) -> list[str]:
        """Compares one resource with its old self; returns the base URNs it accounts for."""
        rule = self.rule(new)
        if self.grouping(new, rule):
            return [new.urn, *alias_urns(new, self.new_index)]
        old = old_index.get(new.urn) or next(
            (old_index[u] for u in alias_urns(new, self.new_index) if u in old_index), None
        )
        if old is None:
            self.changes.append(Change("create", new))
            self.created_or_replaced.add(new.urn)
            return []
        if not new.custom and rule is None and self.rules is not None:
            self.unchanged += 1  # a component of a type the rules do not know: grouping only
        else:
            self.compare(old, new, rule)
        return [old.urn]

    def compare(self, old: Res, new: Res, rule: TypeRule | None) -> None:
        unknown = {
            key
            for key, deps in new.property_dependencies.items()
            if any(d in self.created_or_replaced for d in deps) and key in new.inputs
        }
        paths = [p for p in _input_changes(old, new) if not any(matches(i, p) for i in new.ignore_changes)]
        paths += [(k,) for k in sorted(unknown) if (k,) not in paths]
        if self.rules is None:
            if paths:
                self.changes.append(Change("update", new, [show(p) for p in paths], unclassified=True))
            else:
                self.unchanged += 1
            return
        forced = self.forced(old, new, rule, paths, unknown)
        if not paths and not forced:
            self.unchanged += 1
            return
        change = Change(
            "update", new, [_unknown_mark(p, unknown, "unknown at preview") for p in paths], old=old
        )
        if rule is None:
            change.unclassified = True
        else:
            change.may_replace = _may_replace(rule, new, paths)
        if forced:
            change.op = "replace"
            change.forced_by = list(dict.fromkeys(forced))
            change.delete_first = delete_first(rule, old, new) if rule else bool(new.delete_before_replace)
            self.created_or_replaced.add(new.urn)
        self.changes.append(change)

    def forced(
        self, old: Res, new: Res, rule: TypeRule | None, paths: list[Path_], unknown: set[str]
    ) -> list[str]:
        """What replaces the resource, in the order the engine's reasons are listed."""
        forced: list[str] = []
        provider = new.provider_urn
        if provider is not None and any(
            c.resource.urn == provider and c.op == "replace" for c in self.changes
        ):
            forced.append("its provider is replaced")
        if (
            rule is not None
            and self.aws_region_changed
            and (("region" in rule.replace_on and new.type.startswith("aws:")) or rule.regional_child)
        ):
            forced.append("region (the AWS provider's region changes; ForceNew on every regional resource)")
        if new.type == KUBERNETES_PROVIDER and rule is not None:
            forced += _kubernetes_provider(old, new, unknown)
            if any(matches("renderYamlToDirectory", path) for path in paths):
                forced.append("renderYamlToDirectory")
        elif rule is not None:
            forced += _forced_by_rule(rule, paths, unknown)
        forced += [
            f"{show(path)} (replaceOnChanges)"
            for path in paths
            if any(matches(p, path) for p in new.replace_on_changes)
        ]
        return forced

    def deleted(self, old_index: Mapping[str, Res], matched: set[str]) -> None:
        for old in old_index.values():
            if old.urn in matched or old.urn in self.new_index:
                continue
            rule = self.rule(old)
            if self.grouping(old, rule) or (not old.custom and rule is None and self.rules):
                continue
            self.changes.append(Change("delete", old))


def diff_plans(base: Mapping[str, Any], now: Mapping[str, Any], rules: Rules | None) -> Diff:
    """Every change from `base` to `now`. With `rules` None (the rules are absent), changed resources are
    listed as unclassified and nothing is called a replacement."""
    old_index = {r.urn: r for r in resources(base)}
    new_list = resources(now)
    walk = _Walk(
        rules,
        (f"{now.get('project') or base.get('project')}:", "pulumi:pulumi:"),
        {r.urn: r for r in new_list},
        _aws_region_changed(old_index, new_list),
    )
    matched: set[str] = set()
    for new in new_list:
        matched.update(walk.visit(new, old_index))
    walk.deleted(old_index, matched)
    result = Diff(walk.changes, walk.unchanged, None if rules else "replacement rules absent")
    if rules is not None:
        for change in result.changes:
            annotate(change, base, now, result)
    return result
