"""The stack config: one pydantic model per section, `StackConfig` at the root.

These models are the reference documentation of every key (README's config reference is generated from
them by `python -m tools.generate.config_reference`). Defaults live here and nowhere else.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    WrapValidator,
    field_validator,
)

from config.addons import AddonsConfig
from config.addons_storage import StackContext
from config.base import Model, Network, Problem, collect_problems, hinted, repeats, rule, unique_items
from config.nodeclass import NodeClassConfig
from config.nodepools import NodePoolList
from config.quantities import MEMORY_QUANTITY, cpu_millis, quantity_value

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
PolicyArn = Annotated[
    str,
    StringConstraints(
        pattern=hinted(
            r"^arn:aws(-[a-z]+)*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+$",
            "an IAM policy ARN such as arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
        )
    ),
]
SubnetId = Annotated[
    str,
    StringConstraints(pattern=hinted(r"^subnet-[0-9a-f]{8,17}$", "a subnet ID such as subnet-0a1b2c3d4e5f6")),
]
SecurityGroupId = Annotated[
    str, StringConstraints(pattern=hinted(r"^sg-[0-9a-f]{8,17}$", "a security group ID such as sg-0a1b2c3d"))
]
CPU_PATTERN = hinted(r"^\d+(\.\d+)?m?$", 'a CPU quantity in quotes such as "1", "0.5" or "500m"')
MEMORY_PATTERN = hinted(MEMORY_QUANTITY.pattern, "a memory quantity with a unit such as 1Gi or 512Mi")


def _quoted(example: str) -> Callable[[Any], Any]:
    """A BeforeValidator for text keys that YAML may read as a number: say what to write."""

    def check(value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(f"write it in quotes with its unit, such as {example.format(value)}")
        return value

    return check


def _fargate_cpu(value: str) -> str:
    # Fargate pod sizes: 0.25 to 16 vCPU, 0.5 to 120 GB
    # (docs.aws.amazon.com/eks/latest/userguide/fargate-pod-configuration.html).
    if not 250 <= cpu_millis(value) <= 16000:
        raise ValueError("must be 250m to 16 CPUs (the sizes a Fargate pod can have)")
    return value


def _fargate_memory(value: str) -> str:
    if not 512 * 2**20 <= quantity_value(value) <= 120 * 2**30:
        raise ValueError("must be 512Mi to 120Gi (the sizes a Fargate pod can have)")
    return value


CpuQuantity = Annotated[
    str,
    BeforeValidator(_quoted('"{}"')),
    StringConstraints(pattern=CPU_PATTERN),
    AfterValidator(_fargate_cpu),
]
MemoryQuantity = Annotated[
    str,
    BeforeValidator(_quoted('"{}Mi"')),
    StringConstraints(pattern=MEMORY_PATTERN),
    AfterValidator(_fargate_memory),
]
TagMap = dict[
    Annotated[str, StringConstraints(min_length=1, max_length=128)],
    Annotated[str, StringConstraints(max_length=256)],
]


NODE_POLICY_NAMES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)


def _extra_policies(arns: list[str]) -> list[str]:
    """Each attachment is named after its policy: names must be unique and not the standard four."""
    names = [arn.rsplit("/", 1)[-1] for arn in arns]
    standard = sorted(set(names) & set(NODE_POLICY_NAMES))
    if standard:
        raise ValueError(f"{', '.join(standard)} is attached to the node role already; remove it")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"two policies named {', '.join(repeated)}; policy names must be unique here")
    return arns


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
        default="1.34", description="Kubernetes version of a created cluster (create mode only)."
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

    @property
    def vpc_or_default(self) -> VpcConfig:
        return self.vpc or VpcConfig()

    @property
    def existing_or_default(self) -> ExistingClusterConfig:
        return self.existing or ExistingClusterConfig()


def _replaced_by_spot_setting(value: Any) -> None:
    if value is not None:
        raise ValueError(
            "was replaced by spotServiceLinkedRole: remove it (the default `ensure` creates the role only "
            "when the account lacks it; `skip` never creates it)"
        )
    return None


class IamConfig(Model):
    """IAM details shared by the roles this stack creates."""

    path: Annotated[
        str,
        StringConstraints(
            pattern=hinted(
                r"^/([\x21-\x7e]{1,510}/)?$", "an IAM path that starts and ends with / such as /platform/"
            )
        ),
    ] = Field(
        default="/",
        description="IAM path of every role, policy and instance profile. A change moves the controller's "
        "role and policies (new ones created first, then the controller rolls onto them); the node role, "
        "its instance profile and the Fargate pod execution role keep the path they were created with "
        "(running nodes and Fargate profiles hold on to them), so choose it before the first `pulumi up`.",
    )
    permissions_boundary_arn: PolicyArn | None = Field(
        default=None, description="Permissions boundary set on every role this stack creates."
    )
    extra_node_policy_arns: Annotated[list[PolicyArn], AfterValidator(_extra_policies)] = Field(
        default=[],
        description="More managed policies for the node role (e.g. for CloudWatch agents); the four "
        "standard node policies are always attached.",
    )
    karpenter_manages_instance_profiles: bool = Field(
        default=False,
        description="false: the EC2NodeClass names the instance profile this stack creates, and the "
        "controller policy omits the instance-profile create/tag/add-role/remove-role/delete statements. "
        "true: upstream role-based mode (`spec.role`), Karpenter creates profiles, full statements.",
    )
    spot_service_linked_role: Literal["ensure", "create", "skip"] = Field(
        default="ensure",
        description="The EC2 Spot service-linked role (`AWSServiceRoleForEC2Spot`) Spot NodePools need. "
        "`ensure`: look it up and create it only when the account lacks it. `create`: always create it "
        "(fails if it exists). `skip`: never. Created or not, this stack never deletes it (account-wide).",
    )

    create_spot_service_linked_role: Annotated[Any, AfterValidator(_replaced_by_spot_setting)] = Field(
        default=None,
        description="Replaced by `spotServiceLinkedRole`; refused when set, with the fix.",
    )


class ControllerResources(Model):
    cpu: CpuQuantity = Field(
        default="1", description="CPU request and limit of each controller pod, 250m to 16 (Fargate sizes)."
    )
    memory: MemoryQuantity = Field(
        default="1Gi",
        description="Memory request and limit of each controller pod, with a unit, 512Mi to 120Gi (Fargate "
        "sizes).",
    )


PROGRAM_OWNED_HELM_VALUES = (
    "settings.clusterName",
    "settings.clusterEndpoint",
    "settings.interruptionQueue",
    "serviceAccount.create",
    "serviceAccount.name",
    "serviceAccount.annotations.eks.amazonaws.com/role-arn",
    "podLabels.fargate",
    "dnsPolicy",
    "schedulerName",
)
"""Helm value paths the program sets from the stack itself (IRSA trusts the service account by name,
the Fargate profile selects the pod label, ...): a `helmValues` override would silently break them."""

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

CHART_VALUES_DIR = Path(__file__).resolve().parent / "chart_values"


@functools.cache
def chart_value_paths(version: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """(every value path, the paths that take free keys) of the `karpenter` chart `version`, from the
    file tools/generate/chart_values.py derives from the chart's values.yaml; None when the project
    has none."""
    path = CHART_VALUES_DIR / f"karpenter-{version}.json"
    if not path.exists():
        return None
    doc = json.loads(path.read_text())
    return frozenset(doc["paths"]), frozenset(doc["free"])


def unknown_helm_values(values: Mapping[str, Any], paths: frozenset[str], free: frozenset[str]) -> list[str]:
    """Dotted paths of `values` the chart does not have (keys under a free path are fine)."""
    unknown: list[str] = []

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}{key}"
            if path not in paths:
                unknown.append(path)
            elif path not in free and isinstance(value, dict):
                walk(value, f"{path}.")

    walk(values, "")
    return unknown


def helm_value_warnings(karpenter: KarpenterConfig) -> list[str]:
    """For a chart version the project has no value paths for: say its helmValues are unchecked."""
    if not karpenter.helm_values or chart_value_paths(karpenter.version) is not None:
        return []
    return [
        f"karpenter.helmValues: chart version {karpenter.version} is not the pinned one, so its keys are "
        "not checked (Helm ignores unknown keys silently); check them against that chart's values.yaml"
    ]


class KarpenterConfig(Model):
    """The Karpenter controller and its Helm releases."""

    version: Annotated[str, StringConstraints(pattern=VERSION_PATTERN)] = Field(
        default="1.14.1",
        description="Karpenter release for both charts (`karpenter-crd` and `karpenter`); 1.0.0 or later.",
    )
    namespace: K8sName = Field(
        default="karpenter",
        description="Namespace of the controller, created and deleted by this stack (so not a system "
        "namespace such as kube-system).",
    )
    service_account: K8sName = Field(
        default="karpenter", description="Service account of the controller (IRSA trusts exactly this one)."
    )
    replicas: int = Field(default=2, ge=1, le=5, description="Controller replicas (leader election).")
    log_level: Literal["debug", "info", "error"] = Field(default="info", description="Controller log level.")
    resources: ControllerResources = Field(
        default=ControllerResources(), description="Controller requests, equal to its limits."
    )
    spot_to_spot_consolidation: bool = Field(
        default=False, description="Feature gate `spotToSpotConsolidation` (alpha)."
    )
    identity: Literal["irsa", "podIdentity"] = Field(
        default="irsa",
        description="How the controller gets AWS credentials. Only `irsa` works on Fargate: the EKS Pod "
        "Identity agent is a DaemonSet and never runs on Fargate.",
    )
    fargate_namespaces: Annotated[list[K8sName], Field(max_length=5), WrapValidator(unique_items)] = Field(
        default=[],
        description="More namespaces (up to 5: a Fargate profile takes 5 selectors) whose pods labelled "
        "`fargate: enabled` run on Fargate. They get their own Fargate profile, so changing this list "
        "never touches the profile Karpenter and CoreDNS run on.",
    )
    chart_repository: (
        Annotated[
            str,
            StringConstraints(
                pattern=hinted(
                    r"^oci://[a-z0-9.-]+(:\d+)?(/[a-z0-9._/-]+)?$",
                    "an OCI "
                    "repository such as oci://123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/karpenter",
                )
            ),
        ]
        | None
    ) = Field(
        default=None,
        description="OCI repository holding the `karpenter` and `karpenter-crd` charts (a mirror). Unset: "
        "Karpenter's public ECR (`oci://public.ecr.aws/karpenter`), pulled with a fresh public ECR token; "
        "required in aws-cn and aws-us-gov, which cannot get one. A private ECR mirror is pulled with "
        "an ECR token of the stack's account; other registries with Helm's own credentials.",
    )
    core_dns_on_fargate: bool | None = Field(
        default=None,
        description="Run CoreDNS on Fargate (profile selector `k8s-app: kube-dns` in kube-system; in "
        "create mode the CoreDNS add-on is configured with computeType Fargate). Unset: true in create "
        "mode; false in adopt mode, where CoreDNS stays where it runs (set true only after configuring "
        "the existing CoreDNS for Fargate).",
    )
    helm_values: dict[str, Any] = Field(
        default={},
        description="Extra values for the `karpenter` chart, deep-merged last. Keys must exist in the "
        "chart's values.yaml (Helm ignores unknown keys silently): refused for the pinned chart version "
        "(its value paths are in config/chart_values/), a warning for another version. Values the design "
        "depends on cannot be set, removed or replaced: "
        + ", ".join(f"`{p}`" for p in PROGRAM_OWNED_HELM_VALUES)
        + ".",
    )

    @field_validator("version")
    @classmethod
    def _v1_only(cls, version: str) -> str:
        if int(version.split(".")[0]) < 1:
            raise ValueError(
                "must be 1.0.0 or later: this program renders the Karpenter v1 API only "
                "(NodePool karpenter.sh/v1, EC2NodeClass karpenter.k8s.aws/v1)"
            )
        return version

    @field_validator("identity")
    @classmethod
    def _irsa_on_fargate(cls, identity: str) -> str:
        if identity == "podIdentity":
            raise ValueError(
                "podIdentity cannot work here: the controller runs on Fargate, where the EKS Pod Identity "
                "agent (a DaemonSet) never runs, so the controller would crash-loop without credentials; "
                "use irsa"
            )
        return identity

    @field_validator("namespace")
    @classmethod
    def _not_system(cls, namespace: str) -> str:
        if namespace in SYSTEM_NAMESPACES:
            raise ValueError(
                "is a system namespace; this stack creates and deletes the controller's namespace, so use "
                "a dedicated one such as karpenter"
            )
        return namespace

    @rule("namespace")
    def _not_the_controller_namespace(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        namespaces = v.get("fargate_namespaces")
        for i, namespace in enumerate(namespaces if isinstance(namespaces, list) else []):
            if namespace == v["namespace"] and valid("fargateNamespaces", i):
                yield Problem(
                    ("fargateNamespaces", i), f"repeats the controller namespace {namespace!r}", namespace
                )

    @rule("version", "helm_values")
    def _chart_has_the_keys(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        known = chart_value_paths(v["version"])
        if known is None or not isinstance(v.get("helm_values"), dict):
            return
        for path in unknown_helm_values(v["helm_values"], *known):
            yield Problem(
                ("helmValues", *path.split(".")),
                f"is not a value of the karpenter chart {v['version']} (Helm would ignore it silently); "
                "check the spelling against the chart's values.yaml",
                show=False,
            )

    @field_validator("helm_values")
    @classmethod
    def _program_owned(cls, values: dict[str, Any]) -> dict[str, Any]:
        owned = sorted(p for p in PROGRAM_OWNED_HELM_VALUES if _touches(values, p.split(".", 2)))
        if owned:
            raise ValueError(
                f"may not set, remove or replace {', '.join(owned)}: the program sets them from the stack "
                "(cluster, queue, IRSA service account, Fargate label, DNS policy, Fargate scheduler); "
                "change the stack keys instead"
            )
        return values


def _touches(values: Any, path: list[str]) -> bool:
    """Whether an override would change `path`: it sets the path, or replaces one of its parents with
    something that is not a map (null, a string, a list), which the deep merge would put in its place."""
    if not isinstance(values, dict) or path[0] not in values:
        return False
    child = values[path[0]]
    if len(path) == 1 or not isinstance(child, dict):
        return True
    rest = path[1:]
    if len(rest) == 2 and rest[0] == "annotations":  # the annotation key itself contains dots
        rest = ["annotations", rest[1]]
    return _touches(child, rest)


def region_partition(region: str) -> str:
    """The AWS partition a region belongs to (its ARNs start `arn:<partition>:`)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _region(value: str) -> str:
    if not re.match(REGION_PATTERN, value):
        raise ValueError("must be an AWS region code such as eu-west-1 or us-gov-west-1")
    return value


