"""Discover a running Karpenter install, read-only, and print what was found.

    python -m ops.migrate --cluster NAME --region REGION [--kubeconfig FILE] [--kubectl PATH]

AWS is read with boto3 (the usual credential chain; AWS_ENDPOINT_URL points it elsewhere), the cluster
with `kubectl get -o json`. Exit status: 0 found an install, 1 none or a pre-v1 one, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import boto3

from ops.kubectl import Kubectl
from ops.migrate.discover import discover
from ops.migrate.report import format_report


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m ops.migrate", description=__doc__.split("\n")[0])
    p.add_argument("--cluster", required=True, help="EKS cluster name")
    p.add_argument("--region", required=True, help="AWS region of the cluster")
    p.add_argument("--kubeconfig", help="kubeconfig file (default: kubectl's own)")
    p.add_argument("--kubectl", default="kubectl", help="kubectl binary (default: kubectl on PATH)")
    return p.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    install = discover(
        Kubectl(kubectl=args.kubectl, kubeconfig=args.kubeconfig),
        boto3.Session(region_name=args.region),
        args.cluster,
        args.region,
    )
    sys.stdout.write(format_report(install))
    return 0 if install.controller is not None and not install.pre_v1 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
