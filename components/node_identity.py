"""What Karpenter's EC2 nodes are: the node IAM role, its instance profile (named in the EC2NodeClass)
and the EKS access entry of type EC2_LINUX that lets them join the cluster."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import iam_documents
from components.aws_context import AwsContext
from components.naming import IAM_ROLE_NAME_MAX, bounded_name


def node_role_name(cluster_name: str) -> str:
    """Upstream's `KarpenterNodeRole-<cluster>`, shortened deterministically to IAM's 64 characters."""
    return bounded_name(f"KarpenterNodeRole-{cluster_name}", IAM_ROLE_NAME_MAX)


def policy_key(arn: str) -> str:
    """A stable logical-name key for a managed policy: its name, never its position in a list."""
    return arn.rsplit("/", 1)[-1]


@dataclass
class NodeIdentityArgs:
    cluster_name: str
    cluster: pulumi.Input[str]
    """The cluster's name as an Output of the cluster, so the access entry waits for it."""
    aws: AwsContext
    path: str = "/"
    permissions_boundary_arn: str | None = None
    extra_policy_arns: list[str] = field(default_factory=list)
    create_spot_service_linked_role: bool = False


class NodeIdentity(pulumi.ComponentResource):
    role: aws.iam.Role
    instance_profile: aws.iam.InstanceProfile
    access_entry: aws.eks.AccessEntry
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]
    instance_profile_name: pulumi.Output[str]

    def __init__(self, name: str, args: NodeIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("karpenter-eks:iam:NodeIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role_name = node_role_name(args.cluster_name)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=role_name,
            path=args.path,
            permissions_boundary=args.permissions_boundary_arn,
            assume_role_policy=args.aws.dns_suffix.apply(
                lambda dns: json.dumps(iam_documents.node_trust_policy(dns))
            ),
            description=f"Nodes Karpenter launches for EKS cluster {args.cluster_name}",
            opts=child,
        )
        attachments: list[pulumi.Resource] = []
        for key in iam_documents.NODE_MANAGED_POLICIES:

            def managed_arn(partition: str, key: str = key) -> str:
                return next(
                    a for a in iam_documents.node_managed_policy_arns(partition) if policy_key(a) == key
                )

            attachments.append(
                aws.iam.RolePolicyAttachment(
                    f"{name}-{key}",
                    role=self.role.name,
                    policy_arn=args.aws.partition.apply(managed_arn),
                    opts=child,
                )
            )
        for arn in args.extra_policy_arns:
            attachments.append(
                aws.iam.RolePolicyAttachment(
                    f"{name}-{policy_key(arn)}", role=self.role.name, policy_arn=arn, opts=child
                )
            )
        self.instance_profile = aws.iam.InstanceProfile(
            f"{name}-profile", name=role_name, path=args.path, role=self.role.name, opts=child
        )
        self.access_entry = aws.eks.AccessEntry(
            f"{name}-access",
            cluster_name=args.cluster,
            principal_arn=self.role.arn,
            type="EC2_LINUX",
            opts=child,
        )
        if args.create_spot_service_linked_role:
            aws.iam.ServiceLinkedRole(
                f"{name}-spot-slr",
                aws_service_name="spot.amazonaws.com",
                description="Lets EC2 launch and manage Spot Instances (Karpenter's Spot NodePools)",
                # Account-wide and shared with everything else that uses Spot: never delete it.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
        self.attachments = attachments
        self.role_arn = self.role.arn
        self.role_name = self.role.name
        self.instance_profile_name = self.instance_profile.name
        self.register_outputs(
            {
                "roleArn": self.role.arn,
                "instanceProfileName": self.instance_profile.name,
                "accessEntryArn": self.access_entry.access_entry_arn,
            }
        )
