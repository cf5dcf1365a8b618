"""The `addons` section: the rest of the environment, each part optional and off unless enabled.

Each part's model lives beside this file (`addons_storage.py`, `addons_ingress.py`); the rules that tie
parts together (Portainer needs EFS, an Ingress needs the load balancer controller, ...) live here."""

from __future__ import annotations

from pydantic import Field, model_validator

from config.addons_ingress import LoadBalancerControllerConfig, PortainerConfig
from config.addons_storage import EbsConfig, EfsConfig, S3Config
from config.base import Model


class AddonsConfig(Model):
    """Optional parts of the environment around Karpenter."""

    ebs: EbsConfig = Field(default=EbsConfig(), description="EBS CSI driver and the gp3 StorageClass.")
    efs: EfsConfig = Field(default=EfsConfig(), description="EFS file system, CSI driver and StorageClass.")
    s3: S3Config = Field(default=S3Config(), description="Mountpoint for S3 CSI driver and bucket volumes.")
    load_balancer_controller: LoadBalancerControllerConfig = Field(
        default=LoadBalancerControllerConfig(), description="AWS Load Balancer Controller on Fargate."
    )
    portainer: PortainerConfig = Field(default=PortainerConfig(), description="Portainer CE on Fargate.")

    @model_validator(mode="after")
    def _ingress_parts_fit_together(self) -> AddonsConfig:
        """Portainer keeps its data on EFS (the only storage Fargate mounts); an Ingress needs the
        controller that turns it into an ALB."""
        problems = []
        if self.portainer.enabled and not self.efs.enabled:
            problems.append(
                "portainer.enabled needs efs.enabled: Portainer runs on Fargate, which mounts only EFS"
            )
        if (
            self.portainer.enabled
            and self.portainer.ingress.enabled
            and not self.load_balancer_controller.enabled
        ):
            problems.append(
                "portainer.ingress.enabled needs loadBalancerController.enabled: without the controller no "
                "ALB is made and the Ingress never gets an address"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self
