"""Fargate for the system pods: the pod execution role, the core Fargate profile (Karpenter's controller
and CoreDNS, with fixed selectors), a second profile for `karpenter.fargateNamespaces` created after it
(EKS creates a cluster's profiles one at a time), and, in create mode, the CoreDNS add-on configured for
Fargate once the core profile exists."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.blocks.arns import aws_managed_policy_arn
from components.blocks.aws_context import AwsContext
from components.blocks.iam_role import IamRole, RoleArgs
from components.blocks.naming import FARGATE_ROLE_PREFIX, IAM_ROLE_NAME_PREFIX_MAX, bounded_prefix
from components.documents import iam as iam_documents

FARGATE_LABEL = {"fargate": "enabled"}
COREDNS_LABEL = {"k8s-app": "kube-dns"}


def fargate_selectors(namespace: str, core_dns: bool) -> list[dict[str, object]]:
    """The core profile: pods labelled `fargate: enabled` in the controller's namespace; CoreDNS if asked.
    Nothing else, so no other config key can replace the profile Karpenter and cluster DNS run on."""
    selectors: list[dict[str, object]] = [{"namespace": namespace, "labels": dict(FARGATE_LABEL)}]
    if core_dns:
        selectors.append({"namespace": "kube-system", "labels": dict(COREDNS_LABEL)})
    return selectors


def extra_selectors(extra_namespaces: list[str]) -> list[dict[str, object]]:
    """The second profile: pods labelled `fargate: enabled` in `karpenter.fargateNamespaces`."""
    return [{"namespace": ns, "labels": dict(FARGATE_LABEL)} for ns in extra_namespaces]


def _selector_args(selectors: list[dict[str, object]]) -> list[aws.eks.FargateProfileSelectorArgs]:
    return [
        aws.eks.FargateProfileSelectorArgs(namespace=str(s["namespace"]), labels=s["labels"])  # type: ignore[arg-type]
        for s in selectors
    ]


COREDNS_FARGATE_CONFIGURATION = {"computeType": "Fargate"}


@dataclass
class FargateArgs:
    cluster_name: str
    cluster: pulumi.Input[str]
    aws: AwsContext
    private_subnet_ids: pulumi.Input[list[str]]
    namespace: str
    extra_namespaces: list[str] = field(default_factory=list)
    core_dns_on_fargate: bool = True
    manage_core_dns_addon: bool = True
    path: str = "/"
    permissions_boundary_arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    wait_for: Sequence[pulumi.Resource] = ()
    """What Fargate pods need before they start (the private subnets' NAT and routes): they are then
    deleted only after the profile, so the controller keeps AWS access while it drains nodes."""


class Fargate(pulumi.ComponentResource):
    profile: aws.eks.FargateProfile
    """The core profile: Karpenter's controller and CoreDNS."""
    profiles: list[aws.eks.FargateProfile]
    """Every profile, in creation order. EKS creates one Fargate profile of a cluster at a time (a second
    create while one is CREATING fails), so each waits for the previous one: a profile added later must
    depend on `profiles[-1]`."""
    pod_execution_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: FargateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("karpenter-eks:fargate:Fargate", name, None, opts)
        pod_execution = IamRole(
            name,
            RoleArgs(
                # The profiles name this role: replacing it would replace them (stopping Karpenter and
                # CoreDNS), so its identity never changes once created (as the node role's, see
                # STABLE_IDENTITY).
                name_prefix=bounded_prefix(
                    f"{FARGATE_ROLE_PREFIX}{args.cluster_name}", IAM_ROLE_NAME_PREFIX_MAX
                ),
                path=args.path,
                tags=args.tags,
                permissions_boundary=args.permissions_boundary_arn,
                assume_role_policy=pulumi.Output.all(args.aws.partition, args.aws.account_id).apply(
                    lambda v: json.dumps(
                        iam_documents.fargate_pod_execution_trust_policy(
                            partition=v[0],
                            region=args.aws.region,
                            account_id=v[1],
                            cluster_name=args.cluster_name,
                        )
                    )
                ),
                description=f"Fargate pod execution role of EKS cluster {args.cluster_name}",
                # The attachment shares the role's logical name.
                policies={
                    "pod-execution": args.aws.partition.apply(
                        lambda p: aws_managed_policy_arn(p, "AmazonEKSFargatePodExecutionRolePolicy")
                    )
                },
                per_generation=False,
                stable_identity=True,
            ),
            self,
            role_name=f"{name}-pod-execution",
        )
        role, (attachment,) = pod_execution.role, pod_execution.attachments
        self.profile = aws.eks.FargateProfile(
            f"{name}-profile",
            cluster_name=args.cluster,
            # Auto-named: a change of selectors or subnets replaces the profile, and EKS refuses a second
            # profile of the same name, so the replacement must get a new one before the old goes.
            pod_execution_role_arn=role.arn,
            subnet_ids=args.private_subnet_ids,
            selectors=_selector_args(fargate_selectors(args.namespace, args.core_dns_on_fargate)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment, *args.wait_for]),
        )
        self.profiles = [self.profile]
        if args.extra_namespaces:
            self.profiles.append(
                aws.eks.FargateProfile(
                    f"{name}-extra-namespaces",
                    cluster_name=args.cluster,
                    pod_execution_role_arn=role.arn,
                    subnet_ids=args.private_subnet_ids,
                    selectors=_selector_args(extra_selectors(args.extra_namespaces)),
                    # One profile at a time per cluster: after the core profile.
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[self.profiles[-1]]),
                )
            )
        if args.core_dns_on_fargate and args.manage_core_dns_addon:
            aws.eks.Addon(
                f"{name}-coredns",
                cluster_name=args.cluster,
                addon_name="coredns",
                configuration_values=json.dumps(COREDNS_FARGATE_CONFIGURATION),
                # EKS bootstraps a self-managed CoreDNS pinned to EC2; the add-on takes it over.
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.profile]),
            )
        self.pod_execution_role_arn = role.arn
        self.register_outputs({"profileArn": self.profile.arn, "podExecutionRoleArn": role.arn})
