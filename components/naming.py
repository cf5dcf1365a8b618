"""Names derived from the cluster name, kept inside AWS's length limits deterministically."""

from __future__ import annotations

import hashlib

IAM_ROLE_NAME_MAX = 64
IAM_POLICY_NAME_MAX = 128
SQS_QUEUE_NAME_MAX = 80
EVENT_RULE_NAME_MAX = 64

DISCOVERY_TAG = "karpenter.sh/discovery"
"""The tag (value: the cluster name) by which Karpenter finds its subnets and security groups."""


def bounded_name(base: str, max_len: int) -> str:
    """`base` when it fits, else its head plus an 8-hex digest of the whole, exactly `max_len` long.

    Same input, same name: a long cluster name never makes `pulumi up` fail on a length limit, and
    two long names that share a prefix still get different names."""
    if len(base) <= max_len:
        return base
    digest = hashlib.sha256(base.encode()).hexdigest()[:8]
    return f"{base[: max_len - 9].rstrip('-_')}-{digest}"
