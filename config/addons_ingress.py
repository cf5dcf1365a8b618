"""Config of the AWS Load Balancer Controller and Portainer under `addons`."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr, StringConstraints, model_validator

from config.base import Model, Network, hinted, unique
from config.fargate_sizes import describe_size, fargate_size
from config.karpenter import CpuQuantity, MemoryQuantity

CHART_VERSION_PATTERN = hinted(r"^[0-9]+\.[0-9]+\.[0-9]+$", "a chart version such as 3.5.0 (no leading v)")
CERTIFICATE_ARN_PATTERN = hinted(
    r"^arn:aws(-[a-z]+)*:acm:[a-z0-9-]+:\d{12}:certificate/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    "an ACM certificate ARN such as arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-...",
)
NAMESPACE_PATTERN = hinted(
    r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
    "a Kubernetes name: lowercase letters, digits and -, such as portainer",
)
HOST_PATTERN = hinted(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$", "a DNS name such as portainer.example.com"
)

LBC_MIN_MAJOR = 3
"""From chart 3.0.0 the chart and the controller share a version, and the CRDs are read from the controller's
release tag `v<version>` (`crd_urls`); chart 1.x shipped controller 2.x, so below 3 that tag is missing or
another release's, without the two CRD files this program applies."""
LBC_CHART_VERSION = "3.5.0"
"""The chart (and controller) release whose IAM policy `components/addons/load_balancer_controller.py`
reproduces; `../shared/aws-load-balancer-controller/v3.5.0/` holds upstream's copy."""
PORTAINER_CHART_VERSION = "239.4.0"
PORTAINER_MIN_PASSWORD = 12
"""Portainer's default minimum admin password length (shorter is refused at first start)."""


class FargatePodResources(Model):
    """Requests of a Fargate pod's one container, equal to its limits: Fargate sizes the pod from its
    requests (plus 256 MB of its own) and rounds up to its nearest size; without requests a pod gets the
    smallest, 0.25 vCPU and 0.5 GB, of which 256 MB is Fargate's."""

    cpu: CpuQuantity = Field(default="250m", description="CPU request and limit, 250m to 4 (Fargate sizes).")
    memory: MemoryQuantity = Field(
        default="512Mi",
        description="Memory request and limit, with a unit, 512Mi to 30Gi less Fargate's own 256 MB.",
    )

    @model_validator(mode="after")
    def _fits(self) -> FargatePodResources:
        if fargate_size(self.cpu, self.memory) is None:
            raise ValueError(
                f"no Fargate size holds cpu {self.cpu} and memory {self.memory} plus Fargate's 256 MB "
                "(EKS on Fargate runs pods of at most 4 vCPU and 30 GB)"
            )
        return self

    @property
    def fargate_size(self) -> str:
        """What Fargate gives the pod, such as `0.25 vCPU, 1 GB`."""
        size = fargate_size(self.cpu, self.memory)
        assert size is not None  # refused above
        return describe_size(size)

    def as_helm(self) -> dict[str, dict[str, str]]:
        """A chart's `resources` value: requests equal to limits."""
        both = {"cpu": self.cpu, "memory": self.memory}
        return {"requests": dict(both), "limits": dict(both)}


LBC_RESOURCES = FargatePodResources()
PORTAINER_RESOURCES = FargatePodResources()


def _lbc_version(version: str) -> str:
    major = int(version.split(".")[0])
    if major < LBC_MIN_MAJOR:
        raise ValueError(
            f"chart {version} is older than 3.0.0: before 3 the chart's version is not the controller's "
            f"(chart 1.x shipped controller 2.x), so the CRD files this program applies from tag v{version} "
            f"are missing or another release's, and its IAM policy is v3's; use a 3.x chart such as "
            f"{LBC_CHART_VERSION}"
        )
    return version


class LoadBalancerControllerConfig(Model):
    """The AWS Load Balancer Controller (Helm chart), on Fargate with IRSA."""

    enabled: bool = Field(default=False, description="Install the AWS Load Balancer Controller.")
    version: Annotated[
        str, StringConstraints(pattern=CHART_VERSION_PATTERN), AfterValidator(_lbc_version)
    ] = Field(
        default=LBC_CHART_VERSION,
        description="Chart `aws-load-balancer-controller` (https://aws.github.io/eks-charts) and, from the "
        "same release tag, its CRDs. The controller's IAM policy is upstream's for v3.5.0: check upstream's "
        "`docs/install/iam_policy.json` before choosing another release.",
    )
    replicas: int = Field(
        default=2, ge=1, le=5, description="Controller replicas (each a Fargate pod; the webhooks need one)."
    )
    resources: FargatePodResources = Field(
        default=LBC_RESOURCES,
        description="Each controller pod's requests, equal to its limits. The default, 250m and 512Mi, "
        "makes a Fargate pod of 0.25 vCPU and 1 GB (512Mi + Fargate's 256 MB, rounded up).",
    )


