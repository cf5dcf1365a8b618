"""The add-on checks' pure parts: the objects they create, and what the cluster's JSON says."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ops.smoke.common import MANAGED_BY, NODEPOOL_LABEL

CHECK_IMAGE = "public.ecr.aws/docker/library/busybox:1.36"
MOUNT = "/data"


def check_labels(check: str) -> dict[str, str]:
    return {"app": f"smoke-{check}", "app.kubernetes.io/managed-by": MANAGED_BY}


def namespace_manifest(name: str, check: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": check_labels(check)},
    }


def claim_manifest(
    name: str, namespace: str, storage_class: str, access_mode: str, check: str
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace, "labels": check_labels(check)},
        "spec": {
            "accessModes": [access_mode],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": "1Gi"}},  # EFS ignores the size; the API requires one
        },
    }


def karpenter_affinity(spread_from: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Only nodes Karpenter launched; with `spread_from`, rather not beside pods with those labels."""
    affinity: dict[str, Any] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": NODEPOOL_LABEL, "operator": "Exists"}]}]
            }
        }
    }
    if spread_from:
        affinity["podAntiAffinity"] = {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": dict(spread_from)},
                    },
                }
            ]
        }
    return affinity


def pod_manifest(
    name: str,
    namespace: str,
    check: str,
    *,
    script: str,
    claim: str | None = None,
    labels: Mapping[str, str] | None = None,
    spread_from: Mapping[str, str] | None = None,
    run_as_user: int | None = None,
    port: int | None = None,
) -> dict[str, Any]:
    """A busybox pod on a Karpenter node running `script` (sh -c), the claim mounted at /data."""
    container: dict[str, Any] = {
        "name": "check",
        "image": CHECK_IMAGE,
        "command": ["sh", "-c", script],
        "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False},
    }
    if claim:
        container["volumeMounts"] = [{"name": "data", "mountPath": MOUNT}]
    if port:
        container["ports"] = [{"name": "http", "containerPort": port}]
    spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": 0,
        "restartPolicy": "Never" if port is None else "Always",
        "affinity": karpenter_affinity(spread_from),
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
    }
    if run_as_user is not None:
        spec["securityContext"] |= {"runAsUser": run_as_user, "runAsGroup": run_as_user}
    if claim:
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    meta_labels = {**check_labels(check), **(labels or {})}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": meta_labels},
        "spec": spec,
    }


ENDED = ("Failed", "Succeeded")  # a check pod that ended will not run again (restartPolicy Never)


def terminated_reasons(pod: Mapping[str, Any]) -> list[str]:
    """Why a pod's containers ended (a check's script failed: permission denied on the volume, ...)."""
    out = []
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        ended = (cs.get("state") or {}).get("terminated") or {}
        if ended:
            detail = f"container {cs.get('name', '?')} terminated: {ended.get('reason', '?')}"
            out.append(f"{detail}, exit code {ended.get('exitCode', '?')}")
    return out


def phase(doc: Mapping[str, Any] | None) -> str:
    return str(((doc or {}).get("status") or {}).get("phase") or "Unknown")


def pod_running(doc: Mapping[str, Any] | None) -> bool:
    return phase(doc) == "Running"


def event_reasons(events: Mapping[str, Any] | None) -> list[str]:
    """`kubectl get events -o json`: each distinct reason and message, warnings first."""
    items = [e for e in ((events or {}).get("items") or []) if isinstance(e, Mapping)]
    items.sort(key=lambda e: e.get("type") != "Warning")
    seen: dict[str, None] = {}
    for e in items:
        kind = (e.get("involvedObject") or {}).get("kind", "")
        name = (e.get("involvedObject") or {}).get("name", "")
        seen[f"{kind} {name}: {e.get('reason', '')} {e.get('message', '')}".strip()] = None
    return list(seen)


def node_line(node: Mapping[str, Any]) -> tuple[str, bool]:
    """A node's description, and whether Karpenter launched it."""
    meta = node.get("metadata") or {}
    labels: Mapping[str, str] = meta.get("labels") or {}
    pool = labels.get(NODEPOOL_LABEL)
    detail = ", ".join(
        labels.get(k, "?")
        for k in (
            "karpenter.sh/capacity-type",
            "node.kubernetes.io/instance-type",
            "topology.kubernetes.io/zone",
        )
    )
    text = f"node {meta.get('name', '?')} (NodePool {pool or 'none'}; {detail})"
    return text, pool is not None
