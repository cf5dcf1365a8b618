"""The `nodeClass` section: the EC2NodeClass, how Karpenter's nodes boot (AMI, root volume, tags)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from config.base import Model, Problem, raise_problems, rule

AMI_VERSION = re.compile(r"^(v[0-9]{8}|latest)$")

# EC2NodeClass spec.tags: the CRD's CEL rules (and the AWS provider's RestrictedTagPatterns).
RESTRICTED_TAG_KEYS = frozenset(
    {
        "eks:eks-cluster-name",
        "karpenter.sh/nodepool",
        "karpenter.sh/nodeclaim",
        "karpenter.k8s.aws/ec2nodeclass",
    }
)
RESTRICTED_TAG_PREFIXES = ("kubernetes.io/cluster",)


def _ami_version(value: str) -> str:
    if not AMI_VERSION.match(value):
        raise ValueError(
            "must be an Amazon Linux 2023 EKS AMI release such as v20251120 (awslabs/amazon-eks-ami "
            "releases), or latest"
        )
    return value


def _tags(value: dict[str, str]) -> dict[str, str]:
    problems = []
    for key, tag in value.items():
        if not key or len(key) > 128:
            problems.append(f"tag key {key!r} must be 1 to 128 characters")
        if len(tag) > 256:
            problems.append(f"tag {key} has a value longer than 256 characters")
        if key.lower().startswith("aws:"):
            problems.append(f"tag key {key} uses the aws: prefix, which AWS reserves")
        if key in RESTRICTED_TAG_KEYS or key.startswith(RESTRICTED_TAG_PREFIXES):
            problems.append(
                f"tag {key} is one Karpenter sets itself and refuses on an EC2NodeClass (restricted: "
                f"{', '.join(sorted(RESTRICTED_TAG_KEYS))}, kubernetes.io/cluster/*)"
            )
    raise_problems([Problem((), p, show=False) for p in problems])
    return value


class NodeClassConfig(Model):
    """The EC2NodeClass: AMI, root volume and tags of Karpenter's nodes (subnets and security groups
    are found by the `karpenter.sh/discovery: <cluster>` tag)."""

    ami_version: Annotated[str, AfterValidator(_ami_version)] = Field(
        description="Amazon Linux 2023 EKS AMI release (`al2023@<version>` alias), such as v20251120. "
        "`latest` needs `allowLatestAmi: true`."
    )
    allow_latest_ami: bool = Field(
        default=False,
        description="Allow `amiVersion: latest`: every new AMI release then drifts and replaces all nodes "
        "unannounced. For dev stacks; production pins a release.",
    )
    root_volume_size: int = Field(
        default=40, ge=20, le=16384, description="Root volume (gp3, encrypted) of each node, GiB."
    )
    gpu_root_volume_size: int = Field(
        default=200,
        ge=20,
        le=16384,
        description="Root volume of each GPU node (GPU images and models are large), GiB.",
    )
    tags: Annotated[dict[str, str], Field(max_length=40), AfterValidator(_tags)] = Field(
        default={},
        description="Tags on the instances, volumes and launch templates Karpenter creates. Keys Karpenter "
        "sets itself (karpenter.sh/nodepool, kubernetes.io/cluster/*, ...) are refused.",
    )

    @rule("ami_version", "allow_latest_ami")
    def _pinned(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        if v["ami_version"] == "latest" and not v.get("allow_latest_ami"):
            yield Problem(
                ("amiVersion",),
                "amiVersion latest is refused unless allowLatestAmi is true: with latest, every AMI release "
                "drifts and replaces all nodes unannounced; production should pin a release such as "
                "v20251120",
                show=False,
            )
