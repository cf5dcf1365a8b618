"""The `karpenter` section: the controller, its Fargate-sized pods and its Helm values."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, field_validator

from config.base import Model, Problem, hinted, rule
from config.patterns import DEFAULT_KARPENTER_NAMESPACE, VERSION_PATTERN, K8sName
from config.quantities import MEMORY_QUANTITY, cpu_millis, quantity_value

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
SUPPORTED_KARPENTER_VERSIONS = ("1.14.1",)
"""The Karpenter releases whose controller IAM policy (components/documents/iam.py), CRD fields (the
NodePool and EC2NodeClass the program renders) and chart values (config/chart_values/) the program carries.
Another release may need other permissions, fields or values, so it is refused rather than installed with
1.14.1's policy and checks. Adding one: its policy, its chart values (tools/generate/chart_values.py), the
CRD checks, then its number here."""


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
        description="Karpenter release for both charts (`karpenter-crd` and `karpenter`): one the program "
        "carries the IAM policy, CRDs and chart values of ("
        + ", ".join(SUPPORTED_KARPENTER_VERSIONS)
        + "); any other is refused.",
    )
    namespace: K8sName = Field(
        default=DEFAULT_KARPENTER_NAMESPACE,
        description="Namespace of the controller, created and deleted by this stack (so not a system "
        "namespace such as kube-system).",
    )
    service_account: K8sName = Field(
        default="karpenter", description="Service account of the controller (IRSA trusts exactly this one)."
    )
    interruption_queue_name: (
        Annotated[str, StringConstraints(pattern=hinted(r"^[\w-]{1,80}$", "an SQS queue name such as dev"))]
        | None
    ) = Field(
        default=None,
        description="Exact name of the interruption queue. Imported resources keep their names; prefixes "
        "are for what the program creates. Unset: a name prefix. Set it only to take over an existing "
        "queue (`tools/dev.py migrate` writes it); a change later replaces the queue.",
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
    fargate_namespaces: Any = Field(
        default=None,
        description="Removed, refused when set: the stack's Fargate profile selects pods labelled "
        "`fargate: enabled` in every namespace, so a workload opts in with that pod label alone.",
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
        "Karpenter's public ECR (`oci://public.ecr.aws/karpenter`), pulled anonymously; "
        "required in aws-cn and aws-us-gov, which cannot reach it. A private ECR mirror is pulled with "
        "a fresh ECR token of its account (new each run: both releases then show an update in every "
        "preview); other registries with Helm's own credentials.",
    )
    core_dns_on_fargate: bool | None = Field(
        default=None,
        description="Run CoreDNS on Fargate: in create mode the CoreDNS add-on is configured with "
        "computeType Fargate. The Fargate profile always selects `k8s-app: kube-dns` in kube-system; a "
        "CoreDNS configured for EC2 carries the annotation `eks.amazonaws.com/compute-type: ec2`, which "
        "keeps it off Fargate. Unset: true in create mode; false in adopt mode, where the program never "
        "touches CoreDNS (it stays where it runs while it keeps that annotation).",
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
        if version not in SUPPORTED_KARPENTER_VERSIONS:
            raise ValueError(
                f"is a release this program does not carry; it supports "
                f"{', '.join(SUPPORTED_KARPENTER_VERSIONS)} (the controller's IAM policy, the CRDs and the "
                "chart values of each): another release may need other permissions, fields or values"
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

    @field_validator("fargate_namespaces")
    @classmethod
    def _removed(cls, value: Any) -> Any:
        if value is None:
            return None
        raise ValueError(
            "is no longer supported: the stack's one Fargate profile selects pods labelled "
            "`fargate: enabled` in every namespace (a per-namespace profile was one more profile to "
            "create and replace); label the pods of those namespaces `fargate: enabled` in their pod "
            "templates and remove karpenter.fargateNamespaces"
        )

    @field_validator("helm_values")
    @classmethod
    def _fargate_pods_only(cls, values: dict[str, Any]) -> dict[str, Any]:
        if values.get("hostNetwork") not in (None, False):
            raise ValueError(
                "hostNetwork: the controller's pods carry `fargate: enabled` and run on Fargate, which "
                "refuses host-network pods (they would stay Pending); remove helmValues.hostNetwork"
            )
        return values

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
