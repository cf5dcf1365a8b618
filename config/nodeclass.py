"""The `nodeClass` and `nodeClasses` sections: the EC2NodeClasses, how Karpenter's nodes boot (AMI,
volumes, kubelet, metadata, user data, tags, capacity reservations).

Field names are the CRD's (`karpenter.k8s.aws_ec2nodeclasses.yaml`, Karpenter 1.14.1) and so are its
rules; the subnet and security group selectors and the instance profile are the program's.
"""

from __future__ import annotations

import email
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, Field, StringConstraints

from config.base import Model, Problem, hinted, raise_problems, rule
from config.block_devices import BlockDeviceMappings
from config.kubelet import KubeletConfig, reserved_totals, smallest_instance

# Alias versions (docs nodeclasses.md "alias"): AL2023 EKS AMI releases are vYYYYMMDD
# (awslabs/amazon-eks-ami),
# Bottlerocket releases vX.Y.Z (bottlerocket-os/bottlerocket).
AMI_VERSIONS = {
    "AL2023": re.compile(r"^(v[0-9]{8}|latest)$"),
    "Bottlerocket": re.compile(r"^(v[0-9]+\.[0-9]+\.[0-9]+|latest)$"),
}
AMI_VERSION_EXAMPLE = {"AL2023": "v20251120", "Bottlerocket": "v1.50.0"}
AMI_VERSION_TEXT = {
    "AL2023": "an Amazon Linux 2023 EKS AMI release such as v20251120 (awslabs/amazon-eks-ami releases)",
    "Bottlerocket": "a Bottlerocket release such as v1.50.0 (bottlerocket-os/bottlerocket releases)",
}
AMI_ID = hinted(r"^ami-[0-9a-z]+$", "an AMI id such as ami-0123456789abcdef0")
AMI_OWNER = hinted(
    r"^([0-9]{12}|self|amazon|aws-marketplace)$",
    "an AWS account id (12 digits), self, amazon or aws-marketplace",
)
RESERVATION_ID = hinted(r"^cr-[0-9a-z]+$", "a capacity reservation id such as cr-0123456789abcdef0")
ACCOUNT_ID = hinted(r"^[0-9]{12}$", "an AWS account id (12 digits)")
ALIAS_FAMILY = {"AL2023": "al2023", "Bottlerocket": "bottlerocket"}
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

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


def _selector_tags(value: dict[str, str]) -> dict[str, str]:
    if any(not k or not t for k, t in value.items()):
        raise ValueError("empty tag keys or values aren't supported")
    return value


BOTTLEROCKET_KARPENTER_SETTINGS = ("cluster-name", "api-server", "cluster-certificate", "node-taints")
"""Bottlerocket settings Karpenter replaces whatever user data says (`bootstrap/bottlerocket.go`, 1.14.1)."""


def _user_data_problem(family: str, text: str) -> str | None:
    """Why Karpenter could not merge `text` as `family` user data (None: it can)."""
    if family == "Bottlerocket":
        try:
            settings = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            return f"is not valid TOML ({error}); Bottlerocket user data is TOML settings"
        kubernetes = settings.get("settings", {}).get("kubernetes", {})
        overwritten = sorted(k for k in BOTTLEROCKET_KARPENTER_SETTINGS if k in kubernetes)
        if overwritten:
            return (
                f"sets settings.kubernetes.{', '.join(overwritten)}, which Karpenter overwrites with its own "
                "(the cluster's, and the NodePool's taints); remove them (taints go in nodePools[].taints)"
            )
        return None
    if text.lstrip().startswith("MIME-Version:"):
        message = email.message_from_string(text)
        if not message.is_multipart():
            return "is a MIME document but not multipart; AL2023 takes a multipart/mixed MIME document"
        return None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = None
    if (
        isinstance(doc, dict)
        and doc.get("kind") == "NodeConfig"
        and doc.get("apiVersion", "").startswith("node.eks.aws/")
    ):
        return None
    return (
        "must be a MIME multi-part document or a nodeadm NodeConfig (apiVersion: node.eks.aws/v1alpha1, "
        "kind: "
        "NodeConfig) for AL2023; Karpenter appends its own NodeConfig after it"
    )


