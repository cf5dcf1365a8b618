"""`python -m ops.smoke`: the arguments, and the run of the chosen checks (see ops/smoke/__init__.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ops.kubectl import Kubectl
from ops.smoke.checks import CHECKS, CheckOptions, run_checks, urllib_get
from ops.smoke.common import ERRORS, SmokeError
from ops.smoke.workload import (
    ARCHES,
    DEFAULT_NAME,
    SPREADS,
    adopt_constraint,
    deployment_manifest,
    load_spread_entry,
    run_capacity,
    spread_constraint,
)


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
    checks = p.add_argument_group("checks (ops/smoke/checks/)")
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


def run_addon_checks(kubectl: Kubectl, args: argparse.Namespace, http_get: Any = None) -> int:
    """The chosen add-on checks (ops/smoke/checks/): 0 all passed, 1 one failed."""
    names = [n for n in args.checks if n != "capacity"]
    opts = CheckOptions(
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
    results = run_checks(
        kubectl, names, opts, http_get=http_get or urllib_get, log=lambda m: print(m, flush=True)
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
        kubectl = Kubectl(args.kubectl, args.kubeconfig, args.context)
        # The cluster answers, and Karpenter's CRDs and NodePools exist.
        node_pools = kubectl.get_names(["nodepools.karpenter.sh"])
        if not node_pools:
            raise SmokeError("the cluster has no NodePool: was `pulumi up` run?")
        print(f"NodePools: {', '.join(sorted(n.split('/')[-1] for n in node_pools))}", flush=True)
    except ERRORS as exc:
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
