"""The registry login for the Karpenter chart pulls: a fresh token, asked of the account before anything
is registered (public ECR, a private ECR registry, or Helm's own credentials)."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_aws as aws

from components.blocks.helm import ChartCredentials


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