class AmiSelectorTerm(Model):
    """One AMI selector term: an AMI id, or a name with its owner (or tags)."""

    id: Annotated[str, StringConstraints(pattern=AMI_ID)] | None = Field(
        default=None, description="An AMI id such as ami-0123456789abcdef0."
    )
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None, description="An AMI name (wildcards * allowed), with `owner`."
    )
    owner: Annotated[str, StringConstraints(pattern=AMI_OWNER)] | None = Field(
        default=None, description="The AMI owner: an account id, self, amazon or aws-marketplace."
    )
    tags: (
        Annotated[dict[str, str], Field(min_length=1, max_length=20), AfterValidator(_selector_tags)] | None
    ) = Field(default=None, description="Tags the AMI carries ('*' matches any value).")

    @rule("id", "name", "owner", "tags")
    def _shape(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        if v.get("id") is not None and any(v.get(k) is not None for k in ("name", "owner", "tags")):
            yield Problem(
                ("id",), "is mutually exclusive: an id term names one AMI, with no other field", show=False
            )
        elif v.get("id") is None and v.get("name") is None and v.get("tags") is None:
            yield Problem((), "needs id, or name with owner, or tags", show=False)
        elif v.get("name") is not None and v.get("owner") is None:
            yield Problem(
                ("owner",),
                "is required with name (anyone can publish an AMI of that name): an "
                "account id, self, amazon or aws-marketplace",
                show=False,
            )


class CapacityReservationTerm(Model):
    """One capacity reservation selector term: a reservation id, or tags (with owner and match criteria)."""

    id: Annotated[str, StringConstraints(pattern=RESERVATION_ID)] | None = Field(
        default=None, description="A capacity reservation id such as cr-0123456789abcdef0."
    )
    owner_id: Annotated[str, StringConstraints(pattern=ACCOUNT_ID)] | None = Field(
        default=None, alias="ownerID", description="The account that owns the reservation (shared ones)."
    )
    instance_match_criteria: Literal["open", "targeted"] | None = Field(
        default=None, description="open or targeted reservations only."
    )
    tags: (
        Annotated[dict[str, str], Field(min_length=1, max_length=20), AfterValidator(_selector_tags)] | None
    ) = Field(default=None, description="Tags the reservations carry.")

    @rule("id", "owner_id", "instance_match_criteria", "tags")
    def _shape(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        others = [k for k in ("owner_id", "instance_match_criteria", "tags") if v.get(k) is not None]
        if v.get("id") is not None and others:
            yield Problem(
                ("id",),
                "'id' is mutually exclusive, cannot be set along with other fields in a "
                "capacity reservation selector term",
                show=False,
            )
        elif v.get("id") is None and v.get("tags") is None and v.get("instance_match_criteria") is None:
            yield Problem((), "needs id, tags or instanceMatchCriteria", show=False)


class MetadataOptions(Model):
    """Instance metadata service of the nodes (`spec.metadataOptions`)."""

    http_endpoint: Literal["enabled", "disabled"] = Field(default="enabled", description="IMDS on or off.")
    http_protocol_ipv6: Literal["enabled", "disabled"] = Field(
        default="disabled", alias="httpProtocolIPv6", description="IMDS's IPv6 endpoint."
    )
    http_put_response_hop_limit: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1,
        description="Hops an IMDS answer travels: 1 keeps pods (one hop further) from the node role's "
        "credentials.",
    )
    http_tokens: Literal["required", "optional"] = Field(
        default="required", description="required: IMDSv2 only (signed tokens)."
    )


class NodeClassSpec(Model):
    """An EC2NodeClass: AMI, volumes, kubelet, metadata, user data and tags of its nodes (subnets and
    security groups are found by the `karpenter.sh/discovery: <cluster>` tag)."""

    ami_family: Literal["AL2023", "Bottlerocket"] = Field(
        default="AL2023",
        description="AL2023 (Amazon Linux 2023, nodeadm) or Bottlerocket (TOML settings, an OS volume plus "
        "a data volume).",
    )
    ami_version: str | None = Field(
        default=None,
        description="Release of the family's EKS AMI (alias `al2023@<version>` / `bottlerocket@<version>`): "
        "AL2023 v20251120, Bottlerocket v1.50.0. `latest` needs `allowLatestAmi: true`. Set this or "
        "`amiSelectorTerms`.",
    )
    ami_selector_terms: Annotated[list[AmiSelectorTerm], Field(min_length=1, max_length=30)] | None = Field(
        default=None,
        description="Explicit AMIs instead of `amiVersion`: terms of an id, or a name with its owner (ORed); "
        "they must be `amiFamily` images.",
    )
    allow_latest_ami: bool = Field(
        default=False,
        description="Allow `amiVersion: latest`: every new AMI release then drifts and replaces all nodes "
        "unannounced. For dev stacks; production pins a release.",
    )
    root_volume_size: int = Field(
        default=40,
        ge=20,
        le=16384,
        description="GiB of the volume holding images and pods (gp3, encrypted): AL2023's root /dev/xvda, "
        "Bottlerocket's data /dev/xvdb (its OS volume /dev/xvda is 4 GiB). Unused with "
        "`blockDeviceMappings`.",
    )
    block_device_mappings: BlockDeviceMappings | None = Field(
        default=None,
        description="The node's volumes, replacing the defaults (then list every volume: Bottlerocket "
        "needs /dev/xvda and /dev/xvdb). `[]`: none on the EC2NodeClass, Karpenter's AMI family defaults "
        "(AL2023 a 20 GiB gp3 root), as a class made by hand may have it.",
    )
    instance_store_policy: Literal["RAID0"] | None = Field(
        default=None,
        description="RAID0: local NVMe instance stores become one array holding the kubelet's and the "
        "runtime's data (ephemeral storage), on families that have them (c6gd, m6id, i4i ...).",
    )
    kubelet: KubeletConfig | None = Field(default=None, description="Kubelet settings of the nodes.")
    metadata_options: MetadataOptions = Field(
        default=MetadataOptions(), description="Instance metadata: IMDSv2 only, hop limit 1 by default."
    )
    detailed_monitoring: bool | None = Field(
        default=None, description="CloudWatch detailed (1-minute) monitoring of the instances (billed)."
    )
    associate_public_ip_address: bool | None = Field(
        default=None,
        alias="associatePublicIPAddress",
        description="Give the nodes public IPs. Unset: the subnet's setting (private subnets: none).",
    )
    tags: Annotated[dict[str, str], Field(max_length=40), AfterValidator(_tags)] = Field(
        default={},
        description="Tags on the instances, volumes and launch templates Karpenter creates. Keys Karpenter "
        "sets itself (karpenter.sh/nodepool, kubernetes.io/cluster/*, ...) are refused.",
    )
    user_data: Annotated[str, StringConstraints(min_length=1, max_length=16384)] | None = Field(
        default=None,
        description="Extra user data Karpenter merges with its own: AL2023 a MIME multi-part document or a "
        "nodeadm NodeConfig (Karpenter's NodeConfig comes last and wins); Bottlerocket TOML settings "
        "(Karpenter's cluster, kubelet, label and taint settings win).",
    )
    capacity_reservation_selector_terms: (
        Annotated[list[CapacityReservationTerm], Field(min_length=1, max_length=30)] | None
    ) = Field(
        default=None,
        description="Capacity reservations (ODCRs, capacity blocks) the nodes may launch into, by id or "
        "tags; pools using this class may then set `reservedCapacity`. Karpenter needs "
        "ec2:DescribeCapacityReservations.",
    )

    @rule("ami_family", "ami_version", "ami_selector_terms", "allow_latest_ami")
    def _ami(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        family, version = v["ami_family"], v.get("ami_version")
        if (version is None) == (v.get("ami_selector_terms") is None):
            yield Problem(
                ("amiVersion",),
                "set exactly one of amiVersion (an EKS AMI release, such as "
                f"{AMI_VERSION_EXAMPLE[family]}) and amiSelectorTerms (explicit AMIs)",
                show=False,
            )
        if version is None:
            return
        if not isinstance(version, str) or not AMI_VERSIONS[family].match(version):
            yield Problem(
                ("amiVersion",),
                f"must be {AMI_VERSION_TEXT[family]}, or latest",
                version,
            )
        elif version == "latest" and not v.get("allow_latest_ami"):
            yield Problem(
                ("amiVersion",),
                "amiVersion latest is refused unless allowLatestAmi is true: with latest, every AMI release "
                "drifts and replaces all nodes unannounced; production should pin a release such as "
                f"{AMI_VERSION_EXAMPLE[family]}",
                show=False,
            )

    @rule("ami_family", "user_data")
    def _user_data(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        text = v.get("user_data")
        problem = _user_data_problem(v["ami_family"], text) if isinstance(text, str) else None
        if problem is not None:
            yield Problem(("userData",), problem, show=False)

    @rule("ami_family", "kubelet")
    def _bottlerocket_kubelet(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        kubelet = v.get("kubelet")
        if v["ami_family"] == "Bottlerocket" and isinstance(kubelet, Mapping) and "podsPerCore" in kubelet:
            yield Problem(
                ("kubelet", "podsPerCore"),
                "is ignored by Bottlerocket (Karpenter does not pass it); use maxPods",
                show=False,
            )

    @property
    def alias(self) -> str | None:
        """The `amiSelectorTerms` alias (`al2023@v…`), None with explicit terms."""
        if self.ami_version is None:
            return None
        return f"{ALIAS_FAMILY[self.ami_family]}@{self.ami_version}"


class NodeClassConfig(NodeClassSpec):
    """The EC2NodeClass `default` shared by the pools that name no class (a GPU pool gets its copy `gpu`,
    with `gpuRootVolumeSize`)."""

    gpu_root_volume_size: int = Field(
        default=200,
        ge=20,
        le=16384,
        description="`rootVolumeSize` of the `gpu` copy (GPU images and models are large), GiB.",
    )


RESERVED_CLASS_NAMES = ("default", "gpu")


def _class_names(value: dict[str, NodeClassSpec]) -> dict[str, NodeClassSpec]:
    for name in value:
        if not DNS1123_SUBDOMAIN.match(name) or len(name) > 63:
            raise ValueError(
                f"{name!r} is not a Kubernetes name: lowercase letters, digits, '-' and '.', at most 63"
            )
        if name in RESERVED_CLASS_NAMES:
            raise ValueError(
                f"{name!r} is the class of `nodeClass` (default and gpu are taken); choose another"
            )
    return value


NodeClassMap = Annotated[dict[str, NodeClassSpec], Field(max_length=20), AfterValidator(_class_names)]


def _pool_class(
    pool: Mapping[str, Any], default: Any, named: Mapping[str, Any]
) -> tuple[str, Mapping[str, Any]] | None:
    """The class name and raw config a pool uses (None: it names an unknown class)."""
    name = pool.get("nodeClass")
    if name is None:
        return ("gpu" if pool.get("gpu") else "default"), default if isinstance(default, Mapping) else {}
    found = named.get(name)
    return (name, found) if isinstance(found, Mapping) else None


def pool_class_problems(
    default: Any, named: Any, pools: Any, valid: Callable[..., bool]
) -> Iterable[Problem]:
    """Rules between the pools and the classes they use: the class exists; `reservedCapacity` only with
    capacity reservation terms; reserved resources leave the pool's smallest instance room for pods.
    Locations are relative to the stack config."""
    named = named if isinstance(named, Mapping) and valid("nodeClasses") else {}
    if not isinstance(pools, list):
        return
    for i, pool in enumerate(pools):
        if not isinstance(pool, Mapping):
            continue
        found = _pool_class(pool, default, named)
        if found is None:
            if valid("nodeClasses") and valid("nodePools", i, "nodeClass"):
                choices = ", ".join(sorted(named)) or "none: define one under nodeClasses"
                yield Problem(
                    ("nodePools", i, "nodeClass"),
                    f"names no class of nodeClasses (defined: {choices}); unset, the pool uses nodeClass",
                    pool.get("nodeClass"),
                )
            continue
        name, spec = found
        where = ("nodeClass",) if pool.get("nodeClass") is None else ("nodeClasses", name)
        reserved = pool.get("reservedCapacity") is True and valid("nodePools", i, "reservedCapacity")
        if reserved and not spec.get("capacityReservationSelectorTerms"):
            yield Problem(
                ("nodePools", i, "reservedCapacity"),
                f"needs capacity reservations to launch into: class {name} ({'.'.join(where)}) has no "
                "capacityReservationSelectorTerms",
                show=False,
            )
        yield from _reserved_fits(pool, i, name, spec, where, valid)


def _reserved_fits(
    pool: Mapping[str, Any],
    i: int,
    name: str,
    spec: Mapping[str, Any],
    where: tuple[str, ...],
    valid: Callable[..., bool],
) -> Iterable[Problem]:
    kubelet = spec.get("kubelet")
    keys = ("architecture", "families", "categories")
    if (
        not isinstance(kubelet, Mapping)
        or not valid(*where, "kubelet")
        or not all(valid("nodePools", i, k) for k in keys)
    ):
        return
    if "architecture" not in pool:
        return
    cpu, memory = reserved_totals(kubelet)
    small_cpu, small_memory = smallest_instance(
        pool["architecture"], pool.get("families"), pool.get("categories")
    )
    if cpu >= small_cpu or memory >= small_memory:
        yield Problem(
            (*where, "kubelet"),
            f"reserves {cpu:g} vCPU and {memory:g} GiB (systemReserved + kubeReserved), which leaves nothing "
            f"for pods on the smallest instance pool {pool.get('name')} admits (about {small_cpu:g} vCPU, "
            f"{small_memory:g} GiB); reserve less, or exclude the small sizes from the pool",
            show=False,
        )
