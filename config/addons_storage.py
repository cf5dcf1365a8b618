"""Config of the storage add-ons under `addons`: EBS (gp3), EFS and S3 (Mountpoint).

Rules that need the rest of the stack (the region and partition of a KMS key, the cluster's Kubernetes
version, the mode) read it from the validation context that `config.load.parse_stack_config` passes
(`StackContext`), so every refusal still names the exact key."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from config.base import Model, hinted

ADDON_VERSION_PATTERN = hinted(
    r"^v\d+\.\d+\.\d+-eksbuild\.\d+$", "an EKS add-on version such as v1.64.0-eksbuild.1"
)
AddonVersion = Annotated[str, StringConstraints(pattern=ADDON_VERSION_PATTERN)]
K8S_NAME_PATTERN = hinted(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    "a Kubernetes name: lowercase letters, digits and -, such as karpenter",
)
K8sName = Annotated[str, StringConstraints(pattern=K8S_NAME_PATTERN, max_length=63)]
KMS_KEY_ARN_PATTERN = hinted(
    # Key IDs are a UUID, or `mrk-` and 32 hex digits for a multi-Region key (AWS KMS Developer Guide,
    # "Key identifiers (KeyId)" and "Multi-Region key identifiers").
    r"^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:\d{12}:key/"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$",
    "a KMS key ARN such as arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab "
    "or, multi-Region, .../key/mrk-1234abcd12ab34cd56ef1234567890ab (a key ARN, not an alias)",
)
KmsKeyArn = Annotated[str, StringConstraints(pattern=KMS_KEY_ARN_PATTERN)]
FILE_SYSTEM_ID_PATTERN = hinted(r"^fs-[0-9a-f]{8,40}$", "an EFS file system ID such as fs-0123456789abcdef0")

# gp3 limits (Amazon EBS User Guide, "General Purpose SSD volumes", gp3): 3,000 to 80,000 IOPS, 125 to
# 2,000 MiB/s, at most 0.25 MiB/s of throughput per provisioned IOPS. Unset values are gp3's baseline.
GP3_IOPS = (3000, 80000)
GP3_THROUGHPUT = (125, 2000)
GP3_BASELINE_IOPS = 3000
GP3_MIBS_PER_IOPS = 0.25

MOUNTPOINT_MIN_MAJOR = 2
"""The stack gives Mountpoint's node pods EKS Pod Identity credentials, as the v2 driver documents them (its
CHANGELOG's v2.0.0 entry points at the v2 feature list, awslabs/mountpoint-s3-csi-driver #504, and
docs/UPGRADING_TO_V2.md); v1 (Mountpoint run through systemd on the host) is not what this stack is
written or tested for."""
MOUNTPOINT_MIN_KUBERNETES = (1, 30)
"""Mountpoint for S3 CSI driver v2 requires Kubernetes 1.30 or later (docs/INSTALL.md, "Prerequisites")."""

POD_IDENTITY_UNAVAILABLE_PARTITIONS = ("aws-cn",)
"""Partitions without EKS Pod Identity: "Pod Identity is not available in China Regions. Use IAM roles for
service accounts." (EKS user guide for the China Regions, docs.amazonaws.cn .../pod-identities.html)."""


@dataclass(frozen=True)
class StackContext:
    """What the storage rules need of the rest of the stack (from `config.load`)."""

    region: str
    partition: str
    mode: str
    kubernetes_version: str | None
    """The created cluster's version; None in adopt mode (checked against the cluster when adopting)."""
    karpenter_namespace: str = "karpenter"
    """The namespace the stack creates for Karpenter (no other part may create it again)."""


def stack_of(info: ValidationInfo) -> StackContext | None:
    """The stack facts `config.load` passes in the validation context (None when the region or cluster
    is itself refused)."""
    ctx = info.context
    return ctx.get("stack") if isinstance(ctx, dict) else None


_context = stack_of


