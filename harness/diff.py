"""What a change to the program or a stack file creates, updates, REPLACES and deletes, offline.

    python3 tools/dev.py diff --stack dev [--base GITREF] [--fail-on-breaking]
    venv/bin/python -m harness.diff --stack dev --base-plan old/plan.json --plan new/plan.json

Renders the stack twice under the mocks (harness/fake/): at the base (a `git archive` of GITREF unpacked
in a temporary folder and rendered by the BASE's own code, in a subprocess using this venv) and now (the
working tree), matches resources by URN (and by the aliases the program declares), and prints, in
Markdown, every resource created, updated (with the changed inputs), replaced (with the input that forces
it, and whether the old one is deleted first) or deleted, with a one-line consequence for the changes a
reviewer must not miss.

Which input changes replace a resource comes ONLY from `../shared/pulumi-replacements/replacements.json`
(read from the providers' sources for the pinned versions; see its README), combined with the lifecycle
options plan.json records (`replaceOnChanges`, `deleteBeforeReplace`, `ignoreChanges`). Without that file
the tool says so and exits 3: it never guesses. The engine's cascade is modelled: an input that depends
(propertyDependencies) on a resource being created or replaced is unknown at preview, and an unknown
ForceNew input replaces too; a replaced provider replaces every resource it manages.

Exit status: 0 done (1 with --fail-on-breaking when a change breaks the running environment), 2 usage or
render error, 3 the replacement rules are absent (what needs no rule is still printed).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES = ROOT.parent / "shared" / "pulumi-replacements" / "replacements.json"
RULES_ENV = "KARPENTER_EKS_REPLACEMENTS"

Path_ = tuple[str | int, ...]


class RulesMissing(Exception):
    """The replacement rules are not where they should be."""


class DiffError(Exception):
    """A usage or render problem: exit status 2."""


# ---------------------------------------------------------------------------------------------------------
# The rules


@dataclass(frozen=True)
class TypeRule:
    token: str
    replace_on: tuple[str, ...]
    conditional: tuple[tuple[str, str], ...]
    auto_named: str | None
    delete_before_replace: str
    component: bool
    regional_child: bool

    @property
    def grouping_only(self) -> bool:
        """A program component: no provider state, nothing to replace (its children are listed)."""
        return self.component and not self.replace_on and not self.conditional


@dataclass(frozen=True)
class Rules:
    types: Mapping[str, TypeRule]
    source: str

    @classmethod
    def load(cls, path: Path | None = None) -> Rules:
        path = path or Path(os.environ.get(RULES_ENV) or DEFAULT_RULES)
        if not path.is_file():
            raise RulesMissing(
                f"the replacement rules {path} are absent (../shared is not next to this checkout): "
                "without them this tool cannot tell an update from a replacement, and it does not guess"
            )
        doc = json.loads(path.read_text())
        types = {
            token: TypeRule(
                token=token,
                replace_on=tuple(t.get("replaceOn") or ()),
                conditional=tuple((c["path"], c["when"]) for c in t.get("conditional") or ()),
                auto_named=t.get("autoNamed"),
                delete_before_replace=str(t.get("deleteBeforeReplace") or "n/a"),
                component=bool(t.get("component")),
                regional_child=bool(t.get("regionalChild")),
            )
            for token, t in doc["types"].items()
        }
        return cls(types, str(path))


# ---------------------------------------------------------------------------------------------------------
# Paths: ("selectors", 0, "labels") is shown `selectors[0].labels` and matched as `selectors[].labels`.


def show(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def rule_tokens(rule_path: str) -> tuple[str, ...]:
    """`selectors[].labels` -> ("selectors", "[]", "labels"); also reads Pulumi's ignoreChanges syntax
    (`tags["k"]`, `items[0]`, `*`)."""
    tokens: list[str] = []
    for part in rule_path.replace('"]', "").replace('["', ".").split("."):
        while "[" in part:
            head, _, rest = part.partition("[")
            if head:
                tokens.append(head)
            tokens.append("[]")
            part = rest.partition("]")[2]
        if part:
            tokens.append(part)
    return tuple(tokens)


def _tokens(path: Path_) -> tuple[str, ...]:
    return tuple("[]" if isinstance(p, int) else p for p in path)


def matches(rule_path: str, path: Path_) -> bool:
    """A rule path names the changed path, one of its parents (anything under it), or one of its
    children (a whole object that changed, was added or removed)."""
    rule = rule_tokens(rule_path)
    changed = _tokens(path)
    n = min(len(rule), len(changed))
    return all(r in (c, "*") or (r == "[]" and c == "[]") for r, c in zip(rule[:n], changed[:n], strict=True))


def changed_paths(old: Any, new: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            if old.get(key) is None and new.get(key) is None:
                continue
            if key not in old or key not in new:
                yield (*prefix, key)
            else:
                yield from changed_paths(old[key], new[key], (*prefix, key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (o, n) in enumerate(zip(old, new, strict=True)):
            yield from changed_paths(o, n, (*prefix, i))
    elif old != new:
        yield prefix


def get_path(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(part)
    return doc


# ---------------------------------------------------------------------------------------------------------
# Plans (plan.json, as harness/synth.py writes it; older plans without lifecycle options read fine)


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


# ---------------------------------------------------------------------------------------------------------
# The diff


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
        # A plan written before plan.json had digests cannot tell: no change is claimed.
        if "." in key or key not in old.secret_digests or key not in new.secret_digests:
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


def diff_plans(base: Mapping[str, Any], now: Mapping[str, Any], rules: Rules | None) -> Diff:
    """Every change from `base` to `now`. With `rules` None (the rules are absent), changed resources are
    listed as unclassified and nothing is called a replacement."""
    old_index = {r.urn: r for r in resources(base)}
    new_list = resources(now)
    new_index = {r.urn: r for r in new_list}
    changes: list[Change] = []
    created_or_replaced: set[str] = set()
    matched: set[str] = set()
    unchanged = 0
    aws_region_changed = _aws_region_changed(old_index, new_list)
    # The program's own components (type tokens of its package) and the stack hold no provider state.
    packages = {f"{now.get('project') or base.get('project')}:", "pulumi:pulumi:"}

    def grouping(r: Res, rule: TypeRule | None) -> bool:
        return (rule is not None and rule.grouping_only) or (
            not r.custom and r.type.startswith(tuple(packages))
        )

    for new in new_list:
        rule = rules.types.get(new.type) if rules else None
        if grouping(new, rule):
            matched.add(new.urn)
            matched.update(alias_urns(new, new_index))
            continue
        old = old_index.get(new.urn) or next(
            (old_index[u] for u in alias_urns(new, new_index) if u in old_index), None
        )
        if old is None:
            changes.append(Change("create", new))
            created_or_replaced.add(new.urn)
            continue
        matched.add(old.urn)
        if not new.custom and rule is None and rules is not None:
            unchanged += 1  # a component of a type the rules do not know: grouping only
            continue
        unknown = {
            key
            for key, deps in new.property_dependencies.items()
            if any(d in created_or_replaced for d in deps) and key in new.inputs
        }
        paths = [p for p in _input_changes(old, new) if not any(matches(i, p) for i in new.ignore_changes)]
        paths += [(k,) for k in sorted(unknown) if (k,) not in paths]
        forced: list[str] = []
        if rules is None:
            if paths:
                changes.append(Change("update", new, [show(p) for p in paths], unclassified=True))
            else:
                unchanged += 1
            continue
        provider = new.provider_urn
        if provider is not None and any(c.resource.urn == provider and c.op == "replace" for c in changes):
            forced.append("its provider is replaced")
        if (
            rule is not None
            and aws_region_changed
            and (("region" in rule.replace_on and new.type.startswith("aws:")) or rule.regional_child)
        ):
            forced.append("region (the AWS provider's region changes; ForceNew on every regional resource)")
        if new.type == "pulumi:providers:kubernetes" and rule is not None:
            forced += _kubernetes_provider(old, new, unknown)
            if any(matches(p, path) for path in paths for p in ("renderYamlToDirectory",)):
                forced.append("renderYamlToDirectory")
        elif rule is not None:
            for path in paths:
                hits = [p for p in rule.replace_on if matches(p, path)]
                if hits:
                    why = "unknown at preview: it depends on a resource being created or replaced"
                    forced.append(
                        f"{show(path)} ({why})" if path[0] in unknown and len(path) == 1 else show(path)
                    )
        for path in paths:
            if any(matches(p, path) for p in new.replace_on_changes):
                forced.append(f"{show(path)} (replaceOnChanges)")
        if not paths and not forced:
            unchanged += 1
            continue
        change = Change(
            "update",
            new,
            [show(p) + (" (unknown at preview)" if p[0] in unknown and len(p) == 1 else "") for p in paths],
            old=old,
        )
        if rule is None:
            change.unclassified = True
        else:
            change.may_replace = [
                f"{show(path)}: {when}"
                for cond_path, when in rule.conditional
                for path in paths
                if any(matches(alt, path) for alt in cond_path.split("|"))
                and new.type != "pulumi:providers:kubernetes"
            ]
        if forced:
            change.op = "replace"
            change.forced_by = list(dict.fromkeys(forced))
            change.delete_first = delete_first(rule, old, new) if rule else bool(new.delete_before_replace)
            created_or_replaced.add(new.urn)
        changes.append(change)

    for old in old_index.values():
        if old.urn in matched or old.urn in new_index:
            continue
        rule = rules.types.get(old.type) if rules else None
        if grouping(old, rule) or (not old.custom and rule is None and rules):
            continue
        changes.append(Change("delete", old))

    result = Diff(changes, unchanged, None if rules else "replacement rules absent")
    if rules is not None:
        for change in result.changes:
            annotate(change, base, now, result)
    return result


def _aws_region_changed(old_index: Mapping[str, Res], new_list: Iterable[Res]) -> bool:
    for new in new_list:
        if (
            new.type == "pulumi:providers:aws"
            and new.urn in old_index
            and old_index[new.urn].inputs.get("region") != new.inputs.get("region")
        ):
            return True
    return False


# ---------------------------------------------------------------------------------------------------------
# Consequences: what a replacement, a delete or an update does to the running environment


# NodePool and EC2NodeClass fields whose change makes Karpenter replace nodes (drift). Karpenter's own
# docs (concepts/disruption, "Drift"): any change of the NodePool's spec.template; for the EC2NodeClass,
# the fields the replacements.json note lists.
NODECLASS_DRIFT_FIELDS = (
    "amiSelectorTerms",
    "amiFamily",
    "blockDeviceMappings",
    "metadataOptions",
    "role",
    "instanceProfile",
    "subnetSelectorTerms",
    "securityGroupSelectorTerms",
    "capacityReservationSelectorTerms",
    "userData",
    "tags",
    "kubelet",
    "associatePublicIPAddress",
    "instanceStorePolicy",
    "detailedMonitoring",
)

NODE_ROLE_PREFIX = "KarpenterNodeRole-"
CONTROLLER_ROLE_PREFIX = "KarpenterController-"
FARGATE_ROLE_PREFIX = "KarpenterFargate-"


def _physical_name(r: Res) -> str:
    return str(r.inputs.get("name") or r.inputs.get("namePrefix") or "")


def budgets_text(pool: Res | None, reason: str = "Drifted") -> str:
    """The NodePool's disruption budgets that limit `reason`, in words."""
    if pool is None:
        return "budget unknown"
    budgets = get_path(pool.inputs, "spec.disruption.budgets") or [{"nodes": "10%"}]
    parts = []
    for b in budgets:
        reasons = b.get("reasons")
        if reasons and reason not in reasons:
            continue
        nodes = str(b.get("nodes"))
        text = "none" if nodes == "0" else f"at most {nodes} of its nodes at a time"
        if b.get("schedule"):
            text += f" from `{b['schedule']}` (UTC) for {b.get('duration')}"
        parts.append(text)
    return "; ".join(parts) or "no budget limits it"


