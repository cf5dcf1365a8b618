"""Fargate for the system pods: the pod execution role, one Fargate profile whose selectors are fixed (no
config key or add-on toggle changes them, so nothing but a subnet change ever replaces it) and, in create
mode, the CoreDNS add-on configured for Fargate once the profile exists.

The rule: a pod labelled `fargate: enabled`, in any namespace, runs on Fargate; everything else runs on the
EC2 nodes Karpenter launches. Karpenter's controller and the load balancer controller carry the label
(their charts' `podLabels`); the other selectors name pods whose labels the program cannot set: CoreDNS, the
CSI drivers' controllers (EKS add-ons) and Portainer (its chart has no `podLabels`)."""

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
from components.documents import storage as storage_documents

FARGATE_LABEL = {"fargate": "enabled"}
COREDNS_LABEL = {"k8s-app": "kube-dns"}
PORTAINER_POD_LABELS = {"app.kubernetes.io/name": "portainer", "app.kubernetes.io/instance": "portainer"}
"""The Portainer chart's selector labels (templates/_helpers.tpl `portainer.selectorLabels`: chart name and
release name, both `portainer` here); the only labels its pods carry."""
MAX_SELECTORS = 5
"""EKS: at most 5 selectors per Fargate profile (and 10 profiles per cluster)."""
PROFILE_SUFFIX = "pods"
"""The profile's logical name is `<component>-pods` (`fargate-pods`). It replaced `fargate-profile` (the
controller namespace and CoreDNS only) and the per-add-on profiles: a new name, so that the new profile is
created before the old ones are deleted. Auto-named from it: `fargate-pods-…` sorts before
`fargate-profile-…`, and when several profiles match a pod EKS picks the first by name, so pods started
while both exist already land on the new one."""


def fargate_selectors() -> list[dict[str, object]]:
    """The profile's selectors. Fargate selectors take `*` (any run of characters, none included) and `?`
    (one character) in namespaces, label keys and values (EKS user guide, Fargate profile wildcards, since
    August 2022), so `*` is every namespace. CoreDNS matches in every mode: an EC2-configured CoreDNS (the
    one EKS bootstraps, or the add-on without computeType Fargate) carries the annotation
    `eks.amazonaws.com/compute-type: ec2`, which keeps it off Fargate; `karpenter.coreDnsOnFargate` only
    decides the add-on's configuration. `e?s-csi-controller` is the EBS and the EFS controller."""
    kube_system = storage_documents.ADDON_NAMESPACE
    return [
        {"namespace": "*", "labels": dict(FARGATE_LABEL)},
        {"namespace": kube_system, "labels": dict(COREDNS_LABEL)},
        {"namespace": kube_system, "labels": {"app": "e?s-csi-controller"}},
        {"namespace": kube_system, "labels": dict(storage_documents.S3_CONTROLLER.pod_labels)},
        {"namespace": "*", "labels": dict(PORTAINER_POD_LABELS)},
    ]


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
    """The one profile every Fargate pod of the stack runs on (Karpenter, CoreDNS, the add-ons)."""
    pod_execution_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: FargateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("karpenter-eks:fargate:Fargate", name, None, opts)
        pod_execution = IamRole(
            name,
            RoleArgs(
                # The profile names this role: replacing it would replace the profile (stopping every
                # Fargate pod), so its identity never changes once created (as the node role's, see
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
            f"{name}-{PROFILE_SUFFIX}",
            cluster_name=args.cluster,
            # Auto-named: a change of subnets replaces the profile, and EKS refuses a second profile of the
            # same name, so the replacement must get a new one before the old goes.
            pod_execution_role_arn=role.arn,
            subnet_ids=args.private_subnet_ids,
            selectors=_selector_args(fargate_selectors()),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment, *args.wait_for]),
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
