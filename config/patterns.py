"""Patterns and values more than one section uses, and what the add-on rules read before validation.

Imported by the section models and by `config.addons` (its validation context), so no model imports another
to get them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from config.base import hinted

REGION_PATTERN = r"^(us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov)-[a-z]+-\d$"
CLUSTER_NAME_PATTERN = hinted(
    r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$", "an EKS cluster name: letters, digits, - and _, at most 100"
)
K8S_NAME_PATTERN = hinted(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    "a Kubernetes name: lowercase letters, digits and -, such as karpenter",
)
PRINCIPAL_ARN_PATTERN = hinted(
    r"^arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$",
    "an IAM role or user ARN such as arn:aws:iam::123456789012:role/admins (EKS access entries do not "
    "take STS session ARNs: use the role's ARN)",
)
VERSION_PATTERN = hinted(r"^\d+\.\d+\.\d+$", "a release number such as 1.14.1 (no leading v)")
K8S_VERSION_PATTERN = hinted(r"^1\.(2[89]|3\d)$", 'a Kubernetes minor version in quotes, such as "1.34"')

K8sName = Annotated[str, StringConstraints(pattern=K8S_NAME_PATTERN, max_length=63)]


DEFAULT_KUBERNETES_VERSION = "1.34"
"""`cluster.kubernetesVersion` when unset (the add-on rules read it before the cluster is validated)."""
DEFAULT_KARPENTER_NAMESPACE = "karpenter"
"""`karpenter.namespace` when unset (the add-on rules read it before the controller is validated)."""


def region_partition(region: str) -> str:
    """The AWS partition a region belongs to (its ARNs start `arn:<partition>:`)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
