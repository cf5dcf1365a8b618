"""What discovery found: frozen, typed facts about one running Karpenter install.

Everything here is data read from the cluster or the account, never a guess from a name. What the
reader could not read, or what the stack may not be able to express, is a `Note` on the `Install`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Json = Mapping[str, Any]


class NoteKind(StrEnum):
    UNREADABLE = "could not read"
    UNSUPPORTED = "may not be expressible"
    PRE_V1 = "pre-v1 API"
    INFO = "found"


@dataclass(frozen=True)
class Note:
    kind: NoteKind
    subject: str
    text: str

    def line(self) -> str:
        return f"[{self.kind.value}] {self.subject}: {self.text}"


@dataclass(frozen=True)
class Controller:
    """The Karpenter Deployment: where it runs and the settings its container is given."""

    namespace: str
    name: str
    service_account: str
    image: str
    version: str | None
    replicas: int
    settings: Mapping[str, str]
    pod_labels: Mapping[str, str]
    node_selector: Mapping[str, str]
    tolerations: tuple[Json, ...]
    labels: Mapping[str, str]
    annotations: Mapping[str, str]

    @property
    def cluster_name(self) -> str | None:
        return self.settings.get("CLUSTER_NAME")

    @property
    def interruption_queue(self) -> str | None:
        return self.settings.get("INTERRUPTION_QUEUE") or None

    @property
    def helm_release_name(self) -> str | None:
        return self.annotations.get("meta.helm.sh/release-name") or self.labels.get(
            "app.kubernetes.io/instance"
        )


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str
    annotations: Mapping[str, str]

    @property
    def role_arn(self) -> str | None:
        return self.annotations.get("eks.amazonaws.com/role-arn") or None


@dataclass(frozen=True)
class HelmRelease:
    """A Helm 3 release, decoded from its `sh.helm.release.v1.<name>.v<N>` Secret."""

    name: str
    namespace: str
    revision: int
    status: str
    chart: str
    chart_version: str
    app_version: str | None
    values: Json
    secret: str


@dataclass(frozen=True)
class Policy:
    """An IAM policy on a role: inline (no ARN) or managed (AWS's own when its ARN says `iam::aws:`)."""

    name: str
    arn: str | None
    document: Json

    @property
    def inline(self) -> bool:
        return self.arn is None

    @property
    def aws_managed(self) -> bool:
        return self.arn is not None and ":iam::aws:policy/" in self.arn


@dataclass(frozen=True)
class Role:
    name: str
    arn: str
    path: str
    trust: Json
    inline_policies: tuple[Policy, ...]
    managed_policies: tuple[Policy, ...]
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ControllerIdentity:
    """How the controller gets AWS credentials: IRSA (annotation) or an EKS Pod Identity association."""

    kind: str  # "irsa" | "pod-identity"
    role_arn: str
    role: Role | None
    association_id: str | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    arn: str
    state: str
    event_pattern: Json
    target_id: str


@dataclass(frozen=True)
class Queue:
    name: str
    url: str
    arn: str
    attributes: Mapping[str, str]
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class InstanceProfile:
    name: str
    arn: str
    path: str
    roles: tuple[str, ...]
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AccessEntry:
    principal_arn: str
    type: str
    username: str | None
    kubernetes_groups: tuple[str, ...]
    access_policies: tuple[tuple[str, Json], ...]  # (policy ARN, access scope)


@dataclass(frozen=True)
class AwsAuthMapping:
    """One `mapRoles` entry of the `aws-auth` ConfigMap."""

    role_arn: str
    username: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class NodeRole:
    """The role Karpenter's nodes run with, and what lets them join: profiles, access entry or aws-auth."""

    name: str
    role: Role | None
    instance_profiles: tuple[InstanceProfile, ...]
    access_entry: AccessEntry | None
    aws_auth: tuple[AwsAuthMapping, ...]
    used_by: tuple[str, ...]  # EC2NodeClass names


@dataclass(frozen=True)
class NodeClass:
    name: str
    api_version: str
    role: str | None
    instance_profile: str | None
    ami_family: str | None
    ami_selector_terms: tuple[Json, ...]
    subnet_selector_terms: tuple[Json, ...]
    security_group_selector_terms: tuple[Json, ...]
    tags: Mapping[str, str]
    block_device_mappings: tuple[Json, ...]
    metadata_options: Json | None
    kubelet: Json | None
    user_data: str | None
    other: Json  # every other spec field, as found

    @property
    def ami_aliases(self) -> tuple[str, ...]:
        return tuple(str(t["alias"]) for t in self.ami_selector_terms if "alias" in t)


@dataclass(frozen=True)
class NodePool:
    name: str
    api_version: str
    node_class_ref: Json
    requirements: tuple[Json, ...]
    weight: int | None
    limits: Mapping[str, Any]
    disruption: Json
    taints: tuple[Json, ...]
    startup_taints: tuple[Json, ...]
    labels: Mapping[str, str]
    expire_after: str | None
    termination_grace_period: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    other: Json = field(default_factory=dict)
    """Every other field of `spec.template.spec`, as found."""

    @property
    def budgets(self) -> tuple[Json, ...]:
        return tuple(self.disruption.get("budgets") or ())

    def values(self, key: str) -> tuple[str, ...]:
        """The values of an `In` requirement on `key` (empty when there is none)."""
        for req in self.requirements:
            if req.get("key") == key and req.get("operator") == "In":
                return tuple(str(v) for v in req.get("values") or ())
        return ()


@dataclass(frozen=True)
class FargateProfile:
    name: str
    arn: str
    pod_execution_role_arn: str
    subnets: tuple[str, ...]
    selectors: tuple[Json, ...]
    status: str
    runs_controller: bool


@dataclass(frozen=True)
class Crd:
    name: str
    group: str
    served_versions: tuple[str, ...]
    stored_versions: tuple[str, ...]
    labels: Mapping[str, str]
    annotations: Mapping[str, str]

    @property
    def managed_by(self) -> str | None:
        return self.labels.get("app.kubernetes.io/managed-by")

    @property
    def helm_release(self) -> tuple[str, str] | None:
        """(release name, namespace) from Helm's ownership annotations, when both are there."""
        name = self.annotations.get("meta.helm.sh/release-name")
        namespace = self.annotations.get("meta.helm.sh/release-namespace")
        return (name, namespace) if name and namespace else None


@dataclass(frozen=True)
class LegacyObject:
    """A pre-v1 object: v1alpha5 Provisioner, v1alpha1 AWSNodeTemplate, or any v1beta1 one."""

    kind: str
    api_version: str
    name: str


@dataclass(frozen=True)
class Install:
    cluster: str
    region: str
    account: str | None
    controller: Controller | None
    service_account: ServiceAccount | None
    helm_release: HelmRelease | None
    identity: ControllerIdentity | None
    queue: Queue | None
    node_classes: tuple[NodeClass, ...]
    node_pools: tuple[NodePool, ...]
    node_roles: tuple[NodeRole, ...]
    fargate_profiles: tuple[FargateProfile, ...]
    crds: tuple[Crd, ...]
    api_versions: tuple[str, ...]  # "karpenter.sh/v1 NodePool", ...
    legacy: tuple[LegacyObject, ...]
    notes: tuple[Note, ...]
    stacks: Mapping[str, str] = field(default_factory=dict)
    """Resource the stack takes over (role, instance profile, queue) -> the CloudFormation stack owning it."""

    @property
    def pre_v1(self) -> bool:
        return bool(self.legacy)

    def notes_of(self, kind: NoteKind) -> tuple[Note, ...]:
        return tuple(n for n in self.notes if n.kind is kind)

    @property
    def unsupported(self) -> tuple[Note, ...]:
        return self.notes_of(NoteKind.UNSUPPORTED)
