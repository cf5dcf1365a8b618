"""The efs check (EFS CSI driver)."""

from __future__ import annotations

from collections.abc import Callable

from ops.kubectl import Kubectl
from ops.smoke.checks.manifests import MOUNT, claim_manifest, namespace_manifest, pod_manifest
from ops.smoke.checks.steps import (
    CheckResult,
    Cleanup,
    checking,
    claim_and_pods,
    node_of,
    read_back,
    volume_line,
)
from ops.smoke.common import CheckOptions, Clock


def check_efs(kubectl: Kubectl, opts: CheckOptions, clock: Clock, log: Callable[[str], None]) -> CheckResult:
    """A ReadWriteMany claim of the efs class mounted by two pods: the writer's file is read by the reader."""
    result = CheckResult("efs")
    namespace, claim = f"smoke-efs-{opts.token}", "smoke-efs"
    writer, reader = "smoke-efs-writer", "smoke-efs-reader"
    path = f"{MOUNT}/smoke-{opts.token}"
    deadline = clock.now() + opts.timeout
    cleanup = Cleanup(kubectl, log)
    with checking(result, cleanup):
        log(f"[efs] ReadWriteMany claim of class {opts.efs_class} shared by two pods, in {namespace}")
        cleanup.apply(namespace_manifest(namespace, "efs"), wait=300)
        cleanup.apply(claim_manifest(claim, namespace, opts.efs_class, "ReadWriteMany", "efs"))
        role = {"smoke-efs-role": "sharer"}
        cleanup.apply(
            pod_manifest(
                writer,
                namespace,
                "efs",
                script=f"echo {opts.token} > {path} && sleep 3600",
                claim=claim,
                labels=role,
                spread_from=role,
            )
        )
        cleanup.apply(
            pod_manifest(
                reader, namespace, "efs", script="sleep 3600", claim=claim, labels=role, spread_from=role
            )
        )
        found = claim_and_pods(kubectl, namespace, claim, [writer, reader], result, opts, clock, deadline)
        if found is None:
            return result
        pvc, docs = found
        result.found.append(volume_line(kubectl, pvc))
        nodes = {node_of(kubectl, d, result) for d in docs}
        result.found.append(
            "the pods share one node" if len(nodes) == 1 else "the pods run on different nodes"
        )
        read = read_back(kubectl, namespace, reader, path, opts.token, opts, clock, deadline)
        if read is None:
            result.found.append(f"{reader} read what {writer} wrote to {path}")
        else:
            result.problems.append(
                f"{reader} does not read what {writer} wrote to {path} ({opts.token}): {read or 'empty'}"
            )
    return result
