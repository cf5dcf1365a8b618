"""Config of the AWS Load Balancer Controller and Portainer under `addons`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr, StringConstraints, model_validator

from config.base import Model, Network, hinted, unique

CHART_VERSION_PATTERN = hinted(r"^[0-9]+\.[0-9]+\.[0-9]+$", "a chart version such as 3.5.0 (no leading v)")
CERTIFICATE_ARN_PATTERN = hinted(
    r"^arn:aws(-[a-z]+)*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+$",
    "an ACM certificate ARN such as arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-...",
)
NAMESPACE_PATTERN = hinted(
    r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
    "a Kubernetes name: lowercase letters, digits and -, such as portainer",
)
HOST_PATTERN = hinted(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$", "a DNS name such as portainer.example.com"
)

LBC_CHART_VERSION = "3.5.0"
"""The chart (and controller) release whose IAM policy `components/addons/load_balancer_controller.py`
reproduces; `../shared/aws-load-balancer-controller/v3.5.0/` holds upstream's copy."""
PORTAINER_CHART_VERSION = "239.4.0"
PORTAINER_MIN_PASSWORD = 12
"""Portainer's default minimum admin password length (shorter is refused at first start)."""


class LoadBalancerControllerConfig(Model):
    """The AWS Load Balancer Controller (Helm chart), on Fargate with IRSA."""

    enabled: bool = Field(default=False, description="Install the AWS Load Balancer Controller.")
    version: Annotated[str, StringConstraints(pattern=CHART_VERSION_PATTERN)] = Field(
        default=LBC_CHART_VERSION,
        description="Chart `aws-load-balancer-controller` (https://aws.github.io/eks-charts) and, from the "
        "same release tag, its CRDs. The controller's IAM policy is upstream's for v3.5.0: check upstream's "
        "`docs/install/iam_policy.json` before choosing another release.",
    )
    replicas: int = Field(
        default=2, ge=1, le=5, description="Controller replicas (each a Fargate pod; the webhooks need one)."
    )


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
        description="ACM certificate of the HTTPS listener (required: the ALB listens on HTTPS 443 only).",
    )
    allowed_cidrs: Annotated[list[Network], AfterValidator(unique)] = Field(
        default=[],
        description="Source ranges allowed to reach the ALB (`alb.ingress.kubernetes.io/inbound-cidrs`). "
        "Empty: the controller's default, 0.0.0.0/0, which is refused for `internet-facing`.",
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
            elif any(c.prefixlen == 0 for c in self.allowed_cidrs):
                problems.append("an internet-facing Portainer may not allow 0.0.0.0/0 in allowedCidrs")
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
