"""Adopt mode: what the account says of the existing cluster, looked up once before anything is
registered, and a cluster that cannot work refused with the fix (authentication mode, Kubernetes
version, discoverable subnets)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.blocks.naming import DISCOVERY_TAG
from components.cluster.cluster import ExistingCluster
from config.addons import minimum_kubernetes_versions
from config.base import ConfigError
from config.stack import StackConfig


def check_authentication_mode(cluster_name: str, mode: str | None) -> None:
    """Access entries (node role, admins) need authentication mode API or API_AND_CONFIG_MAP."""
    if mode not in ("API", "API_AND_CONFIG_MAP"):
        raise pulumi.RunError(
            f"cluster {cluster_name} uses authentication mode {mode}, which does not allow EKS access "
            f"entries (Karpenter's nodes join through one). Fix: aws eks update-cluster-config --name "
            f"{cluster_name} --access-config authenticationMode=API_AND_CONFIG_MAP, then run again."
        )


def field_of(value: Any, name: str) -> Any:
    """A field of a nested data-source result: the SDK gives typed objects or plain snake_case dicts."""
    if isinstance(value, dict) and name in value:
        return value[name]
    return getattr(value, name)


def check_minimum_versions(cluster_name: str, version: str, minimum: dict[str, tuple[int, int]]) -> None:
    """Refuse, before anything is created, what the adopted cluster's Kubernetes version cannot run."""
    have = tuple(int(p) for p in version.split(".")[:2])
    too_old = [f"{key} needs {m[0]}.{m[1]} or later" for key, m in sorted(minimum.items()) if have < m]
    if too_old:
        raise pulumi.RunError(
            f"cluster {cluster_name} runs Kubernetes {version}: "
            + "; ".join(too_old)
            + " (upgrade the cluster "
            "or turn that off)"
        )


def discovered_subnets(cluster_name: str, vpc_id: str, lookup: pulumi.InvokeOptions) -> list[str]:
    """The private subnets of the cluster's VPC tagged for discovery; refused when there is none."""
    found = aws.ec2.get_subnets(
        filters=[
            aws.ec2.GetSubnetsFilterArgs(name="vpc-id", values=[vpc_id]),
            aws.ec2.GetSubnetsFilterArgs(name=f"tag:{DISCOVERY_TAG}", values=[cluster_name]),
        ],
        opts=lookup,
    )
    if not found.ids:
        raise pulumi.RunError(
            f"no subnet of cluster {cluster_name}'s VPC is tagged {DISCOVERY_TAG}={cluster_name}; "
            "tag the private subnets or list them in cluster.existing.privateSubnetIds"
        )
    return sorted(found.ids)


def subnets_by_zone(subnet_ids: list[str], lookup: pulumi.InvokeOptions) -> dict[str, str]:
    """One subnet per availability zone (the first listed), by zone name: EFS takes one mount target per
    zone, and an adopted VPC often has several private subnets in one."""
    by_zone: dict[str, str] = {}
    for subnet_id in subnet_ids:
        zone = aws.ec2.get_subnet(id=subnet_id, opts=lookup).availability_zone
        by_zone.setdefault(zone, subnet_id)
    return by_zone


def existing_cluster(cfg: StackConfig, provider: aws.Provider) -> ExistingCluster:
    """Plain (synchronous) lookups: the cluster exists already, and one that cannot work is refused
    here, before any resource of the stack is registered."""
    name = cfg.cluster.name
    lookup = pulumi.InvokeOptions(provider=provider)
    info = aws.eks.get_cluster(name=name, opts=lookup)
    access = info.access_configs
    check_authentication_mode(name, field_of(access[0], "authentication_mode") if access else None)
    check_minimum_versions(name, info.version, minimum_kubernetes_versions(cfg.addons))
    vpc = info.vpc_config
    vpc_id = field_of(vpc, "vpc_id")
    configured = cfg.cluster.existing_or_default.private_subnet_ids
    subnet_ids = list(configured) if configured else discovered_subnets(name, vpc_id, lookup)
    pool_zones = any(p.zones for p in cfg.node_pools)
    zones = subnets_by_zone(subnet_ids, lookup) if cfg.addons.efs.enabled or pool_zones else {}
    problems = pool_zones_without_subnet(cfg, set(zones))
    if problems:
        raise ConfigError(problems)
    return ExistingCluster(
        name=info.name,
        endpoint=info.endpoint,
        issuer=field_of(field_of(info.identities[0], "oidcs")[0], "issuer"),
        certificate_authority=field_of(info.certificate_authorities[0], "data"),
        vpc_id=vpc_id,
        eks_security_group_id=field_of(vpc, "cluster_security_group_id"),
        private_subnet_ids=subnet_ids,
        subnet_zones=zones if cfg.addons.efs.enabled else {},
    )


def pool_zones_without_subnet(cfg: StackConfig, subnet_zones: set[str]) -> list[str]:
    """Each pool zone in which the adopted cluster has no private subnet Karpenter can use: a node could
    never launch there (the EC2NodeClass selects the cluster's discovery-tagged subnets)."""
    have = ", ".join(sorted(subnet_zones)) or "none"
    return [
        f"nodePools[{i}].zones[{j}]: the cluster's private subnets are in {have}, not {zone}; list zones "
        f"of those subnets, got {zone!r}"
        for i, pool in enumerate(cfg.node_pools)
        for j, zone in enumerate(pool.zones or [])
        if zone not in subnet_zones
    ]
