"""IAM and interruption documents for Karpenter, as pure data.

Plain values in, plain dicts out: no Pulumi here, so every document can be unit-tested exactly and compared
with Karpenter 1.14.1's own least-privilege CloudFormation (``getting-started-with-karpenter``). The
controller policies reproduce that template statement for statement (same Sid, Effect, Resource, Action,
Condition), with the partition, region, account, cluster name, node role ARN and queue ARN filled in.

The one deliberate difference is ``manage_instance_profiles=False`` (our default): the EC2NodeClass names an
instance profile we create (``spec.instanceProfile``), so the controller does not need the statements that
let it create, tag, fill and delete instance profiles. It keeps ``iam:GetInstanceProfile`` and
``iam:ListInstanceProfiles`` (ResourceDiscovery), which it uses to resolve the profile it is given.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.blocks import arns
from components.blocks.arns import aws_managed_policy_arn
from config.iam import NODE_POLICY_NAMES

POLICY_VERSION = "2012-10-17"
MANAGED_POLICY_MAX_CHARS = 6144
"""IAM's limit on a customer managed policy document, counted without whitespace."""

POLICY_NAMES: tuple[str, ...] = (
    "NodeLifecycle",
    "IAMIntegration",
    "EKSIntegration",
    "Interruption",
    "ResourceDiscovery",
    "ZonalShift",
)

INSTANCE_PROFILE_MANAGEMENT_SIDS: tuple[str, ...] = (
    "AllowScopedInstanceProfileCreationActions",
    "AllowScopedInstanceProfileTagActions",
    "AllowScopedInstanceProfileActions",
)
"""IAMIntegration statements only needed when Karpenter creates instance profiles (``spec.role``)."""

NODE_MANAGED_POLICIES: tuple[str, ...] = NODE_POLICY_NAMES
"""AWS managed policies of the node role (the config refuses them as extras)."""

IRSA_AUDIENCE = "sts.amazonaws.com"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
"""The service-account annotation through which IRSA gives a pod its role."""
ROLE_POD_ANNOTATION = "karpenter-eks.dev/controller-role-arn"
"""IRSA injects AWS_ROLE_ARN into a pod when it is created; a new service-account annotation alone does
not restart a controller, which would keep using the old (soon deleted) role. The role ARN in the pod
template (this annotation) makes a role change roll the controller."""

INTERRUPTION_RULES: dict[str, dict[str, Any]] = {
    "health": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    "capacity-reservation-interruption": {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"],
    },
}
"""EventBridge event patterns that feed the interruption queue, keyed by a stable short name."""


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


# --- node role -------------------------------------------------------------------------------------------


def node_trust_policy(dns_suffix: str) -> dict[str, Any]:
    """Trust of the node role: EC2 instances (``ec2.<dns suffix>``, e.g. ``amazonaws.com.cn`` in China)."""
    return _document(
        {
            "Effect": "Allow",
            "Principal": {"Service": f"ec2.{dns_suffix}"},
            "Action": ["sts:AssumeRole"],
        }
    )


def node_managed_policy_arns(partition: str) -> list[str]:
    """The AWS managed policies every Karpenter node needs, in ``partition``."""
    return [aws_managed_policy_arn(partition, name) for name in NODE_MANAGED_POLICIES]


# --- controller role -------------------------------------------------------------------------------------


def controller_trust_policy(
    *, oidc_provider_arn: str, oidc_issuer: str, namespace: str, service_account: str
) -> dict[str, Any]:
    """IRSA trust: only ``system:serviceaccount:<namespace>:<service_account>`` of this cluster's issuer."""
    return irsa_trust_policy(
        oidc_provider_arn=oidc_provider_arn,
        oidc_issuer=oidc_issuer,
        namespace=namespace,
        service_accounts=[service_account],
    )


def irsa_trust_policy(
    *, oidc_provider_arn: str, oidc_issuer: str, namespace: str, service_accounts: Sequence[str]
) -> dict[str, Any]:
    """IRSA trust for exactly these service accounts of this cluster's issuer (one subject is a string,
    several a list), audience ``sts.amazonaws.com``. No wildcards anywhere.

    ``oidc_issuer`` may carry its ``https://`` scheme (as EKS reports it) or not; condition keys never do.
    """
    issuer = oidc_issuer.strip().removeprefix("https://").rstrip("/")
    for label, value in (
        ("oidc_provider_arn", oidc_provider_arn),
        ("oidc_issuer", issuer),
        ("namespace", namespace),
        *(("service_account", sa) for sa in service_accounts),
    ):
        if not value or any(c in value for c in "*?"):
            raise ValueError(f"{label} must be a non-empty literal without wildcards, got {value!r}")
    if not service_accounts:
        raise ValueError("service_accounts must name at least one service account")
    subjects = [f"system:serviceaccount:{namespace}:{sa}" for sa in service_accounts]
    return _document(
        {
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{issuer}:sub": subjects[0] if len(subjects) == 1 else subjects,
                    f"{issuer}:aud": IRSA_AUDIENCE,
                }
            },
        }
    )


