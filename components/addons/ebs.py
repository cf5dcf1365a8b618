"""The Amazon EBS CSI driver as the EKS add-on `aws-ebs-csi-driver`, and the gp3 StorageClass.

The controller runs on Fargate (the stack profile selects `app: ebs-csi-controller` in kube-system): IRSA
(`serviceAccountRoleArn`) and never a Pod Identity association. Its role attaches the AWS managed policy
AmazonEBSCSIDriverPolicyV2, which limits the driver to volumes and snapshots tagged
`ebs.csi.aws.com/cluster: true`; the driver adds that tag to everything it creates (a reserved key, so the
class does not set it). A customer managed KMS key adds the grants the driver needs on that key."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.addons.storage_common import AddonArgs, eks_addon, irsa_role
from components.documents import storage as docs
from config.addons_storage import EbsConfig


@dataclass
class EbsArgs:
    common: AddonArgs
    config: EbsConfig
    demote_gp2: bool


class EbsStorage(pulumi.ComponentResource):
    profile: aws.eks.FargateProfile
    addon: aws.eks.Addon
    role_arn: pulumi.Output[str]
    storage_class_name: str
    storage_class: k8s.storage.v1.StorageClass

    def __init__(self, name: str, args: EbsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("karpenter-eks:addons:EbsStorage", name, None, opts)
        c, cfg = args.common, args.config
        inline: dict[str, pulumi.Input[str]] = {}
        if cfg.kms_key_arn:
            inline["kms"] = json.dumps(docs.kms_key_policy(cfg.kms_key_arn))
        role, grants = irsa_role(
            name,
            "EbsCsiDriver",
            c,
            [docs.EBS_CONTROLLER.service_account],
            "AmazonEBSCSIDriverPolicyV2",
            inline,
            self,
        )
        self.addon = eks_addon(
            name,
            c,
            docs.EBS_ADDON,
            cfg.version,
            docs.ebs_configuration_values(node_host_network=cfg.node_host_network, region=c.aws.region),
            role.arn,
            [c.fargate_profile, *grants],
            self,
        )
        on_cluster = pulumi.ResourceOptions(parent=self, provider=c.k8s_provider)
        manifest = docs.gp3_storage_class(
            default=cfg.default_class,
            iops=cfg.iops,
            throughput=cfg.throughput,
            kms_key_arn=cfg.kms_key_arn,
            reclaim_policy=cfg.reclaim_policy,
        )
        self.storage_class_name = manifest["metadata"]["name"]
        # Parameters and the provisioner replace a StorageClass (pulumi-kubernetes' diff); the API refuses
        # any update of reclaimPolicy and volumeBindingMode, so those replace it too. The name is fixed, so a
        # replacement deletes the class first: existing volumes are untouched, new claims wait seconds.
        self.storage_class = k8s.storage.v1.StorageClass(
            f"{name}-gp3",
            metadata=manifest["metadata"],
            provisioner=manifest["provisioner"],
            parameters=manifest["parameters"],
            reclaim_policy=manifest["reclaimPolicy"],
            volume_binding_mode=manifest["volumeBindingMode"],
            allow_volume_expansion=manifest["allowVolumeExpansion"],
            opts=pulumi.ResourceOptions.merge(
                on_cluster,
                pulumi.ResourceOptions(
                    depends_on=[self.addon],
                    replace_on_changes=["reclaimPolicy", "volumeBindingMode"],
                    delete_before_replace=True,
                ),
            ),
        )
        if args.demote_gp2:
            patch = docs.gp2_not_default_patch()
            k8s.storage.v1.StorageClassPatch(
                f"{name}-gp2-not-default",
                metadata=patch["metadata"],
                opts=pulumi.ResourceOptions.merge(
                    on_cluster, pulumi.ResourceOptions(depends_on=[self.addon])
                ),
            )
        self.role_arn = role.arn
        self.register_outputs({"roleArn": role.arn, "storageClass": self.storage_class_name})
