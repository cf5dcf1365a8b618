"""Create mode: refuse an adminAccess entry for whoever creates the cluster (EKS gives the creator an
access entry already). A pure decision plus a plain, synchronous lookup through the explicit provider."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

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
