"""ops/kubectl.py with a fake `subprocess.run`: the command lines it builds and how failures read."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import Any

import pytest

from ops.kubectl import Kubectl, KubectlError, is_not_found


class Recorder:
    def __init__(self, stdout: str = "", returncode: int = 0, stderr: str = "") -> None:
        self.calls: list[tuple[list[str], dict[str, Any]]] = []
        self.answer = (stdout, returncode, stderr)

    def __call__(self, argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((list(argv), kw))
        stdout, code, stderr = self.answer
        return subprocess.CompletedProcess(argv, code, stdout, stderr)


def test_command_lines() -> None:
    fake = Recorder('{"items": []}')
    k = Kubectl("kc", kubeconfig="cfg.json", context="prod", runner=fake)
    assert k.get_json(["nodes"]) == {"items": []}
    k.apply({"kind": "Namespace"})
    k.delete("pod", "p", "ns", wait=30, timeout=60)
    k.exec("ns", "p", "true")
    k.logs("ns", "p")
    argvs = [argv for argv, _ in fake.calls]
    base = ["kc", "--kubeconfig", "cfg.json", "--context", "prod"]
    assert argvs == [
        [*base, "get", "nodes", "-o", "json"],
        [*base, "apply", "-f", "-"],
        [
            *base,
            "delete",
            "pod",
            "p",
            "--namespace",
            "ns",
            "--ignore-not-found",
            "--wait=true",
            "--timeout=30s",
        ],
        [*base, "exec", "--namespace", "ns", "p", "--", "sh", "-c", "true"],
        [*base, "logs", "--namespace", "ns", "p", "--tail=5"],
    ]
    assert fake.calls[1][1]["input"] == '{"kind": "Namespace"}'
    assert fake.calls[2][1]["timeout"] == 60


def test_get_names_without_kubeconfig() -> None:
    fake = Recorder("nodepool.karpenter.sh/a\nnodepool.karpenter.sh/b\n")
    assert Kubectl(runner=fake).get_names(["nodepools.karpenter.sh"]) == [
        "nodepool.karpenter.sh/a",
        "nodepool.karpenter.sh/b",
    ]
    assert fake.calls[0][0] == ["kubectl", "get", "nodepools.karpenter.sh", "-o", "name"]


def test_failures_are_kubectl_errors() -> None:
    missing = Recorder(returncode=1, stderr='Error from server (NotFound): pods "p" not found\n')
    with pytest.raises(KubectlError, match=r"kubectl get pod p -o json failed: Error from server") as info:
        Kubectl(runner=missing).get_json(["pod", "p"])
    assert is_not_found(info.value)
    with pytest.raises(KubectlError, match="not JSON"):
        Kubectl(runner=Recorder("oops")).get_json(["nodes"])

    def slow(argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(argv, kw["timeout"])

    with pytest.raises(KubectlError, match="did not answer in 120s"):
        Kubectl(runner=slow).run(["version"])
    with pytest.raises(KubectlError, match="no-such-kubectl not found on PATH"):
        Kubectl("/nonexistent/no-such-kubectl").run(["version"])
    assert not is_not_found(KubectlError("kubectl get nodes failed: Unauthorized"))
