"""The gp3 check (EBS CSI driver)."""

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


def check_gp3(kubectl: Kubectl, opts: CheckOptions, clock: Clock, log: Callable[[str], None]) -> CheckResult:
    """A gp3 claim (WaitForFirstConsumer) bound by a pod on a Karpenter node, written and read."""
    result = CheckResult("gp3")
    namespace, claim, pod = f"smoke-gp3-{opts.token}", "smoke-gp3", "smoke-gp3"
    deadline = clock.now() + opts.timeout
    cleanup = Cleanup(kubectl, log)
    with checking(result, cleanup):
        log(f"[gp3] claim of class {opts.gp3_class} and a pod on a Karpenter node, in {namespace}")
        cleanup.apply(namespace_manifest(namespace, "gp3"), wait=300)
        cleanup.apply(claim_manifest(claim, namespace, opts.gp3_class, "ReadWriteOnce", "gp3"))
        script = f"echo {opts.token} > {MOUNT}/smoke && sleep 3600"
        cleanup.apply(pod_manifest(pod, namespace, "gp3", script=script, claim=claim))
        found = claim_and_pods(kubectl, namespace, claim, [pod], result, opts, clock, deadline)
        if found is None:
            return result
        pvc, [pod_doc] = found
        result.found.append(volume_line(kubectl, pvc))
        node_of(kubectl, pod_doc, result)
        read = read_back(kubectl, namespace, pod, f"{MOUNT}/smoke", opts.token, opts, clock, deadline)
        if read is None:
            result.found.append(f"wrote and read back {MOUNT}/smoke")
        else:
            result.problems.append(
                f"{MOUNT}/smoke does not hold what was written ({opts.token}): {read or 'empty'}"
            )
    return result
