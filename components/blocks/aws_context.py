"""The partition, DNS suffix, account and region every ARN is built from (never a hard-coded `arn:aws`)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class AwsContext:
    region: str
    partition: pulumi.Output[str]
    dns_suffix: pulumi.Output[str]
    account_id: pulumi.Output[str]


def aws_context(region: str, provider: aws.Provider) -> AwsContext:
    opts = pulumi.InvokeOutputOptions(provider=provider)
    partition = aws.get_partition_output(opts=opts)
    identity = aws.get_caller_identity_output(opts=opts)
    return AwsContext(
        region=region,
        partition=partition.partition,
        dns_suffix=partition.dns_suffix,
        account_id=identity.account_id,
    )
