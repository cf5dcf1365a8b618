"""The smoke test's opt-in checks of the add-ons, the ones the guides run by hand after an install:

  gp3  a claim of the gp3 StorageClass is bound on a node Karpenter launched (EBS CSI driver)
  efs  a ReadWriteMany claim of the efs StorageClass is shared by two pods: one writes, the other reads
  s3   a pod mounts a bucket's claim (the static PV/PVC the program creates per bucket), writes an object
       and reads it back (Mountpoint for S3)
  alb  an Ingress of the alb class (target type ip) gets an ALB whose address answers HTTP with what the
       service behind it serves (AWS Load Balancer Controller)

Run them with `python -m ops.smoke --check gp3,efs,s3,alb ...` (see ops/smoke/). Each check creates
its own namespace `smoke-<check>-<token>` (the s3 check runs its pod in the claim's namespace instead:
a claim is namespaced) and deletes everything it created when it ends, in reverse order, also on failure,
timeout or Ctrl-C; the Ingress is deleted first and waited for, so the load balancer controller removes
the ALB before its controller-side objects go. The pods run on Karpenter's nodes (the storage drivers'
node components run on EC2, not on Fargate) as root without privilege escalation: volume ownership
differs per driver (an EFS access point's directory belongs to its POSIX user; Mountpoint allows only
the mounting user unless the PV's mountOptions say `uid`/`allow-other`, as in upstream's static
provisioning example, whose pod runs as root).

The checks talk to the cluster only through `ops.kubectl.Kubectl` (faked in the tests) and to the ALB
through an injectable HTTP getter. One module per check; `manifests` and `steps` are what they share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ops.kubectl import Kubectl
from ops.smoke.checks.alb import HttpGet, check_alb, ingress_hostname, urllib_get, web_manifests
from ops.smoke.checks.efs import check_efs
from ops.smoke.checks.gp3 import check_gp3
from ops.smoke.checks.manifests import CHECK_IMAGE, claim_manifest, event_reasons, pod_manifest
from ops.smoke.checks.s3 import check_s3
from ops.smoke.checks.steps import CheckResult
from ops.smoke.common import CheckOptions, Clock, SmokeError

CHECKS = ("gp3", "efs", "s3", "alb")

__all__ = [
    "CHECKS",
    "CHECK_IMAGE",
    "CheckOptions",
    "CheckResult",
    "Clock",
    "HttpGet",
    "check_alb",
    "check_efs",
    "check_gp3",
    "check_s3",
    "claim_manifest",
    "event_reasons",
    "ingress_hostname",
    "parse_checks",
    "pod_manifest",
    "run_checks",
    "urllib_get",
    "web_manifests",
]


def parse_checks(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise SmokeError(f"unknown check(s) {', '.join(unknown)}: choose from {', '.join(CHECKS)}")
    return list(dict.fromkeys(names))


def run_checks(
    kubectl: Kubectl,
    names: Sequence[str],
    opts: CheckOptions,
    clock: Clock | None = None,
    http_get: HttpGet = urllib_get,
    log: Callable[[str], None] = print,
) -> list[CheckResult]:
    clock = clock or Clock()
    results = []
    for name in names:
        if name == "gp3":
            results.append(check_gp3(kubectl, opts, clock, log))
        elif name == "efs":
            results.append(check_efs(kubectl, opts, clock, log))
        elif name == "s3":
            results.append(check_s3(kubectl, opts, clock, log))
        elif name == "alb":
            results.append(check_alb(kubectl, opts, clock, log, http_get))
        else:
            raise SmokeError(f"unknown check {name}")
        log(results[-1].format())
    return results
