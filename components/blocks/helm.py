"""How every Helm release of this program is described: one install and upgrade policy, and the chart's
source (an OCI reference or an HTTP chart repository) with optional registry credentials."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

KARPENTER_CHART_REPOSITORY = "oci://public.ecr.aws/karpenter"
"""Where Karpenter's charts come from unless `karpenter.chartRepository` says otherwise."""
RELEASE_POLICY: dict[str, Any] = {"atomic": True, "cleanup_on_fail": True, "timeout": 600, "max_history": 10}
"""How every Helm release of this program is installed and upgraded: a failed install or upgrade rolls
back and cleans up (atomic), within 10 minutes, keeping 10 revisions for `helm rollback`."""


@dataclass(frozen=True)
class ChartCredentials:
    """Registry login for the OCI chart pulls (pulumi-kubernetes logs in with these through a temporary
    credential store, ignoring a stale token in Docker's or Helm's)."""

    username: pulumi.Input[str]
    password: pulumi.Input[str]


def release_args(
    *,
    name: str,
    chart: str,
    version: str,
    namespace: pulumi.Input[str],
    values: pulumi.Input[Mapping[str, Any]],
    repository: str,
    credentials: ChartCredentials | None = None,
    **extra: Any,
) -> k8s.helm.v3.ReleaseArgs:
    """A release under RELEASE_POLICY. Helm names an OCI chart by its full reference (`oci://…/chart`,
    credentials through `repository_opts`); a chart of an HTTP repository by its name and `repo`."""
    if repository.startswith("oci://"):
        chart_ref = f"{repository.rstrip('/')}/{chart}"
        repository_opts = (
            k8s.helm.v3.RepositoryOptsArgs(
                username=credentials.username, password=pulumi.Output.secret(credentials.password)
            )
            if credentials
            else None
        )
    else:
        chart_ref = chart
        repository_opts = k8s.helm.v3.RepositoryOptsArgs(
            repo=repository,
            username=credentials.username if credentials else None,
            password=pulumi.Output.secret(credentials.password) if credentials else None,
        )
    return k8s.helm.v3.ReleaseArgs(
        name=name,
        chart=chart_ref,
        version=version,
        namespace=namespace,
        values=values,
        repository_opts=repository_opts,
        **RELEASE_POLICY,
        **extra,
    )
