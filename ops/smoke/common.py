"""What the smoke test's parts share: its errors, the node labels it reads, a clock and polling, the
options of the add-on checks, and reading pod JSON."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ops.kubectl import Kubectl, KubectlError

MANAGED_BY = "karpenter-eks-smoke"

NODEPOOL_LABEL = "karpenter.sh/nodepool"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
ARCH_LABEL = "kubernetes.io/arch"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
ZONE_LABEL = "topology.kubernetes.io/zone"
UNKNOWN = "?"

T = TypeVar("T")


class SmokeError(Exception):
    """A usage problem, or what the cluster answered makes no sense: exit status 2."""


ERRORS = (SmokeError, KubectlError)
"""What a step of the smoke test can fail with: reported (exit status 2, or a check's problem), not raised."""


def get_doc(kubectl: Kubectl, args: Sequence[str]) -> dict[str, Any]:
    """`kubectl get <args> -o json` as a dict ({} for anything else)."""
    doc = kubectl.get_json(args)
    return doc if isinstance(doc, dict) else {}


def items(doc: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    items = (doc or {}).get("items") or []
    return [i for i in items if isinstance(i, Mapping)]


def live(pod: Mapping[str, Any]) -> bool:
    return not (pod.get("metadata") or {}).get("deletionTimestamp")


def pending_reasons(pods_json: Mapping[str, Any]) -> list[str]:
    """The distinct reasons the scheduler and kubelet give for pods that are not Running yet."""
    reasons: dict[str, None] = {}
    for pod in items(pods_json):
        status = pod.get("status") or {}
        if not live(pod) or status.get("phase") == "Running":
            continue
        for cond in status.get("conditions") or []:
            if cond.get("status") == "False" and cond.get("message"):
                reasons[f"{cond.get('type')}: {cond.get('reason', '')} {cond['message']}".strip()] = None
        for cs in status.get("containerStatuses") or []:
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason"):
                reasons[f"container {waiting['reason']}: {waiting.get('message', '')}".strip()] = None
    return list(reasons)


@dataclass(frozen=True)
class Clock:
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class CheckOptions:
    gp3_class: str = "gp3"
    efs_class: str = "efs"
    ingress_class: str = "alb"
    alb_scheme: str = "internet-facing"
    s3_claim: str | None = None
    s3_namespace: str | None = None
    s3_run_as_user: int | None = None
    timeout: float = 600
    interval: float = 10
    ingress_delete_timeout: float = 600
    token: str = field(default_factory=lambda: secrets.token_hex(4))


def wait_for(probe: Callable[[], T | None], opts: CheckOptions, clock: Clock, deadline: float) -> T | None:
    """Poll `probe` until it returns something, or `deadline` (a clock.now() value) passes."""
    while True:
        value = probe()
        if value:
            return value
        now = clock.now()
        if now >= deadline:
            return None
        clock.sleep(max(min(opts.interval, deadline - now), 0))