def _kms_in_stack_region(arn: str | None, info: ValidationInfo) -> str | None:
    ctx = _context(info)
    if arn is None or ctx is None:
        return arn
    _, partition, _, region, *_ = arn.split(":")
    if partition != ctx.partition or region != ctx.region:
        raise ValueError(
            f"the key is in {region} ({partition}) but the stack is in {ctx.region} ({ctx.partition}); "
            "EBS and EFS encrypt only with a key of their own region"
        )
    return arn


class PinnedAddon(Model):
    """Fields every EKS add-on shares: on/off and its version, pinned."""

    enabled: bool = False
    version: AddonVersion | None = Field(
        default=None,
        description="EKS add-on version (`aws eks describe-addon-versions --addon-name <name>`), pinned per "
        "stack. Required when enabled, unless `allowLatestVersion` is true.",
    )
    allow_latest_version: bool = Field(
        default=False,
        description="Allow an unset `version`: EKS then installs its default version for the cluster, and a "
        "new default never reaches the stack by itself (Pulumi sees no change). For dev stacks only.",
    )

    @model_validator(mode="after")
    def _rules(self) -> PinnedAddon:
        problems = self._problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _problems(self) -> list[str]:
        """Every cross-field problem of the section, so all are reported at once."""
        if self.enabled and self.version is None and not self.allow_latest_version:
            return [
                "`version` is required when enabled: pin the add-on version (e.g. v1.64.0-eksbuild.1), or "
                "set allowLatestVersion: true"
            ]
        return []


class EbsConfig(PinnedAddon):
    """The Amazon EBS CSI driver (EKS add-on `aws-ebs-csi-driver`) and the `gp3` StorageClass."""

    enabled: bool = Field(
        default=False,
        description="Install the EBS CSI driver and the gp3 StorageClass. Off by default: the add-on needs a "
        "pinned version per stack, and an adopted cluster may already run the add-on (EKS refuses a second "
        "one), so turning it on is a decision for each stack.",
    )
    default_class: bool = Field(
        default=True,
        description="Mark `gp3` as the cluster's default StorageClass (claims without a class get gp3).",
    )
    demote_gp2: bool | None = Field(
        default=None,
        description="Patch the `gp2` StorageClass so it is no longer the default (a server-side patch of "
        "its annotation, never a delete). Unset: true in adopt mode and for created clusters before 1.30 "
        "(EKS marked gp2 default then), false otherwise (EKS 1.30+ no longer marks gp2 default). Set false "
        "for an adopted cluster without a `gp2` class: the patch is a server-side apply, which would try to "
        "create one (and the API refuses a class without a provisioner).",
    )
    iops: int | None = Field(
        default=None,
        description="Provisioned IOPS of each gp3 volume, 3000 to 80000. Unset: gp3's baseline 3000.",
    )
    throughput: int | None = Field(
        default=None,
        description="Provisioned throughput of each gp3 volume in MiB/s, 125 to 2000 and at most IOPS/4. "
        "Unset: gp3's baseline 125.",
    )
    kms_key_arn: Annotated[KmsKeyArn | None, AfterValidator(_kms_in_stack_region)] = Field(
        default=None,
        description="Customer managed KMS key for the volumes (same region and partition as the stack); the "
        "driver's role gets the grants it needs on it. Unset: the account's default EBS key (aws/ebs).",
    )
    reclaim_policy: Literal["Delete", "Retain"] = Field(
        default="Delete", description="What happens to a volume when its claim is deleted."
    )
    node_host_network: bool = Field(
        default=True,
        description="Run the driver's node pods in the host network so they reach the instance metadata "
        "service with the nodes' IMDS hop limit 1; otherwise they fall back to Kubernetes metadata, which "
        "counts one ENI per node and reports wrong volume attach limits (aws-ebs-csi-driver #2262).",
    )

    def _problems(self) -> list[str]:
        problems = super()._problems()
        if self.iops is not None and not GP3_IOPS[0] <= self.iops <= GP3_IOPS[1]:
            problems.append(f"iops {self.iops} is outside gp3's {GP3_IOPS[0]} to {GP3_IOPS[1]}")
        if self.throughput is not None:
            if not GP3_THROUGHPUT[0] <= self.throughput <= GP3_THROUGHPUT[1]:
                problems.append(
                    f"throughput {self.throughput} is outside gp3's {GP3_THROUGHPUT[0]} to "
                    f"{GP3_THROUGHPUT[1]} MiB/s"
                )
            iops = self.iops or GP3_BASELINE_IOPS
            if self.throughput > iops * GP3_MIBS_PER_IOPS:
                problems.append(
                    f"throughput {self.throughput} MiB/s needs at least "
                    f"{int(self.throughput / GP3_MIBS_PER_IOPS)} IOPS (gp3 allows 0.25 MiB/s per IOPS; "
                    f"iops is {iops})"
                )
        return problems


