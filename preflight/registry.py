"""The registry login for the Karpenter chart pulls, asked of the account before anything is registered:
none for public ECR (anonymous pulls), a fresh token for a private ECR mirror, or Helm's own credentials."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_aws as aws

from components.blocks.helm import ChartCredentials


def chart_credentials_source(repository: str) -> dict[str, Any]:
    """How to log in to a chart repository: public ECR (anonymously), a private ECR registry (token of
    its account, in its region), or nothing (Helm's own credentials)."""
    host = repository.removeprefix("oci://").split("/", 1)[0]
    if host == "public.ecr.aws":
        return {"kind": "public-ecr"}
    match = re.match(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$", host)
    if match:
        return {"kind": "ecr", "registry_id": match.group(1), "region": match.group(2)}
    return {"kind": "none"}


def chart_credentials(repository: str, provider: aws.Provider) -> ChartCredentials | None:
    """The login for the chart pulls: a fresh ECR token (secret, never in plan.json or the state in
    clear) for a private ECR mirror; none otherwise.

    Public ECR serves public repositories to unauthenticated pulls ("Amazon ECR Public supports both
    unauthenticated and authenticated pulls", AWS ECR Public user guide; Karpenter's own install script
    logs out of public.ecr.aws "to perform an unauthenticated pull"). No token means no input that changes
    between runs, so an unchanged stack previews no change of its releases."""
    source = chart_credentials_source(repository)
    if source["kind"] != "ecr":
        return None
    private = aws.ecr.get_authorization_token_output(
        registry_id=source["registry_id"],
        region=source["region"],
        opts=pulumi.InvokeOutputOptions(provider=provider),
    )
    return ChartCredentials(private.user_name, pulumi.Output.secret(private.password))
