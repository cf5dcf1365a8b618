"""The s3 check (Mountpoint for S3)."""

from __future__ import annotations

from collections.abc import Callable

from ops.kubectl import Kubectl
from ops.smoke.checks.manifests import MOUNT, pod_manifest
from ops.smoke.checks.steps import (
    CheckResult,
    Cleanup,
    checking,
    claim_and_pods,
    get_or_none,
    node_of,
    read_back,
    volume_line,
)
from ops.smoke.common import ERRORS, CheckOptions, Clock, SmokeError


def check_s3(kubectl: Kubectl, opts: CheckOptions, clock: Clock, log: Callable[[str], None]) -> CheckResult:
    """A pod mounts a bucket's claim (the program's static PV/PVC), writes a new object and reads it back.
    Mountpoint does not overwrite existing objects by default, so the key is new on every run; the
    object is deleted afterwards when the mount allows deletes (`allow-delete`), else left and named."""
    result = CheckResult("s3")
    if not opts.s3_claim or not opts.s3_namespace:
        result.problems.append("the s3 check needs --s3-claim and --s3-namespace (a bucket's claim)")
        return result
    namespace, claim, pod = opts.s3_namespace, opts.s3_claim, f"smoke-s3-{opts.token}"
    key = f"karpenter-eks-smoke/{opts.token}.txt"
    path = f"{MOUNT}/{key}"
    deadline = clock.now() + opts.timeout
    cleanup = Cleanup(kubectl, log)
    with checking(result, cleanup):
        log(f"[s3] pod {pod} mounts claim {claim} in {namespace}, writes and reads {key}")
        claim_doc = get_or_none(kubectl, "pvc", claim, namespace)
        if claim_doc is None:
            result.problems.append(f"claim {claim} does not exist in namespace {namespace}")
            return result
        cleanup.apply(
            pod_manifest(
                pod, namespace, "s3", script="sleep 3600", claim=claim, run_as_user=opts.s3_run_as_user
            )
        )
        found = claim_and_pods(kubectl, namespace, claim, [pod], result, opts, clock, deadline)
        if found is None:
            return result
        pvc, [pod_doc] = found
        result.found.append(volume_line(kubectl, pvc))
        node_of(kubectl, pod_doc, result)
        kubectl.exec(namespace, pod, f"mkdir -p {MOUNT}/karpenter-eks-smoke && echo {opts.token} > {path}")
        result.found.append(f"wrote s3 object {key}")

        def remove() -> None:
            try:
                kubectl.exec(namespace, pod, f"rm {path}")
            except ERRORS as exc:
                raise SmokeError(
                    f"object {key} is left in the bucket (the mount refused to delete it: {exc})"
                ) from exc

        cleanup.add(f"delete object {key}", remove)
        read = read_back(kubectl, namespace, pod, path, opts.token, opts, clock, deadline)
        if read is None:
            result.found.append(f"read {key} back")
        else:
            result.problems.append(f"{key} does not read back as written ({opts.token}): {read or 'empty'}")
    return result