class EfsConfig(PinnedAddon):
    """Amazon EFS: a file system (created or existing), the EFS CSI driver (EKS add-on), the `efs` class."""

    enabled: bool = Field(default=False, description="Install EFS storage.")
    create: bool | None = Field(
        default=None,
        description="Create an encrypted file system with one mount target per private subnet. Unset: "
        "create one unless `fileSystemId` is set.",
    )
    file_system_id: Annotated[str, StringConstraints(pattern=FILE_SYSTEM_ID_PATTERN)] | None = Field(
        default=None,
        description="Use this existing file system instead (its mount targets and security groups are "
        "yours; they must allow NFS from the cluster security group).",
    )
    protect: bool = Field(
        default=True,
        description="Protect a created file system from deletion (Pulumi `protect`): `pulumi destroy` stops "
        "at it until this is set false and applied. Set false for throwaway stacks.",
    )
    throughput_mode: Literal["elastic", "bursting"] = Field(
        default="elastic", description="Throughput mode of a created file system."
    )
    kms_key_arn: Annotated[KmsKeyArn | None, AfterValidator(_kms_in_stack_region)] = Field(
        default=None,
        description="Customer managed KMS key of a created file system (same region and partition as the "
        "stack). Unset: the account's default EFS key (aws/elasticfilesystem).",
    )
    default_class: bool = Field(default=False, description="Mark `efs` as the default StorageClass.")
    base_path: Annotated[
        str,
        StringConstraints(
            pattern=hinted(r"^/[A-Za-z0-9_./-]*$", "a directory path that starts with /, such as /dynamic")
        ),
    ] = Field(
        default="/dynamic_provisioning",
        description="Directory under which each access point (one per claim) gets its own directory.",
    )
    directory_perms: Annotated[
        str, StringConstraints(pattern=hinted(r"^[0-7]{3}$", 'three octal digits in quotes, such as "700"'))
    ] = Field(default="700", description="Permissions of each claim's directory.")

    def _problems(self) -> list[str]:
        problems = super()._problems()
        if self.create and self.file_system_id is not None:
            problems.append(
                "`create: true` and `fileSystemId` exclude each other: remove one (create a file system, or "
                "use the existing one)"
            )
        if self.create is False and self.file_system_id is None and self.enabled:
            problems.append("`create: false` needs `fileSystemId` (the existing file system to use)")
        if self.file_system_id is not None:
            # These shape only a created file system; with an existing one they would do nothing.
            ignored = [
                alias
                for name, alias in (("kms_key_arn", "kmsKeyArn"), ("throughput_mode", "throughputMode"))
                if name in self.model_fields_set and getattr(self, name) is not None
            ]
            if ignored:
                problems.append(
                    f"{' and '.join(ignored)} shape only a file system the stack creates; with "
                    "`fileSystemId` the existing file system keeps its own: remove them"
                )
        return problems

    @property
    def creates(self) -> bool:
        return self.file_system_id is None


_BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def _bucket_name(name: str) -> str:
    """S3's general purpose bucket naming rules (Amazon S3 User Guide, "Bucket naming rules")."""
    problems = []
    if not _BUCKET_PATTERN.match(name):
        problems.append(
            "3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
        )
    if ".." in name:
        problems.append("no two adjacent periods")
    try:
        ipaddress.IPv4Address(name)
        problems.append("not formatted as an IP address")
    except ValueError:
        pass
    if name.startswith(_BUCKET_PREFIXES):
        problems.append(f"not starting with {', '.join(_BUCKET_PREFIXES)}")
    if name.endswith(_BUCKET_SUFFIXES):
        problems.append(f"not ending with {', '.join(_BUCKET_SUFFIXES)}")
    if problems:
        raise ValueError("is not a valid S3 bucket name: must be " + "; ".join(problems))
    return name


