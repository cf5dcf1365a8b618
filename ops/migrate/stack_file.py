"""The stack config that describes a discovered install as closely as the program can (adopt mode).

`stack_config(install)` returns the config (project keys without the namespace) and what it could not
express. Imported resources keep their names: the node role, its instance profile, the controller role,
the queue and each NodePool are named exactly (`iam.nodeRoleName`, ..., `nodePools[].nodePoolName`);
prefixes are only for what the program will create. Nothing is dropped silently: every difference
between the install and the stack is a line of `Written.unexpressed`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ops.migrate.model import Install, NodeClass, NodePool, NodeRole

PROJECT = "karpenter-eks"
PINNED_VERSION = "1.14.1"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
KARPENTER_PROFILE_TAG = "karpenter.k8s.aws/ec2nodeclass"
"""Tag Karpenter puts on the instance profiles it makes itself for a role-based EC2NodeClass."""
PROGRAM_NODE_CLASS = "default"
NODE_POLICY_NAMES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)
DEFAULT_WEIGHT = 50
"""The program's default pool weight (config.nodepools), written for a NodePool that has none."""
MEMORY_PER_CPU_GI = 8
"""A memory limit where the NodePool has none (the program needs one): 8 GiB per vCPU of the CPU limit,
what memory-optimised r families have, so the limit never binds before the CPU limit does."""
ROOT_VOLUME = re.compile(r"^(\d+)Gi$")


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
            "the second run attaches the six upstream policies this program manages; "
            f"{', '.join(kept)} stay attached until you remove them (after the controller runs on the "
            "new ones)",
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


def _ami(nc: NodeClass, out: Written) -> dict[str, Any]:
    aliases = [a for a in nc.ami_aliases if a.startswith("al2023@")]
    if aliases:
        version = aliases[0].split("@", 1)[1]
        return {"amiVersion": version, **({"allowLatestAmi": True} if version == "latest" else {})}
    out.note(
        f"EC2NodeClass {nc.name}",
        f"AMI {[dict(t) for t in nc.ami_selector_terms]} is not an al2023 alias: the stack pins "
        "al2023@latest, which DRIFTS EVERY NODE of its pools; pin amiVersion to the release of the "
        "running AMI before the second run",
    )
    return {"amiVersion": "latest", "allowLatestAmi": True}


def _node_class(install: Install, out: Written) -> dict[str, Any]:
    if not install.node_classes:
        out.note("EC2NodeClass", "none found: the stack creates `default`")
        return {"amiVersion": "latest", "allowLatestAmi": True}
    nc = install.node_classes[0]
    for other in install.node_classes[1:]:
        out.note(f"EC2NodeClass {other.name}", f"the stack has one ({PROGRAM_NODE_CLASS}); never touched")
    if nc.name != PROGRAM_NODE_CLASS:
        out.note(
            f"EC2NodeClass {nc.name}",
            f"the program's class is named {PROGRAM_NODE_CLASS}: it is created beside this one, which "
            "stays (its nodes keep running)",
        )
    cfg = _ami(nc, out)
    for device in nc.block_device_mappings:
        size = ROOT_VOLUME.match(str((device.get("ebs") or {}).get("volumeSize", "")))
        if device.get("rootVolume") and size:
            cfg["rootVolumeSize"] = int(size.group(1))
    if nc.tags:
        cfg["tags"] = dict(nc.tags)
    return cfg


def _capacity(pool: NodePool, out: Written) -> float:
    types = set(pool.values("karpenter.sh/capacity-type"))
    if types == {"spot"}:
        return 1
    if types == {"on-demand"}:
        return 0
    out.note(
        f"NodePool {pool.name}",
        f"allows {sorted(types) or 'every capacity type'} in one NodePool; the stack writes spotRatio 1 "
        "(Spot only, keeping the name): its On-Demand nodes DRIFT on the second run. Choose a spotRatio "
        "between 0 and 1 for two NodePools (new names) if you want a ratio",
    )
    return 1


