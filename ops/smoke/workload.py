"""The capacity check: a Deployment `inflate` of pause containers that only Karpenter's nodes may run, what
the cluster's JSON says about where its pods landed, and the run that applies it, waits and cleans up."""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.kubectl import Kubectl
from ops.smoke.common import (
    ARCH_LABEL,
    CAPACITY_TYPE_LABEL,
    ERRORS,
    INSTANCE_TYPE_LABEL,
    MANAGED_BY,
    NODEPOOL_LABEL,
    UNKNOWN,
    ZONE_LABEL,
    SmokeError,
    get_doc,
    items,
    live,
    pending_reasons,
)

PAUSE_IMAGE = "public.ecr.aws/eks-distro/kubernetes/pause:3.7"
DEFAULT_NAME = "inflate"

ARCHES = ("any", "arm64", "amd64")
SPREADS = {"none": None, "zone": ZONE_LABEL, "capacity-type": CAPACITY_TYPE_LABEL}


# ---------------------------------------------------------------------------------------------------------
# Pure parts: the manifest, and what the cluster's JSON says.


def pool_node_pools(pool: str) -> list[str]:
    """The NodePools a configured pool may become: itself, or `<pool>-spot` and `<pool>-on-demand`."""
    return [pool, f"{pool}-spot", f"{pool}-on-demand"]


def spread_constraint(topology_key: str, labels: Mapping[str, str], max_skew: int = 1) -> dict[str, Any]:
    return {
        "maxSkew": max_skew,
        "topologyKey": topology_key,
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": dict(labels)},
    }


def adopt_constraint(entry: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """A topologySpreadConstraints entry from the stack output, counting this Deployment's pods."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("topologyKey"), str):
        raise SmokeError(f"not a topologySpreadConstraints entry (no topologyKey): {entry!r}")
    constraint = copy.deepcopy(dict(entry))
    constraint.setdefault("maxSkew", 1)
    constraint.setdefault("whenUnsatisfiable", "DoNotSchedule")
    constraint["labelSelector"] = {"matchLabels": dict(labels)}
    return constraint


def deployment_manifest(
    *,
    name: str = DEFAULT_NAME,
    namespace: str = "default",
    replicas: int = 6,
    cpu: str = "1",
    arch: str = "any",
    pool: str | None = None,
    spread: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The smoke Deployment: pause containers requesting `cpu` each, allowed only on Karpenter's nodes
    (of `pool`'s NodePools when given, of `arch` unless "any"), with the given spread constraints (whose
    labelSelector must select the pods: see `spread_constraint` and `adopt_constraint`)."""
    if arch not in ARCHES:
        raise SmokeError(f"arch must be one of {', '.join(ARCHES)}, not {arch!r}")
    if replicas < 1:
        raise SmokeError("replicas must be at least 1")
    labels = {"app": name}
    karpenter_nodes: dict[str, Any] = (
        {"key": NODEPOOL_LABEL, "operator": "In", "values": pool_node_pools(pool)}
        if pool
        else {"key": NODEPOOL_LABEL, "operator": "Exists"}
    )
    pod_spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": 0,
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [karpenter_nodes]}]
                }
            }
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65535,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "pause",
                "image": PAUSE_IMAGE,
                "resources": {"requests": {"cpu": cpu}},
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                    "readOnlyRootFilesystem": True,
                },
            }
        ],
    }
    if arch != "any":
        pod_spec["nodeSelector"] = {ARCH_LABEL: arch}
    if spread:
        pod_spec["topologySpreadConstraints"] = [copy.deepcopy(dict(c)) for c in spread]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**labels, "app.kubernetes.io/managed-by": MANAGED_BY},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


@dataclass(frozen=True)
class NodeInfo:
    name: str
    nodepool: str
    capacity_type: str
    arch: str
    instance_type: str
    zone: str
    pods: int = 0

    @classmethod
    def from_node(cls, node: Mapping[str, Any], pods: int = 0) -> NodeInfo:
        metadata = node.get("metadata") or {}
        labels: Mapping[str, str] = metadata.get("labels") or {}
        return cls(
            name=str(metadata.get("name", UNKNOWN)),
            nodepool=labels.get(NODEPOOL_LABEL, UNKNOWN),
            capacity_type=labels.get(CAPACITY_TYPE_LABEL, UNKNOWN),
            arch=labels.get(ARCH_LABEL, UNKNOWN),
            instance_type=labels.get(INSTANCE_TYPE_LABEL, UNKNOWN),
            zone=labels.get(ZONE_LABEL, UNKNOWN),
            pods=pods,
        )


