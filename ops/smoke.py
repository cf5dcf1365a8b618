"""Live smoke test of Karpenter on a deployed stack: make it buy nodes, show what it bought, clean up.

Run it after `pulumi up`, against the real cluster (it is not part of the test suite or CI):

    pulumi stack output kubeconfig --show-secrets > kubeconfig.json
    python -m ops.smoke --kubeconfig kubeconfig.json [--replicas 6] [--timeout 600]
        [--arch any|arm64|amd64] [--spread none|zone|capacity-type]
        [--pool NAME [--spread-constraints FILE]] [--keep]
        [--check capacity,gp3,efs,s3,alb [--s3-claim NAME --s3-namespace NS] ...]

It applies a Deployment `inflate` of pause containers that each request 1 CPU and may only run on nodes
Karpenter launched (the `karpenter.sh/nodepool` label), waits until every replica is Running, prints each
node that hosts them (NodePool, capacity type, architecture, instance type, zone) with the Spot/On-Demand
and arm64/amd64 counts, then deletes the Deployment (unless --keep) so consolidation removes the nodes.

`--pool graviton --spread-constraints spread.json`, with spread.json from
`pulumi stack output spreadConstraints --json`, gives the pods the pool's own topologySpreadConstraint,
which is how workloads get that pool's Spot/On-Demand ratio.

`--check` chooses what runs (default `capacity`, the Deployment above); the add-ons' checks are opt-in:
`gp3` (a gp3 claim bound on a Karpenter node), `efs` (an efs claim shared by two pods), `s3` (a bucket's
claim written and read; needs --s3-claim and --s3-namespace), `alb` (an alb Ingress answering HTTP).
Each creates its own namespace and deletes what it created, also on failure (ops/smoke_checks.py).
The class names are arguments: --gp3-class (default gp3), --efs-class (efs), --ingress-class (alb).

Exit status: 0 all replicas ran on Karpenter nodes as asked and every chosen check passed, 1 timeout,
unexpected placement or a failed check, 2 usage or kubectl error. Needs only `kubectl` on PATH (and
whatever the kubeconfig's exec plugin needs, `aws` for EKS); no Python dependency beyond the standard
library.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PAUSE_IMAGE = "public.ecr.aws/eks-distro/kubernetes/pause:3.7"
DEFAULT_NAME = "inflate"
MANAGED_BY = "karpenter-eks-smoke"

NODEPOOL_LABEL = "karpenter.sh/nodepool"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
ARCH_LABEL = "kubernetes.io/arch"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
ZONE_LABEL = "topology.kubernetes.io/zone"

ARCHES = ("any", "arm64", "amd64")
SPREADS = {"none": None, "zone": ZONE_LABEL, "capacity-type": CAPACITY_TYPE_LABEL}
UNKNOWN = "?"


class SmokeError(Exception):
    """A usage or kubectl problem: exit status 2."""


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


def _items(doc: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    items = (doc or {}).get("items") or []
    return [i for i in items if isinstance(i, Mapping)]


def is_karpenter_node(node: Mapping[str, Any]) -> bool:
    return NODEPOOL_LABEL in ((node.get("metadata") or {}).get("labels") or {})


def _live(pod: Mapping[str, Any]) -> bool:
    return not (pod.get("metadata") or {}).get("deletionTimestamp")


def summarise(nodes_json: Mapping[str, Any], pods_json: Mapping[str, Any], replicas: int) -> Report:
    """From `kubectl get nodes -o json` and `kubectl get pods -o json` (the smoke pods only): which
    Karpenter nodes host the pods, and how many pods are Running there."""
    nodes = {str((n.get("metadata") or {}).get("name")): n for n in _items(nodes_json)}
    karpenter = {name for name, node in nodes.items() if is_karpenter_node(node)}
    per_node: Counter[str] = Counter()
    report = Report(replicas=replicas)
    for pod in _items(pods_json):
        if not _live(pod):
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


def pending_reasons(pods_json: Mapping[str, Any]) -> list[str]:
    """The distinct reasons the scheduler and kubelet give for pods that are not Running yet."""
    reasons: dict[str, None] = {}
    for pod in _items(pods_json):
        status = pod.get("status") or {}
        if not _live(pod) or status.get("phase") == "Running":
            continue
        for cond in status.get("conditions") or []:
            if cond.get("status") == "False" and cond.get("message"):
                reasons[f"{cond.get('type')}: {cond.get('reason', '')} {cond['message']}".strip()] = None
        for cs in status.get("containerStatuses") or []:
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason"):
                reasons[f"container {waiting['reason']}: {waiting.get('message', '')}".strip()] = None
    return list(reasons)


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
# kubectl


class Kubectl:
    def __init__(self, kubeconfig: Path, binary: str = "kubectl", context: str | None = None) -> None:
        found = shutil.which(binary)
        if found is None:
            raise SmokeError(f"{binary} not found on PATH")
        self.base = [found, "--kubeconfig", str(kubeconfig)]
        if context:
            self.base += ["--context", context]

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
        try:
            done = subprocess.run(
                [*self.base, *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise SmokeError(f"kubectl {' '.join(args)} did not answer in {timeout:.0f}s") from exc
        if done.returncode != 0:
            raise SmokeError(f"kubectl {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def get_json(self, *args: str) -> dict[str, Any]:
        out = self.run("get", *args, "-o", "json")
        doc = json.loads(out)
        return doc if isinstance(doc, dict) else {}


# ---------------------------------------------------------------------------------------------------------
# The run


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m ops.smoke",
        description="Live smoke test: make Karpenter launch nodes for a pause Deployment, report, clean up.",
    )
    p.add_argument(
        "--kubeconfig", required=True, type=Path, help="`pulumi stack output kubeconfig --show-secrets`"
    )
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.add_argument("--replicas", type=int, default=6, help="number of pods (default 6)")
    p.add_argument("--cpu", default="1", help="CPU request per pod (default 1)")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for every pod (default 600)")
    p.add_argument("--interval", type=float, default=10, help="seconds between polls (default 10)")
    p.add_argument("--arch", choices=ARCHES, default="any", help="node architecture to ask for (default any)")
    p.add_argument("--pool", help="only the NodePools of this configured pool (<pool>, -spot, -on-demand)")
    p.add_argument(
        "--spread",
        choices=sorted(SPREADS),
        default="none",
        help="a topologySpreadConstraint across zones or capacity types (default none)",
    )
    p.add_argument(
        "--spread-constraints",
        type=Path,
        metavar="FILE",
        help="JSON of `pulumi stack output spreadConstraints --json`: use --pool's entry",
    )
    p.add_argument("--namespace", default="default", help="namespace of the Deployment (default default)")
    p.add_argument("--name", default=DEFAULT_NAME, help=f"Deployment name (default {DEFAULT_NAME})")
    p.add_argument("--keep", action="store_true", help="leave the Deployment (and so its nodes) running")
    p.add_argument("--kubectl", default="kubectl", help="kubectl binary (default: kubectl on PATH)")
    checks = p.add_argument_group("checks (ops/smoke_checks.py)")
    checks.add_argument(
        "--check",
        default="capacity",
        help="comma-separated: capacity (the inflate Deployment), gp3, efs, s3, alb (default capacity)",
    )
    checks.add_argument("--gp3-class", default="gp3", help="StorageClass of the gp3 check (default gp3)")
    checks.add_argument("--efs-class", default="efs", help="StorageClass of the efs check (default efs)")
    checks.add_argument("--ingress-class", default="alb", help="IngressClass of the alb check (default alb)")
    checks.add_argument(
        "--alb-scheme",
        choices=("internet-facing", "internal"),
        default="internet-facing",
        help="scheme of the check's ALB; internal answers only from inside the VPC (default internet-facing)",
    )
    checks.add_argument("--s3-claim", help="s3 check: the bucket's PersistentVolumeClaim")
    checks.add_argument("--s3-namespace", help="s3 check: the claim's namespace")
    checks.add_argument(
        "--s3-run-as-user", type=int, help="s3 check: the pod's uid (default the image's, root)"
    )
    checks.add_argument(
        "--check-timeout", type=float, default=600, help="seconds each add-on check may take (default 600)"
    )
    args = p.parse_args(argv)
    from ops.smoke_checks import CHECKS

    names = [n.strip() for n in args.check.split(",") if n.strip()]
    unknown = [n for n in names if n not in ("capacity", *CHECKS)]
    if unknown or not names:
        p.error(f"--check: choose from capacity, {', '.join(CHECKS)} (not {', '.join(unknown) or 'nothing'})")
    args.checks = list(dict.fromkeys(names))
    if "s3" in args.checks and not (args.s3_claim and args.s3_namespace):
        p.error("--check s3 needs --s3-claim and --s3-namespace")
    if args.check_timeout <= 0:
        p.error("--check-timeout must be positive")
    if args.replicas < 1:
        p.error("--replicas must be at least 1")
    if args.timeout <= 0 or args.interval <= 0:
        p.error("--timeout and --interval must be positive")
    return args


def build_manifest(args: argparse.Namespace) -> dict[str, Any]:
    labels = {"app": args.name}
    spread: list[dict[str, Any]] = []
    topology_key = SPREADS[args.spread]
    if topology_key:
        spread.append(spread_constraint(topology_key, labels))
    if args.spread_constraints:
        spread.append(adopt_constraint(load_spread_entry(args.spread_constraints, args.pool), labels))
    return deployment_manifest(
        name=args.name,
        namespace=args.namespace,
        replicas=args.replicas,
        cpu=args.cpu,
        arch=args.arch,
        pool=args.pool,
        spread=spread,
    )


def observe(kubectl: Kubectl, args: argparse.Namespace) -> tuple[Report, dict[str, Any]]:
    pods = kubectl.get_json("pods", "--namespace", args.namespace, "--selector", f"app={args.name}")
    nodes = kubectl.get_json("nodes")
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
        kubectl.run(
            "delete",
            "deployment",
            args.name,
            "--namespace",
            args.namespace,
            "--ignore-not-found",
            "--wait=true",
            timeout=180,
        )
    except SmokeError as exc:
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
        kubectl.run("apply", "-f", "-", stdin=json.dumps(manifest))
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
    except SmokeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if applied and not args.keep:
            delete(kubectl, args)
        elif applied:
            print(
                f"kept deployment/{args.name} in {args.namespace} (--keep): delete it when done", flush=True
            )


def run_addon_checks(kubectl: Kubectl, args: argparse.Namespace, http_get: Any = None) -> int:
    """The chosen add-on checks (ops/smoke_checks.py): 0 all passed, 1 one failed."""
    from ops import smoke_checks

    names = [n for n in args.checks if n != "capacity"]
    opts = smoke_checks.CheckOptions(
        gp3_class=args.gp3_class,
        efs_class=args.efs_class,
        ingress_class=args.ingress_class,
        alb_scheme=args.alb_scheme,
        s3_claim=args.s3_claim,
        s3_namespace=args.s3_namespace,
        s3_run_as_user=args.s3_run_as_user,
        timeout=args.check_timeout,
        interval=args.interval,
    )
    results = smoke_checks.run_checks(
        kubectl, names, opts, http_get=http_get or smoke_checks.urllib_get, log=lambda m: print(m, flush=True)
    )
    failed = [r.name for r in results if not r.ok]
    left = [r.name for r in results if r.cleanup_problems]
    if left:
        print(f"CLEANUP INCOMPLETE in check(s) {', '.join(left)}: see the CLEANUP lines", file=sys.stderr)
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"OK: {', '.join(names)}")
    return 0


def main(argv: Sequence[str] | None = None, http_get: Any = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        manifest = build_manifest(args)
        if not args.kubeconfig.is_file():
            raise SmokeError(f"kubeconfig {args.kubeconfig} does not exist")
        kubectl = Kubectl(args.kubeconfig, args.kubectl, args.context)
        # The cluster answers, and Karpenter's CRDs and NodePools exist.
        node_pools = kubectl.run("get", "nodepools.karpenter.sh", "-o", "name").split()
        if not node_pools:
            raise SmokeError("the cluster has no NodePool: was `pulumi up` run?")
        print(f"NodePools: {', '.join(sorted(n.split('/')[-1] for n in node_pools))}", flush=True)
    except SmokeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    statuses: list[int] = []
    try:
        if "capacity" in args.checks:
            statuses.append(run_capacity(kubectl, args, manifest))
        if any(n != "capacity" for n in args.checks):
            statuses.append(run_addon_checks(kubectl, args, http_get))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    return max(statuses, default=0)


if __name__ == "__main__":
    sys.exit(main())
