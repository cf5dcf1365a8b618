"""Render a stack offline: `python -m harness.synth --stack dev --out build/dev`.

Runs the Pulumi program in-process under the shared mocks (harness/fake/) with the values of
`Pulumi.<stack>.yaml` and writes what `pulumi up` would create:
  plan.json     every registered resource, in registration order, with its real dependencies
  manifests/    every Kubernetes object (one YAML file each) and every Helm release's values
  iam/          every IAM policy, trust policy and queue policy as pretty JSON
and prints a short tree of components and their resources. No AWS account, no Pulumi CLI.
"""

from __future__ import annotations

import gc

if __name__ == "__main__":
    # A one-shot render creates a great many long-lived objects (the providers' generated classes, as
    # they are imported) and little garbage: cyclic GC passes over them cost about a second of CPU and
    # find next to nothing (peak memory is the same without them). The process exits right after.
    gc.disable()

import argparse
import json
import os
import re
import shutil
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from harness.fake.world import World
from harness.plan import Plan, RecordedResource
from harness.runner import run_program
from harness.stack_files import ROOT, StackFileError, load_stack_file

IAM_DOCUMENTS = {
    "aws:iam/role:Role": ("assumeRolePolicy", "trust"),
    "aws:iam/policy:Policy": ("policy", "policy"),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy", "queue-policy"),
    "aws:iam/rolePolicy:RolePolicy": ("policy", "inline-policy"),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy", "bucket-policy"),
}


def synth(stack: str, root: Path = ROOT, world: World | None = None) -> Plan:
    """Run the stack's program under the mocks. The fake account holds the cluster an adopt-mode stack
    names (authentication mode API_AND_CONFIG_MAP), unless a `world` is given."""
    project, config = load_stack_file(stack, root)
    return run_program(project, stack, config, world=world or world_for(project, config))


def world_for(project: str, config: dict[str, str]) -> World:
    region = str(config.get(f"{project}:region") or "eu-west-1")
    world = World(region=region)
    try:
        cluster = json.loads(config.get(f"{project}:cluster", "{}"))
    except json.JSONDecodeError:
        cluster = {}
    if isinstance(cluster, dict) and cluster.get("mode") == "adopt" and isinstance(cluster.get("name"), str):
        world.add_cluster(cluster["name"])
    return world


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-").lower()


TOP_LEVEL_ORDER = ("apiVersion", "kind", "metadata", "spec", "data")


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _dump_yaml(doc: Any) -> str:
    """Stable YAML: Kubernetes' usual top-level order, every nested map sorted by key."""
    if isinstance(doc, dict):
        first = {k: _sorted(doc[k]) for k in TOP_LEVEL_ORDER if k in doc}
        doc = first | {k: _sorted(doc[k]) for k in sorted(doc) if k not in first}
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=110)


def kubernetes_objects(plan: Plan) -> dict[str, Any]:
    """file name -> content, for every Kubernetes object and every Helm release's values."""
    files: dict[str, Any] = {}
    for r in plan.resources:
        if r.type == "aws:eks/addon:Addon" and r.inputs.get("configurationValues"):
            # An EKS add-on's configuration values are Helm values of its chart.
            addon = r.inputs.get("addonName") or r.name
            files[f"addon-{_slug(addon)}-configuration.yaml"] = json.loads(r.inputs["configurationValues"])
            continue
        if not r.custom or not r.type.startswith("kubernetes:"):
            continue
        if r.type == "kubernetes:helm.sh/v3:Release":
            release = r.inputs.get("name") or r.name
            files[f"helm-{_slug(release)}-values.yaml"] = r.inputs.get("values") or {}
            continue
        # Every input of a Kubernetes resource is a field of its object (StorageClass has no spec).
        doc = dict(r.inputs)
        name = (doc.get("metadata") or {}).get("name") or r.name
        kind = str(doc.get("kind", r.type)) + ("-patch" if r.type.endswith("Patch") else "")
        files[f"{_slug(kind)}-{_slug(name)}.yaml"] = doc
    return files


def iam_documents(plan: Plan) -> dict[str, Any]:
    """file name -> parsed policy document, for every IAM policy, trust policy and queue policy."""
    files: dict[str, Any] = {}
    for r in plan.resources:
        spec = IAM_DOCUMENTS.get(r.type)
        if spec is None or not r.inputs.get(spec[0]):
            continue
        key, kind = spec
        physical = r.inputs.get("name") or r.name
        files[f"{kind}-{_slug(physical)}.json"] = json.loads(r.inputs[key])
    return files


def write_artifacts(plan: Plan, out: Path) -> None:
    for sub in ("manifests", "iam"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
        (out / sub).mkdir(parents=True)
    for name, doc in sorted(kubernetes_objects(plan).items()):
        (out / "manifests" / name).write_text(_dump_yaml(doc))
    for name, doc in sorted(iam_documents(plan).items()):
        (out / "iam" / name).write_text(json.dumps(doc, indent=2) + "\n")


def tree(plan: Plan) -> str:
    """Components and their resources, indented by parent."""
    children: dict[str | None, list[RecordedResource]] = defaultdict(list)
    urns = {r.urn for r in plan.resources}
    for r in plan.resources:
        children[r.parent if r.parent in urns else None].append(r)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for r in children.get(parent, []):
            if r.type.startswith("pulumi:providers:") and depth == 0:
                lines.append(f"provider {r.type.removeprefix('pulumi:providers:')} {r.name}")
                continue
            marker = "" if r.custom else "+ "
            lines.append(f"{'  ' * depth}{marker}{r.type}  {r.name}")
            walk(r.urn, depth + 1)

    walk(None, 0)
    counts = plan.outputs.get("spotInstanceTypeCounts") or {}
    if counts:
        lines.append(
            "Spot NodePools, instance types each admits in the region: "
            + ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
        )
    lines += [f"warning: {w}" for w in plan.warnings]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.synth", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: build/<stack>)")
    parser.add_argument(
        "--config-dir", type=Path, default=ROOT, help="folder of Pulumi.<stack>.yaml (default: the project)"
    )
    args = parser.parse_args(argv)
    out: Path = args.out or ROOT / "build" / args.stack

    from pulumi import RunError

    from config.base import ConfigError

    try:
        plan = synth(args.stack, args.config_dir)
    except (FileNotFoundError, StackFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"Pulumi.{args.stack}.yaml: {exc.message}", file=sys.stderr)
        return 2
    except RunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    out.mkdir(parents=True, exist_ok=True)
    (out / "plan.json").write_text(json.dumps(plan.as_json(), indent=2) + "\n")
    write_artifacts(plan, out)
    print(tree(plan))
    custom = sum(1 for r in plan.resources if r.custom)
    print(f"\n{len(plan.resources)} registrations ({custom} resources) -> {out}/plan.json, manifests/, iam/")
    return 0


def exit_now(code: int) -> None:
    """Leave without the interpreter's teardown: it finalises every module and joins the Pulumi SDK's
    gRPC and executor threads, about a second for nothing once the outputs are written and flushed."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
