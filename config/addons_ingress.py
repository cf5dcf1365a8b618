"""Config of the AWS Load Balancer Controller and Portainer under `addons`."""

from __future__ import annotations

from pydantic import Field

from config.base import Model


class LoadBalancerControllerConfig(Model):
    """The AWS Load Balancer Controller (Helm chart), on Fargate with IRSA."""

    enabled: bool = Field(default=False, description="Install the AWS Load Balancer Controller.")


class PortainerConfig(Model):
    """Portainer CE (Helm chart), on Fargate, its data on EFS."""

    enabled: bool = Field(default=False, description="Install Portainer CE.")
