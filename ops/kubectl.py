"""The one kubectl client of the operator tools: every call to a live cluster goes through `Kubectl`.

It runs the `kubectl` binary (no Python Kubernetes client: the tools need nothing beyond the standard
library and whatever the kubeconfig's exec plugin needs, `aws` for EKS). A failed, refused or silent
call raises `KubectlError` with kubectl's own message; `is_not_found` tells a missing object apart.

    kubectl = Kubectl(kubeconfig=Path("kubeconfig.json"))
    nodes = kubectl.get_json(["nodes"])                  # the parsed `kubectl get nodes -o json`
    names = kubectl.get_names(["nodepools.karpenter.sh"])  # ["nodepool.karpenter.sh/default", ...]

Tests give it a `runner` with the signature of `subprocess.run` (or subclass it and override `run`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

Runner = Callable[..., "subprocess.CompletedProcess[str]"]
"""`subprocess.run`, or a fake of it: called as runner(argv, input=, capture_output=True, text=True,
timeout=, check=False)."""


class KubectlError(Exception):
    """kubectl could not be run, did not answer in time, or exited non-zero (the message says which)."""


def is_not_found(exc: BaseException) -> bool:
    """Whether a kubectl failure says the object does not exist (`Error from server (NotFound)`)."""
    text = str(exc)
    return "NotFound" in text or "not found" in text


class Kubectl:
    """kubectl with a fixed kubeconfig and context. Every method raises `KubectlError` on failure."""

    def __init__(
        self,
        kubectl: str = "kubectl",
        kubeconfig: Path | str | None = None,
        context: str | None = None,
        runner: Runner = subprocess.run,
    ) -> None:
        self.binary = kubectl
        self.base = [kubectl]
        if kubeconfig is not None:
            self.base += ["--kubeconfig", str(kubeconfig)]
        if context:
            self.base += ["--context", context]
        self.runner = runner

    def run(self, args: Sequence[str], *, stdin: str | None = None, timeout: float = 120) -> str:
        """kubectl `args` (with `stdin` on its standard input): its standard output."""
        shown = " ".join(args)
        try:
            done = self.runner(
                [*self.base, *args],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise KubectlError(f"{self.binary} not found on PATH") from exc
        except subprocess.TimeoutExpired as exc:
            raise KubectlError(f"kubectl {shown} did not answer in {timeout:.0f}s") from exc
        except OSError as exc:
            raise KubectlError(f"cannot run {self.binary}: {exc}") from exc
        if done.returncode != 0:
            raise KubectlError(f"kubectl {shown} failed: {done.stderr.strip() or done.stdout.strip()}")
        return str(done.stdout)

    def get_json(self, args: Sequence[str]) -> Any:
        """`kubectl get <args> -o json`, parsed: a dict for one object, a `List` dict for several."""
        out = self.run(["get", *args, "-o", "json"])
        try:
            return json.loads(out)
        except json.JSONDecodeError as exc:
            raise KubectlError(f"kubectl get {' '.join(args)}: not JSON ({exc})") from exc

    def get_names(self, args: Sequence[str]) -> list[str]:
        """`kubectl get <args> -o name`: `kind.group/name` of each object."""
        return self.run(["get", *args, "-o", "name"]).split()

    def apply(self, manifest: Mapping[str, Any], timeout: float = 120) -> str:
        """`kubectl apply -f -` of one manifest."""
        return self.run(["apply", "-f", "-"], stdin=json.dumps(manifest), timeout=timeout)

    def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        wait: float | None = None,
        timeout: float = 180,
    ) -> str:
        """Delete one object if it exists, waiting for it to go (up to `wait` seconds, when given)."""
        where = ["--namespace", namespace] if namespace else []
        limit = [f"--timeout={wait:.0f}s"] if wait is not None else []
        return self.run(
            ["delete", kind, name, *where, "--ignore-not-found", "--wait=true", *limit], timeout=timeout
        )

    def exec(self, namespace: str, pod: str, script: str, timeout: float = 60) -> str:
        """`sh -c script` in the pod's (first) container: its standard output."""
        return self.run(["exec", "--namespace", namespace, pod, "--", "sh", "-c", script], timeout=timeout)

    def logs(self, namespace: str, pod: str, tail: int = 5) -> str:
        """The last `tail` lines the pod logged."""
        return self.run(["logs", "--namespace", namespace, pod, f"--tail={tail}"])
