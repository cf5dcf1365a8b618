"""The `addons` section: the rest of the environment, each part optional and off unless enabled.

Each part's model lives beside this file (`addons_storage.py`, `addons_ingress.py`); the rules that tie
parts together (Portainer needs EFS, an Ingress needs the load balancer controller, ...) live here."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from config.addons_ingress import LoadBalancerControllerConfig, PortainerConfig
from config.addons_storage import MOUNTPOINT_MIN_KUBERNETES, EbsConfig, EfsConfig, S3Config, StackContext
from config.base import Model, Problem, rule
from config.patterns import (
    DEFAULT_KARPENTER_NAMESPACE,
    DEFAULT_KUBERNETES_VERSION,
    K8S_VERSION_PATTERN,
    REGION_PATTERN,
    region_partition,
)


def _on(section: Any) -> bool:
    """Whether a raw add-on section (a mapping, or a model's default) is enabled."""
    return isinstance(section, Mapping) and section.get("enabled") is True


class AddonsConfig(Model):
    """Optional parts of the environment around Karpenter."""

    ebs: EbsConfig = Field(default=EbsConfig(), description="EBS CSI driver and the gp3 StorageClass.")
    efs: EfsConfig = Field(default=EfsConfig(), description="EFS file system, CSI driver and StorageClass.")
    s3: S3Config = Field(default=S3Config(), description="Mountpoint for S3 CSI driver and bucket volumes.")
    load_balancer_controller: LoadBalancerControllerConfig = Field(
        default=LoadBalancerControllerConfig(), description="AWS Load Balancer Controller on Fargate."
    )
    portainer: PortainerConfig = Field(default=PortainerConfig(), description="Portainer CE on Fargate.")
    keep_drivers_until_nodes_drain: Any = Field(
        default=None,
        description="Removed, refused when set: the EC2NodeClasses always wait for the storage add-ons "
        "and the S3 claims, so `pulumi destroy` drains the nodes while the drivers run, in one command.",
    )

    @field_validator("keep_drivers_until_nodes_drain")
    @classmethod
    def _removed(cls, value: Any) -> Any:
        if value is None:
            return None
        raise ValueError(
            "is no longer supported: Karpenter's EC2NodeClasses now always wait for the storage add-ons "
            "and the S3 claims (the Fargate profile no longer delays the add-ons, so the edge costs "
            "Karpenter no time), and `pulumi destroy` drains the nodes before it removes them; remove "
            "addons.keepDriversUntilNodesDrain"
        )

    @rule("portainer")
    def _portainer_needs_efs(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        """Portainer keeps its data on EFS, the only storage Fargate mounts. (Runs whenever the flags it
        reads are valid, whatever else is wrong in those sections.)"""
        if valid("efs", "enabled") and _on(v["portainer"]) and not _on(v["efs"]):
            yield Problem(
                ("portainer", "enabled"),
                "needs addons.efs.enabled: Portainer runs on Fargate, which mounts only EFS",
                show=False,
            )

    @rule("portainer")
    def _ingress_needs_the_controller(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        """An Ingress needs the controller that turns it into an ALB."""
        ingress = v["portainer"].get("ingress") if isinstance(v["portainer"], Mapping) else None
        controller = v["load_balancer_controller"]
        if (
            valid("loadBalancerController", "enabled")
            and _on(v["portainer"])
            and _on(ingress)
            and not _on(controller)
        ):
            yield Problem(
                ("portainer", "ingress", "enabled"),
                "needs addons.loadBalancerController.enabled: without the controller no ALB is made and "
                "the Ingress never gets an address",
                show=False,
            )

    @model_validator(mode="after")
    def _one_default_storage_class(self, info: ValidationInfo) -> AddonsConfig:
        ctx = info.context.get("stack") if isinstance(info.context, dict) else None
        defaults = []
        if self.ebs.enabled and self.ebs.default_class:
            defaults.append("gp3 (ebs.defaultClass)")
        if self.efs.enabled and self.efs.default_class:
            defaults.append("efs (efs.defaultClass)")
        # Only the EBS add-on's patch takes the default away from a gp2 that EKS marked default.
        gp2_demoted = self.ebs.enabled and ctx is not None and demote_gp2(self.ebs, ctx)
        if defaults and ctx is not None and gp2_may_be_default(ctx) and not gp2_demoted:
            defaults.append("gp2 (may be the cluster's default: enable ebs and leave demoteGp2 unset)")
        if len(defaults) > 1:
            raise ValueError(
                f"more than one default StorageClass: {', '.join(defaults)}; Kubernetes then picks the "
                "newest for claims without a class, so keep exactly one"
            )
        return self


def minimum_kubernetes_versions(addons: AddonsConfig) -> dict[str, tuple[int, int]]:
    """What the enabled add-ons need of an adopted cluster's version (a created one is checked in config)."""
    return (
        {"addons.s3 (Mountpoint for S3 CSI driver v2)": MOUNTPOINT_MIN_KUBERNETES}
        if addons.s3.enabled
        else {}
    )


def demote_gp2(ebs: EbsConfig, ctx: StackContext) -> bool:
    """Whether the gp2 StorageClass is patched to stop being the default (see `ebs.demoteGp2`)."""
    return gp2_may_be_default(ctx) if ebs.demote_gp2 is None else ebs.demote_gp2


def gp2_may_be_default(ctx: StackContext) -> bool:
    """EKS marked gp2 as the default class on clusters created before 1.30; an adopted one may be such."""
    if ctx.mode == "adopt" or ctx.kubernetes_version is None:
        return True
    major, minor = (int(p) for p in ctx.kubernetes_version.split("."))
    return (major, minor) < (1, 30)


def stack_context(raw: dict[str, object]) -> dict[str, object]:
    """The validation context of the add-on rules, from the raw (not yet validated) stack config."""
    region = raw.get("region")
    cluster = raw.get("cluster")
    if not isinstance(region, str) or not re.match(REGION_PATTERN, region) or not isinstance(cluster, dict):
        return {}  # the region or cluster is refused on its own key; the add-on rules wait for a valid one
    mode = cluster.get("mode")
    version = cluster.get("kubernetesVersion", DEFAULT_KUBERNETES_VERSION) if mode == "create" else None
    if mode not in ("create", "adopt"):
        return {}
    if version is not None and not (isinstance(version, str) and re.match(K8S_VERSION_PATTERN, version)):
        return {}
    karpenter = raw.get("karpenter")
    namespace = karpenter.get("namespace") if isinstance(karpenter, dict) else None
    if not isinstance(namespace, str):
        namespace = DEFAULT_KARPENTER_NAMESPACE
    return {"stack": StackContext(region, region_partition(region), str(mode), version, namespace)}
