"""Kubernetes: a Helm release reports itself deployed; every other object keeps its inputs."""

from __future__ import annotations

from harness.fake.world import Registration


def _helm_release(r: Registration) -> None:
    r.state["status"] = {"status": "deployed", "version": 1, "namespace": r.inputs.get("namespace")}


RESOURCES = {"kubernetes:helm.sh/v3:Release": _helm_release}
