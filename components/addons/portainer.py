"""Portainer CE from its chart, on Fargate, its data on EFS, its admin password from a Pulumi secret, and
optionally an ALB Ingress made by the load balancer controller.

Facts of the pinned chart (portainer/k8s `charts/portainer` at chart 239.4.0), each relied on here:
- Pods carry only the chart's selector labels `app.kubernetes.io/name: portainer` and
  `app.kubernetes.io/instance: <release>` (templates/_helpers.tpl `portainer.selectorLabels`); the chart has
  no podLabels value, so the stack's Fargate profile selects those two in every namespace
  (components/cluster/fargate.py `PORTAINER_POD_LABELS`).
- `adminPassword.existingSecret` mounts the Secret's `password` key and passes
  `--admin-password-file=/run/portainer/admin-password` (templates/deployment.yaml): the admin exists from
  the first start, so nobody can claim the instance through first-visitor setup.
- `persistence.existingClaim` mounts our claim at /data instead of the chart's own claim (templates/pvc.yaml).
- The Service is named after the release (`portainer`, as the release name contains the chart name),
  port `http` 9000 when `tls.force` is off (templates/service.yaml).

Storage: Fargate mounts EFS through its own EFS support and needs the claim bound before it schedules
the pod; EFS CSI dynamic provisioning (access point per claim) is not supported for Fargate pods (AWS,
aws/containers-roadmap#891; the EKS user guide's EFS page), so this component creates an EFS access
point and a static PersistentVolume (`volumeHandle: <fs>::<fsap>`) bound to a claim of its own.

The Ingress is a resource of its own, not the chart's: it depends on the load balancer controller's
release, so `pulumi destroy` deletes it while the controller still runs; the controller's finalizer on
the Ingress holds the deletion until the ALB and its target groups are gone (otherwise they would be
orphaned, and the VPC could not be deleted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.blocks.helm import release_args
from config.addons_ingress import PortainerConfig, PortainerIngressConfig

CHART = "portainer"
CHART_REPOSITORY = "https://portainer.github.io/k8s/"
RELEASE_NAME = CHART
SERVICE_NAME = RELEASE_NAME
"""The chart's fullname: the release name, as it contains the chart name."""
HTTP_PORT = 9000
POD_LABELS = {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": RELEASE_NAME}
ADMIN_PASSWORD_SECRET = "portainer-admin-password"
CLAIM_NAME = "portainer-data"
CLAIM_SIZE = "10Gi"
"""Required by Kubernetes, ignored by EFS (elastic); the chart's default size."""
EFS_CSI_DRIVER = "efs.csi.aws.com"
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
"""TLS 1.3 and 1.2 only (the controller's default, ELBSecurityPolicy-2016-08, still allows TLS 1.0)."""


def volume_handle(file_system_id: str, access_point_id: str) -> str:
    """The EFS CSI driver's static volume handle for an access point: `<fs>::<fsap>` (the driver's
    examples/kubernetes/access_points/README.md: `volumeHandle: [FileSystemId]::[AccessPointId]`)."""
    return f"{file_system_id}::{access_point_id}"


def persistent_volume_name(namespace: str) -> str:
    """Cluster-scoped, so named after the namespace it serves."""
    return f"{namespace}-portainer-data"


def portainer_values(*, trusted_origin: str | None, resources: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The chart's values. Every key path exists in the pinned chart's values.yaml (tested)."""
    values: dict[str, Any] = {
        "service": {"type": "ClusterIP"},
        "persistence": {"enabled": True, "existingClaim": CLAIM_NAME},
        "adminPassword": {"existingSecret": ADMIN_PASSWORD_SECRET},
        # Our own Ingress (below), never the chart's.
        "ingress": {"enabled": False},
        # Requests equal to limits (`portainer.resources`); the chart sets none (values.yaml `resources:
        # {}`, rendered into the container by templates/deployment.yaml), which gets Fargate's smallest size.
        "resources": resources,
    }
    if trusted_origin:
        # Portainer refuses cross-origin requests behind a proxy unless the public host is trusted.
        values["trusted_origins"] = {"enabled": True, "domains": trusted_origin}
    return values


def ingress_annotations(cfg: PortainerIngressConfig) -> dict[str, str]:
    """The ALB the load balancer controller makes: HTTPS only, `ip` targets (Fargate has no node ports)."""
    if cfg.certificate_arn is None:
        raise ValueError("a Portainer Ingress needs a certificate ARN (the config refuses it without)")
    annotations = {
        "alb.ingress.kubernetes.io/scheme": cfg.scheme,
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS": 443}]',
        "alb.ingress.kubernetes.io/certificate-arn": cfg.certificate_arn,
        "alb.ingress.kubernetes.io/ssl-policy": SSL_POLICY,
        "alb.ingress.kubernetes.io/backend-protocol": "HTTP",
    }
    if cfg.allowed_cidrs:
        annotations["alb.ingress.kubernetes.io/inbound-cidrs"] = ",".join(str(c) for c in cfg.allowed_cidrs)
    return annotations


def ingress_spec(cfg: PortainerIngressConfig, ingress_class: str) -> k8s.networking.v1.IngressSpecArgs:
    """One rule (the configured host, or any host): everything to Portainer's HTTP port."""
    return k8s.networking.v1.IngressSpecArgs(
        ingress_class_name=ingress_class,
        rules=[
            k8s.networking.v1.IngressRuleArgs(
                host=cfg.host,
                http=k8s.networking.v1.HTTPIngressRuleValueArgs(
                    paths=[
                        k8s.networking.v1.HTTPIngressPathArgs(
                            path="/",
                            path_type="Prefix",
                            backend=k8s.networking.v1.IngressBackendArgs(
                                service=k8s.networking.v1.IngressServiceBackendArgs(
                                    name=SERVICE_NAME,
                                    port=k8s.networking.v1.ServiceBackendPortArgs(number=HTTP_PORT),
                                )
                            ),
                        )
                    ]
                ),
            )
        ],
    )


@dataclass
class PortainerArgs:
    cluster_name: str
    fargate_profile: pulumi.Resource
    """The stack's Fargate profile, which selects `POD_LABELS` in every namespace."""
    file_system_id: pulumi.Input[str]
    """The EFS file system Portainer's data lives on (the EFS add-on's `file_system_id`)."""
    config: PortainerConfig
    wait_for: Sequence[pulumi.Resource] = ()
    """What the pod needs before it mounts EFS: the file system's mount targets (EFS add-on's
    `mount_targets`) and the EFS add-on itself, which brings the `efs.csi.aws.com` CSIDriver object the
    static volume names. Destroy then removes Portainer before them."""
    ingress_controller: pulumi.Resource | None = None
    """The load balancer controller's release: required when the config asks for an Ingress."""
    ingress_class: str = "alb"


class Portainer(pulumi.ComponentResource):
    """Pass both providers in `opts.providers` (AWS and Kubernetes)."""

    access_point: aws.efs.AccessPoint
    claim: k8s.core.v1.PersistentVolumeClaim
    release: k8s.helm.v3.Release
    ingress: k8s.networking.v1.Ingress | None

    def __init__(self, name: str, args: PortainerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        cfg = args.config
        if cfg.admin_password is None:
            raise ValueError("Portainer needs an admin password (the config refuses it without)")
        if cfg.ingress.enabled and args.ingress_controller is None:
            raise ValueError("a Portainer Ingress needs the load balancer controller's release")
        super().__init__("karpenter-eks:addons:Portainer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata=k8s.meta.v1.ObjectMetaArgs(name=cfg.namespace), opts=child
        )
        ns = namespace.metadata.name
        # Portainer's image runs as root: the access point's directory is root's, closed to others.
        self.access_point = aws.efs.AccessPoint(
            f"{name}-data",
            file_system_id=args.file_system_id,
            posix_user=aws.efs.AccessPointPosixUserArgs(uid=0, gid=0),
            root_directory=aws.efs.AccessPointRootDirectoryArgs(
                path=f"/portainer/{args.cluster_name}/{cfg.namespace}",
                creation_info=aws.efs.AccessPointRootDirectoryCreationInfoArgs(
                    owner_uid=0, owner_gid=0, permissions="0700"
                ),
            ),
            tags={"Name": f"{args.cluster_name}-portainer"},
            opts=child,
        )
        pv_name = persistent_volume_name(cfg.namespace)
        volume = k8s.core.v1.PersistentVolume(
            f"{name}-data",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=pv_name),
            spec=k8s.core.v1.PersistentVolumeSpecArgs(
                capacity={"storage": CLAIM_SIZE},
                volume_mode="Filesystem",
                access_modes=["ReadWriteOnce"],
                # The data outlives the claim: deleting Portainer never deletes its database.
                persistent_volume_reclaim_policy="Retain",
                # No class: nothing provisions dynamically for this claim, it binds to this volume only.
                storage_class_name="",
                claim_ref=k8s.core.v1.ObjectReferenceArgs(namespace=cfg.namespace, name=CLAIM_NAME),
                csi=k8s.core.v1.CSIPersistentVolumeSourceArgs(
                    driver=EFS_CSI_DRIVER,
                    volume_handle=pulumi.Output.all(args.file_system_id, self.access_point.id).apply(
                        lambda v: volume_handle(v[0], v[1])
                    ),
                ),
            ),
            opts=child,
        )
        self.claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-data",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CLAIM_NAME, namespace=ns),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"],
                storage_class_name="",
                volume_name=volume.metadata.name,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": CLAIM_SIZE}),
            ),
            opts=child,
        )
        password = k8s.core.v1.Secret(
            f"{name}-admin-password",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ADMIN_PASSWORD_SECRET, namespace=ns),
            type="Opaque",
            string_data={"password": pulumi.Output.secret(cfg.admin_password.get_secret_value())},
            opts=child,
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            release_args(
                name=RELEASE_NAME,
                chart=CHART,
                repository=CHART_REPOSITORY,
                version=cfg.version,
                namespace=ns,
                values=portainer_values(
                    trusted_origin=cfg.ingress.host if cfg.ingress.enabled else None,
                    resources=cfg.resources.as_helm(),
                ),
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[args.fargate_profile, self.claim, password, *args.wait_for]
            ),
        )
        self.ingress = None
        if cfg.ingress.enabled:
            assert args.ingress_controller is not None
            self.ingress = k8s.networking.v1.Ingress(
                f"{name}-ingress",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=RELEASE_NAME, namespace=ns, annotations=ingress_annotations(cfg.ingress)
                ),
                spec=ingress_spec(cfg.ingress, args.ingress_class),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release, args.ingress_controller]),
            )
        self.register_outputs({"status": self.release.status})