def pools_budgets(pools: Iterable[Res]) -> str:
    """`a, b: budget; c: other budget`, pools with the same budgets together."""
    grouped: dict[str, list[str]] = {}
    for p in sorted(pools, key=_pool_name):
        grouped.setdefault(budgets_text(p), []).append(_pool_name(p))
    return "; ".join(f"{', '.join(names)}: {text}" for text, names in grouped.items()) or "no NodePool"


def _node_pools(plan: Mapping[str, Any]) -> list[Res]:
    return [r for r in resources(plan) if r.type == "kubernetes:karpenter.sh/v1:NodePool"]


def _pool_name(r: Res) -> str:
    return str(get_path(r.inputs, "metadata.name") or r.name)


def _class_of(pool: Res) -> str | None:
    return get_path(pool.inputs, "spec.template.spec.nodeClassRef.name")


FARGATE_WORKLOADS: dict[tuple[str, str], str] = {
    ("k8s-app", "kube-dns"): "CoreDNS (cluster DNS)",
    ("app.kubernetes.io/name", "aws-load-balancer-controller"): (
        "the AWS Load Balancer Controller (no load balancer changes until it is back)"
    ),
    ("app", "ebs-csi-controller"): "the EBS CSI controller (no volume created, attached or detached)",
    ("app", "efs-csi-controller"): "the EFS CSI controller (no access point provisioned)",
    ("app", "s3-csi-controller"): "the Mountpoint for S3 controller (no new S3 mounts)",
    ("app.kubernetes.io/name", "portainer"): "Portainer",
}
"""What the pods a Fargate selector's label picks are, for the consequence line (the charts' own labels)."""


