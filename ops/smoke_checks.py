"""The smoke test's opt-in checks of the add-ons, the ones the guides run by hand after an install:

  gp3  a claim of the gp3 StorageClass is bound on a node Karpenter launched (EBS CSI driver)
  efs  a ReadWriteMany claim of the efs StorageClass is shared by two pods: one writes, the other reads
  s3   a pod mounts a bucket's claim (the static PV/PVC the program creates per bucket), writes an object
       and reads it back (Mountpoint for S3)
  alb  an Ingress of the alb class (target type ip) gets an ALB whose address answers HTTP with what the
       service behind it serves (AWS Load Balancer Controller)

Run them with `python -m ops.smoke --check gp3,efs,s3,alb ...` (see ops/smoke.py). Each check creates
its own namespace `smoke-<check>-<token>` (the s3 check runs its pod in the claim's namespace instead:
a claim is namespaced) and deletes everything it created when it ends, in reverse order, also on failure,
timeout or Ctrl-C; the Ingress is deleted first and waited for, so the load balancer controller removes
the ALB before its controller-side objects go. The pods run on Karpenter's nodes (the storage drivers'
node components run on EC2, not on Fargate) as root without privilege escalation: volume ownership
differs per driver (an EFS access point's directory belongs to its POSIX user; Mountpoint allows only
the mounting user unless the PV's mountOptions say `uid`/`allow-other`, as in upstream's static
provisioning example, whose pod runs as root).

The checks talk to the cluster only through `kubectl` (the `Runner` protocol, faked in the tests) and
to the ALB through an injectable HTTP getter.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from ops.smoke import NODEPOOL_LABEL, SmokeError, pending_reasons

CHECK_IMAGE = "public.ecr.aws/docker/library/busybox:1.36"
MANAGED_BY = "karpenter-eks-smoke"
MOUNT = "/data"
CHECKS = ("gp3", "efs", "s3", "alb")

T = TypeVar("T")


class Runner(Protocol):
    """What the checks need of kubectl (ops.smoke.Kubectl, or a fake)."""

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120) -> str: ...

    def get_json(self, *args: str) -> dict[str, Any]: ...


HttpGet = Callable[[str, float], tuple[int, str]]
"""(url, timeout seconds) -> (HTTP status, body); status 0 when nothing answered."""


def urllib_get(url: str, timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(65536).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc)


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


@dataclass
class CheckResult:
    name: str
    found: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cleanup_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self) -> str:
        status = "OK" if self.ok else "FAILED"
        lines = [f"[{self.name}] {status}"]
        lines += [f"  {line}" for line in self.found]
        lines += [f"  PROBLEM: {p}" for p in self.problems]
        lines += [f"  CLEANUP: {p}" for p in self.cleanup_problems]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# Pure parts: manifests, and what the cluster's JSON says.


def _labels(check: str) -> dict[str, str]:
    return {"app": f"smoke-{check}", "app.kubernetes.io/managed-by": MANAGED_BY}


def namespace_manifest(name: str, check: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": _labels(check)}}


def claim_manifest(
    name: str, namespace: str, storage_class: str, access_mode: str, check: str
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels(check)},
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
    meta_labels = {**_labels(check), **(labels or {})}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": meta_labels},
        "spec": spec,
    }


HTTP_PORT = 8080


def web_manifests(namespace: str, ingress_class: str, scheme: str, token: str) -> list[dict[str, Any]]:
    """A Deployment serving `token` over HTTP (busybox httpd), its ClusterIP Service, and an Ingress of
    `ingress_class` to it with target type ip (the ALB sends to pod IPs, as on Fargate)."""
    labels = {"app": "smoke-alb"}
    pod = pod_manifest(
        "web",
        namespace,
        "alb",
        script=(
            f"mkdir -p /tmp/www && echo {token} > /tmp/www/index.html "
            f"&& exec httpd -f -p {HTTP_PORT} -h /tmp/www"
        ),
        labels=labels,
        port=HTTP_PORT,
    )
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "smoke-alb", "namespace": namespace, "labels": _labels("alb")},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": pod["metadata"]["labels"]}, "spec": pod["spec"]},
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "smoke-alb", "namespace": namespace, "labels": _labels("alb")},
        "spec": {
            "type": "ClusterIP",
            "selector": labels,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "smoke-alb",
            "namespace": namespace,
            "labels": _labels("alb"),
            "annotations": {
                "alb.ingress.kubernetes.io/scheme": scheme,
                "alb.ingress.kubernetes.io/target-type": "ip",
                "alb.ingress.kubernetes.io/healthcheck-path": "/",
            },
        },
        "spec": {
            "ingressClassName": ingress_class,
            "rules": [
                {
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "smoke-alb", "port": {"number": 80}}},
                            }
                        ]
                    }
                }
            ],
        },
    }
    return [deployment, service, ingress]


ENDED = ("Failed", "Succeeded")  # a check pod that ended will not run again (restartPolicy Never)


class _Ended(Exception):
    pass


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


def ingress_hostname(doc: Mapping[str, Any] | None) -> str | None:
    ingresses = (((doc or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    for entry in ingresses:
        if isinstance(entry, Mapping) and (entry.get("hostname") or entry.get("ip")):
            return str(entry.get("hostname") or entry.get("ip"))
    return None


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


# ---------------------------------------------------------------------------------------------------------
# Doing it


class Cleanup:
    """What a check created, undone in reverse order whatever happens."""

    def __init__(self, kubectl: Runner, log: Callable[[str], None]) -> None:
        self.kubectl = kubectl
        self.log = log
        self.actions: list[tuple[str, Callable[[], None]]] = []

    def add(self, description: str, action: Callable[[], None]) -> None:
        self.actions.append((description, action))

    def delete_later(self, kind: str, name: str, namespace: str | None = None, wait: float = 180) -> None:
        where = ["--namespace", namespace] if namespace else []

        def delete() -> None:
            self.kubectl.run(
                "delete",
                kind,
                name,
                *where,
                "--ignore-not-found",
                "--wait=true",
                f"--timeout={wait:.0f}s",
                timeout=wait + 30,
            )

        self.add(f"delete {kind}/{name}" + (f" in {namespace}" if namespace else ""), delete)

    def apply(self, manifest: Mapping[str, Any], wait: float = 180) -> None:
        """Apply, having first registered the deletion (a failed apply may still have created it)."""
        meta = manifest["metadata"]
        self.delete_later(manifest["kind"].lower(), meta["name"], meta.get("namespace"), wait)
        self.kubectl.run("apply", "-f", "-", stdin=json.dumps(manifest))

    def run(self) -> list[str]:
        problems = []
        while self.actions:
            description, action = self.actions.pop()
            self.log(f"  cleanup: {description}")
            try:
                action()
            except SmokeError as exc:
                problems.append(f"{description} failed, do it by hand: {exc}")
        return problems


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


def _get(kubectl: Runner, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
    where = ["--namespace", namespace] if namespace else []
    try:
        return kubectl.get_json(kind, name, *where)
    except SmokeError as exc:
        if "NotFound" in str(exc) or "not found" in str(exc):
            return None
        raise


def _events(kubectl: Runner, namespace: str, kind: str, name: str) -> list[str]:
    try:
        doc = kubectl.get_json(
            "events",
            "--namespace",
            namespace,
            "--field-selector",
            f"involvedObject.kind={kind},involvedObject.name={name}",
        )
    except SmokeError as exc:
        return [f"(events unavailable: {exc})"]
    return event_reasons(doc)


def _exec(kubectl: Runner, namespace: str, pod: str, script: str) -> str:
    return kubectl.run("exec", "--namespace", namespace, pod, "--", "sh", "-c", script, timeout=60)


def _why_pods_wait(kubectl: Runner, namespace: str, pods: Sequence[str]) -> list[str]:
    reasons: list[str] = []
    for name in pods:
        doc = _get(kubectl, "pod", name, namespace)
        if doc is None:
            reasons.append(f"pod {name} does not exist")
            continue
        if pod_running(doc):
            continue
        reasons.append(f"pod {name} is {phase(doc)}")
        reasons += [f"  {r}" for r in pending_reasons({"items": [doc]})]
        reasons += [f"  {r}" for r in terminated_reasons(doc)]
        reasons += [f"  {r}" for r in _events(kubectl, namespace, "Pod", name)]
        if phase(doc) in ENDED:
            try:
                logs = kubectl.run("logs", "--namespace", namespace, name, "--tail=5").strip()
            except SmokeError as exc:
                logs = f"(logs unavailable: {exc})"
            reasons += [f"  log: {line}" for line in logs.splitlines()]
    return reasons


def _claim_and_pods(
    kubectl: Runner,
    namespace: str,
    claim: str,
    pods: Sequence[str],
    result: CheckResult,
    opts: CheckOptions,
    clock: Clock,
    deadline: float,
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """Wait until the claim is Bound and every pod Running; on timeout, record why not."""

    ended = [False]

    def probe() -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        pvc = _get(kubectl, "pvc", claim, namespace)
        if phase(pvc) != "Bound":
            return None
        docs = [_get(kubectl, "pod", p, namespace) for p in pods]
        ended[0] = any(phase(d) in ENDED for d in docs)
        if ended[0]:
            raise _Ended
        if not all(pod_running(d) for d in docs):
            return None
        return pvc or {}, [d or {} for d in docs]

    try:
        found = wait_for(probe, opts, clock, deadline)
    except _Ended:
        result.problems.append(f"claim {claim} is Bound, but a pod stopped (its script failed)")
        result.problems += _why_pods_wait(kubectl, namespace, pods)
        return None
    if found is None:
        pvc = _get(kubectl, "pvc", claim, namespace)
        if pvc is None:
            result.problems.append(f"claim {claim} does not exist in {namespace}")
        elif phase(pvc) != "Bound":
            result.problems.append(f"claim {claim} is {phase(pvc)} after {opts.timeout:g}s")
            result.problems += [f"  {r}" for r in _events(kubectl, namespace, "PersistentVolumeClaim", claim)]
        else:
            result.problems.append(f"claim {claim} is Bound, but not every pod runs after {opts.timeout:g}s")
        result.problems += _why_pods_wait(kubectl, namespace, pods)
    return found


def _volume_line(kubectl: Runner, pvc: Mapping[str, Any]) -> str:
    volume = str((pvc.get("spec") or {}).get("volumeName") or "?")
    pv = _get(kubectl, "pv", volume) or {}
    csi = (pv.get("spec") or {}).get("csi") or {}
    cls = (pv.get("spec") or {}).get("storageClassName") or (pvc.get("spec") or {}).get("storageClassName")
    name = (pvc.get("metadata") or {}).get("name", "?")
    driver, handle = csi.get("driver", "?"), csi.get("volumeHandle", "?")
    return f"claim {name} Bound to {volume} (class {cls or 'none'}, {driver} {handle})"


def _node_of(kubectl: Runner, pod: Mapping[str, Any], result: CheckResult) -> str:
    node_name = str((pod.get("spec") or {}).get("nodeName") or "")
    node = _get(kubectl, "node", node_name) if node_name else None
    text, karpenter = node_line(node or {"metadata": {"name": node_name or "?"}})
    pod_name = (pod.get("metadata") or {}).get("name", "?")
    result.found.append(f"pod {pod_name} Running on {text}")
    if not karpenter:
        result.problems.append(
            f"pod {pod_name} runs on {node_name or '?'}, which has no {NODEPOOL_LABEL} label"
        )
    return node_name


def _read_back(
    kubectl: Runner,
    namespace: str,
    pod: str,
    path: str,
    token: str,
    opts: CheckOptions,
    clock: Clock,
    deadline: float,
) -> str | None:
    """Read `path` in `pod` until it holds `token`; None when it does by the deadline, else what was read."""
    last = [""]

    def probe() -> bool:
        try:
            last[0] = _exec(kubectl, namespace, pod, f"cat {path}").strip()
        except SmokeError as exc:
            last[0] = str(exc)
        return last[0] == token

    return None if wait_for(probe, opts, clock, deadline) else last[0]


@contextmanager
def checking(result: CheckResult, cleanup: Cleanup) -> Iterator[None]:
    """Around a check's body: a SmokeError becomes one of its problems, and what it created is deleted
    whatever happened (failure, timeout, Ctrl-C), in reverse order."""
    try:
        yield
    except SmokeError as exc:
        result.problems.append(str(exc))
    finally:
        result.cleanup_problems += cleanup.run()


def check_gp3(kubectl: Runner, opts: CheckOptions, clock: Clock, log: Callable[[str], None]) -> CheckResult:
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
        found = _claim_and_pods(kubectl, namespace, claim, [pod], result, opts, clock, deadline)
        if found is None:
            return result
        pvc, [pod_doc] = found
        result.found.append(_volume_line(kubectl, pvc))
        _node_of(kubectl, pod_doc, result)
        read = _read_back(kubectl, namespace, pod, f"{MOUNT}/smoke", opts.token, opts, clock, deadline)
        if read is None:
            result.found.append(f"wrote and read back {MOUNT}/smoke")
        else:
            result.problems.append(
                f"{MOUNT}/smoke does not hold what was written ({opts.token}): {read or 'empty'}"
            )
    return result


def check_efs(kubectl: Runner, opts: CheckOptions, clock: Clock, log: Callable[[str], None]) -> CheckResult:
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
        found = _claim_and_pods(kubectl, namespace, claim, [writer, reader], result, opts, clock, deadline)
        if found is None:
            return result
        pvc, docs = found
        result.found.append(_volume_line(kubectl, pvc))
        nodes = {_node_of(kubectl, d, result) for d in docs}
        result.found.append(
            "the pods share one node" if len(nodes) == 1 else "the pods run on different nodes"
        )
        read = _read_back(kubectl, namespace, reader, path, opts.token, opts, clock, deadline)
        if read is None:
            result.found.append(f"{reader} read what {writer} wrote to {path}")
        else:
            result.problems.append(
                f"{reader} does not read what {writer} wrote to {path} ({opts.token}): {read or 'empty'}"
            )
    return result


def check_s3(kubectl: Runner, opts: CheckOptions, clock: Clock, log: Callable[[str], None]) -> CheckResult:
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
        claim_doc = _get(kubectl, "pvc", claim, namespace)
        if claim_doc is None:
            result.problems.append(f"claim {claim} does not exist in namespace {namespace}")
            return result
        cleanup.apply(
            pod_manifest(
                pod, namespace, "s3", script="sleep 3600", claim=claim, run_as_user=opts.s3_run_as_user
            )
        )
        found = _claim_and_pods(kubectl, namespace, claim, [pod], result, opts, clock, deadline)
        if found is None:
            return result
        pvc, [pod_doc] = found
        result.found.append(_volume_line(kubectl, pvc))
        _node_of(kubectl, pod_doc, result)
        _exec(kubectl, namespace, pod, f"mkdir -p {MOUNT}/karpenter-eks-smoke && echo {opts.token} > {path}")
        result.found.append(f"wrote s3 object {key}")

        def remove() -> None:
            try:
                _exec(kubectl, namespace, pod, f"rm {path}")
            except SmokeError as exc:
                raise SmokeError(
                    f"object {key} is left in the bucket (the mount refused to delete it: {exc})"
                ) from exc

        cleanup.add(f"delete object {key}", remove)
        read = _read_back(kubectl, namespace, pod, path, opts.token, opts, clock, deadline)
        if read is None:
            result.found.append(f"read {key} back")
        else:
            result.problems.append(f"{key} does not read back as written ({opts.token}): {read or 'empty'}")
    return result


def check_alb(
    kubectl: Runner,
    opts: CheckOptions,
    clock: Clock,
    log: Callable[[str], None],
    http_get: HttpGet = urllib_get,
) -> CheckResult:
    """An Ingress of the alb class (target type ip) to a small service: its ALB's address answers with what
    the service serves. The Ingress is deleted first, and waited for, so its ALB is removed."""
    result = CheckResult("alb")
    namespace = f"smoke-alb-{opts.token}"
    deadline = clock.now() + opts.timeout
    cleanup = Cleanup(kubectl, log)
    with checking(result, cleanup):
        log(
            f"[alb] Ingress of class {opts.ingress_class} ({opts.alb_scheme}, target type ip), in {namespace}"
        )
        cleanup.apply(namespace_manifest(namespace, "alb"), wait=300)
        deployment, service, ingress = web_manifests(
            namespace, opts.ingress_class, opts.alb_scheme, opts.token
        )
        cleanup.apply(deployment)
        cleanup.apply(service)
        cleanup.apply(ingress, wait=opts.ingress_delete_timeout)

        hostname = wait_for(
            lambda: ingress_hostname(_get(kubectl, "ingress", "smoke-alb", namespace)), opts, clock, deadline
        )
        if hostname is None:
            result.problems.append(f"Ingress smoke-alb has no load balancer address after {opts.timeout:g}s")
            result.problems += [f"  {r}" for r in _events(kubectl, namespace, "Ingress", "smoke-alb")]
            return result
        url = f"http://{hostname}/"
        result.found.append(f"Ingress smoke-alb has the address {hostname}")
        last: list[tuple[int, str]] = [(0, "")]

        def answers() -> bool:
            last[0] = http_get(url, 10)
            return last[0][0] == 200 and opts.token in last[0][1]

        if wait_for(answers, opts, clock, deadline):
            result.found.append(f"GET {url} answered 200 with the service's page")
        else:
            status, body = last[0]
            result.problems.append(
                f"GET {url} did not answer with the service's page after {opts.timeout:g}s: "
                + (f"HTTP {status} {body[:200]!r}" if status else f"no answer ({body})")
            )
            try:
                web = kubectl.get_json("pods", "--namespace", namespace, "--selector", "app=smoke-alb")
                result.problems += [f"  {r}" for r in pending_reasons(web)]
            except SmokeError as exc:
                result.problems.append(f"  (pods unavailable: {exc})")
            result.problems += [f"  {r}" for r in _events(kubectl, namespace, "Ingress", "smoke-alb")]
    return result


def parse_checks(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise SmokeError(f"unknown check(s) {', '.join(unknown)}: choose from {', '.join(CHECKS)}")
    return list(dict.fromkeys(names))


def run_checks(
    kubectl: Runner,
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
