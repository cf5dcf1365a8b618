"""ARNs this program builds itself, always in the stack's partition (never a hard-coded `arn:aws`)."""

from __future__ import annotations


def cluster_arn(partition: str, region: str, account_id: str, cluster_name: str) -> str:
    """An EKS cluster's ARN: known at preview, before the cluster exists."""
    return f"arn:{partition}:eks:{region}:{account_id}:cluster/{cluster_name}"


def fargate_profiles_arn(partition: str, region: str, account_id: str, cluster_name: str) -> str:
    """Every Fargate profile of a cluster (a wildcard ARN)."""
    return f"arn:{partition}:eks:{region}:{account_id}:fargateprofile/{cluster_name}/*"


def aws_managed_policy_arn(partition: str, name: str, path: str = "/") -> str:
    """An AWS managed policy: `path` is its IAM path (`/service-role/` for some)."""
    return f"arn:{partition}:iam::aws:policy{path}{name}"


def oidc_provider_arn(partition: str, account_id: str, issuer_host: str) -> str:
    """The IAM OIDC provider of an issuer (`issuer_host`: its URL without `https://`)."""
    return f"arn:{partition}:iam::{account_id}:oidc-provider/{issuer_host}"