def fargate_workloads(profile: Res, base: Mapping[str, Any]) -> list[str]:
    """What runs on a Fargate profile, from its selectors: the Karpenter controller is the `fargate:
    enabled` selector in the namespace of the `karpenter` release."""
    karpenter_ns = {
        str(r.inputs.get("namespace"))
        for r in resources(base)
        if r.type == "kubernetes:helm.sh/v3:Release"
        and str(r.inputs.get("chart") or "").endswith("/karpenter")
    }
    runs = []
    for selector in profile.inputs.get("selectors") or []:
        namespace, labels = str(selector.get("namespace")), dict(selector.get("labels") or {})
        known = [FARGATE_WORKLOADS[item] for item in sorted(labels.items()) if item in FARGATE_WORKLOADS]
        if known:
            runs += known
        elif namespace in karpenter_ns and labels.get("fargate") == "enabled":
            runs.append(
                "the Karpenter controller (no provisioning, no interruption handling until it is back)"
            )
        else:
            shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "any labels"
            runs.append(f"pods in {namespace} labelled {shown}")
    return runs


def annotate(change: Change, base: Mapping[str, Any], now: Mapping[str, Any], diff: Diff) -> None:
    op = change.op
    # What goes is described as it is today; what changes in place, as it will be.
    r = change.old if op == "replace" and change.old is not None else change.resource
    gone = op in ("replace", "delete")
    gap = " between the delete and the create" if op == "replace" and change.delete_first else ""
    when = "while it is replaced" if op == "replace" else "from now on"
    text: str | None = None
    breaking = False
    t = r.type
    if t == "aws:eks/fargateProfile:FargateProfile" and gone:
        runs = fargate_workloads(r, base)
        namespaces = sorted({str(s.get("namespace")) for s in r.inputs.get("selectors") or []})
        text = (
            f"deleting the old profile stops every pod it runs in {', '.join(namespaces)} without honouring "
            f"PodDisruptionBudgets: {'; '.join(runs)}; they restart on the new profile"
        )
        breaking = True
    elif t == "kubernetes:helm.sh/v3:Release" and gone:
        chart = str(r.inputs.get("chart") or r.inputs.get("name") or "")
        if chart.endswith("karpenter-crd"):
            text = (
                "removing the old karpenter-crd release deletes Karpenter's CRDs: every NodePool, "
                "EC2NodeClass and NodeClaim is deleted and every Karpenter node terminated"
            )
        elif chart.endswith("karpenter"):
            text = (
                "no Karpenter controller between the delete and the new install: no provisioning, no "
                "interruption handling"
                if change.delete_first or op == "delete"
                else "two Karpenter controllers run at once (old and new release) until the old one is "
                "deleted, both acting on the same NodePools and NodeClaims"
            )
        else:
            text = f"Helm release {chart} is uninstalled{gap}"
        breaking = True
    elif t == "kubernetes:core/v1:Namespace" and gone:
        text = f"deleting namespace {get_path(r.inputs, 'metadata.name')} deletes everything still in it"
        breaking = True
    elif t == "kubernetes:karpenter.sh/v1:NodePool":
        name = _pool_name(r)
        if gone:
            text = (
                f"Karpenter drains and terminates every node of NodePool {name} (the delete waits up to 45m)"
            )
            breaking = op == "replace"
        elif op == "update" and any(p.startswith("spec.template") for p in change.paths):
            text = (
                f"every node of NodePool {name} drifts and is replaced, under its Drifted budget: "
                f"{budgets_text(r)}"
            )
            change.disrupts = True
        elif op == "update":
            text = "no node is replaced (limits, weight and disruption settings do not drift nodes)"
    elif t == "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass":
        name = str(get_path(r.inputs, "metadata.name") or r.name)
        pools = [p for p in _node_pools(now if op != "delete" else base) if _class_of(p) == name]
        if gone:
            text = (
                f"every node launched from EC2NodeClass {name} is drained and terminated, and NodePools "
                f"{', '.join(sorted(_pool_name(p) for p in pools)) or '(none)'} cannot launch nodes "
                "until it exists"
            )
            breaking = op == "replace"
        elif op == "update" and any(
            p.split(".")[1].split("[")[0] in NODECLASS_DRIFT_FIELDS
            for p in change.paths
            if p.startswith("spec.")
        ):
            text = (
                f"every node of EC2NodeClass {name} drifts and is replaced, under each NodePool's Drifted "
                f"budget ({pools_budgets(pools)})"
            )
            change.disrupts = True
    elif t == "aws:eks/accessEntry:AccessEntry" and gone:
        principal = r.inputs.get("principalArn") or "the principal"
        if r.inputs.get("type") == "EC2_LINUX":
            text = (
                "new nodes cannot join the cluster between the delete and the create, and running nodes "
                "lose API access"
                if change.delete_first or op == "delete"
                else "when the old entry is deleted, nodes still running with the old principal lose API "
                "access (their kubelet is authorised through it)"
            )
        else:
            text = f"{principal} loses its cluster access{gap or ' ' + when}"
        breaking = True
    elif t == "aws:eks/accessPolicyAssociation:AccessPolicyAssociation" and gone:
        text = f"{r.inputs.get('principalArn') or 'the principal'} loses its access policy{gap}"
        breaking = change.delete_first or op == "delete"
    elif t == "aws:iam/role:Role" and gone:
        name = _physical_name(r)
        if name.startswith(NODE_ROLE_PREFIX) or r.name.endswith("nodes-role"):
            text = (
                f"node role{gap or ' ' + when}: Karpenter cannot launch nodes, new nodes cannot join, and "
                "running nodes lose their IAM credentials (a recreated role has a new unique ID; EKS access "
                "entries and instance profiles must be recreated for it)"
            )
        elif name.startswith(CONTROLLER_ROLE_PREFIX) or r.name.endswith("controller-role"):
            text = (
                f"controller role{gap or ' ' + when}: the Karpenter controller loses its AWS credentials "
                "(IRSA): no provisioning, no interruption handling"
            )
        elif name.startswith(FARGATE_ROLE_PREFIX) or "pod-execution" in r.name:
            text = (
                f"Fargate pod execution role{gap or ' ' + when}: no Fargate pod (controller, CoreDNS) can "
                "start, and the Fargate profile naming it is replaced"
            )
        else:
            text = f"IAM role {name or r.name} is recreated{gap}"
        breaking = True
    elif t == "aws:iam/instanceProfile:InstanceProfile" and gone:
        text = f"Karpenter cannot launch nodes {when}: the EC2NodeClass names this instance profile"
        breaking = True
    elif t == "aws:iam/policy:Policy" and gone:
        text = f"the Karpenter controller lacks policy {_physical_name(r) or r.name}{gap or ' ' + when}"
        breaking = change.delete_first or op == "delete"
    elif t == "aws:iam/rolePolicyAttachment:RolePolicyAttachment" and gone:
        text = f"the role lacks this policy{gap or ' ' + when}"
        breaking = change.delete_first or op == "delete"
    elif t == "aws:sqs/queue:Queue" and gone:
        text = (
            f"interruption messages are lost {when}, and the controller restarts with the new queue "
            "(settings.interruptionQueue)"
        )
        breaking = True
    elif t == "eks:index:Cluster" and gone:
        text = "a NEW EKS cluster: every node, workload and Kubernetes object of the old cluster is lost"
        breaking = True
    elif t == "pulumi:providers:kubernetes" and gone:
        managed = [c.label for c in diff.changes if c.resource.provider_urn == r.urn]
        text = "every Kubernetes object this stack manages is replaced with it" + (
            f" ({', '.join(managed)})" if managed else ""
        )
        breaking = True
    elif t == "aws:eks/addon:Addon" and gone:
        text = f"add-on {r.inputs.get('addonName')} is removed and reinstalled{gap}"
        breaking = r.inputs.get("addonName") == "coredns"
    elif t in ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway") and gone:
        text = (
            "what runs in it (nodes, Fargate pods, the control plane's network interfaces) loses its "
            "network; the delete waits until no network interface uses it"
        )
        breaking = True
    elif t == "eks:index:Cluster" and op == "update" and "version" in change.paths:
        pools = sorted(_node_pools(now), key=_pool_name)
        text = (
            "control plane upgrade (add-ons follow); Karpenter's AMI alias then resolves to the new "
            f"version's AMI, so every node drifts and is replaced under its NodePool's Drifted budget "
            f"({pools_budgets(pools)})"
        )
        change.disrupts = True
    elif (
        t == "kubernetes:helm.sh/v3:Release"
        and op == "update"
        and str(r.inputs.get("chart") or "").endswith("/karpenter")
    ):
        text = "helm upgrade: the controller pods restart one by one (leader election hands over)"
        change.disrupts = True
    change.consequence = text
    change.breaking = breaking


