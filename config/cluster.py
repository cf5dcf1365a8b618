"""The `cluster` section: the EKS cluster Karpenter runs on, created with its VPC or adopted."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, WrapValidator

from config.addons_storage import AddonVersion
from config.base import Model, Network, Problem, collect_problems, hinted, repeats, rule, unique_items
from config.patterns import (
    CLUSTER_NAME_PATTERN,
    DEFAULT_KUBERNETES_VERSION,
    K8S_VERSION_PATTERN,
    PRINCIPAL_ARN_PATTERN,
    K8sName,
)

SubnetId = Annotated[
    str,
    StringConstraints(pattern=hinted(r"^subnet-[0-9a-f]{8,17}$", "a subnet ID such as subnet-0a1b2c3d4e5f6")),
]
SecurityGroupId = Annotated[
    str, StringConstraints(pattern=hinted(r"^sg-[0-9a-f]{8,17}$", "a security group ID such as sg-0a1b2c3d"))
]


def _vpc_cidr(value: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    if not 16 <= value.prefixlen <= 20:
        raise ValueError("must be a /16 to /20 IPv4 network (subnets are carved from it)")
    if not value.is_private:
        raise ValueError("must be a private (RFC 1918) range")
    return value


class VpcConfig(Model):
    """The VPC built in create mode."""

    cidr: Annotated[Network, AfterValidator(_vpc_cidr)] = Field(
        default=ipaddress.IPv4Network("10.0.0.0/16"),
        description="IPv4 range of the VPC, /16 to /20. Private subnets get an eighth of it each, public "
        "subnets a 64th each.",
    )
    availability_zones: Annotated[
        list[Annotated[str, StringConstraints(pattern=hinted(r"^[a-g]$", "one letter from a to g"))]],
        Field(min_length=2, max_length=4),
        WrapValidator(unique_items),
    ] = Field(
        default=["a", "b", "c"],
        description="Availability-zone letters in the stack's region (2 to 4, a to g). Karpenter, Fargate "
        "and the cluster use one private and one public subnet in each; a subnet's range follows from its "
        "letter, so changing the list never moves the other subnets.",
    )
    nat_gateways: Literal["single", "perAz"] = Field(
        default="single",
        description="`single`: one NAT gateway for all private subnets (cheaper, one AZ's outage cuts "
        "egress). `perAz`: one per availability zone (production).",
    )


class ExistingClusterConfig(Model):
    """What to use of an existing cluster in adopt mode."""

    private_subnet_ids: Annotated[list[SubnetId], Field(min_length=1), WrapValidator(unique_items)] | None = (
        Field(
            default=None,
            description="Private subnets for Fargate and Karpenter's nodes; each gets the "
            "`karpenter.sh/discovery` tag (added with a tag resource, never by replacing the subnet). "
            "Unset: the subnets of the cluster's VPC already tagged `karpenter.sh/discovery: <cluster>`.",
        )
    )
    security_group_id: SecurityGroupId | None = Field(
        default=None,
        description="Security group to tag for Karpenter's nodes. Unset: the cluster security group EKS "
        "created.",
    )
    create_oidc_provider: bool = Field(
        default=False,
        description="Create the IAM OIDC provider for the cluster's issuer (IRSA). Leave false when one "
        "exists already (eksctl's `associate-iam-oidc-provider` made it, for instance).",
    )


class AdminAccess(Model):
    """An IAM principal given access to the cluster through an EKS access entry."""

    principal_arn: Annotated[str, StringConstraints(pattern=PRINCIPAL_ARN_PATTERN)] = Field(
        description="IAM role or user ARN of a person or pipeline."
    )
    policy: Literal[
        "AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy"
    ] = Field(default="AmazonEKSClusterAdminPolicy", description="EKS access policy to associate.")
    namespaces: Annotated[list[K8sName], Field(min_length=1)] | None = Field(
        default=None,
        description="Limit the policy to these namespaces. Unset: cluster scope.",
    )


def _admin_list(entries: Any, valid: Callable[..., bool]) -> Iterable[Problem]:
    if isinstance(entries, list):
        yield from repeats(
            [
                ((i, "principalArn"), e.get("principalArn"))
                for i, e in enumerate(entries)
                if isinstance(e, dict) and valid(i, "principalArn")
            ],
            "the principal ",
        )


def _admin_access_list(data: Any, handler: Any) -> Any:
    return collect_problems(data, handler, _admin_list)


TESTED_VPC_CNI_VERSION = "v1.20.4-eksbuild.2"
"""The `vpc-cni` add-on version of a created cluster unless `cluster.addonVersions.vpcCni` says otherwise."""
TESTED_KUBE_PROXY_VERSIONS = {"1.34": "v1.34.0-eksbuild.2"}
"""The `kube-proxy` add-on version per Kubernetes version (kube-proxy follows the control plane's minor
version) unless `cluster.addonVersions.kubeProxy` says otherwise."""


class AddonVersionsConfig(Model):
    """The versions of the EKS managed add-ons pulumi-eks installs with a created cluster. pulumi-eks looks
    up the newest version on every run when none is given (`aws.eks.getAddonVersion`, `mostRecent`), so an
    unchanged stack would upgrade them unannounced once AWS publishes one: they are pinned per stack."""

    vpc_cni: AddonVersion = Field(
        default=TESTED_VPC_CNI_VERSION,
        description=f"`vpc-cni` add-on version. Default: {TESTED_VPC_CNI_VERSION}. Newer ones: `aws eks "
        "describe-addon-versions --addon-name vpc-cni --kubernetes-version <cluster.kubernetesVersion>`.",
    )
    kube_proxy: AddonVersion | None = Field(
        default=None,
        description="`kube-proxy` add-on version, of the cluster's Kubernetes minor version (v1.34.x for "
        "1.34). Unset: "
        + ", ".join(f"{v} for Kubernetes {k}" for k, v in TESTED_KUBE_PROXY_VERSIONS.items())
        + "; required for any other `kubernetesVersion`. Newer ones: `aws eks describe-addon-versions "
        "--addon-name kube-proxy --kubernetes-version <cluster.kubernetesVersion>`.",
    )


def _kube_proxy(versions: Any) -> Any:
    """`addonVersions.kubeProxy` of the raw data (camelCase keys) or of a default model."""
    if isinstance(versions, Mapping):
        return versions.get("kubeProxy")
    return getattr(versions, "kube_proxy", None)


class ClusterConfig(Model):
    """The EKS cluster Karpenter runs on: created here, or an existing one adopted."""

    mode: Literal["create", "adopt"] = Field(
        description="`create`: build a VPC and an EKS cluster. `adopt`: install on an existing cluster."
    )
    name: Annotated[str, StringConstraints(pattern=CLUSTER_NAME_PATTERN)] = Field(
        description="EKS cluster name (created, or the existing one). Also the prefix of the IAM roles' "
        "and the interruption queue's names (the provider adds a unique suffix) and the discovery tags' "
        "value."
    )
    kubernetes_version: Annotated[str, StringConstraints(pattern=K8S_VERSION_PATTERN)] = Field(
        default=DEFAULT_KUBERNETES_VERSION,
        description="Kubernetes version of a created cluster (create mode only).",
    )
    addon_versions: AddonVersionsConfig | None = Field(
        default=None,
        description="Pinned versions of the `vpc-cni` and `kube-proxy` add-ons of a created cluster "
        "(create mode only; defaults apply when unset).",
    )
    endpoint_public_access: bool = Field(
        default=True,
        description="Expose the API server endpoint publicly (create mode). Private access is always on.",
    )
    public_access_cidrs: Annotated[list[Network], Field(min_length=1)] | None = Field(
        default=None,
        description="Networks allowed to reach the public endpoint (create mode), only with "
        "`endpointPublicAccess: true`. Unset: 0.0.0.0/0 when the endpoint is public.",
    )
    vpc: VpcConfig | None = Field(
        default=None, description="The VPC to create (create mode only; defaults apply when unset)."
    )
    existing: ExistingClusterConfig | None = Field(
        default=None, description="How to use the existing cluster (adopt mode only)."
    )
    admin_access: Annotated[list[AdminAccess], WrapValidator(_admin_access_list)] = Field(
        default=[],
        description="People and pipelines given access with EKS access entries (authentication mode API). "
        "Leave out a principal that already has an entry: the cluster's creator has one (EKS gives it), so "
        "in create mode listing whoever runs the first `pulumi up` (or the role of its session) is refused.",
    )

    @rule("endpoint_public_access", "public_access_cidrs")
    def _cidrs_need_public_access(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        # pulumi-eks throws "`publicAccessCidrs` can only be set when `endpointPublicAccess` is true"
        # (nodejs/eks/cluster/cluster.ts, the control plane's vpcConfig).
        if v.get("public_access_cidrs") is not None and v["endpoint_public_access"] is False:
            yield Problem(
                ("publicAccessCidrs",),
                "only applies to a public endpoint; remove it, or set cluster.endpointPublicAccess: true",
                show=False,
            )

    @property
    def effective_public_access_cidrs(self) -> list[str] | None:
        """What pulumi-eks gets: the CIDRs (default 0.0.0.0/0) with a public endpoint, else nothing."""
        if not self.endpoint_public_access:
            return None
        return [str(c) for c in self.public_access_cidrs or [ipaddress.IPv4Network("0.0.0.0/0")]]

    @rule("mode", "existing")
    def _existing_in_adopt(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        if v["mode"] == "create" and v.get("existing") is not None:
            yield Problem(("existing",), "is for mode adopt; remove it or set mode: adopt", show=False)

    @rule("mode", "vpc")
    def _vpc_in_create(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        if v["mode"] == "adopt" and v.get("vpc") is not None:
            yield Problem(("vpc",), "is for mode create; an adopted cluster keeps its VPC", show=False)

    @rule("mode", "kubernetes_version")
    def _addon_versions(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        versions = v.get("addon_versions")
        if not valid("addonVersions", "kubeProxy"):
            return
        if v["mode"] == "adopt":
            if versions is not None:
                yield Problem(("addonVersions",), "is for mode create; an adopted cluster keeps its add-ons")
            return
        minor = v["kubernetes_version"]
        kube_proxy = _kube_proxy(versions)
        if kube_proxy is None and minor not in TESTED_KUBE_PROXY_VERSIONS:
            yield Problem(
                ("addonVersions", "kubeProxy"),
                f"is required with kubernetesVersion {minor} (defaults exist for "
                f"{', '.join(TESTED_KUBE_PROXY_VERSIONS)}): `aws eks describe-addon-versions --addon-name "
                f"kube-proxy --kubernetes-version {minor}`",
                show=False,
            )
        elif kube_proxy is not None and not str(kube_proxy).startswith(f"v{minor}."):
            yield Problem(
                ("addonVersions", "kubeProxy"),
                f"must be a v{minor}.x version: kube-proxy follows the control plane (kubernetesVersion "
                f"{minor})",
            )

    @property
    def effective_addon_versions(self) -> dict[str, str]:
        """What pulumi-eks gets for a created cluster: {"vpcCni": ..., "kubeProxy": ...}."""
        versions = self.addon_versions or AddonVersionsConfig()
        kube_proxy = versions.kube_proxy or TESTED_KUBE_PROXY_VERSIONS[self.kubernetes_version]
        return {"vpcCni": versions.vpc_cni, "kubeProxy": kube_proxy}

    @property
    def vpc_or_default(self) -> VpcConfig:
        return self.vpc or VpcConfig()

    @property
    def existing_or_default(self) -> ExistingClusterConfig:
        return self.existing or ExistingClusterConfig()
