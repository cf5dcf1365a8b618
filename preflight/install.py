"""Adopt mode: refuse a cluster that runs a Karpenter installed outside this stack (two would fight over
the same nodes). Detected by what a running Karpenter leaves in the account: the EC2 instances it
launched for the cluster, under NodePool names this stack does not render and with a node role that is
not this stack's; and, for an install with no nodes yet, the roles and queue under the guides' names. A
pure decision plus plain lookups that answer empty lists when nothing exists."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.blocks.naming import (
    IAM_ROLE_NAME_MAX,
    NODE_ROLE_DESCRIPTION,
    STACK_TAG,
    bounded_name,
    node_role_name,
    queue_name,
)
from components.documents.node_pools import SPREAD_PREFIX, node_pool_manifests
from components.karpenter.node_pools import node_class_name
from config.nodepools import NodePoolConfig

# The tags Karpenter puts on every instance it launches (aws/karpenter-provider-aws v1.14.1,
# pkg/utils/utils.go `GetTags`: `kubernetes.io/cluster/<cluster>: owned`, `karpenter.sh/nodepool: <NodePool>`,
# `eks:eks-cluster-name: <cluster>`, `karpenter.k8s.aws/ec2nodeclass: <class>`; keys in
# pkg/apis/v1/labels.go). `kubernetes.io/cluster/<cluster>` and the NodePool key are also on the nodes of
# v1beta1 installs (before `eks:eks-cluster-name` was added); a pre-v1beta1 install tags its Provisioner.
NODE_POOL_TAG = "karpenter.sh/nodepool"
PROVISIONER_TAG = "karpenter.sh/provisioner-name"
LIVE_STATES = ["pending", "running"]
"""Instances that run or are about to: a stopped or terminating one belongs to no running Karpenter."""
Filter = aws.ec2.GetInstancesFilterArgsDict
"""A DescribeInstances filter, a plain dict: {"name": ..., "values": [...]}."""
MAX_PROFILES = 10
"""Instance profiles looked at one by one; instances beyond them are reported without a closer look."""


def cluster_tag(cluster_name: str) -> str:
    return f"kubernetes.io/cluster/{cluster_name}"


def launched_filters(cluster_name: str) -> list[Filter]:
    """DescribeInstances filters (ANDed; values of one filter ORed) for the instances a Karpenter launched
    for this cluster."""
    return [
        {"name": "tag-key", "values": [NODE_POOL_TAG, PROVISIONER_TAG]},
        {"name": "tag-key", "values": [cluster_tag(cluster_name)]},
    ]


def own_pool_filters(cluster_name: str, own_pools: Collection[str]) -> list[Filter]:
    """The same, only of the NodePools this stack renders."""
    return [*launched_filters(cluster_name), {"name": f"tag:{NODE_POOL_TAG}", "values": sorted(own_pools)}]


def stack_node_pool_names(pools: Sequence[NodePoolConfig]) -> list[str]:
    """The names of the NodePools the stack config renders (an exact `nodePoolName` included)."""
    return [
        manifest["metadata"]["name"]
        for pool in pools
        for manifest in node_pool_manifests(
            pool, node_class_name=node_class_name(pool), spread_prefix=SPREAD_PREFIX
        )
    ]


def guide_role_names(cluster_name: str) -> list[str]:
    """IAM role names a hand-made Karpenter has: the getting-started CloudFormation's node role and the
    controller role of Karpenter's "migrating from Cluster Autoscaler" guide."""
    return [
        node_role_name(cluster_name),
        bounded_name(f"KarpenterControllerRole-{cluster_name}", IAM_ROLE_NAME_MAX),
    ]


@dataclass(frozen=True)
class FoundRole:
    name: str
    arn: str
    description: str
    tags: Mapping[str, str]


@dataclass(frozen=True)
class FoundInstance:
    """A running or pending instance a Karpenter launched for the cluster, under a NodePool name the
    stack does not render, and how many more share its instance profile."""

    id: str
    node_pool: str
    """Its `karpenter.sh/nodepool` tag; "" when it has none (a Provisioner's node, or not looked at)."""
    profile: str
    """Its instance profile's name; "" when it has none (or was not looked at)."""
    role: str
    """The role in that instance profile; "" when unknown."""
    more: int = 0
    """Other such instances with the same instance profile (or, not looked at, as many more)."""


def _ours(
    cluster_name: str, stack_id: str, roles: Sequence[FoundRole], taken_over: Collection[str]
) -> set[str]:
    legacy_node_role = NODE_ROLE_DESCRIPTION.format(cluster=cluster_name)
    return {
        r.name
        for r in roles
        if r.tags.get(STACK_TAG) == stack_id or r.description == legacy_node_role or r.name in taken_over
    }


def _instance_text(i: FoundInstance) -> str:
    pool = f"NodePool {i.node_pool}" if i.node_pool else "no NodePool tag"
    profile = f", instance profile {i.profile} (role {i.role or 'unknown'})" if i.profile else ""
    more = f" and {i.more} more like it" if i.more else ""
    return f"EC2 instance {i.id} ({pool}{profile}){more}"


