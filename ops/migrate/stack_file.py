"""The stack config that describes a discovered install as closely as the program can (adopt mode).

`stack_config(install)` returns the config (project keys without the namespace) and what it could not
express. Imported resources keep their names: the node role, its instance profile, the controller role,
the queue and each NodePool are named exactly (`iam.nodeRoleName`, ..., `nodePools[].nodePoolName`);
prefixes are only for what the program will create. Nothing is dropped silently: every difference
between the install and the stack is a line of `Written.unexpressed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ops.migrate import capacity
from ops.migrate.model import Install, NodeRole

PROJECT = "karpenter-eks"
PINNED_VERSION = "1.14.1"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
KARPENTER_PROFILE_TAG = "karpenter.k8s.aws/ec2nodeclass"
"""Tag Karpenter puts on the instance profiles it makes itself for a role-based EC2NodeClass."""
NODE_POLICY_NAMES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)


@dataclass
class Written:
    config: dict[str, Any]
    unexpressed: list[str] = field(default_factory=list)
    """What the install does that the stack does not (or differently): each a line a reviewer reads."""

    def note(self, subject: str, text: str) -> None:
        self.unexpressed.append(f"{subject}: {text}")


def _cluster(install: Install) -> dict[str, Any]:
    return {"mode": "adopt", "name": install.cluster, "existing": {"createOidcProvider": False}}


def _node_role(install: Install, out: Written) -> NodeRole | None:
    if not install.node_roles:
        out.note("node role", "no EC2NodeClass names a role: the program creates a new one")
        return None
    role = install.node_roles[0]
    for other in install.node_roles[1:]:
        out.note(
            f"node role {other.name}",
            f"used by {', '.join(other.used_by)}: the stack has one node role ({role.name}); "
            "this one is never touched",
        )
    return role


def _own_profile(role: NodeRole) -> str | None:
    """The role's instance profile made by hand (Karpenter's own, tagged, stays Karpenter's)."""
    for profile in role.instance_profiles:
        if KARPENTER_PROFILE_TAG not in profile.tags:
            return profile.name
    return None


def _iam(install: Install, out: Written) -> dict[str, Any]:
    iam: dict[str, Any] = {}
    role = _node_role(install, out)
    if role is not None:
        iam["nodeRoleName"] = role.name
        extra = sorted(
            p.arn
            for p in (role.role.managed_policies if role.role else ())
            if p.arn and p.arn.rsplit("/", 1)[-1] not in NODE_POLICY_NAMES
        )
        if extra:
            iam["extraNodePolicyArns"] = extra
        if role.role is not None and role.role.inline_policies:
            out.note(
                f"node role {role.name}",
                f"inline policies {[p.name for p in role.role.inline_policies]} are not the stack's: "
                "they stay, untouched",
            )
        profile = _own_profile(role)
        if profile:
            iam["nodeInstanceProfileName"] = profile
        else:
            out.note(
                "instance profile",
                f"{role.name} has no instance profile of its own (Karpenter made the ones it has): the "
                "stack creates one (name-prefixed) that no node uses until an EC2NodeClass names it",
            )
    uses_role = [nc.name for nc in install.node_classes if nc.role]
    if uses_role:
        # The program's EC2NodeClass then says `role:` as the live one does; `instanceProfile:` instead
        # would be a change of the class (and a drift of its nodes).
        iam["karpenterManagesInstanceProfiles"] = True
    _class_identities(install, iam, out)
    ident = install.identity
    if ident is not None and ident.role is not None:
        iam["controllerRoleName"] = ident.role.name
        _controller_policies(install, out)
    elif ident is not None:
        out.note("controller role", f"{ident.role_arn} could not be read: the stack creates a new role")
    else:
        out.note(
            "controller role",
            "no IRSA annotation or Pod Identity association was read: the stack creates a new role "
            "(name-prefixed); the old one is never touched",
        )
    return iam


