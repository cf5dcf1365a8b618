"""Amazon EFS: an encrypted file system with one mount target per private subnet and a security group that
admits NFS from the cluster security group (or an existing file system by ID), the EKS add-on
`aws-efs-csi-driver` (IRSA for both its service accounts; the controller on the stack's Fargate profile), and
the `efs` StorageClass (one access point per claim).

Dynamic provisioning serves pods on EC2 nodes: the node DaemonSet mounts the access points, and Fargate runs
no CSI node plugin. Pods on Fargate (Portainer) mount EFS through a static PersistentVolume of
`file_system_id`, which Fargate's built-in EFS client mounts; they wait for `mount_targets`."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.addons.storage_common import AddonArgs, eks_addon, irsa_role
from components.documents import storage as docs
from config.addons_storage import EfsConfig

NFS_PORT = 2049


@dataclass
class EfsArgs:
    common: AddonArgs
    config: EfsConfig
    vpc_id: pulumi.Input[str]
    cluster_security_group_id: pulumi.Input[str]
    private_subnets: dict[str, pulumi.Input[str]]
    """Availability zone -> a private subnet of it: one mount target each (EFS takes one per zone)."""
    fargate_security_group_id: pulumi.Input[str] | None = None
    """Adopt mode with `existing.securityGroupId`: the cluster security group EKS created, which Fargate
    pods (Portainer) carry, admitted too."""


class EfsStorage(pulumi.ComponentResource):
    file_system_id: pulumi.Output[str]
    storage_class_name: str
    mount_targets: list[pulumi.Resource]
    """The mount targets (empty for an existing file system, whose mount targets are not this stack's)."""
    profile: aws.eks.FargateProfile
    addon: aws.eks.Addon

    def __init__(self, name: str, args: EfsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("karpenter-eks:addons:EfsStorage", name, None, opts)
        c, cfg = args.common, args.config
        child = pulumi.ResourceOptions(parent=self)
        self.mount_targets = []
        if cfg.creates:
            group = aws.ec2.SecurityGroup(
                f"{name}-nfs",
                vpc_id=args.vpc_id,
                description=f"NFS to the EFS file system of EKS cluster {c.cluster_name}",
                tags={"Name": f"{c.cluster_name}-efs"},
                opts=child,
            )
            # Every pod and node of the cluster carries the cluster security group (Fargate pods too); with
            # `existing.securityGroupId`, Fargate pods carry the group EKS created, admitted as well.
            sources = {"cluster": (args.cluster_security_group_id, "the cluster security group")}
            if args.fargate_security_group_id is not None:
                sources["fargate"] = (
                    args.fargate_security_group_id,
                    "the EKS cluster security group (Fargate)",
                )
            rules: list[pulumi.Resource] = [
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-nfs-from-{key}",
                    security_group_id=group.id,
                    referenced_security_group_id=source,
                    ip_protocol="tcp",
                    from_port=NFS_PORT,
                    to_port=NFS_PORT,
                    description=f"NFS from {what}",
                    opts=child,
                )
                for key, (source, what) in sources.items()
            ]
            file_system = aws.efs.FileSystem(
                f"{name}-fs",
                encrypted=True,
                kms_key_id=cfg.kms_key_arn,
                throughput_mode=cfg.throughput_mode,
                tags={"Name": f"{c.cluster_name}-efs"},
                # Data lives here: `pulumi destroy` stops at a protected file system (addons.efs.protect).
                opts=pulumi.ResourceOptions(parent=self, protect=cfg.protect),
            )
            for key, subnet_id in sorted(args.private_subnets.items()):
                # Always replaced delete-first by pulumi-aws (EFS allows one mount target per AZ).
                self.mount_targets.append(
                    aws.efs.MountTarget(
                        f"{name}-mount-{key}",
                        file_system_id=file_system.id,
                        subnet_id=subnet_id,
                        security_groups=[group.id],
                        opts=pulumi.ResourceOptions(parent=self, depends_on=rules),
                    )
                )
            self.file_system_id = file_system.id
        else:
            assert cfg.file_system_id is not None
            self.file_system_id = pulumi.Output.from_input(cfg.file_system_id)

        role, grants = irsa_role(
            name,
            "EfsCsiDriver",
            c,
            [docs.EFS_CONTROLLER.service_account, docs.EFS_NODE.service_account],
            "AmazonEFSCSIDriverPolicy",
            # No KMS grants: EFS encrypts at rest itself; the driver only manages access points and mounts.
            {},
            self,
        )
        self.addon = eks_addon(
            name,
            c,
            docs.EFS_ADDON,
            cfg.version,
            docs.efs_configuration_values(),
            role.arn,
            # The driver is installed once the file system can be mounted, so on destroy it stays until
            # every claim is gone and is removed before the mount targets and the file system.
            [c.fargate_profile, *grants, *self.mount_targets],
            self,
        )
        manifest = self.file_system_id.apply(
            lambda fs: docs.efs_storage_class(
                file_system_id=fs,
                default=cfg.default_class,
                base_path=cfg.base_path,
                directory_perms=cfg.directory_perms,
            )
        )
        self.storage_class_name = "efs"
        k8s.storage.v1.StorageClass(
            f"{name}-class",
            metadata={
                "name": self.storage_class_name,
                "annotations": {docs.DEFAULT_CLASS_ANNOTATION: str(cfg.default_class).lower()},
            },
            provisioner=docs.EFS_PROVISIONER,
            parameters=manifest.apply(lambda m: m["parameters"]),
            reclaim_policy="Delete",
            volume_binding_mode="Immediate",
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=c.k8s_provider,
                depends_on=[self.addon],
                replace_on_changes=["reclaimPolicy", "volumeBindingMode"],
                delete_before_replace=True,
            ),
        )
        self.register_outputs({"fileSystemId": self.file_system_id, "storageClass": self.storage_class_name})
