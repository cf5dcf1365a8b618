"""Karpenter itself: its namespace, the `karpenter-crd` chart (so `helm upgrade` upgrades the CRDs too)
and the `karpenter` chart, controller on Fargate with IRSA and `dnsPolicy: Default`."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.blocks.helm import KARPENTER_CHART_REPOSITORY, ChartCredentials, release_args
from components.blocks.naming import KARPENTER_CHART, KARPENTER_CRD_CHART
from components.cluster.fargate import FARGATE_LABEL
from components.documents import iam as iam_documents
from config.karpenter import KarpenterConfig

IRSA_ANNOTATION = iam_documents.IRSA_ANNOTATION
ROLE_POD_ANNOTATION = iam_documents.ROLE_POD_ANNOTATION
FARGATE_SCHEDULER = "fargate-scheduler"
CRD_NAMESPACE = "kube-system"
"""Where the `karpenter-crd` release (its Helm record) lives: a namespace this stack never deletes and
no config key changes. Its CRDs are cluster-scoped and reference no namespace (the 1.14.1 CRDs have no
conversion webhook), so the release never depends on the controller's namespace."""


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
        "podAnnotations": {ROLE_POD_ANNOTATION: role_arn},
        # Pods created right after a profile turns ACTIVE can miss the Fargate admission webhook and wait
        # forever for default-scheduler (karpenter-provider-aws #7455); naming the Fargate scheduler
        # removes that race.
        "schedulerName": FARGATE_SCHEDULER,
        # The VPC resolver: the controller never waits for CoreDNS (which may itself wait for nodes).
        "dnsPolicy": "Default",
        "replicas": config.replicas,
        "logLevel": config.log_level,
        "controller": {"resources": {"requests": dict(resources), "limits": dict(resources)}},
    }
    return deep_merge(values, config.helm_values)


@dataclass
class KarpenterReleaseArgs:
    cluster_name: str
    cluster_endpoint: pulumi.Input[str]
    queue_name: pulumi.Input[str]
    controller_role_arn: pulumi.Input[str]
    config: KarpenterConfig
    wait_for: Sequence[pulumi.Resource]
    chart_repository: str = KARPENTER_CHART_REPOSITORY
    chart_credentials: ChartCredentials | None = None
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
            release_args(
                name=KARPENTER_CRD_CHART,
                chart=KARPENTER_CRD_CHART,
                version=cfg.version,
                namespace=CRD_NAMESPACE,
                values={},
                repository=args.chart_repository,
                credentials=args.chart_credentials,
            ),
            # A Release is replaced when its namespace changes (pulumi-kubernetes helm_release.go), and
            # replacing this one deletes the CRDs and with them every NodePool, EC2NodeClass and NodeClaim
            # (every Karpenter node). Stacks deployed before CRD_NAMESPACE keep the release where it is
            # (the controller's namespace); see README "Changing a running stack". On those stacks the
            # release's Helm record lives in that namespace, so destroy removes the release before the
            # namespace (depends_on; a dependency without inputs never replaces it).
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["namespace"], depends_on=[self.namespace]
            ),
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
            release_args(
                name=KARPENTER_CHART,
                chart=KARPENTER_CHART,
                version=cfg.version,
                namespace=self.namespace.metadata.name,
                values=values,
                repository=args.chart_repository,
                credentials=args.chart_credentials,
                skip_crds=True,
            ),
            # A namespace change replaces the release: delete first, so two controllers never run at once
            # (the NodePools and EC2NodeClasses wait for it through depends_on only, without property
            # dependencies, so the engine keeps them: it replaces dependents of a delete-first
            # replacement only when their inputs depend on it).
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.crds, *args.wait_for], delete_before_replace=True
            ),
        )
        self.register_outputs({"status": self.controller.status})
