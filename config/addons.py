"""The `addons` section: the rest of the environment, each part optional and off unless enabled.

Each part's model lives beside this file (`addons_storage.py`, `addons_ingress.py`); the rules that tie
parts together (Portainer needs EFS, an Ingress needs the load balancer controller, ...) live here."""

from __future__ import annotations

from pydantic import Field

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
