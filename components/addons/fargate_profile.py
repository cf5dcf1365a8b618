"""The Fargate profile of one add-on: its own fixed selectors, so enabling or disabling an add-on never
replaces Karpenter's profile or another add-on's, and created after the profile before it (EKS creates a
cluster's Fargate profiles one at a time and refuses a second create while one is in progress)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class Selector:
    namespace: str
    labels: dict[str, str]


@dataclass
class AddonFargateProfileArgs:
    cluster: pulumi.Input[str]
    pod_execution_role_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    selectors: list[Selector]
    after: pulumi.Resource
    """The Fargate profile created before this one (Karpenter's, or the previous add-on's)."""


def addon_fargate_profile(
    name: str, args: AddonFargateProfileArgs, parent: pulumi.Resource
) -> aws.eks.FargateProfile:
    """An auto-named profile (a replacement creates the new one first) chained after `args.after`."""
    return aws.eks.FargateProfile(
        name,
        cluster_name=args.cluster,
        pod_execution_role_arn=args.pod_execution_role_arn,
        subnet_ids=args.subnet_ids,
        selectors=[
            aws.eks.FargateProfileSelectorArgs(namespace=s.namespace, labels=dict(s.labels))
            for s in args.selectors
        ],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[args.after]),
    )
