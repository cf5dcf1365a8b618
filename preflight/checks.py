"""Checks against the live account that refuse a stack before it registers anything it would break.

Each check is a pure decision (tested with exact inputs) plus a plain, synchronous lookup through the
explicit AWS provider, so `pulumi preview` reports the problem with the fix, before any resource
(other than the providers) is registered."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.blocks.helm import ChartCredentials
from components.blocks.naming import (
    IAM_ROLE_NAME_MAX,
    NODE_ROLE_DESCRIPTION,
    STACK_TAG,
    bounded_name,
    node_role_name,
    queue_name,
)
from config.base import ConfigError
from config.cluster import AdminAccess

_PRINCIPAL = re.compile(
    r"^arn:(?P<partition>[\w-]+):iam::(?P<account>\d{12}):(?P<kind>user|role)/(?:[^/]*/)*(?P<name>[\w+=,.@-]+)$"
)


def caller_principal(caller_arn: str) -> tuple[str, str, str] | None:
    """(account, user|role, name) of a GetCallerIdentity ARN: an IAM user, or the role behind an
    assumed-role session (`arn:aws:sts::ACCT:assumed-role/NAME/SESSION`, which carries no role path)."""
    parts = caller_arn.split(":", 5)
    if len(parts) != 6:
        return None
    account, resource = parts[4], parts[5]
    if parts[2] == "sts" and resource.startswith("assumed-role/"):
        return account, "role", resource.split("/")[1]
    match = _PRINCIPAL.match(caller_arn)
    if match is None:
        return None  # the account root or a federated user: never listed in adminAccess
    return account, match.group("kind"), match.group("name")


def caller_admin_conflicts(caller_arn: str, admin_access: Sequence[AdminAccess]) -> list[str]:
    """Entries of `cluster.adminAccess` that name whoever creates the cluster. pulumi-eks 4.4.0 creates
    the control plane with `bootstrapClusterCreatorAdminPermissions: true` (nodejs/eks/cluster/cluster.ts),
    so EKS gives the creator an access entry already, and a second one fails (ResourceInUseException).
    Role ARNs are matched by account and name: a session ARN does not carry the role's path."""
    caller = caller_principal(caller_arn)
    if caller is None:
        return []
    problems = []
    for i, entry in enumerate(admin_access):
        match = _PRINCIPAL.match(entry.principal_arn)
        if match and (match.group("account"), match.group("kind"), match.group("name")) == caller:
            problems.append(
                f"cluster.adminAccess[{i}].principalArn: {entry.principal_arn} is who runs this `pulumi up` "
                f"({caller_arn}); EKS gives the cluster's creator an access entry with cluster-admin rights "
                "already, and refuses a second one. Remove this entry (or run `pulumi up` as another "
                "principal)"
            )
    return problems


def check_caller_not_listed(
    cluster_name: str, admin_access: Sequence[AdminAccess], provider: aws.Provider
) -> None:
    """Create mode, first `pulumi up`: refuse an adminAccess entry for the caller, who is about to become
    the cluster's creator (plain lookups, known at preview). Once the cluster exists the creator is
    whoever ran the first `pulumi up`, and a pipeline listed in adminAccess may run the later ones: its
    entry is then this stack's own, so the check does not apply."""
    opts = pulumi.InvokeOptions(provider=provider)
    if cluster_name in (aws.eks.get_clusters(opts=opts).names or []):
        return
    identity = aws.get_caller_identity(opts=opts)
    problems = caller_admin_conflicts(identity.arn, admin_access)
    if problems:
        raise ConfigError(problems)


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
) -> list[str]:
    """What of a Karpenter installed outside this stack exists, given the roles and queues found under
    the names the guides use. This stack's own resources carry the stack tag; stacks deployed before it
    named their node role and queue like the guides do, and are recognised by the node role's
    description, which only this program writes."""
    legacy_node_role = NODE_ROLE_DESCRIPTION.format(cluster=cluster_name)
    ours = {r.name for r in roles if r.tags.get(STACK_TAG) == stack_id or r.description == legacy_node_role}
    legacy_stack = node_role_name(cluster_name) in ours
    found = [f"IAM role {r.name} ({r.arn})" for r in roles if r.name not in ours]
    qname = queue_name(cluster_name)
    if qname in queues and queues[qname].get(STACK_TAG) != stack_id and not legacy_stack:
        found.append(f"SQS queue {qname}")
    if not found:
        return []
    return [
        f"cluster {cluster_name} seems to have a Karpenter installed outside this stack: "
        + ", ".join(found)
        + " exist and are not this stack's (no tag "
        + f"{STACK_TAG}={stack_id}). Two Karpenters would fight over the same nodes, and this stack must "
        "not adopt resources it would later delete. Uninstall the other Karpenter first (helm uninstall, "
        "then delete its CloudFormation stack or roles and queue), or, if these belong to an earlier "
        f"deployment of this stack, tag them {STACK_TAG}={stack_id} and run again."
    ]


def check_no_foreign_karpenter(cluster_name: str, stack_id: str, provider: aws.Provider) -> None:
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
    problems = foreign_karpenter(cluster_name, stack_id, roles, queues)
    if problems:
        raise pulumi.RunError("\n".join(problems))


def chart_credentials_source(repository: str) -> dict[str, Any]:
    """How to log in to a chart repository: public ECR (token from us-east-1), a private ECR registry
    (token of its account, in its region), or nothing (Helm's own credentials)."""
    host = repository.removeprefix("oci://").split("/", 1)[0]
    if host == "public.ecr.aws":
        return {"kind": "public-ecr"}
    match = re.match(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$", host)
    if match:
        return {"kind": "ecr", "registry_id": match.group(1), "region": match.group(2)}
    return {"kind": "none"}


def chart_credentials(repository: str, provider: aws.Provider) -> ChartCredentials | None:
    """A fresh registry token for the chart pulls, secret (never in plan.json or the state in clear)."""
    source = chart_credentials_source(repository)
    opts = pulumi.InvokeOutputOptions(provider=provider)
    if source["kind"] == "public-ecr":
        # Public ECR issues tokens only in us-east-1 (as Karpenter's own Terraform example fetches it);
        # pulumi-aws 7 takes the region per call, with the stack's (aws partition) credentials. A plain
        # call, so a caller that may not get one (an SCP denying us-east-1, no
        # ecr-public:GetAuthorizationToken or sts:GetServiceBearerToken) pulls anonymously, with a warning,
        # instead of failing: Karpenter's charts are public.
        try:
            token = aws.ecrpublic.get_authorization_token(
                region="us-east-1", opts=pulumi.InvokeOptions(provider=provider)
            )
        except Exception as exc:
            pulumi.log.warn(
                "no public ECR token for the chart pulls, pulling anonymously (a stale public.ecr.aws token "
                "in Docker's or Helm's credential store then makes them fail with 403: `docker logout "
                f"public.ecr.aws`; `helm registry logout public.ecr.aws`): {exc}"
            )
            return None
        return ChartCredentials(token.user_name, pulumi.Output.secret(token.password))
    if source["kind"] == "ecr":
        private = aws.ecr.get_authorization_token_output(
            registry_id=source["registry_id"], region=source["region"], opts=opts
        )
        return ChartCredentials(private.user_name, pulumi.Output.secret(private.password))
    return None
