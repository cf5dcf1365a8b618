"""The stack config: one pydantic model per section, `StackConfig` at the root.

Each section has its module beside this one (cluster, iam, karpenter, nodepools, nodeclass, addons); the
rules here are the ones that cross sections (partitions, regions, namespaces).

These models are the reference documentation of every key (README's config reference is generated from
them by `python -m tools.generate.config_reference`). Defaults live in the models and nowhere else; the
few the add-on rules need before validation are named in `config.patterns`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

from config.addons import AddonsConfig
from config.addons_storage import StackContext
from config.base import Model, Problem, rule
from config.cluster import ClusterConfig
from config.iam import IamConfig
from config.instance_filters import pool_zone_problems
from config.karpenter import SYSTEM_NAMESPACES, KarpenterConfig
from config.nodeclass import NodeClassConfig, NodeClassMap, pool_class_problems
from config.nodepools import NodePoolList
from config.patterns import REGION_PATTERN, region_partition

TagMap = dict[
    Annotated[str, StringConstraints(min_length=1, max_length=128)],
    Annotated[str, StringConstraints(max_length=256)],
]


def _region(value: str) -> str:
    if not re.match(REGION_PATTERN, value):
        raise ValueError("must be an AWS region code such as eu-west-1 or us-gov-west-1")
    return value


class StackConfig(Model):
    """The whole stack config, under the project's namespace in `Pulumi.<stack>.yaml`."""

    region: Annotated[str, AfterValidator(_region)] = Field(
        description="AWS region of everything this stack creates (the explicit AWS provider uses it)."
    )
    tags: TagMap = Field(
        default={},
        description="Tags on every AWS resource this stack creates (provider default tags). Instances and "
        "volumes Karpenter launches get `nodeClass.tags`.",
    )
    cluster: ClusterConfig = Field(description="The EKS cluster: created or adopted.")
    iam: IamConfig = Field(default=IamConfig(), description="IAM details of the roles created.")
    karpenter: KarpenterConfig = Field(default=KarpenterConfig(), description="The controller.")
    node_class: NodeClassConfig = Field(
        description="The EC2NodeClass `default` of the pools that name no class (a GPU pool gets its own "
        "copy, `gpu`)."
    )
    node_classes: NodeClassMap = Field(
        default={},
        description="More EC2NodeClasses by name (a Bottlerocket class, a class with capacity "
        "reservations ...), for pools to use with `nodeClass: <name>`. default and gpu are taken.",
    )
    node_pools: NodePoolList = Field(description="The capacity Karpenter may buy, one entry per pool.")
    addons: AddonsConfig = Field(
        default=AddonsConfig(),
        description="Optional parts of the environment (storage, load balancer controller, Portainer), each "
        "off unless enabled.",
    )

    @rule("region")
    def _arns_in_the_region_partition(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        """Each ARN (that is itself valid) in the region's partition, named by its own key."""
        region = v["region"]
        partition = region_partition(region)
        arns: list[tuple[tuple[int | str, ...], Any]] = []
        cluster, iam = v.get("cluster"), v.get("iam")
        if isinstance(cluster, dict) and isinstance(cluster.get("adminAccess"), list):
            for i, entry in enumerate(cluster["adminAccess"]):
                if isinstance(entry, dict):
                    arns.append((("cluster", "adminAccess", i, "principalArn"), entry.get("principalArn")))
        if isinstance(iam, dict):
            for i, arn in enumerate(iam.get("extraNodePolicyArns") or []):
                arns.append((("iam", "extraNodePolicyArns", i), arn))
            arns.append((("iam", "permissionsBoundaryArn"), iam.get("permissionsBoundaryArn")))
        for loc, arn in arns:
            if isinstance(arn, str) and valid(*loc) and arn.split(":")[1:2] != [partition]:
                yield Problem(
                    loc,
                    f"is an ARN of partition {arn.split(':')[1]}, but region {region} is in partition "
                    f"{partition}; write arn:{partition}:...",
                    arn,
                )

    @rule("node_class")
    def _pools_and_their_classes(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        """Each pool against its class, for the pools whose keys involved are valid."""
        yield from pool_class_problems(v["node_class"], v.get("node_classes"), v.get("node_pools"), valid)

    @rule("region")
    def _chart_mirror_outside_aws(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        region = v["region"]
        partition = region_partition(region)
        karpenter = v.get("karpenter")
        repository = karpenter.get("chartRepository") if isinstance(karpenter, dict) else None
        if (
            partition != "aws"
            and valid("karpenter", "chartRepository")
            and (not isinstance(repository, str) or repository.startswith("oci://public.ecr.aws/"))
        ):
            yield Problem(
                ("karpenter", "chartRepository"),
                f"is required in region {region} (partition {partition}): Karpenter's charts are on public "
                "ECR, whose pull token is issued only in the aws partition (us-east-1). Copy the karpenter "
                "and karpenter-crd charts to a registry this partition reaches (e.g. ECR: helm pull, then "
                "helm push) and name it here",
                repository,
                show=repository is not None,
            )

    @rule("region")
    def _ingress_addons_in_the_aws_partition(
        v: Mapping[str, Any], valid: Callable[..., bool]
    ) -> Iterable[Problem]:
        """The load balancer controller's image is on public ECR, its CRDs on GitHub, Portainer's image on
        Docker Hub: none is reachable from aws-cn or aws-us-gov, and no image override exists yet."""
        partition = region_partition(v["region"])
        addons = v.get("addons") if isinstance(v.get("addons"), Mapping) else {}
        for key in ("loadBalancerController", "portainer"):
            section = addons.get(key) if isinstance(addons, Mapping) else None
            if partition != "aws" and isinstance(section, Mapping) and section.get("enabled") is True:
                yield Problem(
                    ("addons", key, "enabled"),
                    f"is not available in partition {partition} (region {v['region']}): its images and "
                    "manifests come from public ECR, GitHub and Docker Hub, which that partition does not "
                    "reach, and this program has no mirror setting for them yet",
                    show=False,
                )

    @rule("region")
    def _certificate_in_the_stack_region(
        v: Mapping[str, Any], valid: Callable[..., bool]
    ) -> Iterable[Problem]:
        loc = ("addons", "portainer", "ingress", "certificateArn")
        doc: Any = v
        for key in loc:
            doc = doc.get(key) if isinstance(doc, dict) else None
        if not (isinstance(doc, str) and valid(*loc)):
            return
        _, partition, _, region, *_ = doc.split(":")
        if region != v["region"] or partition != region_partition(v["region"]):
            yield Problem(
                loc,
                f"is a certificate of region {region} (partition {partition}); an ALB takes ACM "
                f"certificates of its own region ({v['region']}) only, in partition "
                f"{region_partition(v['region'])}",
                show=False,
            )

    @rule("region", "cluster", "node_pools")
    def _pool_zones(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        yield from pool_zone_problems(v, valid)

    @rule("karpenter", "addons")
    def _portainer_namespace_of_its_own(
        v: Mapping[str, Any], valid: Callable[..., bool]
    ) -> Iterable[Problem]:
        """Portainer's namespace is created by its component: it may not be one the stack creates for
        something else (Karpenter's, the S3 claims') or a system namespace (a second Namespace resource, or
        a deleted kube-system, would follow)."""

        def section(doc: Any, key: str) -> Mapping[str, Any]:
            found = doc.get(key) if isinstance(doc, Mapping) else None
            return found if isinstance(found, Mapping) else {}

        addons = section(v, "addons")
        portainer = section(addons, "portainer")
        if portainer.get("enabled") is not True:
            return
        namespace = portainer.get("namespace", "portainer")
        karpenter = section(v, "karpenter")
        s3 = section(addons, "s3")
        taken = {
            karpenter.get("namespace", "karpenter"): "karpenter.namespace",
            **({s3.get("namespace"): "addons.s3.namespace"} if s3.get("enabled") is True else {}),
            **{ns: "a system namespace" for ns in SYSTEM_NAMESPACES},
        }
        if namespace in taken:
            yield Problem(
                ("addons", "portainer", "namespace"),
                f"is {taken[namespace]}; Portainer creates and deletes a namespace of its own, such as "
                "portainer",
                namespace,
            )

    @property
    def addons_context(self) -> StackContext:
        """What the add-on rules and components need of the rest of the stack."""
        version = self.cluster.kubernetes_version if self.cluster.mode == "create" else None
        return StackContext(
            self.region, region_partition(self.region), self.cluster.mode, version, self.karpenter.namespace
        )

    @property
    def core_dns_on_fargate(self) -> bool:
        """`karpenter.coreDnsOnFargate`, or its mode-dependent default."""
        explicit = self.karpenter.core_dns_on_fargate
        return self.cluster.mode == "create" if explicit is None else explicit
