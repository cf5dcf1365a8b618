"""Karpenter's interruption queue: SQS fed by EventBridge with the five upstream rules (Spot
interruption, rebalance, instance state change, AWS Health, capacity-reservation interruption)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.blocks.naming import queue_name_prefix, rule_name_prefix
from components.documents import iam as iam_documents


@dataclass
class InterruptionQueueArgs:
    cluster_name: str
    tags: dict[str, str] = field(default_factory=dict)
    queue_name: str | None = None
    """Exact name of an existing queue taken over (else a name prefix)."""


class InterruptionQueue(pulumi.ComponentResource):
    queue: aws.sqs.Queue
    queue_arn: pulumi.Output[str]
    queue_name: pulumi.Output[str]
    queue_policy: aws.sqs.QueuePolicy
    targets: list[aws.cloudwatch.EventTarget]

    def __init__(
        self, name: str, args: InterruptionQueueArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("karpenter-eks:interruption:InterruptionQueue", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.queue = aws.sqs.Queue(
            f"{name}-queue",
            name=args.queue_name,
            name_prefix=None if args.queue_name else queue_name_prefix(args.cluster_name),
            tags=args.tags or None,
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        self.queue_policy = aws.sqs.QueuePolicy(
            f"{name}-queue-policy",
            queue_url=self.queue.url,
            policy=self.queue.arn.apply(lambda arn: json.dumps(iam_documents.queue_policy(arn))),
            opts=child,
        )
        self.targets = []
        for key, pattern in iam_documents.INTERRUPTION_RULES.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{key}",
                name_prefix=rule_name_prefix(args.cluster_name, key),
                description=f"Karpenter interruption handling for {args.cluster_name}: {key}",
                event_pattern=json.dumps(pattern),
                opts=child,
            )
            self.targets.append(
                aws.cloudwatch.EventTarget(
                    f"{name}-{key}",
                    rule=rule.name,
                    arn=self.queue.arn,
                    # target_id auto-named: a new rule gets its target before the old rule goes.
                    opts=child,
                )
            )
        self.queue_arn = self.queue.arn
        self.queue_name = self.queue.name
        self.register_outputs({"queueName": self.queue.name, "queueArn": self.queue.arn})
