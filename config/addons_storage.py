"""Config of the storage add-ons under `addons`: EBS (gp3), EFS and S3 (Mountpoint)."""

from __future__ import annotations

from pydantic import Field

from config.base import Model


class EbsConfig(Model):
    """The Amazon EBS CSI driver (EKS add-on) and the `gp3` StorageClass."""

    enabled: bool = Field(default=False, description="Install the EBS CSI driver and the gp3 StorageClass.")


class EfsConfig(Model):
    """Amazon EFS: a file system (created or existing), the EFS CSI driver (EKS add-on), the `efs` class."""

    enabled: bool = Field(default=False, description="Install EFS storage.")


class S3Config(Model):
    """Mountpoint for Amazon S3: the CSI driver (EKS add-on) and a volume per configured bucket."""

    enabled: bool = Field(default=False, description="Install the Mountpoint for S3 CSI driver.")
