"""What the storage add-on components share: their arguments, IAM roles, the EKS add-on resource."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.blocks.aws_context import AwsContext
from components.blocks.iam_role import IamRole, RoleArgs, customer_managed_policy, stack_tags
from components.blocks.naming import IAM_POLICY_NAME_PREFIX_MAX, IAM_ROLE_NAME_PREFIX_MAX, bounded_prefix
from components.documents import storage as docs


@dataclass
class AddonArgs:
    """The cluster facts every add-on needs (storage, load balancer controller)."""

    cluster_name: str
    cluster: pulumi.Input[str]
    aws: AwsContext
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    pod_execution_role_arn: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[list[str]]
    fargate_profile: pulumi.Resource
    """The stack's one Fargate profile (components/cluster/fargate.py), whose selectors already name the
    add-ons' Fargate pods: what they wait for before they start."""
    k8s_provider: pulumi.ProviderResource
    path: str = "/"
    permissions_boundary_arn: str | None = None


def irsa_role(
    name: str,
    role_name: str,
    args: AddonArgs,
    service_accounts: list[str],
    managed_policy: str | None,
    inline: dict[str, pulumi.Input[str]],
    parent: pulumi.Resource,
) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
    """An IRSA role for `service_accounts` in kube-system, an AWS managed policy and customer managed
    policies (`inline`: key -> document)."""
    irsa = addon_role(
        name,
        role_name,
        args,
        pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
            lambda v: _dump(
                docs.irsa_trust_policy(
                    oidc_provider_arn=v[0],
                    oidc_issuer=v[1],
                    namespace=docs.ADDON_NAMESPACE,
                    service_accounts=service_accounts,
                )
            )
        ),
        f"{role_name} of EKS cluster {args.cluster_name} (IRSA)",
        parent,
        # Per path generation, so a new role's attachment is made before the old one's goes.
        policies={}
        if managed_policy is None
        else {managed_policy: args.aws.partition.apply(lambda p: docs.managed_policy_arn(p, managed_policy))},
    )
    grants: list[pulumi.Resource] = list(irsa.attachments)
    for key, document in inline.items():
        grants += customer_policy(key, role_name, args, irsa, document, parent)
    return irsa.role, grants


def addon_role(
    name: str,
    role_name: str,
    args: AddonArgs,
    trust: pulumi.Input[str],
    description: str,
    parent: pulumi.Resource,
    policies: Mapping[str, pulumi.Input[str]] | None = None,
) -> IamRole:
    """An add-on's role `<role_name>-<cluster>-…`, its attachments named per IAM path generation."""
    return IamRole(
        name,
        RoleArgs(
            # A prefix: replacing the role (a new `iam.path`) creates the new one first.
            name_prefix=bounded_prefix(f"{role_name}-{args.cluster_name}", IAM_ROLE_NAME_PREFIX_MAX),
            path=args.path,
            permissions_boundary=args.permissions_boundary_arn,
            # Like the core roles: a lookup tells this stack's roles from ones made by hand.
            tags=stack_tags(),
            assume_role_policy=trust,
            description=description,
            policies=policies or {},
        ),
        parent,
    )


def customer_policy(
    key: str,
    role_name: str,
    args: AddonArgs,
    role: IamRole,
    document: pulumi.Input[str],
    parent: pulumi.Resource,
) -> list[pulumi.Resource]:
    """A customer managed policy attached to `role`: name-prefixed and attached per IAM path generation,
    like the controller's, so a replacement (a new path, a new role) creates before it deletes."""
    policy = customer_managed_policy(
        f"{role.name}-{key}",
        name_prefix=bounded_prefix(f"{role_name}-{args.cluster_name}", IAM_POLICY_NAME_PREFIX_MAX),
        path=args.path,
        document=document,
        description=f"{role_name} permissions for EKS cluster {args.cluster_name}",
        parent=parent,
    )
    attachment = role.attach(key, policy.arn)
    return [policy, attachment]


def eks_addon(
    name: str,
    args: AddonArgs,
    addon_name: str,
    version: str | None,
    configuration: dict[str, Any] | None,
    service_account_role_arn: pulumi.Input[str] | None,
    depends_on: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> aws.eks.Addon:
    """The EKS add-on. pulumi-aws waits for ACTIVE (no input turns that off: aws:eks/addon:Addon has none in
    the 7.51.1 schema), and EKS reports ACTIVE only once the add-on's Deployments run; so `depends_on` must
    hold the Fargate profile of its controller, and nothing that needs EC2 nodes (DaemonSets on no node
    are healthy with zero pods)."""
    if configuration:
        # Say which check the configuration passed: the schema EKS applies is not available here.
        pulumi.log.info(docs.configuration_check_note(addon_name, version))
    return aws.eks.Addon(
        f"{name}-addon",
        cluster_name=args.cluster,
        addon_name=addon_name,
        addon_version=version,
        configuration_values=json.dumps(configuration) if configuration else None,
        service_account_role_arn=service_account_role_arn,
        # A self-managed copy installed by hand before is taken over, not duplicated.
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document)