def foreign_karpenter(
    cluster_name: str,
    stack_id: str,
    roles: Sequence[FoundRole],
    queues: Mapping[str, Mapping[str, str]],
    taken_over: Collection[str] = (),
    instances: Sequence[FoundInstance] = (),
    own_pools: Collection[str] = (),
) -> list[str]:
    """What of a Karpenter installed outside this stack exists, given the roles and queues found under
    the names the guides use (and the roles of the instances' profiles), and the instances a Karpenter
    launched for the cluster that are not of a NodePool the stack renders (`own_pools`). This stack's own
    resources carry the stack tag; stacks deployed before it named their node role and queue like the
    guides do, and are recognised by the node role's description, which only this program writes.
    `taken_over`: the role and queue names the stack's config names exactly (`iam.nodeRoleName`, ...),
    which the stack manages once imported. An instance whose role is this stack's is this stack's (a
    NodePool renamed or removed in the config still has nodes until the update drains them)."""
    ours = _ours(cluster_name, stack_id, roles, taken_over)
    legacy_stack = node_role_name(cluster_name) in ours
    found = [_instance_text(i) for i in instances if i.node_pool not in own_pools and i.role not in ours]
    reported: set[str] = set()
    for r in roles:
        if r.name not in ours and r.name not in reported:
            reported.add(r.name)
            found.append(f"IAM role {r.name} ({r.arn})")
    qname = queue_name(cluster_name)
    if (
        qname in queues
        and queues[qname].get(STACK_TAG) != stack_id
        and not legacy_stack
        and qname not in taken_over
    ):
        found.append(f"SQS queue {qname}")
    if not found:
        return []
    return [
        f"cluster {cluster_name} seems to have a Karpenter installed outside this stack: "
        + ", ".join(found)
        + " are not this stack's (no tag "
        + f"{STACK_TAG}={stack_id}, no NodePool this stack renders). Two Karpenters would fight over the "
        "same nodes. Do not delete anything: running nodes use that node role and its instance profile. "
        "To bring this install under the stack, run `python3 tools/dev.py migrate --stack <stack> "
        f"--cluster {cluster_name} --region <region>`: it writes the stack config (which names these "
        'resources and NodePools, so this check accepts them) and the import file (README: "Bringing an '
        f'existing Karpenter under the stack"). If they belong to an earlier deployment of this stack, tag '
        f"its roles and queue {STACK_TAG}={stack_id} and run again."
    ]


def _ids(filters: list[Filter], opts: pulumi.InvokeOptions) -> set[str]:
    """Running or pending instances matching `filters`. aws_instances answers an empty list when nothing
    matches: terraform-provider-aws internal/service/ec2/ec2_instances_data_source.go sets `ids` from
    whatever DescribeInstances found, with no "no results" error since its PR 21219 ("Various data
    sources: Return empty lists rather than errors when no resources match", 2022)."""
    found = aws.ec2.get_instances(filters=filters, instance_state_names=LIVE_STATES, opts=opts)
    return set(found.ids or [])


def _found_role(name: str, opts: pulumi.InvokeOptions) -> FoundRole:
    role = aws.iam.get_role(name=name, opts=opts)
    return FoundRole(name, role.arn, role.description or "", dict(role.tags or {}))


def launched_instances(
    cluster_name: str, own_pools: Collection[str], opts: pulumi.InvokeOptions
) -> tuple[list[FoundInstance], list[FoundRole]]:
    """The instances a Karpenter launched for the cluster under other NodePool names than `own_pools`,
    one per instance profile (its role looked up), and those roles. Two lookups when there are none."""
    left = _ids(launched_filters(cluster_name), opts)
    if left and own_pools:
        left -= _ids(own_pool_filters(cluster_name, own_pools), opts)
    instances: list[FoundInstance] = []
    roles: dict[str, FoundRole] = {}
    while left and len(instances) < MAX_PROFILES:
        first = min(left)
        described = aws.ec2.get_instance(instance_id=first, opts=opts)
        profile, role, same = described.iam_instance_profile or "", "", {first}
        if profile:
            found = aws.iam.get_instance_profile(name=profile, opts=opts)
            role = found.role_name or ""
            by_profile: Filter = {"name": "iam-instance-profile.arn", "values": [found.arn]}
            same |= _ids([*launched_filters(cluster_name), by_profile], opts) & left
            if role and role not in roles:
                roles[role] = _found_role(role, opts)
        left -= same
        node_pool = dict(described.tags or {}).get(NODE_POOL_TAG, "")
        instances.append(FoundInstance(first, node_pool, profile, role, len(same) - 1))
    if left:
        instances.append(FoundInstance(min(left), "", "", "", len(left) - 1))
    return instances, list(roles.values())


def check_no_foreign_karpenter(
    cluster_name: str,
    stack_id: str,
    provider: aws.Provider,
    taken_over: Collection[str] = (),
    own_pools: Collection[str] = (),
) -> None:
    """Adopt mode: look up the instances a Karpenter launched for the cluster and the guides' role and
    queue names (plain lookups that answer empty lists when nothing exists), and refuse when another
    Karpenter's are there."""
    opts = pulumi.InvokeOptions(provider=provider)
    instances, roles = launched_instances(cluster_name, own_pools, opts)
    for name in guide_role_names(cluster_name):
        listed = aws.iam.get_roles(name_regex=f"^{re.escape(name)}$", opts=opts)
        if name in (listed.names or []):
            roles.append(_found_role(name, opts))
    queues: dict[str, dict[str, str]] = {}
    qname = queue_name(cluster_name)
    urls = aws.sqs.get_queues(queue_name_prefix=qname, opts=opts).queue_urls or []
    if any(url.rsplit("/", 1)[-1] == qname for url in urls):
        queues[qname] = dict(aws.sqs.get_queue(name=qname, opts=opts).tags or {})
    problems = foreign_karpenter(cluster_name, stack_id, roles, queues, taken_over, instances, own_pools)
    if problems:
        raise pulumi.RunError("\n".join(problems))