class S3Bucket(Model):
    """A bucket mounted with Mountpoint: a static PersistentVolume and a claim bound to it."""

    name: Annotated[str, AfterValidator(_bucket_name)] = Field(
        description="Bucket name (existing or created)."
    )
    create: bool = Field(
        default=False,
        description="Create the bucket (public access blocked, SSE-S3 encryption, TLS-only policy). false: "
        "the bucket exists already.",
    )
    read_only: bool = Field(
        default=False, description="Mount read-only; the driver's policy then grants no write actions on it."
    )
    claim_name: K8sName | None = Field(
        default=None, description="Name of the PersistentVolume and claim. Unset: `s3-<bucket>` (dots as -)."
    )

    @property
    def volume_name(self) -> str:
        return self.claim_name or f"s3-{self.name.replace('.', '-')}"[:63].rstrip("-")


def _unique_buckets(buckets: list[S3Bucket]) -> list[S3Bucket]:
    for what, values in (("bucket", [b.name for b in buckets]), ("claim", [b.volume_name for b in buckets])):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"{what} names must be unique; repeated: {', '.join(repeated)}")
    return buckets


class S3Config(PinnedAddon):
    """Mountpoint for Amazon S3: the CSI driver (EKS add-on) and a volume per configured bucket."""

    enabled: bool = Field(default=False, description="Install the Mountpoint for S3 CSI driver.")
    namespace: K8sName = Field(
        default="s3-data",
        description="Namespace of the claims, created by this stack (unless it is `default`); workloads that "
        "mount the buckets run there, on EC2 nodes (Fargate cannot mount S3 volumes). Not a system namespace "
        "nor Karpenter's.",
    )
    buckets: Annotated[list[S3Bucket], AfterValidator(_unique_buckets)] = Field(
        default=[], description="Buckets to mount; the driver's policy is scoped to exactly these."
    )

    @field_validator("namespace")
    @classmethod
    def _own_namespace(cls, namespace: str, info: ValidationInfo) -> str:
        ctx = _context(info)
        if namespace in ("kube-system", "kube-public", "kube-node-lease"):
            raise ValueError("is a system namespace; the claims belong in a namespace of their own")
        if ctx is not None and namespace == ctx.karpenter_namespace:
            raise ValueError(f"is Karpenter's namespace ({namespace}); choose a namespace of its own")
        return namespace

    @field_validator("version")
    @classmethod
    def _pod_identity_version(cls, version: str | None) -> str | None:
        if version is not None and int(version[1:].split(".")[0]) < MOUNTPOINT_MIN_MAJOR:
            raise ValueError(
                f"{version} is Mountpoint for S3 CSI driver v1; the stack gives the driver EKS Pod Identity "
                "credentials as v2 takes them (and v2 runs Mountpoint in pods, v1 on the host), so pin a v2 "
                "add-on version such as v2.7.0-eksbuild.1"
            )
        return version

    @field_validator("enabled")
    @classmethod
    def _pod_identity_available(cls, enabled: bool, info: ValidationInfo) -> bool:
        ctx = _context(info)
        if enabled and ctx is not None:
            if ctx.partition in POD_IDENTITY_UNAVAILABLE_PARTITIONS:
                raise ValueError(
                    f"needs EKS Pod Identity for the driver's node pods, which this stack does not use in "
                    f"partition {ctx.partition} (region {ctx.region})"
                )
            version = ctx.kubernetes_version
            if version is not None and tuple(int(p) for p in version.split(".")) < MOUNTPOINT_MIN_KUBERNETES:
                raise ValueError(
                    "Mountpoint for S3 CSI driver v2 needs Kubernetes 1.30 or later; "
                    f"cluster.kubernetesVersion is {version}"
                )
        return enabled
