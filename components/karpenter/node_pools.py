"""What Karpenter may buy: the EC2NodeClasses (`default` of `nodeClass` and its `gpu` copy for GPU
pools, each when a pool uses it, and every class of `nodeClasses` by its name) and the NodePools
rendered from the stack's `nodePools` (a Spot and an On-Demand NodePool per mixed pool).

Every object depends on the controller release, so `pulumi destroy` deletes NodePools and node classes
first, while the controller still runs to drain and terminate their nodes; the node role, instance
profile and access entry are dependencies of the node classes, so they outlive them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.documents.node_pools import (
    SPREAD_PREFIX,
    node_class_manifest,
    node_pool_manifests,
    spread_constraint,
)
from components.karpenter.node_identity import NodeIdentity
from config.nodeclass import NodeClassConfig, NodeClassSpec
from config.nodepools import NodePoolConfig

DEFAULT_CLASS = "default"
GPU_CLASS = "gpu"


def node_class_name(pool: NodePoolConfig) -> str:
    if pool.node_class is not None:
        return pool.node_class
    return GPU_CLASS if pool.gpu else DEFAULT_CLASS


def node_classes(
    default: NodeClassConfig, named: Mapping[str, NodeClassSpec], pools: Sequence[NodePoolConfig]
) -> dict[str, tuple[NodeClassSpec, int]]:
    """Each EC2NodeClass to create, by Kubernetes name: its config and the size of its images-and-pods
    volume. `default` and `gpu` only when a pool uses them (as before classes could be named), every
    named class always (a pool can move to it in a later update)."""
    used = {node_class_name(p) for p in pools}
    out: dict[str, tuple[NodeClassSpec, int]] = {}
    if DEFAULT_CLASS in used:
        out[DEFAULT_CLASS] = (default, default.root_volume_size)
    if GPU_CLASS in used:
        out[GPU_CLASS] = (default, default.gpu_root_volume_size)
    for name, spec in sorted(named.items()):
        out[name] = (spec, spec.root_volume_size)
    return out


def role_based(manifest: dict[str, Any], role_name: str) -> dict[str, Any]:
    """Upstream's role-based mode: Karpenter creates the instance profile from `spec.role`."""
    spec = {k: v for k, v in manifest["spec"].items() if k != "instanceProfile"}
    return {**manifest, "spec": {**spec, "role": role_name}}


@dataclass
class NodePoolsArgs:
    cluster_name: str
    node_class: NodeClassConfig
    named_classes: Mapping[str, NodeClassSpec]
    pools: Sequence[NodePoolConfig]
    nodes: NodeIdentity
    role_based: bool
    controller: pulumi.Resource
    discovery_tags: Sequence[pulumi.Resource] = ()
    drivers: Sequence[pulumi.Resource] = ()
    """Storage add-ons the node classes wait for: `pulumi destroy` deletes every EC2NodeClass, which waits
    until Karpenter has drained and terminated its nodes, before any storage driver, so volumes unmount
    and detach while the drivers run."""
    claims: Sequence[pulumi.Resource] = ()
    """Claims the node classes wait for: deleted after the drain, when no pod mounts them any more."""


class NodePools(pulumi.ComponentResource):
    node_pool_names: list[str]
    spread_constraints: dict[str, Any]

    def __init__(self, name: str, args: NodePoolsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("karpenter-eks:karpenter:NodePools", name, None, opts)
        nodes = args.nodes
        classes: dict[str, k8s.apiextensions.CustomResource] = {}
        wanted = node_classes(args.node_class, args.named_classes, args.pools)
        for class_name, (spec, volume) in wanted.items():

            def render(
                identity: str, class_name: str = class_name, spec: NodeClassSpec = spec, volume: int = volume
            ) -> dict[str, Any]:
                manifest = node_class_manifest(
                    name=class_name,
                    cluster_name=args.cluster_name,
                    instance_profile=identity,
                    node_class=spec,
                    root_volume_gib=volume,
                )
                return role_based(manifest, identity) if args.role_based else manifest

            # A role-based class waits for the role's name only: the stack's instance profile (unused by
            # such a class) being created must not make the whole spec unknown at preview, which would
            # show every node class as changing on an unchanged stack.
            identity = nodes.role_name if args.role_based else nodes.instance_profile_name
            rendered = identity.apply(render)
            classes[class_name] = k8s.apiextensions.CustomResource(
                f"{name}-{class_name}",
                api_version="karpenter.k8s.aws/v1",
                kind="EC2NodeClass",
                metadata={"name": class_name},
                spec=rendered.apply(lambda m: m["spec"]),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[
                        args.controller,
                        nodes.role,
                        *nodes.attachments,
                        nodes.instance_profile,
                        nodes.access_entry,
                        *args.discovery_tags,
                        *args.drivers,
                        *args.claims,
                    ],
                    # Deleting a class waits (its termination finalizer) until Karpenter has drained
                    # and terminated every node launched from it.
                    custom_timeouts=pulumi.CustomTimeouts(delete="45m"),
                ),
            )

        self.node_pool_names = []
        self.spread_constraints = {}
        for pool in args.pools:
            class_name = node_class_name(pool)
            for manifest in node_pool_manifests(
                pool, node_class_name=class_name, spread_prefix=SPREAD_PREFIX
            ):
                pool_name = manifest["metadata"]["name"]
                k8s.apiextensions.CustomResource(
                    f"{name}-{pool_name}",
                    api_version=manifest["apiVersion"],
                    kind=manifest["kind"],
                    metadata=manifest["metadata"],
                    spec=manifest["spec"],
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        depends_on=[args.controller, classes[class_name]],
                        custom_timeouts=pulumi.CustomTimeouts(delete="45m"),
                    ),
                )
                self.node_pool_names.append(pool_name)
            constraint = spread_constraint(pool, SPREAD_PREFIX)
            if constraint is not None:
                self.spread_constraints[pool.name] = constraint
        self.register_outputs({"nodePoolNames": self.node_pool_names})
