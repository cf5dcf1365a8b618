"""An IAM role the way every role of this program is made: a name prefix, an IAM path, an optional
permissions boundary and tags, and its policy attachments, each named after a stable policy key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.blocks.naming import STACK_TAG, attachment_generation

STABLE_IDENTITY = ["name", "namePrefix", "path"]
"""Inputs of the node role and instance profile (and the Fargate pod execution role) that would replace
them. Running nodes keep the instance profile and authenticate with the role's access entry until
Karpenter has replaced them, which takes hours under disruption budgets; `pulumi up` would delete the
old ones at its end and cut every running node off. So once created these never change: a stack deployed
with a fixed name keeps it, and a later `iam.path` applies only to stacks created after it."""


def stack_tags() -> dict[str, str]:
    """The stack tag (`<project>/<stack>`) of the program being run, for roles made inside a component."""
    return {STACK_TAG: f"{pulumi.get_project()}/{pulumi.get_stack()}"}


def policy_key(arn: str) -> str:
    """A stable logical-name key for a managed policy: its name, never its position in a list."""
    return arn.rsplit("/", 1)[-1]


@dataclass
class RoleArgs:
    name_prefix: str
    path: str
    assume_role_policy: pulumi.Input[str]
    description: str
    permissions_boundary: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    policies: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Policy key -> ARN of each policy to attach (attachment `<name>-<key>`)."""
    per_generation: bool = True
    """Attachments named `<name>-<key>-<generation of the path>`: a replacement role (a new path) gets new
    attachments, created before the old ones are deleted (see `attachment_generation`). Off for the roles
    whose identity never changes (STABLE_IDENTITY), which keep the names they were deployed with."""
    stable_identity: bool = False
    """Never replace the role for a new name or path (STABLE_IDENTITY)."""
    name: str | None = None
    """An exact name instead of `name_prefix`: for a role taken over from an existing install (imported
    resources keep their names; prefixes are for what the program creates)."""


class IamRole:
    """A role and its attachments, registered as children of `parent` (no component of its own, so the
    logical names and parents stay those of the component that asks for it)."""

    name: str
    """The logical name the attachments (`<name>-<key>…`) start with."""
    role: aws.iam.Role
    attachments: list[aws.iam.RolePolicyAttachment]

    def __init__(
        self, name: str, args: RoleArgs, parent: pulumi.Resource, *, role_name: str | None = None
    ) -> None:
        self.name = name
        self._args = args
        self._parent = parent
        self.role = aws.iam.Role(
            role_name or f"{name}-role",
            name=args.name,
            name_prefix=None if args.name else args.name_prefix,
            path=args.path,
            tags=dict(args.tags) or None,
            permissions_boundary=args.permissions_boundary,
            assume_role_policy=args.assume_role_policy,
            description=args.description,
            opts=pulumi.ResourceOptions(
                parent=parent, ignore_changes=STABLE_IDENTITY if args.stable_identity else None
            ),
        )
        self.attachments = []
        for key, arn in args.policies.items():
            self.attach(key, arn)

    def attach(self, key: str, policy_arn: pulumi.Input[str]) -> aws.iam.RolePolicyAttachment:
        """Attach one more policy, named by `key` like those of `RoleArgs.policies`."""
        logical = f"{self.name}-{key}"
        if self._args.per_generation:
            logical += f"-{attachment_generation(self._args.path)}"
        attachment = aws.iam.RolePolicyAttachment(
            logical,
            role=self.role.name,
            policy_arn=policy_arn,
            opts=pulumi.ResourceOptions(parent=self._parent),
        )
        self.attachments.append(attachment)
        return attachment


def customer_managed_policy(
    name: str,
    *,
    name_prefix: str,
    path: str,
    document: pulumi.Input[str],
    description: str,
    parent: pulumi.Resource,
) -> aws.iam.Policy:
    """A customer managed policy, name-prefixed so a replacement creates the new one first."""
    return aws.iam.Policy(
        name,
        name_prefix=name_prefix,
        path=path,
        policy=document,
        description=description,
        opts=pulumi.ResourceOptions(parent=parent),
    )
