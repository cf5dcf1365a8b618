"""The add-on checks' steps against the cluster: the result, the cleanup that undoes what a check
created, and waiting for claims, pods and files."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ops.kubectl import Kubectl, is_not_found
from ops.smoke.checks.manifests import ENDED, event_reasons, node_line, phase, pod_running, terminated_reasons
from ops.smoke.common import ERRORS, NODEPOOL_LABEL, CheckOptions, Clock, get_doc, pending_reasons, wait_for


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


class Cleanup:
    """What a check created, undone in reverse order whatever happens."""

    def __init__(self, kubectl: Kubectl, log: Callable[[str], None]) -> None:
        self.kubectl = kubectl
        self.log = log
        self.actions: list[tuple[str, Callable[[], None]]] = []

    def add(self, description: str, action: Callable[[], None]) -> None:
        self.actions.append((description, action))

    def delete_later(self, kind: str, name: str, namespace: str | None = None, wait: float = 180) -> None:
        def delete() -> None:
            self.kubectl.delete(kind, name, namespace, wait=wait, timeout=wait + 30)

        self.add(f"delete {kind}/{name}" + (f" in {namespace}" if namespace else ""), delete)

    def apply(self, manifest: Mapping[str, Any], wait: float = 180) -> None:
        """Apply, having first registered the deletion (a failed apply may still have created it)."""
        meta = manifest["metadata"]
        self.delete_later(manifest["kind"].lower(), meta["name"], meta.get("namespace"), wait)
        self.kubectl.apply(manifest)

    def run(self) -> list[str]:
        problems = []
        while self.actions:
            description, action = self.actions.pop()
            self.log(f"  cleanup: {description}")
            try:
                action()
            except ERRORS as exc:
                problems.append(f"{description} failed, do it by hand: {exc}")
        return problems


@contextmanager
def checking(result: CheckResult, cleanup: Cleanup) -> Iterator[None]:
    """Around a check's body: a SmokeError or KubectlError becomes one of its problems, and what it
    created is deleted whatever happened (failure, timeout, Ctrl-C), in reverse order."""
    try:
        yield
    except ERRORS as exc:
        result.problems.append(str(exc))
    finally:
        result.cleanup_problems += cleanup.run()


class _Ended(Exception):
    pass


def get_or_none(
    kubectl: Kubectl, kind: str, name: str, namespace: str | None = None
) -> dict[str, Any] | None:
    where = ["--namespace", namespace] if namespace else []
    try:
        return get_doc(kubectl, [kind, name, *where])
    except ERRORS as exc:
        if is_not_found(exc):
            return None
        raise


def events_about(kubectl: Kubectl, namespace: str, kind: str, name: str) -> list[str]:
    try:
        doc = get_doc(
            kubectl,
            [
                "events",
                "--namespace",
                namespace,
                "--field-selector",
                f"involvedObject.kind={kind},involvedObject.name={name}",
            ],
        )
    except ERRORS as exc:
        return [f"(events unavailable: {exc})"]
    return event_reasons(doc)


def why_pods_wait(kubectl: Kubectl, namespace: str, pods: Sequence[str]) -> list[str]:
    reasons: list[str] = []
    for name in pods:
        doc = get_or_none(kubectl, "pod", name, namespace)
        if doc is None:
            reasons.append(f"pod {name} does not exist")
            continue
        if pod_running(doc):
            continue
        reasons.append(f"pod {name} is {phase(doc)}")
        reasons += [f"  {r}" for r in pending_reasons({"items": [doc]})]
        reasons += [f"  {r}" for r in terminated_reasons(doc)]
        reasons += [f"  {r}" for r in events_about(kubectl, namespace, "Pod", name)]
        if phase(doc) in ENDED:
            try:
                logs = kubectl.logs(namespace, name).strip()
            except ERRORS as exc:
                logs = f"(logs unavailable: {exc})"
            reasons += [f"  log: {line}" for line in logs.splitlines()]
    return reasons


def claim_and_pods(
    kubectl: Kubectl,
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
        pvc = get_or_none(kubectl, "pvc", claim, namespace)
        if phase(pvc) != "Bound":
            return None
        docs = [get_or_none(kubectl, "pod", p, namespace) for p in pods]
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
        result.problems += why_pods_wait(kubectl, namespace, pods)
        return None
    if found is None:
        pvc = get_or_none(kubectl, "pvc", claim, namespace)
        if pvc is None:
            result.problems.append(f"claim {claim} does not exist in {namespace}")
        elif phase(pvc) != "Bound":
            result.problems.append(f"claim {claim} is {phase(pvc)} after {opts.timeout:g}s")
            result.problems += [
                f"  {r}" for r in events_about(kubectl, namespace, "PersistentVolumeClaim", claim)
            ]
        else:
            result.problems.append(f"claim {claim} is Bound, but not every pod runs after {opts.timeout:g}s")
        result.problems += why_pods_wait(kubectl, namespace, pods)
    return found


def volume_line(kubectl: Kubectl, pvc: Mapping[str, Any]) -> str:
    volume = str((pvc.get("spec") or {}).get("volumeName") or "?")
    pv = get_or_none(kubectl, "pv", volume) or {}
    csi = (pv.get("spec") or {}).get("csi") or {}
    cls = (pv.get("spec") or {}).get("storageClassName") or (pvc.get("spec") or {}).get("storageClassName")
    name = (pvc.get("metadata") or {}).get("name", "?")
    driver, handle = csi.get("driver", "?"), csi.get("volumeHandle", "?")
    return f"claim {name} Bound to {volume} (class {cls or 'none'}, {driver} {handle})"


def node_of(kubectl: Kubectl, pod: Mapping[str, Any], result: CheckResult) -> str:
    node_name = str((pod.get("spec") or {}).get("nodeName") or "")
    node = get_or_none(kubectl, "node", node_name) if node_name else None
    text, karpenter = node_line(node or {"metadata": {"name": node_name or "?"}})
    pod_name = (pod.get("metadata") or {}).get("name", "?")
    result.found.append(f"pod {pod_name} Running on {text}")
    if not karpenter:
        result.problems.append(
            f"pod {pod_name} runs on {node_name or '?'}, which has no {NODEPOOL_LABEL} label"
        )
    return node_name


def read_back(
    kubectl: Kubectl,
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
            last[0] = kubectl.exec(namespace, pod, f"cat {path}").strip()
        except ERRORS as exc:
            last[0] = str(exc)
        return last[0] == token

    return None if wait_for(probe, opts, clock, deadline) else last[0]
