"""Adopt mode: refuse a cluster that runs a Karpenter installed outside this stack (two would fight over
the same nodes). A pure decision plus plain lookups of the guides' role and queue names."""

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


def foreign_karpenter(
    cluster_name: str,
    stack_id: str,
    roles: Sequence[FoundRole],
    queues: Mapping[str, Mapping[str, str]],
    taken_over: Collection[str] = (),
) -> list[str]:
    """What of a Karpenter installed outside this stack exists, given the roles and queues found under
    the names the guides use. This stack's own resources carry the stack tag; stacks deployed before it
    named their node role and queue like the guides do, and are recognised by the node role's
    description, which only this program writes. `taken_over`: the role and queue names the stack's
    config names exactly (`iam.nodeRoleName`, ...), which the stack manages once imported."""
    legacy_node_role = NODE_ROLE_DESCRIPTION.format(cluster=cluster_name)
    ours = {
        r.name
        for r in roles
        if r.tags.get(STACK_TAG) == stack_id or r.description == legacy_node_role or r.name in taken_over
    }
    legacy_stack = node_role_name(cluster_name) in ours
    found = [f"IAM role {r.name} ({r.arn})" for r in roles if r.name not in ours]
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
        + " exist and are not this stack's (no tag "
        + f"{STACK_TAG}={stack_id}). Two Karpenters would fight over the same nodes. Do not delete "
        "anything: running nodes use that node role and its instance profile. To bring this install "
        "under the stack, run `python3 tools/dev.py migrate --stack <stack> --cluster "
        f"{cluster_name} --region <region>`: it writes the stack config (which names these resources, "
        'so this check accepts them) and the import file (README: "Bringing an existing Karpenter under '
        f'the stack"). If they belong to an earlier deployment of this stack, tag them '
        f"{STACK_TAG}={stack_id} and run again."
    ]


def check_no_foreign_karpenter(
    cluster_name: str, stack_id: str, provider: aws.Provider, taken_over: Collection[str] = ()
) -> None:
    """Adopt mode: look up the guides' role and queue names (plain lookups that answer empty lists when
    nothing exists) and refuse when another Karpenter's resources are there."""
    opts = pulumi.InvokeOptions(provider=provider)
    roles = []
    for name in guide_role_names(cluster_name):
        listed = aws.iam.get_roles(name_regex=f"^{re.escape(name)}$", opts=opts)
        if name in (listed.names or []):
            role = aws.iam.get_role(name=name, opts=opts)
            roles.append(FoundRole(name, role.arn, role.description or "", dict(role.tags or {})))
    queues: dict[str, dict[str, str]] = {}
    qname = queue_name(cluster_name)
    urls = aws.sqs.get_queues(queue_name_prefix=qname, opts=opts).queue_urls or []
    if any(url.rsplit("/", 1)[-1] == qname for url in urls):
        queues[qname] = dict(aws.sqs.get_queue(name=qname, opts=opts).tags or {})
    problems = foreign_karpenter(cluster_name, stack_id, roles, queues, taken_over)
    if problems:
        raise pulumi.RunError("\n".join(problems))
