"""What Karpenter's EC2 nodes are: the node IAM role, its instance profile (named in the EC2NodeClass)
and the EKS access entry of type EC2_LINUX that lets them join the cluster."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.blocks.aws_context import AwsContext
from components.blocks.iam_role import STABLE_IDENTITY, IamRole, RoleArgs, policy_key
from components.blocks.naming import (
    INSTANCE_PROFILE_NAME_PREFIX_MAX,
    NODE_ROLE_DESCRIPTION,
    NODE_ROLE_PREFIX,
    bounded_prefix,
    node_role_name_prefix,
)
from components.documents import iam as iam_documents


@dataclass
class NodeIdentityArgs:
    cluster_name: str
    cluster: pulumi.Input[str]
    """The cluster's name as an Output of the cluster, so the access entry waits for it."""
    aws: AwsContext
    path: str = "/"
    permissions_boundary_arn: str | None = None
    extra_policy_arns: list[str] = field(default_factory=list)
    spot_service_linked_role: Literal["ensure", "create", "skip"] = "ensure"
    tags: dict[str, str] = field(default_factory=dict)
    """Tags on the role and instance profile (the stack tag)."""
    role_name: str | None = None
    """Exact names of an existing role and instance profile taken over (else name prefixes)."""
    instance_profile_name: str | None = None


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
        stable = pulumi.ResourceOptions(parent=self, ignore_changes=STABLE_IDENTITY)
        policies: dict[str, pulumi.Input[str]] = {}
        for key in iam_documents.NODE_MANAGED_POLICIES:

            def managed_arn(partition: str, key: str = key) -> str:
                return next(
                    a for a in iam_documents.node_managed_policy_arns(partition) if policy_key(a) == key
                )

            policies[key] = args.aws.partition.apply(managed_arn)
        # Unique keys, none of the managed ones: the config validates it.
        policies.update({policy_key(arn): arn for arn in args.extra_policy_arns})
        identity = IamRole(
            name,
            RoleArgs(
                name_prefix=node_role_name_prefix(args.cluster_name),
                path=args.path,
                tags=args.tags,
                permissions_boundary=args.permissions_boundary_arn,
                assume_role_policy=args.aws.dns_suffix.apply(
                    lambda dns: json.dumps(iam_documents.node_trust_policy(dns))
                ),
                description=NODE_ROLE_DESCRIPTION.format(cluster=args.cluster_name),
                policies=policies,
                per_generation=False,
                stable_identity=True,
                name=args.role_name,
            ),
            self,
        )
        self.role = identity.role
        attachments: list[pulumi.Resource] = list(identity.attachments)
        self.instance_profile = aws.iam.InstanceProfile(
            f"{name}-profile",
            name=args.instance_profile_name,
            name_prefix=None
            if args.instance_profile_name
            else bounded_prefix(f"{NODE_ROLE_PREFIX}{args.cluster_name}", INSTANCE_PROFILE_NAME_PREFIX_MAX),
            path=args.path,
            role=self.role.name,
            tags=args.tags or None,
            opts=stable,
        )
        self.access_entry = aws.eks.AccessEntry(
            f"{name}-access",
            cluster_name=args.cluster,
            principal_arn=self.role.arn,
            type="EC2_LINUX",
            opts=child,
        )
        self.spot_service_linked_role: aws.iam.ServiceLinkedRole | None = None
        if args.spot_service_linked_role == "create" or (
            args.spot_service_linked_role == "ensure" and not spot_service_linked_role_exists(self)
        ):
            # `ensure` registers it only while the account lacks it. On the next `pulumi up` the lookup
            # finds the role this stack created, so it is no longer registered and Pulumi plans to delete
            # it: retain_on_delete (kept in the state) makes that delete drop it from the state only, and
            # the role stays in the account. The same holds for `pulumi destroy`.
            self.spot_service_linked_role = aws.iam.ServiceLinkedRole(
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


SPOT_SERVICE_LINKED_ROLE = "AWSServiceRoleForEC2Spot"
SPOT_SERVICE_LINKED_ROLE_PATH = "/aws-service-role/spot.amazonaws.com/"


def spot_service_linked_role_exists(parent: pulumi.Resource) -> bool:
    """Whether the account has the Spot service-linked role (a plain lookup: known at preview). getRoles
    answers an empty list when it is missing, where getRole would fail."""
    found = aws.iam.get_roles(
        name_regex=f"^{SPOT_SERVICE_LINKED_ROLE}$",
        path_prefix=SPOT_SERVICE_LINKED_ROLE_PATH,
        opts=pulumi.InvokeOptions(parent=parent),
    )
    return SPOT_SERVICE_LINKED_ROLE in (found.names or [])