@dataclass
class Report:
    """Where the smoke pods are. `nodes` are the Karpenter nodes that host at least one of them."""

    replicas: int
    nodes: list[NodeInfo] = field(default_factory=list)
    running: int = 0  # Running on a Karpenter node
    pending: int = 0  # not yet Running (unscheduled, or starting)
    elsewhere: list[str] = field(default_factory=list)  # pods Running on a node without the NodePool label
    other_karpenter_nodes: int = 0  # Karpenter nodes without a smoke pod

    @property
    def done(self) -> bool:
        return self.running >= self.replicas and not self.elsewhere

    def node_counts(self, attribute: str) -> Counter[str]:
        return Counter(getattr(n, attribute) for n in self.nodes)

    def pod_counts(self, attribute: str) -> Counter[str]:
        counts: Counter[str] = Counter()
        for n in self.nodes:
            counts[getattr(n, attribute)] += n.pods
        return counts


def is_karpenter_node(node: Mapping[str, Any]) -> bool:
    return NODEPOOL_LABEL in ((node.get("metadata") or {}).get("labels") or {})


def summarise(nodes_json: Mapping[str, Any], pods_json: Mapping[str, Any], replicas: int) -> Report:
    """From `kubectl get nodes -o json` and `kubectl get pods -o json` (the smoke pods only): which
    Karpenter nodes host the pods, and how many pods are Running there."""
    nodes = {str((n.get("metadata") or {}).get("name")): n for n in items(nodes_json)}
    karpenter = {name for name, node in nodes.items() if is_karpenter_node(node)}
    per_node: Counter[str] = Counter()
    report = Report(replicas=replicas)
    for pod in items(pods_json):
        if not live(pod):
            continue
        node_name = (pod.get("spec") or {}).get("nodeName")
        running = (pod.get("status") or {}).get("phase") == "Running"
        if node_name in karpenter:
            per_node[node_name] += 1
        if not running:
            report.pending += 1
        elif node_name in karpenter:
            report.running += 1
        else:
            report.elsewhere.append(str((pod.get("metadata") or {}).get("name", UNKNOWN)))
    report.nodes = sorted(
        (NodeInfo.from_node(nodes[name], pods) for name, pods in per_node.items()),
        key=lambda n: (n.nodepool, n.capacity_type, n.zone, n.name),
    )
    report.other_karpenter_nodes = len(karpenter - set(per_node))
    return report


def placement_problems(report: Report, arch: str = "any", pool: str | None = None) -> list[str]:
    """What the placement got wrong, against what the Deployment asked for (empty when all is well)."""
    problems = [f"pod {p} runs on a node without the {NODEPOOL_LABEL} label" for p in report.elsewhere]
    allowed = set(pool_node_pools(pool)) if pool else None
    for n in report.nodes:
        if arch != "any" and n.arch != arch:
            problems.append(f"node {n.name} is {n.arch}, {arch} was asked for")
        if allowed is not None and n.nodepool not in allowed:
            problems.append(f"node {n.name} belongs to NodePool {n.nodepool}, not to pool {pool}")
    return problems


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _counts(report: Report, attribute: str, order: Iterable[str]) -> str:
    nodes, pods = report.node_counts(attribute), report.pod_counts(attribute)
    keys = [k for k in order if k in nodes] + sorted(k for k in nodes if k not in order)
    if not keys:
        return "none"
    return ", ".join(f"{k} {nodes[k]} node(s) / {pods[k]} pod(s)" for k in keys)


def format_report(report: Report) -> str:
    lines = [f"{report.running}/{report.replicas} pods Running on {len(report.nodes)} Karpenter node(s)"]
    if report.nodes:
        header = ("NODE", "NODEPOOL", "CAPACITY", "ARCH", "INSTANCE TYPE", "ZONE", "PODS")
        rows = [
            (n.name, n.nodepool, n.capacity_type, n.arch, n.instance_type, n.zone, str(n.pods))
            for n in report.nodes
        ]
        lines += ["", *_table([header, *rows]), ""]
    lines.append(f"capacity type: {_counts(report, 'capacity_type', ('spot', 'on-demand', 'reserved'))}")
    lines.append(f"architecture:  {_counts(report, 'arch', ('arm64', 'amd64'))}")
    lines.append(f"nodepool:      {_counts(report, 'nodepool', ())}")
    if report.elsewhere:
        lines.append(f"not on Karpenter nodes: {', '.join(report.elsewhere)}")
    if report.other_karpenter_nodes:
        lines.append(f"({report.other_karpenter_nodes} other Karpenter node(s) host none of these pods)")
    return "\n".join(lines)


