"""Karpenter itself: its namespace, the `karpenter-crd` chart (so `helm upgrade` upgrades the CRDs too)
and the `karpenter` chart, controller on Fargate with IRSA and `dnsPolicy: Default`."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.fargate import FARGATE_LABEL
from config.models import KarpenterConfig

CHART_REPOSITORY = "oci://public.ecr.aws/karpenter"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`overrides` merged into a copy of `base`: maps merge key by key, anything else replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def controller_values(
    *,
    cluster_name: str,
    cluster_endpoint: str,
    queue_name: str,
    role_arn: str,
    config: KarpenterConfig,
) -> dict[str, Any]:
    """The `karpenter` chart's values. Every key path exists in the chart's values.yaml (tested)."""
    resources = {"cpu": config.resources.cpu, "memory": config.resources.memory}
    values: dict[str, Any] = {
        "settings": {
            "clusterName": cluster_name,
            "clusterEndpoint": cluster_endpoint,
            "interruptionQueue": queue_name,
            "featureGates": {"spotToSpotConsolidation": config.spot_to_spot_consolidation},
        },
        "serviceAccount": {
            "create": True,
            "name": config.service_account,
            "annotations": {IRSA_ANNOTATION: role_arn},
        },
        # The Fargate profile selects these pods.
        "podLabels": dict(FARGATE_LABEL),
        # The VPC resolver: the controller never waits for CoreDNS (which may itself wait for nodes).
        "dnsPolicy": "Default",
        "replicas": config.replicas,
        "logLevel": config.log_level,
        "controller": {"resources": {"requests": dict(resources), "limits": dict(resources)}},
    }
    return deep_merge(values, config.helm_values)


def release_args(
    chart: str,
    version: str,
    namespace: pulumi.Input[str],
    values: pulumi.Input[Mapping[str, Any]],
    **extra: Any,
) -> k8s.helm.v3.ReleaseArgs:
    return k8s.helm.v3.ReleaseArgs(
        name=chart,
        chart=f"{CHART_REPOSITORY}/{chart}",
        version=version,
        namespace=namespace,
        values=values,
        atomic=True,
        cleanup_on_fail=True,
        timeout=600,
        max_history=10,
        **extra,
    )


@dataclass
class KarpenterReleaseArgs:
    cluster_name: str
    cluster_endpoint: pulumi.Input[str]
    queue_name: pulumi.Input[str]
    controller_role_arn: pulumi.Input[str]
    config: KarpenterConfig
    wait_for: Sequence[pulumi.Resource]
    """What must exist before the controller starts: the active Fargate profile, the controller role's
    policy attachments, the queue policy and rules (the queue itself comes in through the values)."""


class KarpenterRelease(pulumi.ComponentResource):
    namespace: k8s.core.v1.Namespace
    crds: k8s.helm.v3.Release
    controller: k8s.helm.v3.Release

    def __init__(
        self, name: str, args: KarpenterReleaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("karpenter-eks:karpenter:KarpenterRelease", name, None, opts)
        cfg = args.config
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=cfg.namespace),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.crds = k8s.helm.v3.Release(
            f"{name}-crd",
            release_args("karpenter-crd", cfg.version, self.namespace.metadata.name, {}),
            opts=pulumi.ResourceOptions(parent=self),
        )
        values = pulumi.Output.all(args.cluster_endpoint, args.queue_name, args.controller_role_arn).apply(
            lambda v: controller_values(
                cluster_name=args.cluster_name,
                cluster_endpoint=v[0],
                queue_name=v[1],
                role_arn=v[2],
                config=cfg,
            )
        )
        self.controller = k8s.helm.v3.Release(
            f"{name}-controller",
            # CRDs belong to the karpenter-crd release: Helm never upgrades a chart's crds/ folder.
            release_args("karpenter", cfg.version, self.namespace.metadata.name, values, skip_crds=True),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.crds, *args.wait_for]),
        )
        self.register_outputs({"status": self.controller.status})