# ---------------------------------------------------------------------------------------------------------
# Output


def to_markdown(diff: Diff, stack: str, base_label: str, now_label: str = "working tree") -> str:
    counts = {op: len(diff.of(op)) for op in ("create", "update", "replace", "delete")}
    lines = [f"### Offline diff of `{stack}`: {base_label} -> {now_label}", ""]
    if diff.rules_missing:
        lines += [
            "> **Replacements cannot be classified here**: the replacement rules "
            "(`../shared/pulumi-replacements/replacements.json`) are absent, so a changed resource may be "
            "updated in place or replaced. Rely on `pulumi preview` for that.",
            "",
        ]
    summary = ", ".join(f"{n} to {op}" for op, n in counts.items())
    if diff.rules_missing:
        summary = f"{counts['create']} to create, {counts['update']} changed, {counts['delete']} to delete"
    lines.append(f"**{summary}**, {diff.unchanged} unchanged.")
    if diff.breaking:
        lines.append(f"**{len(diff.breaking)} change(s) break the running environment** (marked BREAKS).")
    lines.append("")
    titles = {
        "replace": "Replaced",
        "delete": "Deleted",
        "create": "Created",
        "update": "Updated in place"
        if not diff.rules_missing
        else "Changed (update or replacement: unknown)",
    }
    for op in ("replace", "delete", "create", "update"):
        changes = sorted(diff.of(op), key=lambda c: c.label)
        if not changes:
            continue
        lines.append(f"#### {titles[op]} ({len(changes)})")
        for c in changes:
            head = f"- `{c.label}`"
            if op == "replace":
                order = "delete first" if c.delete_first else "create first"
                head += f" ({order}): forced by " + ", ".join(f"`{f}`" for f in c.forced_by)
                forced = {f.split(" (")[0] for f in c.forced_by}
                rest = [p for p in c.paths if p.split(" (")[0] not in forced]
                if rest:
                    head += "; also " + ", ".join(f"`{p}`" for p in rest)
            elif op == "update":
                head += ": " + ", ".join(f"`{p}`" for p in c.paths)
            lines.append(head)
            if c.consequence:
                mark = "BREAKS" if c.breaking else ("DISRUPTS" if c.disrupts else "note")
                lines.append(f"  - **{mark}**: {c.consequence}")
            for m in c.may_replace:
                lines.append(f"  - may replace: {m}")
            if c.unclassified and not diff.rules_missing:
                lines.append("  - no replacement rule for this type: it may be replaced")
        lines.append("")
    if not diff.changes:
        lines += ["No change.", ""]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------------------
