"""Mountpoint for Amazon S3: the EKS add-on `aws-mountpoint-s3-csi-driver`, buckets (existing or created),
and per bucket a static PersistentVolume and claim.

Credentials: the driver's node component (DaemonSet `s3-csi-node`, service account `s3-csi-driver-sa`) runs on
EC2 nodes and mounts the buckets, so it gets an EKS Pod Identity association; this is the only Pod Identity
association of the stack. The controller (`s3-csi-controller`) runs on the stack's Fargate profile, calls no
AWS API, so it gets no role at all."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.addons.storage_common import (
    AddonArgs,
    addon_role,
    customer_policy,
    eks_addon,
)
from components.blocks.arns import cluster_arn
from components.documents import storage as docs
from config.addons_storage import S3Config


@dataclass
class S3Args:
    addon: AddonArgs
    config: S3Config


class S3Storage(pulumi.ComponentResource):
    profile: aws.eks.FargateProfile
    addon: aws.eks.Addon
    claims: list[k8s.core.v1.PersistentVolumeClaim]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: S3Args, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("karpenter-eks:addons:S3Storage", name, None, opts)
        c, cfg = args.addon, args.config
        child = pulumi.ResourceOptions(parent=self)
        created: list[pulumi.Resource] = []
        for bucket in cfg.buckets:
            if not bucket.create:
                continue
            b = aws.s3.Bucket(
                f"{name}-{bucket.name}",
                bucket=bucket.name,
                opts=child,
            )
            block = aws.s3.BucketPublicAccessBlock(
                f"{name}-{bucket.name}",
                bucket=b.id,
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
                opts=child,
            )
            sse = aws.s3.BucketServerSideEncryptionConfiguration(
                f"{name}-{bucket.name}",
                bucket=b.id,
                rules=[
                    aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                        apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                            sse_algorithm="AES256"
                        )
                    )
                ],
                opts=child,
            )
            policy = aws.s3.BucketPolicy(
                f"{name}-{bucket.name}",
                bucket=b.id,
                policy=b.arn.apply(lambda arn: json.dumps(docs.tls_only_bucket_policy(bucket_arn=arn))),
                # S3 refuses a bucket policy while the public access block is being written.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[block]),
            )
            created += [b, block, sse, policy]

        trust = pulumi.Output.all(c.aws.partition, c.aws.account_id).apply(
            lambda v: json.dumps(
                docs.pod_identity_trust_policy(
                    cluster_arn=cluster_arn(v[0], c.aws.region, v[1], c.cluster_name),
                    namespace=docs.ADDON_NAMESPACE,
                    service_account=docs.S3_NODE.service_account,
                )
            )
        )
        node_role = addon_role(
            name,
            "MountpointS3CsiDriver",
            c,
            trust,
            f"Mountpoint for S3 CSI driver node of EKS cluster {c.cluster_name} (Pod Identity)",
            self,
        )
        role = node_role.role
        buckets = [(b.name, b.read_only) for b in cfg.buckets]
        grants: list[pulumi.Resource] = []
        if buckets:
            grants += customer_policy(
                "buckets",
                "MountpointS3CsiDriver",
                c,
                node_role,
                c.aws.partition.apply(
                    lambda p: json.dumps(docs.mountpoint_policy(partition=p, buckets=buckets))
                ),
                self,
            )
        association = aws.eks.PodIdentityAssociation(
            f"{name}-node-identity",
            cluster_name=c.cluster,
            namespace=docs.ADDON_NAMESPACE,
            service_account=docs.S3_NODE.service_account,
            role_arn=role.arn,
            # Session tags stay on (the default): the role's trust reads them.
            opts=child,
        )
        # The association exists before the add-on's node pods start (the Pod Identity webhook injects
        # credentials only into pods created after it).
        self.addon = eks_addon(
            name, c, docs.S3_ADDON, cfg.version, None, None, [c.fargate_profile, association, *grants], self
        )
        on_cluster = pulumi.ResourceOptions(parent=self, provider=c.k8s_provider)
        namespace_deps: list[pulumi.Resource] = []
        if cfg.namespace != "default":
            namespace_deps.append(
                k8s.core.v1.Namespace(f"{name}-namespace", metadata={"name": cfg.namespace}, opts=on_cluster)
            )
        self.claims = []
        for bucket in cfg.buckets:
            pv = docs.s3_volume(
                volume_name=bucket.volume_name,
                namespace=cfg.namespace,
                bucket=bucket.name,
                region=c.aws.region,
                read_only=bucket.read_only,
            )
            pvc = docs.s3_claim(
                volume_name=bucket.volume_name, namespace=cfg.namespace, read_only=bucket.read_only
            )
            # Volumes and claims wait for the driver (and a created bucket), so destroy removes them first.
            volume = k8s.core.v1.PersistentVolume(
                f"{name}-pv-{bucket.name}",
                metadata=pv["metadata"],
                spec=pv["spec"],
                opts=pulumi.ResourceOptions.merge(
                    on_cluster, pulumi.ResourceOptions(depends_on=[self.addon, *created])
                ),
            )
            self.claims.append(
                k8s.core.v1.PersistentVolumeClaim(
                    f"{name}-pvc-{bucket.name}",
                    metadata=pvc["metadata"],
                    spec=pvc["spec"],
                    opts=pulumi.ResourceOptions.merge(
                        on_cluster, pulumi.ResourceOptions(depends_on=[volume, *namespace_deps])
                    ),
                )
            )
        self.role_arn = role.arn
        self.register_outputs({"roleArn": role.arn})
