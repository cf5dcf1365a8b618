"""Discover a running Karpenter install, read-only, and print what was found; with `--stack`, write the
stack that takes it over and print the plan to review.

    python -m ops.migrate --cluster NAME --region REGION [--kubeconfig FILE] [--kubectl PATH]
        [--stack NAME [--out DIR] [--apply-crd-ownership]]

AWS is read with boto3 (the usual credential chain; AWS_ENDPOINT_URL points it elsewhere), the cluster
with `kubectl get -o json`. `--stack` writes `Pulumi.NAME.yaml` (adopt mode) and `import-NAME.json` (for
`pulumi import --file`) into DIR; nothing in the account or the cluster changes, except the CRDs' Helm
ownership label and annotations with `--apply-crd-ownership`. Exit status: 0 found an install (and
wrote the files), 1 none, a pre-v1 one, or a blocking finding, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import boto3

from ops.kubectl import Kubectl
from ops.migrate.discover import discover
from ops.migrate.imports import import_file
from ops.migrate.model import Install
from ops.migrate.report import format_report
from ops.migrate.review import (
    Runner,
    apply_crd_ownership,
    crd_ownership_commands,
    format_review,
    review,
    version_path,
)
from ops.migrate.stack_file import stack_config, stack_yaml


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m ops.migrate", description=__doc__.split("\n")[0])
    p.add_argument("--cluster", required=True, help="EKS cluster name")
    p.add_argument("--region", required=True, help="AWS region of the cluster")
    p.add_argument("--kubeconfig", help="kubeconfig file (default: kubectl's own)")
    p.add_argument("--kubectl", default="kubectl", help="kubectl binary (default: kubectl on PATH)")
    p.add_argument("--stack", help="write Pulumi.STACK.yaml and import-STACK.json for this stack")
    p.add_argument("--out", default=".", help="folder to write them in (default: the current one)")
    p.add_argument(
        "--apply-crd-ownership",
        action="store_true",
        help="label and annotate Karpenter's CRDs so the karpenter-crd Helm release adopts them",
    )
    return p.parse_args(argv)


def write_stack(install: Install, stack: str, out: Path, kubectl: Runner | None) -> tuple[str, int]:
    """Write the stack and import files; (what to print, exit status)."""
    versions, refused = version_path(install)
    if refused or install.controller is None:
        return "\n".join(versions or ["no Karpenter controller found"]) + "\n", 1
    written = stack_config(install)
    imports = import_file(install, written, stack)
    out.mkdir(parents=True, exist_ok=True)
    stack_path, import_path = out / f"Pulumi.{stack}.yaml", out / f"import-{stack}.json"
    stack_path.write_text(stack_yaml(written))
    import_path.write_text(json.dumps(imports.document(), indent=2) + "\n")
    commands = crd_ownership_commands(install.crds)
    rev = review(install, written, imports)
    text = f"Wrote {stack_path} and {import_path}\n\nNot expressed by the stack:\n"
    text += "".join(f"  - {line}\n" for line in written.unexpressed) or "  (nothing)\n"
    text += "\n" + format_review(rev, commands, versions, str(import_path))
    if kubectl is not None:
        ran = apply_crd_ownership(kubectl, install.crds)
        text += "Applied:\n" + "".join(f"  {line}\n" for line in ran or ["(nothing to do)"])
    return text, 1 if rev.blocking else 0


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    kubectl = Kubectl(kubectl=args.kubectl, kubeconfig=args.kubeconfig)
    install = discover(kubectl, boto3.Session(region_name=args.region), args.cluster, args.region)
    sys.stdout.write(format_report(install))
    if args.stack:
        text, status = write_stack(
            install, args.stack, Path(args.out), kubectl if args.apply_crd_ownership else None
        )
        sys.stdout.write("\n" + text)
        return status
    return 0 if install.controller is not None and not install.pre_v1 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