@dataclass(frozen=True)
class _Scope:
    partition: str
    region: str
    account_id: str
    cluster_name: str
    node_role_arn: str
    queue_arn: str

    def ec2(self, resource: str, account: str = "*") -> str:
        return f"arn:{self.partition}:ec2:{self.region}:{account}:{resource}/*"

    @property
    def cluster_arn(self) -> str:
        return arns.cluster_arn(self.partition, self.region, self.account_id, self.cluster_name)

    @property
    def instance_profiles(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:instance-profile/*"

    @property
    def cluster_tag(self) -> str:
        return f"kubernetes.io/cluster/{self.cluster_name}"

    def owned(self, scope: str) -> dict[str, str]:
        """``aws:<scope>Tag/kubernetes.io/cluster/<cluster>: owned`` (scope: Resource or Request)."""
        return {f"aws:{scope}Tag/{self.cluster_tag}": "owned"}

    def tagged_for_cluster(self) -> dict[str, str]:
        """The two cluster tags Karpenter must put on everything it creates."""
        return {**self.owned("Request"), "aws:RequestTag/eks:eks-cluster-name": self.cluster_name}


_NODEPOOL_RESOURCE_TAG = {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
_NODEPOOL_REQUEST_TAG = {"aws:RequestTag/karpenter.sh/nodepool": "*"}
_NODECLASS_RESOURCE_TAG = {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}
_NODECLASS_REQUEST_TAG = {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}


def _node_lifecycle(s: _Scope) -> dict[str, Any]:
    created = [
        s.ec2("fleet"),
        s.ec2("instance"),
        s.ec2("volume"),
        s.ec2("network-interface"),
        s.ec2("launch-template"),
        s.ec2("spot-instances-request"),
    ]
    return _document(
        {
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            "Resource": [
                s.ec2("image", account=""),
                s.ec2("snapshot", account=""),
                s.ec2("security-group"),
                s.ec2("subnet"),
                s.ec2("capacity-reservation"),
                s.ec2("placement-group"),
            ],
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
        },
        {
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Resource": s.ec2("launch-template"),
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Condition": {"StringEquals": s.owned("Resource"), "StringLike": _NODEPOOL_RESOURCE_TAG},
        },
        {
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Resource": created,
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Condition": {"StringEquals": s.tagged_for_cluster(), "StringLike": _NODEPOOL_REQUEST_TAG},
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Resource": list(created),
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": {
                    **s.tagged_for_cluster(),
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": _NODEPOOL_REQUEST_TAG,
            },
        },
        {
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Resource": s.ec2("instance"),
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": s.owned("Resource"),
                "StringLike": _NODEPOOL_RESOURCE_TAG,
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": s.cluster_name},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        },
        {
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Resource": [s.ec2("instance"), s.ec2("launch-template")],
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Condition": {"StringEquals": s.owned("Resource"), "StringLike": _NODEPOOL_RESOURCE_TAG},
        },
    )


def _iam_integration(s: _Scope, manage_instance_profiles: bool) -> dict[str, Any]:
    region_tag = "topology.kubernetes.io/region"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Resource": s.node_role_arn,
            "Action": "iam:PassRole",
            "Condition": {
                "StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Resource": s.instance_profiles,
            "Action": ["iam:CreateInstanceProfile"],
            "Condition": {
                "StringEquals": {**s.tagged_for_cluster(), f"aws:RequestTag/{region_tag}": s.region},
                "StringLike": _NODECLASS_REQUEST_TAG,
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Resource": s.instance_profiles,
            "Action": ["iam:TagInstanceProfile"],
            "Condition": {
                "StringEquals": {
                    **s.owned("Resource"),
                    f"aws:ResourceTag/{region_tag}": s.region,
                    **s.tagged_for_cluster(),
                    f"aws:RequestTag/{region_tag}": s.region,
                },
                "StringLike": {**_NODECLASS_RESOURCE_TAG, **_NODECLASS_REQUEST_TAG},
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Resource": s.instance_profiles,
            "Action": [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            "Condition": {
                "StringEquals": {**s.owned("Resource"), f"aws:ResourceTag/{region_tag}": s.region},
                "StringLike": _NODECLASS_RESOURCE_TAG,
            },
        },
    ]
    if not manage_instance_profiles:
        statements = [st for st in statements if st["Sid"] not in INSTANCE_PROFILE_MANAGEMENT_SIDS]
    return _document(*statements)


def _eks_integration(s: _Scope) -> dict[str, Any]:
    return _document(
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Resource": s.cluster_arn,
            "Action": "eks:DescribeCluster",
        }
    )


def _interruption(s: _Scope) -> dict[str, Any]:
    return _document(
        {
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Resource": s.queue_arn,
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
        }
    )


def _resource_discovery(s: _Scope) -> dict[str, Any]:
    return _document(
        {
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            "Resource": "*",
            "Action": [
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceStatus",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribePlacementGroups",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            ],
            "Condition": {"StringEquals": {"aws:RequestedRegion": s.region}},
        },
        {
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Resource": f"arn:{s.partition}:ssm:{s.region}::parameter/aws/service/*",
            "Action": "ssm:GetParameter",
        },
        {
            "Sid": "AllowPricingReadActions",
            "Effect": "Allow",
            "Resource": "*",
            "Action": "pricing:GetProducts",
        },
        {
            "Sid": "AllowUnscopedInstanceProfileListAction",
            "Effect": "Allow",
            "Resource": "*",
            "Action": "iam:ListInstanceProfiles",
        },
        {
            "Sid": "AllowInstanceProfileReadActions",
            "Effect": "Allow",
            "Resource": s.instance_profiles,
            "Action": "iam:GetInstanceProfile",
        },
    )


def _zonal_shift(s: _Scope) -> dict[str, Any]:
    return _document(
        {
            "Sid": "AllowZonalShiftStatusReadOnly",
            "Effect": "Allow",
            "Resource": "*",
            "Action": ["arc-zonal-shift:GetManagedResource"],
            "Condition": {"StringEquals": {"arc-zonal-shift:ResourceIdentifier": s.cluster_arn}},
        }
    )


def controller_policies(
    *,
    partition: str,
    region: str,
    account_id: str,
    cluster_name: str,
    node_role_arn: str,
    queue_arn: str,
    manage_instance_profiles: bool,
) -> dict[str, dict[str, Any]]:
    """The six controller managed policies, keyed in ``POLICY_NAMES`` order."""
    s = _Scope(partition, region, account_id, cluster_name, node_role_arn, queue_arn)
    documents = {
        "NodeLifecycle": _node_lifecycle(s),
        "IAMIntegration": _iam_integration(s, manage_instance_profiles),
        "EKSIntegration": _eks_integration(s),
        "Interruption": _interruption(s),
        "ResourceDiscovery": _resource_discovery(s),
        "ZonalShift": _zonal_shift(s),
    }
    # Deep copy: the module-level condition fragments are shared, callers get documents they may mutate.
    return copy.deepcopy({name: documents[name] for name in POLICY_NAMES})


# --- interruption queue ----------------------------------------------------------------------------------


def queue_policy(queue_arn: str) -> dict[str, Any]:
    """Resource policy of the interruption queue: EventBridge (and SQS) may send; plain HTTP is refused."""
    return {
        "Version": POLICY_VERSION,
        "Id": "EC2InterruptionPolicy",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            },
            {
                "Sid": "DenyHTTP",
                "Effect": "Deny",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                "Principal": "*",
            },
        ],
    }


# --- Fargate ---------------------------------------------------------------------------------------------


def fargate_pod_execution_trust_policy(
    *, partition: str, region: str, account_id: str, cluster_name: str
) -> dict[str, Any]:
    """Trust of the Fargate pod execution role, only for this cluster's Fargate profiles (confused deputy)."""
    profiles = arns.fargate_profiles_arn(partition, region, account_id, cluster_name)
    return _document(
        {
            "Effect": "Allow",
            "Condition": {"ArnLike": {"aws:SourceArn": profiles}},
            "Principal": {"Service": "eks-fargate-pods.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )


def policy_size(document: dict[str, Any]) -> int:
    """Characters IAM counts against a managed policy's size limit (IAM ignores whitespace)."""
    return len(json.dumps(document, separators=(",", ":")))
