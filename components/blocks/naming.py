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


# pulumi-aws creates a `namePrefix` name as the prefix plus a 26-character unique suffix
# (terraform-plugin-sdk id.PrefixedUniqueId), so a prefix may take the type's limit minus 26: the
# provider documents 38 for IAM roles and EventBridge rules.
UNIQUE_SUFFIX_LENGTH = 26
IAM_ROLE_NAME_PREFIX_MAX = IAM_ROLE_NAME_MAX - UNIQUE_SUFFIX_LENGTH
IAM_POLICY_NAME_PREFIX_MAX = IAM_POLICY_NAME_MAX - UNIQUE_SUFFIX_LENGTH
INSTANCE_PROFILE_NAME_PREFIX_MAX = 128 - UNIQUE_SUFFIX_LENGTH
SQS_QUEUE_NAME_PREFIX_MAX = SQS_QUEUE_NAME_MAX - UNIQUE_SUFFIX_LENGTH
EVENT_RULE_NAME_PREFIX_MAX = EVENT_RULE_NAME_MAX - UNIQUE_SUFFIX_LENGTH

STACK_TAG = "karpenter-eks/stack"
"""Tag (value `<project>/<stack>`) on the roles, instance profile and queue a stack creates, so a lookup
tells this stack's resources from ones made by hand."""


def bounded_prefix(base: str, max_len: int) -> str:
    """A `namePrefix`: `base-` within `max_len` (shortened with a digest as `bounded_name` does). With a
    prefix the provider picks a new unique name for every new resource, so a replacement creates the new
    resource before deleting the old one, and two stacks never ask for the same name."""
    return bounded_name(base.rstrip("-_"), max_len - 1) + "-"


def attachment_generation(path: str) -> str:
    """A key of what replaces the role and its policies (their path), for the attachments' logical names.

    An attachment is replaced delete-first (pulumi-aws's DeleteBeforeReplace on RolePolicyAttachment), so
    the OLD role, still used by the running controller, would lose each policy before the new role got
    it. With a logical name per generation, a new role and new policies get new attachments, created
    before anything is deleted; the old ones go at the end of `pulumi up`, after the controller has
    rolled onto the new role."""
    return hashlib.sha256(path.encode()).hexdigest()[:8]


NODE_ROLE_PREFIX = "KarpenterNodeRole-"
"""Upstream's name of the node role (and of its instance profile), before the cluster name."""
CONTROLLER_ROLE_PREFIX = "KarpenterController-"
"""Upstream's name of the controller's role, before the cluster name."""
FARGATE_ROLE_PREFIX = "KarpenterFargate-"
"""The Fargate pod execution role's name, before the cluster name."""
KARPENTER_CHART = "karpenter"
"""The controller's chart, and its Helm release's name."""
KARPENTER_CRD_CHART = "karpenter-crd"
"""The chart holding Karpenter's CRDs, and its Helm release's name."""


# --- Names of the Karpenter resources a stack creates (and a lookup of the live account expects) ---------


def node_role_name(cluster_name: str) -> str:
    """Upstream's `KarpenterNodeRole-<cluster>` (the getting-started CloudFormation), within 64 characters:
    what stacks deployed before name prefixes use, and what a hand-made Karpenter's node role is called."""
    return bounded_name(f"{NODE_ROLE_PREFIX}{cluster_name}", IAM_ROLE_NAME_MAX)


def node_role_name_prefix(cluster_name: str) -> str:
    return bounded_prefix(f"{NODE_ROLE_PREFIX}{cluster_name}", IAM_ROLE_NAME_PREFIX_MAX)


NODE_ROLE_DESCRIPTION = "Nodes Karpenter launches for EKS cluster {cluster}"


def controller_role_name_prefix(cluster_name: str) -> str:
    return bounded_prefix(f"{CONTROLLER_ROLE_PREFIX}{cluster_name}", IAM_ROLE_NAME_PREFIX_MAX)


def controller_policy_name_prefix(policy: str, cluster_name: str) -> str:
    """Upstream's `KarpenterController<Policy>Policy-<cluster>`, as a prefix within IAM's limit."""
    return bounded_prefix(f"KarpenterController{policy}Policy-{cluster_name}", IAM_POLICY_NAME_PREFIX_MAX)


def queue_name(cluster_name: str) -> str:
    """The name upstream (and a hand-made Karpenter) gives the queue: the cluster's name."""
    return bounded_name(cluster_name, SQS_QUEUE_NAME_MAX)


def queue_name_prefix(cluster_name: str) -> str:
    """A prefix, never the exact name: SQS CreateQueue returns an existing queue of the same name and
    attributes instead of failing, so a fixed name could take over (and later delete) a queue made by
    hand; a prefix also makes a replacement create the new queue first."""
    return bounded_prefix(f"Karpenter-{cluster_name}", SQS_QUEUE_NAME_PREFIX_MAX)


def rule_name_prefix(cluster_name: str, key: str) -> str:
    """Within EventBridge's 38-character prefix limit (a digest keeps long names unique)."""
    return bounded_prefix(f"Karpenter-{cluster_name}-{key}", EVENT_RULE_NAME_PREFIX_MAX)