def _instances(pool: NodePool, out: Written) -> dict[str, Any]:
    families = pool.values("karpenter.k8s.aws/instance-family")
    if families:
        return {"families": list(families)}
    categories = pool.values("karpenter.k8s.aws/instance-category")
    gens = [r for r in pool.requirements if r.get("key") == "karpenter.k8s.aws/instance-generation"]
    cfg: dict[str, Any] = {"categories": list(categories or ("c", "m", "r"))}
    if not categories:
        out.note(f"NodePool {pool.name}", "no family or category requirement: the stack writes c, m, r")
    if gens and gens[0].get("operator") == "Gt":
        cfg["minGeneration"] = int(gens[0]["values"][0]) + 1
    return cfg


def _limits(pool: NodePool, out: Written) -> dict[str, Any]:
    cpu = pool.limits.get("cpu", "1000")
    cpu_value: int | str = int(cpu) if str(cpu).isdigit() else str(cpu)
    memory = pool.limits.get("memory")
    if memory is None:
        count = int(cpu) if str(cpu).isdigit() else 1000
        memory = f"{count * MEMORY_PER_CPU_GI}Gi"
        out.note(f"NodePool {pool.name}", f"has no memory limit: the stack writes {memory}")
    if "cpu" not in pool.limits:
        out.note(f"NodePool {pool.name}", "has no CPU limit: the stack writes 1000")
    return {"cpu": cpu_value, "memory": str(memory)}


def _disruption(pool: NodePool) -> dict[str, Any]:
    d = pool.disruption
    cfg: dict[str, Any] = {}
    for key in ("consolidationPolicy", "consolidateAfter"):
        if key in d:
            cfg[key] = d[key]
    if pool.expire_after:
        cfg["expireAfter"] = pool.expire_after
    if pool.budgets:
        cfg["budgets"] = [dict(b) for b in pool.budgets]
    return cfg


def _pool(pool: NodePool, out: Written) -> dict[str, Any]:
    arches = pool.values("kubernetes.io/arch")
    cfg: dict[str, Any] = {
        "name": pool.name,
        "nodePoolName": pool.name,
        "architecture": arches[0] if arches else "amd64",
        **_instances(pool, out),
        "spotRatio": _capacity(pool, out),
    }
    cfg["weight"] = pool.weight if pool.weight is not None else DEFAULT_WEIGHT
    if pool.weight is None:
        out.note(
            f"NodePool {pool.name}", f"has no weight: the stack writes {DEFAULT_WEIGHT} (an update, no drift)"
        )
    cfg["limits"] = _limits(pool, out)
    disruption = _disruption(pool)
    if disruption:
        cfg["disruption"] = disruption
    if pool.labels:
        cfg["labels"] = dict(pool.labels)
    if pool.taints:
        cfg["taints"] = [dict(t) for t in pool.taints]
    ref = pool.node_class_ref.get("name")
    if ref != PROGRAM_NODE_CLASS:
        out.note(
            f"NodePool {pool.name}", f"uses EC2NodeClass {ref}; the stack's pools use {PROGRAM_NODE_CLASS}"
        )
    out.note(
        f"NodePool {pool.name}",
        "the stack adds its pool label to the node template: the second run DRIFTS its nodes "
        "(at the pace of its disruption budgets)",
    )
    return cfg


def _distinct_weights(pools: list[dict[str, Any]], out: Written) -> list[dict[str, Any]]:
    """The program refuses two NodePools of one weight (Karpenter's choice between them is arbitrary):
    a repeated weight is lowered to the next free one (weight is updated in place; no node drifts)."""
    taken: set[int] = set()
    for pool in sorted(pools, key=lambda p: -int(p.get("weight", DEFAULT_WEIGHT))):
        weight = int(pool.get("weight", DEFAULT_WEIGHT))
        free = weight
        while free in taken and free > 1:
            free -= 1
        if free != weight:
            out.note(
                f"NodePool {pool['name']}",
                f"weight {weight} is another pool's too: the stack writes {free} (an update, no drift)",
            )
            pool["weight"] = free
        taken.add(free)
    return pools


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
    cfg["nodeClass"] = _node_class(install, out)
    cfg["nodePools"] = _distinct_weights([_pool(p, out) for p in install.node_pools], out)
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
