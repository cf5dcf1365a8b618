"""Does a stack give the pull-request preview role access to its cluster? `python -m tools.ci.preview_role
--stack dev --role-arn ARN` prints the stack's cluster name (for the workflow's next step) and exits 1,
with a GitHub error annotation, when the role is missing from `cluster.adminAccess`.

Why: without an access entry the EKS API server answers the preview role with 401, pulumi-kubernetes
marks the cluster unreachable ("unable to load schema information from the API server", provider.go
Configure) and a plain `pulumi preview` still passes, with no Kubernetes diff at all. The preview's server-
side dry runs are authorised like real writes, so the entry needs cluster-wide AmazonEKSClusterAdminPolicy.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "karpenter-eks"
PREVIEW_POLICY = "AmazonEKSClusterAdminPolicy"


def cluster_config(stack: str, root: Path = ROOT) -> dict[str, Any]:
    doc = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text()) or {}
    cluster = (doc.get("config") or {}).get(f"{PROJECT}:cluster") or {}
    return cluster if isinstance(cluster, dict) else {}


def problems(stack: str, role_arn: str, root: Path = ROOT) -> list[str]:
    """Why the preview role could not see the stack's cluster (empty: it can)."""
    entries = [
        e for e in cluster_config(stack, root).get("adminAccess") or [] if e.get("principalArn") == role_arn
    ]
    if not entries:
        return [
            f"Pulumi.{stack}.yaml: the preview role {role_arn} is not in cluster.adminAccess, so the preview "
            "cannot read the cluster and shows no Kubernetes diff; add it with AmazonEKSClusterAdminPolicy"
        ]
    entry = entries[0]
    found = []
    if entry.get("policy", PREVIEW_POLICY) != PREVIEW_POLICY or entry.get("namespaces"):
        found.append(
            f"Pulumi.{stack}.yaml: the preview role's access entry must be cluster-wide {PREVIEW_POLICY}: "
            "the preview's server-side dry runs are authorised like the writes they simulate"
        )
    return found


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.ci.preview_role", description=__doc__.split("\n")[0])
    p.add_argument("--stack", required=True)
    p.add_argument("--role-arn", required=True)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    found = problems(args.stack, args.role_arn)
    for problem in found:
        print(f"::error::{problem}", file=sys.stderr)
    if found:
        return 1
    print(cluster_config(args.stack).get("name", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
