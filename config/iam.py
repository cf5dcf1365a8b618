"""The `iam` section: path, permissions boundary and policies of the roles this stack creates."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints

from config.base import Model, hinted

PolicyArn = Annotated[
    str,
    StringConstraints(
        pattern=hinted(
            r"^arn:aws(-[a-z]+)*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+$",
            "an IAM policy ARN such as arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
        )
    ),
]


NODE_POLICY_NAMES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)


def _extra_policies(arns: list[str]) -> list[str]:
    """Each attachment is named after its policy: names must be unique and not the standard four."""
    names = [arn.rsplit("/", 1)[-1] for arn in arns]
    standard = sorted(set(names) & set(NODE_POLICY_NAMES))
    if standard:
        raise ValueError(f"{', '.join(standard)} is attached to the node role already; remove it")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"two policies named {', '.join(repeated)}; policy names must be unique here")
    return arns


IamRoleName = Annotated[
    str,
    StringConstraints(
        pattern=hinted(r"^[\w+=,.@-]{1,64}$", "an IAM role name such as KarpenterNodeRole-dev")
    ),
]
InstanceProfileName = Annotated[
    str,
    StringConstraints(
        pattern=hinted(
            r"^[\w+=,.@-]{1,128}$", "an instance profile name such as KarpenterNodeInstanceProfile-dev"
        )
    ),
]
IMPORTED_NAME = (
    "Imported resources keep their names; prefixes are for what the program creates. Unset: a name "
    "prefix. Set it only to take over an existing {what} (`tools/dev.py migrate` writes it); {later}."
)
KEPT = "once created the name never changes (running nodes hold on to it), so a later edit is ignored"
REPLACED = "a later edit replaces the role (the new one first; the controller rolls onto it)"


def _replaced_by_spot_setting(value: Any) -> None:
    if value is not None:
        raise ValueError(
            "was replaced by spotServiceLinkedRole: remove it (the default `ensure` creates the role only "
            "when the account lacks it; `skip` never creates it)"
        )
    return None


CLUSTER_ROLE_NOT_COVERED = (
    "Not the EKS cluster's service role, which pulumi-eks creates in create mode (path `/`, no boundary): "
    "giving pulumi-eks a role of this stack's (`serviceRole`) would replace the EKS cluster of "
    "every existing stack (its `roleArn` forces a new cluster), nor the Spot service-linked role (AWS fixes "
    "its path and it takes no boundary)."
)
"""What `iam.path` and `iam.permissionsBoundaryArn` do not reach, and why (pulumi-eks 4.4.0
`nodejs/eks/cluster/cluster.ts` creates the service role when `serviceRole` is not given; `roleArn` is
ForceNew on aws:eks/cluster:Cluster, see harness/diff/replacements.json)."""


class IamConfig(Model):
    """IAM details shared by the roles this stack creates itself."""

    path: Annotated[
        str,
        StringConstraints(
            pattern=hinted(
                r"^/([\x21-\x7e]{1,510}/)?$", "an IAM path that starts and ends with / such as /platform/"
            )
        ),
    ] = Field(
        default="/",
        description="IAM path of every role, policy and instance profile this stack creates itself. A change "
        "moves the controller's role and policies (new ones created first, then the controller rolls onto "
        "them); the node role, its instance profile and the Fargate pod execution role keep the path they "
        "were created with (running nodes and Fargate profiles hold on to them), so choose it before the "
        "first `pulumi up`. " + CLUSTER_ROLE_NOT_COVERED,
    )
    permissions_boundary_arn: PolicyArn | None = Field(
        default=None,
        description="Permissions boundary set on every role this stack creates itself (the node, controller, "
        "Fargate pod execution and add-on roles). " + CLUSTER_ROLE_NOT_COVERED,
    )
    extra_node_policy_arns: Annotated[list[PolicyArn], AfterValidator(_extra_policies)] = Field(
        default=[],
        description="More managed policies for the node role (e.g. for CloudWatch agents); the four "
        "standard node policies are always attached.",
    )
    node_role_name: IamRoleName | None = Field(
        default=None,
        description="Exact name of the node role. " + IMPORTED_NAME.format(what="node role", later=KEPT),
    )
    node_instance_profile_name: InstanceProfileName | None = Field(
        default=None,
        description="Exact name of the node role's instance profile. "
        + IMPORTED_NAME.format(what="instance profile", later=KEPT),
    )
    controller_role_name: IamRoleName | None = Field(
        default=None,
        description="Exact name of the controller's role. "
        + IMPORTED_NAME.format(what="controller role", later=REPLACED),
    )
    karpenter_manages_instance_profiles: bool = Field(
        default=False,
        description="false: the EC2NodeClass names the instance profile this stack creates, and the "
        "controller policy omits the instance-profile create/tag/add-role/remove-role/delete statements. "
        "true: upstream role-based mode (`spec.role`), Karpenter creates profiles, full statements.",
    )
    spot_service_linked_role: Literal["ensure", "create", "skip"] = Field(
        default="ensure",
        description="The EC2 Spot service-linked role (`AWSServiceRoleForEC2Spot`) Spot NodePools need. "
        "`ensure`: look it up and create it only when the account lacks it. `create`: always create it "
        "(fails if it exists). `skip`: never. Created or not, this stack never deletes it (account-wide).",
    )

    create_spot_service_linked_role: Annotated[Any, AfterValidator(_replaced_by_spot_setting)] = Field(
        default=None,
        description="Replaced by `spotServiceLinkedRole`; refused when set, with the fix.",
    )
