"""EKS access entries for people and pipelines, each with one access policy (cluster or namespaces)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial

import pulumi
import pulumi_aws as aws

from components.blocks.aws_context import AwsContext
from config.cluster import AdminAccess


def access_policy_arn(partition: str, policy: str) -> str:
    return f"arn:{partition}:eks::aws:cluster-access-policy/{policy}"


def principal_key(arn: str) -> str:
    """A stable logical-name key for a principal: its last path segment and a digest of the ARN."""
    return f"{arn.rsplit('/', 1)[-1]}-{hashlib.sha256(arn.encode()).hexdigest()[:6]}"


@dataclass
class AdminAccessArgs:
    cluster: pulumi.Input[str]
    aws: AwsContext
    entries: list[AdminAccess]


class AdminAccessEntries(pulumi.ComponentResource):
    def __init__(self, name: str, args: AdminAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("karpenter-eks:access:AdminAccessEntries", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        for entry in args.entries:
            key = f"{name}-{principal_key(entry.principal_arn)}"
            access = aws.eks.AccessEntry(
                key, cluster_name=args.cluster, principal_arn=entry.principal_arn, type="STANDARD", opts=child
            )
            scope = (
                aws.eks.AccessPolicyAssociationAccessScopeArgs(type="namespace", namespaces=entry.namespaces)
                if entry.namespaces
                else aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster")
            )
            aws.eks.AccessPolicyAssociation(
                key,
                cluster_name=args.cluster,
                principal_arn=access.principal_arn,
                policy_arn=args.aws.partition.apply(partial(access_policy_arn, policy=entry.policy)),
                access_scope=scope,
                opts=child,
            )
        self.register_outputs({})