def progress_line(report: Report) -> str:
    return (
        f"{report.running}/{report.replicas} running on Karpenter nodes, {report.pending} pending, "
        f"{len(report.nodes)} node(s)" + (f", {len(report.elsewhere)} elsewhere" if report.elsewhere else "")
    )


def load_spread_entry(path: Path, pool: str | None) -> Mapping[str, Any]:
    """A pool's entry of `pulumi stack output spreadConstraints --json` (a pool -> constraint mapping)."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SmokeError(f"cannot read spread constraints from {path}: {exc}") from exc
    if not isinstance(doc, dict) or not doc:
        raise SmokeError(
            f"{path}: expected a non-empty JSON object of pool -> topologySpreadConstraints entry"
        )
    if pool is None:
        if len(doc) != 1:
            raise SmokeError(f"{path} has the pools {', '.join(sorted(doc))}: choose one with --pool")
        pool = next(iter(doc))
    if pool not in doc:
        raise SmokeError(f"{path} has no entry for pool {pool!r} (it has {', '.join(sorted(doc))})")
    entry = doc[pool]
    if not isinstance(entry, Mapping):
        raise SmokeError(f"{path}: the entry of {pool!r} is not an object")
    return entry


# ---------------------------------------------------------------------------------------------------------
# The run


def observe(kubectl: Kubectl, args: argparse.Namespace) -> tuple[Report, dict[str, Any]]:
    pods = get_doc(kubectl, ["pods", "--namespace", args.namespace, "--selector", f"app={args.name}"])
    nodes = get_doc(kubectl, ["nodes"])
    return summarise(nodes, pods, args.replicas), pods


def wait(kubectl: Kubectl, args: argparse.Namespace) -> tuple[Report, dict[str, Any], bool]:
    start = time.monotonic()
    last = ""
    while True:
        report, pods = observe(kubectl, args)
        elapsed = time.monotonic() - start
        line = progress_line(report)
        if line != last:
            print(f"[{elapsed:5.0f}s] {line}", flush=True)
            last = line
        if report.done:
            return report, pods, True
        if elapsed >= args.timeout:
            return report, pods, False
        time.sleep(min(args.interval, args.timeout - elapsed))


def delete(kubectl: Kubectl, args: argparse.Namespace) -> None:
    print(f"deleting deployment/{args.name} in {args.namespace}", flush=True)
    try:
        kubectl.delete("deployment", args.name, args.namespace, timeout=180)
    except ERRORS as exc:
        print(f"cleanup failed, delete it by hand: {exc}", file=sys.stderr)
        return
    print(
        "deleted: Karpenter removes the emptied nodes after the NodePools' consolidateAfter "
        f"(watch: kubectl get nodes -l {NODEPOOL_LABEL} -w)",
        flush=True,
    )


def run_capacity(kubectl: Kubectl, args: argparse.Namespace, manifest: dict[str, Any]) -> int:
    """The Deployment test: 0 every pod on Karpenter capacity as asked, 1 not, 2 kubectl error."""
    target = f"{args.replicas} x {args.cpu} CPU, arch {args.arch}" + (
        f", pool {args.pool}" if args.pool else ""
    )
    print(f"applying deployment/{args.name} in {args.namespace} ({target})", flush=True)
    applied = False
    try:
        applied = True  # from here on, clean up whatever happens (delete ignores a missing Deployment)
        kubectl.apply(manifest)
        report, pods, finished = wait(kubectl, args)
        print()
        print(format_report(report))
        if not finished:
            print(
                f"\nTIMEOUT after {args.timeout:g}s: not every pod is Running on a Karpenter node",
                file=sys.stderr,
            )
            for reason in pending_reasons(pods):
                print(f"  {reason}", file=sys.stderr)
            print(
                "  see: kubectl logs -n <karpenter namespace> deploy/karpenter; kubectl get nodeclaims",
                file=sys.stderr,
            )
            return 1
        problems = placement_problems(report, args.arch, args.pool)
        for problem in problems:
            print(f"UNEXPECTED: {problem}", file=sys.stderr)
        if not problems:
            print("\nOK: Karpenter launched capacity for every pod")
        return 1 if problems else 0
    except ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if applied and not args.keep:
            delete(kubectl, args)
        elif applied:
            print(
                f"kept deployment/{args.name} in {args.namespace} (--keep): delete it when done", flush=True
            )