class StackConfig(Model):
    """The whole stack config, under the project's namespace in `Pulumi.<stack>.yaml`."""

    region: Annotated[str, AfterValidator(_region)] = Field(
        description="AWS region of everything this stack creates (the explicit AWS provider uses it)."
    )
    tags: TagMap = Field(
        default={},
        description="Tags on every AWS resource this stack creates (provider default tags). Instances and "
        "volumes Karpenter launches get `nodeClass.tags`.",
    )
    cluster: ClusterConfig = Field(description="The EKS cluster: created or adopted.")
    iam: IamConfig = Field(default=IamConfig(), description="IAM details of the roles created.")
    karpenter: KarpenterConfig = Field(default=KarpenterConfig(), description="The controller.")
    node_class: NodeClassConfig = Field(
        description="The EC2NodeClass shared by the node pools (a GPU pool gets its own copy)."
    )
    node_pools: NodePoolList = Field(description="The capacity Karpenter may buy, one entry per pool.")
    addons: AddonsConfig = Field(
        default=AddonsConfig(),
        description="Optional parts of the environment (storage, load balancer controller, Portainer), each "
        "off unless enabled.",
    )

    @rule("region")
    def _arns_in_the_region_partition(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        """Each ARN (that is itself valid) in the region's partition, named by its own key."""
        region = v["region"]
        partition = region_partition(region)
        arns: list[tuple[tuple[int | str, ...], Any]] = []
        cluster, iam = v.get("cluster"), v.get("iam")
        if isinstance(cluster, dict) and isinstance(cluster.get("adminAccess"), list):
            for i, entry in enumerate(cluster["adminAccess"]):
                if isinstance(entry, dict):
                    arns.append((("cluster", "adminAccess", i, "principalArn"), entry.get("principalArn")))
        if isinstance(iam, dict):
            for i, arn in enumerate(iam.get("extraNodePolicyArns") or []):
                arns.append((("iam", "extraNodePolicyArns", i), arn))
            arns.append((("iam", "permissionsBoundaryArn"), iam.get("permissionsBoundaryArn")))
        for loc, arn in arns:
            if isinstance(arn, str) and valid(*loc) and arn.split(":")[1:2] != [partition]:
                yield Problem(
                    loc,
                    f"is an ARN of partition {arn.split(':')[1]}, but region {region} is in partition "
                    f"{partition}; write arn:{partition}:...",
                    arn,
                )

    @rule("region")
    def _chart_mirror_outside_aws(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        region = v["region"]
        partition = region_partition(region)
        karpenter = v.get("karpenter")
        repository = karpenter.get("chartRepository") if isinstance(karpenter, dict) else None
        if (
            partition != "aws"
            and valid("karpenter", "chartRepository")
            and (not isinstance(repository, str) or repository.startswith("oci://public.ecr.aws/"))
        ):
            yield Problem(
                ("karpenter", "chartRepository"),
                f"is required in region {region} (partition {partition}): Karpenter's charts are on public "
                "ECR, whose pull token is issued only in the aws partition (us-east-1). Copy the karpenter "
                "and karpenter-crd charts to a registry this partition reaches (e.g. ECR: helm pull, then "
                "helm push) and name it here",
                repository,
                show=repository is not None,
            )

    @rule("region")
    def _ingress_addons_in_the_aws_partition(
        v: Mapping[str, Any], valid: Callable[..., bool]
    ) -> Iterable[Problem]:
        """The load balancer controller's image is on public ECR, its CRDs on GitHub, Portainer's image on
        Docker Hub: none is reachable from aws-cn or aws-us-gov, and no image override exists yet."""
        partition = region_partition(v["region"])
        addons = v.get("addons") if isinstance(v.get("addons"), Mapping) else {}
        for key in ("loadBalancerController", "portainer"):
            section = addons.get(key) if isinstance(addons, Mapping) else None
            if partition != "aws" and isinstance(section, Mapping) and section.get("enabled") is True:
                yield Problem(
                    ("addons", key, "enabled"),
                    f"is not available in partition {partition} (region {v['region']}): its images and "
                    "manifests come from public ECR, GitHub and Docker Hub, which that partition does not "
                    "reach, and this program has no mirror setting for them yet",
                    show=False,
                )

    @rule("region")
    def _certificate_in_the_stack_region(
        v: Mapping[str, Any], valid: Callable[..., bool]
    ) -> Iterable[Problem]:
        loc = ("addons", "portainer", "ingress", "certificateArn")
        doc: Any = v
        for key in loc:
            doc = doc.get(key) if isinstance(doc, dict) else None
        if isinstance(doc, str) and valid(*loc) and doc.split(":")[3:4] != [v["region"]]:
            yield Problem(
                loc,
                f"is a certificate of region {doc.split(':')[3]}; an ALB takes ACM certificates of its own "
                f"region ({v['region']}) only",
                show=False,
            )

    @rule("karpenter", "addons")
    def _portainer_namespace_of_its_own(
        v: Mapping[str, Any], valid: Callable[..., bool]
    ) -> Iterable[Problem]:
        """Portainer's namespace is created by its component: it may not be one the stack creates for
        something else (Karpenter's, the S3 claims') or a system namespace (a second Namespace resource, or
        a deleted kube-system, would follow)."""

        def section(doc: Any, key: str) -> Mapping[str, Any]:
            found = doc.get(key) if isinstance(doc, Mapping) else None
            return found if isinstance(found, Mapping) else {}

        addons = section(v, "addons")
        portainer = section(addons, "portainer")
        if portainer.get("enabled") is not True:
            return
        namespace = portainer.get("namespace", "portainer")
        karpenter = section(v, "karpenter")
        s3 = section(addons, "s3")
        taken = {
            karpenter.get("namespace", "karpenter"): "karpenter.namespace",
            **({s3.get("namespace"): "addons.s3.namespace"} if s3.get("enabled") is True else {}),
            **{ns: "a system namespace" for ns in SYSTEM_NAMESPACES},
        }
        if namespace in taken:
            yield Problem(
                ("addons", "portainer", "namespace"),
                f"is {taken[namespace]}; Portainer creates and deletes a namespace of its own, such as "
                "portainer",
                namespace,
            )

    @property
    def addons_context(self) -> StackContext:
        """What the add-on rules and components need of the rest of the stack."""
        version = self.cluster.kubernetes_version if self.cluster.mode == "create" else None
        return StackContext(
            self.region, region_partition(self.region), self.cluster.mode, version, self.karpenter.namespace
        )

    @property
    def core_dns_on_fargate(self) -> bool:
        """`karpenter.coreDnsOnFargate`, or its mode-dependent default."""
        explicit = self.karpenter.core_dns_on_fargate
        return self.cluster.mode == "create" if explicit is None else explicit