def covers_everything(networks: list[ipaddress.IPv4Network]) -> bool:
    """Whether the ranges together cover all of IPv4 (0.0.0.0/0 itself, or e.g. 0.0.0.0/1 + 128.0.0.0/1)."""
    return any(n.prefixlen == 0 for n in ipaddress.collapse_addresses(networks))


class PortainerIngressConfig(Model):
    """An ALB in front of Portainer, made by the load balancer controller (target type `ip`)."""

    enabled: bool = Field(default=False, description="Create an ALB Ingress for Portainer.")
    scheme: Literal["internal", "internet-facing"] = Field(
        default="internal",
        description="`internal`: reachable from the VPC (and networks routed to it) only. `internet-facing` "
        "needs `allowedCidrs`: Portainer is a cluster-admin UI.",
    )
    certificate_arn: Annotated[str, StringConstraints(pattern=CERTIFICATE_ARN_PATTERN)] | None = Field(
        default=None,
        description="ACM certificate of the HTTPS listener (required: the ALB listens on HTTPS 443 only), "
        "in the stack's region and partition.",
    )
    allowed_cidrs: Annotated[list[Network], AfterValidator(unique)] = Field(
        default=[],
        description="Source ranges allowed to reach the ALB (`alb.ingress.kubernetes.io/inbound-cidrs`). "
        "Empty: the controller's default, 0.0.0.0/0, which is refused for `internet-facing`, as are ranges "
        "that together cover all of IPv4.",
    )
    host: Annotated[str, StringConstraints(pattern=HOST_PATTERN, max_length=253)] | None = Field(
        default=None,
        description="Host name the rule matches (the certificate must cover it). Unset: any host.",
    )

    @model_validator(mode="after")
    def _safe(self) -> PortainerIngressConfig:
        if not self.enabled:
            return self
        problems = []
        if self.certificate_arn is None:
            problems.append(
                "certificateArn is required: the ALB serves Portainer (a cluster-admin UI) over HTTPS only"
            )
        if self.scheme == "internet-facing":
            if not self.allowed_cidrs:
                problems.append("an internet-facing Portainer needs allowedCidrs (a source allow-list)")
            elif covers_everything(self.allowed_cidrs):
                problems.append(
                    "an internet-facing Portainer may not allow all of IPv4 (0.0.0.0/0, or ranges that "
                    "together cover it) in allowedCidrs: list the networks that need it"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self


class PortainerConfig(Model):
    """Portainer CE (Helm chart), on Fargate, its data on EFS."""

    enabled: bool = Field(default=False, description="Install Portainer CE.")
    version: Annotated[str, StringConstraints(pattern=CHART_VERSION_PATTERN)] = Field(
        default=PORTAINER_CHART_VERSION,
        description="Chart `portainer` (https://portainer.github.io/k8s/); it pins the Portainer CE image.",
    )
    namespace: Annotated[str, StringConstraints(pattern=NAMESPACE_PATTERN, max_length=63)] = Field(
        default="portainer",
        description="Namespace of Portainer (created; its Fargate profile selects Portainer's pods in it).",
    )
    admin_password: SecretStr | None = Field(
        default=None,
        description="Password of the `admin` user, set at Portainer's first start (never first-visitor "
        "setup). Required when enabled; store it as a secret: `pulumi config set --secret --path "
        "addons.portainer.adminPassword`. Later changes do not change an existing admin's password.",
    )
    ingress: PortainerIngressConfig = Field(
        default=PortainerIngressConfig(),
        description="Optional ALB Ingress (needs the load balancer controller).",
    )
    resources: FargatePodResources = Field(
        default=PORTAINER_RESOURCES,
        description="Portainer's requests, equal to its limits. The default, 250m and 512Mi, makes a "
        "Fargate pod of 0.25 vCPU and 1 GB (512Mi + Fargate's 256 MB, rounded up).",
    )

    @model_validator(mode="after")
    def _password(self) -> PortainerConfig:
        # Checked here, on the section, so that a refusal never echoes the password.
        if self.admin_password is None:
            if self.enabled:
                raise ValueError(
                    "adminPassword is required when Portainer is enabled (set it with `pulumi config set "
                    "--secret --path addons.portainer.adminPassword`)"
                )
        elif len(self.admin_password.get_secret_value()) < PORTAINER_MIN_PASSWORD:
            raise ValueError(f"adminPassword must be at least {PORTAINER_MIN_PASSWORD} characters long")
        return self