# Rendering the two sides


def render_now(stack: str, root: Path = ROOT, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The working tree's plan, rendered as an update of `base` (its inputs are what the engine holds for
    `ignoreChanges`), or as a first deployment without one."""
    from harness.stack_files import load_stack_file
    from harness.synth import synth, world_for

    project, config = load_stack_file(stack, root)
    world = world_for(project, config)
    world.prior = prior_inputs(base)
    return synth(stack, root, world).as_json()


def prior_inputs(base: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """URN -> inputs of a rendered plan, as the fake cloud's record of the last deployment."""
    return {r["urn"]: r["inputs"] for r in (base or {}).get("resources", [])}


def render_ref(
    ref: str, stack: str, root: Path = ROOT, python: str = sys.executable
) -> dict[str, Any] | None:
    """The plan of `stack` at git `ref`, rendered by that commit's own code; None when the commit has no
    such stack file (everything is then created)."""
    done = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", ref], capture_output=True, check=False
    )
    if done.returncode != 0:
        raise DiffError(f"git archive {ref} failed: {done.stderr.decode().strip()}")
    with tempfile.TemporaryDirectory(prefix="karpenter-eks-base-") as tmp:
        src = Path(tmp) / "src"
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
            archive.extractall(src, filter="data")
        if not (src / f"Pulumi.{stack}.yaml").exists():
            return None
        out = Path(tmp) / "out"
        env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
        # The renderer lives where that commit keeps it (commits before the layout step: tools/synth.py).
        synth_module = "harness.synth" if (src / "harness" / "synth.py").exists() else "tools.synth"
        run = subprocess.run(
            [python, "-m", synth_module, "--stack", stack, "--out", str(out)],
            cwd=src,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            raise DiffError(f"rendering {stack} at {ref} failed:\n{run.stderr.strip() or run.stdout.strip()}")
        return json.loads((out / "plan.json").read_text())


def _short(ref: str, root: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", ref], capture_output=True, text=True, check=False
    )
    return (
        f"`{ref}` ({done.stdout.strip()})"
        if done.returncode == 0 and done.stdout.strip() != ref
        else f"`{ref}`"
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m harness.diff", description=__doc__.split("\n")[0])
    p.add_argument("--stack", required=True, help="stack name (Pulumi.<stack>.yaml)")
    p.add_argument("--base", default="HEAD", help="git ref to compare with (default: HEAD)")
    p.add_argument(
        "--base-plan", type=Path, help="a plan.json to use as the base instead of rendering --base"
    )
    p.add_argument(
        "--plan", type=Path, help="a plan.json to use as now instead of rendering the working tree"
    )
    p.add_argument("--replacements", type=Path, help=f"replacements.json (default: {DEFAULT_RULES})")
    p.add_argument("--out", type=Path, help="also write the Markdown to this file")
    p.add_argument(
        "--fail-on-breaking", action="store_true", help="exit 1 when a change breaks the running environment"
    )
    args = p.parse_args(sys.argv[1:] if argv is None else argv)

    rules: Rules | None
    missing: str | None = None
    try:
        rules = Rules.load(args.replacements)
    except RulesMissing as exc:
        rules, missing = None, str(exc)
        print(f"error: {missing}", file=sys.stderr)
    try:
        if args.base_plan:
            base: dict[str, Any] | None = json.loads(args.base_plan.read_text())
            base_label = f"`{args.base_plan}`"
        else:
            base = render_ref(args.base, args.stack)
            base_label = _short(args.base, ROOT)
        now = json.loads(args.plan.read_text()) if args.plan else render_now(args.stack, base=base)
    except (DiffError, OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a config the program refuses: say it the way synth does
        from config.base import ConfigError

        if isinstance(exc, ConfigError):
            print(f"Pulumi.{args.stack}.yaml: {exc.message}", file=sys.stderr)
            return 2
        raise
    if base is None:
        base_label += f" (no Pulumi.{args.stack}.yaml: everything is new)"
        base = {"resources": []}
    result = diff_plans(base, now, rules)
    text = to_markdown(result, args.stack, base_label, f"`{args.plan}`" if args.plan else "working tree")
    print(text, end="")
    if args.out:
        args.out.write_text(text)
    if missing:
        return 3
    return 1 if args.fail_on_breaking and result.breaking else 0


if __name__ == "__main__":
    sys.exit(main())
