"""The Karpenter controller's IAM role, assumed through IRSA, with Karpenter's own least-privilege
managed policies (one per upstream policy, statement for statement). Never a Pod Identity association:
the controller runs on Fargate, where the Pod Identity agent cannot run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.blocks.aws_context import AwsContext
from components.blocks.iam_role import IamRole, RoleArgs, customer_managed_policy
from components.blocks.naming import controller_policy_name_prefix, controller_role_name_prefix
from components.documents import iam as iam_documents


@dataclass
class ControllerRoleArgs:
    cluster_name: str
    aws: AwsContext
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    namespace: str
    service_account: str
    node_role_arn: pulumi.Input[str]
    queue_arn: pulumi.Input[str]
    manage_instance_profiles: bool
    path: str = "/"
    permissions_boundary_arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    role_name: str | None = None
    """Exact name of an existing controller role taken over (else a name prefix)."""


class ControllerRole(pulumi.ComponentResource):
    role: aws.iam.Role
    role_arn: pulumi.Output[str]
    attachments: list[aws.iam.RolePolicyAttachment]

    def __init__(
        self, name: str, args: ControllerRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("karpenter-eks:iam:ControllerRole", name, None, opts)
        trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
            lambda v: json.dumps(
                iam_documents.controller_trust_policy(
                    oidc_provider_arn=v[0],
                    oidc_issuer=v[1],
                    namespace=args.namespace,
                    service_account=args.service_account,
                )
            )
        )
        identity = IamRole(
            name,
            RoleArgs(
                # A prefix: a replacement (a new `iam.path`) creates the new role first; the controller
                # rolls onto it (its pods carry the role ARN as an annotation) before the old one goes.
                name_prefix=controller_role_name_prefix(args.cluster_name),
                path=args.path,
                tags=args.tags,
                permissions_boundary=args.permissions_boundary_arn,
                assume_role_policy=trust,
                description=f"Karpenter controller of EKS cluster {args.cluster_name} (IRSA)",
                name=args.role_name,
            ),
            self,
        )
        self.role = identity.role
        documents = pulumi.Output.all(
            args.aws.partition, args.aws.account_id, args.node_role_arn, args.queue_arn
        ).apply(
            lambda v: iam_documents.controller_policies(
                partition=v[0],
                region=args.aws.region,
                account_id=v[1],
                cluster_name=args.cluster_name,
                node_role_arn=v[2],
                queue_arn=v[3],
                manage_instance_profiles=args.manage_instance_profiles,
            )
        )
        for policy in iam_documents.POLICY_NAMES:
            managed = customer_managed_policy(
                f"{name}-{policy}",
                name_prefix=controller_policy_name_prefix(policy, args.cluster_name),
                path=args.path,
                document=documents.apply(lambda docs, p=policy: _dump(docs[p])),  # type: ignore[misc]
                description=f"Karpenter {policy} permissions for EKS cluster {args.cluster_name}",
                parent=self,
            )
            identity.attach(policy, managed.arn)
        self.attachments = identity.attachments
        self.role_arn = self.role.arn
        self.register_outputs({"roleArn": self.role.arn})


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document)