def _class_identities(install: Install, iam: dict[str, Any], out: Written) -> None:
    """The program's classes all say the same: `role: <node role>` (Karpenter makes the profile) or
    `instanceProfile: <the stack's profile>`. A class that says otherwise drifts its nodes."""
    if iam.get("karpenterManagesInstanceProfiles"):
        says = f"role {iam.get('nodeRoleName')}"
    else:
        says = f"instanceProfile {iam.get('nodeInstanceProfileName') or '(a new one)'}"
    for nc in install.node_classes:
        uses = f"role {nc.role}" if nc.role else f"instanceProfile {nc.instance_profile}"
        if uses != says:
            out.note(
                f"EC2NodeClass {nc.name}",
                f"uses {uses}; the stack's classes say {says}, which DRIFTS EVERY NODE of its pools",
            )


def _controller_policies(install: Install, out: Written) -> None:
    ident = install.identity
    assert ident is not None and ident.role is not None
    role = ident.role
    if ident.kind != "irsa":
        out.note(
            "controller identity",
            f"{ident.kind}: the program uses IRSA; the second run rewrites the trust policy of "
            f"{role.name} for the service account and the association stays until you delete it",
        )
    kept = [p.name for p in role.inline_policies] + [p.arn or p.name for p in role.managed_policies]
    if kept:
        out.note(
            f"controller role {role.name}",
            "the second run attaches the six upstream policies this program manages, then removes "
            f"{', '.join(kept)} (imported for that; a managed policy itself is only detached)",
        )


def _karpenter(install: Install, out: Written) -> dict[str, Any]:
    ctl = install.controller
    assert ctl is not None
    cfg: dict[str, Any] = {"version": PINNED_VERSION, "serviceAccount": ctl.service_account}
    cfg["replicas"] = max(1, min(ctl.replicas, 5))
    if ctl.namespace in SYSTEM_NAMESPACES:
        out.note(
            "controller namespace",
            f"{ctl.namespace} is a system namespace, which the stack never owns: the program installs the "
            "controller in `karpenter`; scale the old Deployment to 0 just before the second run, remove it "
            "after the new one runs",
        )
    else:
        cfg["namespace"] = ctl.namespace
    if install.queue is not None:
        cfg["interruptionQueueName"] = install.queue.name
    else:
        out.note("interruption queue", "none: the second run creates one and its five rules")
    if ctl.version and ctl.version != PINNED_VERSION:
        out.note("Karpenter version", f"{ctl.version}: the second run upgrades it to {PINNED_VERSION}")
    return cfg


def stack_config(install: Install) -> Written:
    """The adopt-mode config for `install`, and what it could not express. Refuses a pre-v1 install."""
    if install.pre_v1 or install.controller is None:
        raise ValueError("no Karpenter v1 install to describe (pre-v1 or none found)")
    out = Written({})
    cfg: dict[str, Any] = {"region": install.region, "cluster": _cluster(install)}
    iam = _iam(install, out)
    if iam:
        cfg["iam"] = iam
    cfg["karpenter"] = _karpenter(install, out)
    default, named = capacity.node_classes(install, out)
    cfg["nodeClass"] = default
    if named:
        cfg["nodeClasses"] = named
    cfg["nodePools"] = capacity.node_pools(install, named, out)
    out.unexpressed.extend(n.line() for n in install.unsupported)
    out.config = cfg
    return out


def stack_yaml(written: Written, project: str = PROJECT) -> str:
    """`Pulumi.<stack>.yaml`: the config under the project namespace, what it cannot express on top."""
    head = ["# Written by `tools/dev.py migrate` from the running install (adopt mode).", "#"]
    head += ["# Not expressed, or expressed differently (review before `pulumi up`):"]
    head += [f"#   - {line}" for line in written.unexpressed] or ["#   (nothing)"]
    body = {"config": {f"{project}:{k}": v for k, v in written.config.items()}}
    return "\n".join(head) + "\n" + yaml.safe_dump(body, sort_keys=False, default_flow_style=False)
