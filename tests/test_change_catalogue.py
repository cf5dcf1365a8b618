"""A catalogue of ordinary changes to the dev and prod stacks, and what each does to a running environment.

Each case renders the stack's committed config (once per session) and the changed config under the mocks,
diffs the two plans with harness/diff.py and the replacement rules of harness/diff/replacements.json, and
asserts exactly what is created, replaced and deleted, and which updates disrupt running nodes or pods.

The expectations are data (CATALOGUE below): when the program changes how a change lands (a resource
created before the old one goes, a profile split, a refusal), update the case's row. The safety rule is
asserted separately and must hold for every case: no change replaces or deletes something whose loss
breaks the running environment without the diff calling it out (a BREAKS consequence line) or the
program refusing the config.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from config.base import ConfigError
from harness.diff import Change, Diff, Rules, diff_plans, prior_inputs, to_markdown
from harness.stack_files import flatten_config
from harness.synth import synth, world_for
from tests.support.render import PROJECT, run, stack_values

Values = dict[str, Any]


def _pool(values: Values, name: str) -> dict[str, Any]:
    return next(p for p in values["nodePools"] if p["name"] == name)


def _set(path: str, value: Any) -> Callable[[Values], None]:
    def mutate(values: Values) -> None:
        *parents, last = path.split(".")
        doc = values
        for key in parents:
            doc = doc.setdefault(key, {})
        doc[last] = value

    return mutate


def _upgrade_kubernetes(values: Values) -> None:
    _set("cluster.kubernetesVersion", "1.35")(values)
    _set("cluster.addonVersions", {"kubeProxy": "v1.35.0-eksbuild.1"})(values)


def _add_pool(values: Values) -> None:
    values["nodePools"].append(
        {
            "name": "burst",
            "architecture": "amd64",
            "families": ["c7i", "c7a"],
            "weight": 30,
            "spotRatio": 1,
            "limits": {"cpu": 50, "memory": "200Gi"},
        }
    )


def _add_admin(values: Values) -> None:
    values["cluster"]["adminAccess"].append({"principalArn": "arn:aws:iam::123456789012:role/sre-oncall"})


def _remove_support_admin(values: Values) -> None:
    values["cluster"]["adminAccess"] = [
        a for a in values["cluster"]["adminAccess"] if not a["principalArn"].endswith("/support-readonly")
    ]


def _remove_x86_pool(values: Values) -> None:
    values["nodePools"] = [p for p in values["nodePools"] if p["name"] != "x86"]


@dataclass(frozen=True)
class Case:
    stack: str
    change: str
    mutate: Callable[[Values], None]
    creates: frozenset[str] = frozenset()
    replaces: frozenset[str] = frozenset()
    deletes: frozenset[str] = frozenset()
    disrupts: frozenset[str] = frozenset()
    """Updates (not replacements) that make Karpenter replace nodes or restart the controller."""
    refused: bool = False
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def S(*labels: str) -> frozenset[str]:
    return frozenset(labels)


CONTROLLER_POLICIES = (
    "EKSIntegration",
    "IAMIntegration",
    "Interruption",
    "NodeLifecycle",
    "ResourceDiscovery",
    "ZonalShift",
)
EVENT_RULES = (
    "capacity-reservation-interruption",
    "health",
    "rebalance",
    "spot-interruption",
    "state-change",
)
IAM_PATH_REPLACES = S(
    *(f"Policy:controller-{p}" for p in CONTROLLER_POLICIES),
    "Role:controller-role",
    "Role:ebs-role",
    "Role:s3-role",
    "Policy:ebs-kms",
    "Policy:s3-buckets",
)
"""Only the controller's role and policies: name prefixes make them create-first, and the controller
rolls onto the new role. The node role, instance profile and Fargate pod execution role keep their path
(ignoreChanges): running nodes and Fargate profiles use them."""
OLD_PATH, NEW_PATH = "8a5edab2", "316f148f"  # attachment generations of iam.path / and /karpenter/

# One row per change: update the row when the program changes how a change lands.
CATALOGUE: dict[str, Case] = {
    "bump karpenter.version": Case(
        "dev",
        "karpenter.version 1.14.1 -> 1.14.2",
        _set("karpenter.version", "1.14.2"),
        refused=True,
        notes="a release whose IAM policy, CRDs and chart values the program does not carry",
    ),
    "add a pool": Case(
        "dev",
        "a Spot-only amd64 pool `burst`",
        _add_pool,
        creates=S("NodePool:capacity-burst-spot"),
    ),
    "remove a pool": Case(
        "dev",
        "pool x86 removed",
        _remove_x86_pool,
        deletes=S("NodePool:capacity-x86-on-demand", "NodePool:capacity-x86-spot"),
    ),
    "change a ratio": Case(
        "dev",
        "graviton spotRatio 0.7 -> 0.75 (the spread values change)",
        lambda v: _pool(v, "graviton").__setitem__("spotRatio", 0.75),
        disrupts=S("NodePool:capacity-graviton-on-demand", "NodePool:capacity-graviton-spot"),
    ),
    "add an instance filter": Case(
        "dev",
        "x86 instanceFilters: exclude the metal sizes, 2 to 64 vCPUs",
        lambda v: _pool(v, "x86").__setitem__(
            "instanceFilters", {"excludeSizes": ["metal-24xl", "metal-48xl"], "cpu": {"min": 2, "max": 64}}
        ),
        disrupts=S("NodePool:capacity-x86-on-demand", "NodePool:capacity-x86-spot"),
        notes="requirements only: the nodes outside the filter drift, the others stay",
    ),
    "add a startup taint and a grace period": Case(
        "dev",
        "graviton startupTaints + terminationGracePeriod 2h",
        lambda v: _pool(v, "graviton").update(
            startupTaints=[{"key": "example.com/agent-not-ready", "effect": "NoExecute"}],
            terminationGracePeriod="2h",
        ),
        disrupts=S("NodePool:capacity-graviton-on-demand", "NodePool:capacity-graviton-spot"),
        notes="template hash: every node of the pool drifts",
    ),
    "reorder families": Case(
        "dev",
        "graviton families [m8g, c7g, r7g] -> [c7g, r7g, m8g]",
        lambda v: _pool(v, "graviton").__setitem__("families", ["c7g", "r7g", "m8g"]),
        notes="requirements are sets to Karpenter: no node drifts",
    ),
    "add a family": Case(
        "dev",
        "graviton families += m7g",
        lambda v: _pool(v, "graviton")["families"].append("m7g"),
        notes="a widened requirement still admits every node: none drifts",
    ),
    "remove a family": Case(
        "dev",
        "graviton families -= r7g",
        lambda v: _pool(v, "graviton").__setitem__("families", ["m8g", "c7g"]),
        disrupts=S("NodePool:capacity-graviton-on-demand", "NodePool:capacity-graviton-spot"),
        notes="only the r7g nodes drift",
    ),
    "drop the pool label": Case(
        "dev",
        "graviton poolLabel true -> false",
        lambda v: _pool(v, "graviton").__setitem__("poolLabel", False),
        disrupts=S("NodePool:capacity-graviton-on-demand", "NodePool:capacity-graviton-spot"),
        notes="the template loses a label: every node of the pool drifts",
    ),
    "label a pool": Case(
        "dev",
        "graviton labels += example.com/tier: web",
        lambda v: _pool(v, "graviton").__setitem__("labels", {"example.com/tier": "web"}),
        disrupts=S("NodePool:capacity-graviton-on-demand", "NodePool:capacity-graviton-spot"),
        notes="template labels are hashed: every node of the pool drifts",
    ),
    "pin a new AMI": Case(
        "prod",
        "nodeClass.amiVersion v20251120 -> v20251201",
        _set("nodeClass.amiVersion", "v20251201"),
        disrupts=S("EC2NodeClass:capacity-default"),
    ),
    "grow the root volume": Case(
        "dev",
        "nodeClass.rootVolumeSize 40 -> 60",
        _set("nodeClass.rootVolumeSize", 60),
        disrupts=S("EC2NodeClass:capacity-default"),
    ),
    "switch to Bottlerocket": Case(
        "prod",
        "nodeClass.amiFamily AL2023 -> Bottlerocket (amiVersion v1.50.0): a 4Gi OS volume plus a data volume",
        lambda v: v["nodeClass"].update(amiFamily="Bottlerocket", amiVersion="v1.50.0"),
        disrupts=S("EC2NodeClass:capacity-default"),
        notes="every node of every pool using the class drifts onto Bottlerocket, under the Drifted budgets",
    ),
    "change the kubelet": Case(
        "dev",
        "nodeClasses.bottlerocket.kubelet.maxPods 110 -> 58",
        _set("nodeClasses.bottlerocket.kubelet.maxPods", 58),
        disrupts=S("EC2NodeClass:capacity-bottlerocket"),
        notes="only the x86 pool uses the class: graviton's nodes stay",
    ),
    "change the volumes": Case(
        "dev",
        "nodeClass.blockDeviceMappings: a 100Gi gp3 root with 6000 IOPS plus a 200Gi data volume",
        _set(
            "nodeClass.blockDeviceMappings",
            [
                {"deviceName": "/dev/xvda", "ebs": {"volumeSize": "100Gi", "iops": 6000, "throughput": 500}},
                {"deviceName": "/dev/xvdf", "ebs": {"volumeSize": 200}},
            ],
        ),
        disrupts=S("EC2NodeClass:capacity-default"),
    ),
    "refuse a soft eviction without grace period": Case(
        "dev",
        "nodeClasses.bottlerocket.kubelet.evictionSoft without evictionSoftGracePeriod",
        _set("nodeClasses.bottlerocket.kubelet.evictionSoft", {"memory.available": "500Mi"}),
        refused=True,
    ),
    "add a Fargate namespace": Case(
        "dev",
        "karpenter.fargateNamespaces: [batch]",
        _set("karpenter.fargateNamespaces", ["batch"]),
        refused=True,
        notes="removed: a pod opts in with the label `fargate: enabled`, in any namespace, no config",
    ),
    "drop an AZ": Case(
        "dev",
        "cluster.vpc.availabilityZones [a, b, c] -> [a, b]",
        _set("cluster.vpc.availabilityZones", ["a", "b"]),
        replaces=S("FargateProfile:fargate-pods"),
        deletes=S(
            "MountTarget:efs-mount-eu-west-1c",
            "RouteTable:network-private-eu-west-1c",
            "RouteTableAssociation:network-private-eu-west-1c",
            "RouteTableAssociation:network-public-eu-west-1c",
            "Subnet:network-private-eu-west-1c",
            "Subnet:network-public-eu-west-1c",
        ),
    ),
    "change iam.path": Case(
        "prod",
        "iam.path / -> /karpenter/",
        _set("iam.path", "/karpenter/"),
        creates=S(
            *(f"RolePolicyAttachment:controller-{p}-{NEW_PATH}" for p in CONTROLLER_POLICIES),
            f"RolePolicyAttachment:ebs-AmazonEBSCSIDriverPolicyV2-{NEW_PATH}",
            f"RolePolicyAttachment:ebs-kms-{NEW_PATH}",
            f"RolePolicyAttachment:s3-buckets-{NEW_PATH}",
        ),
        replaces=IAM_PATH_REPLACES,
        deletes=S(
            *(f"RolePolicyAttachment:controller-{p}-{OLD_PATH}" for p in CONTROLLER_POLICIES),
            f"RolePolicyAttachment:ebs-AmazonEBSCSIDriverPolicyV2-{OLD_PATH}",
            f"RolePolicyAttachment:ebs-kms-{OLD_PATH}",
            f"RolePolicyAttachment:s3-buckets-{OLD_PATH}",
        ),
        disrupts=S("Release:karpenter-controller"),
        notes="create-first: new role, policies and attachments, the controller rolls, then the old go",
    ),
    "move the namespace": Case(
        "dev",
        "karpenter.namespace karpenter -> karpenter-system",
        _set("karpenter.namespace", "karpenter-system"),
        replaces=S("Namespace:karpenter-namespace", "Release:karpenter-controller"),
        notes="the controller is replaced delete-first; the CRD release (kube-system) and the Fargate "
        "profile (every namespace) are untouched",
    ),
    "add an admin": Case(
        "prod",
        "cluster.adminAccess += sre-oncall",
        _add_admin,
        creates=S("AccessEntry:admins-sre-oncall-b4bcb1", "AccessPolicyAssociation:admins-sre-oncall-b4bcb1"),
    ),
    "remove an admin": Case(
        "prod",
        "cluster.adminAccess -= support-readonly",
        _remove_support_admin,
        deletes=S(
            "AccessEntry:admins-support-readonly-0389bc",
            "AccessPolicyAssociation:admins-support-readonly-0389bc",
        ),
    ),
    "change limits": Case(
        "prod",
        "graviton limits.cpu 1000 -> 1500",
        lambda v: _pool(v, "graviton")["limits"].__setitem__("cpu", 1500),
    ),
    "change budgets": Case(
        "prod",
        "x86 budgets -> [nodes: 5%]",
        lambda v: _pool(v, "x86")["disruption"].__setitem__("budgets", [{"nodes": "5%"}]),
    ),
    "more controller replicas": Case(
        "prod",
        "karpenter.replicas 2 -> 3",
        _set("karpenter.replicas", 3),
        disrupts=S("Release:karpenter-controller"),
    ),
    "toggle public endpoint access": Case(
        "dev",
        "cluster.endpointPublicAccess true -> false",
        _set("cluster.endpointPublicAccess", False),
        notes="an in-place update of the control plane; the public CIDRs are no longer passed",
    ),
    "rename the cluster": Case(
        "dev",
        "cluster.name karpenter-dev -> karpenter-dev2 (a new EKS cluster)",
        _set("cluster.name", "karpenter-dev2"),
        replaces=S(
            "AccessEntry:admins-platform-admins-262f39",
            "AccessEntry:admins-pulumi-preview-dev-236a66",
            "AccessEntry:nodes-access",
            "AccessPolicyAssociation:admins-platform-admins-262f39",
            "AccessPolicyAssociation:admins-pulumi-preview-dev-236a66",
            "Addon:cluster-pod-identity-agent",
            "Addon:fargate-coredns",
            "Addon:ebs-addon",
            "Addon:efs-addon",
            "Cluster:cluster-eks",
            "EC2NodeClass:capacity-default",
            "EC2NodeClass:capacity-bottlerocket",
            "FargateProfile:fargate-pods",
            "Namespace:karpenter-namespace",
            "Policy:lbc-policy",
            "Queue:interruption-queue",
            "QueuePolicy:interruption-queue-policy",
            "Release:karpenter-controller",
            "Release:karpenter-crd",
            "Release:lbc-release",
            "Role:controller-role",
            "Role:ebs-role",
            "Role:efs-role",
            "Role:lbc-role",
            "RolePolicyAttachment:ebs-AmazonEBSCSIDriverPolicyV2-8a5edab2",
            "RolePolicyAttachment:efs-AmazonEFSCSIDriverPolicy-8a5edab2",
            "SecurityGroup:efs-nfs",
            "SecurityGroupIngressRule:efs-nfs-from-cluster",
            "StorageClass:ebs-gp3",
            "StorageClass:efs-class",
            f"RolePolicyAttachment:lbc-policy-{OLD_PATH}",
            "Tag:cluster-sg-discovery",
            "kubernetes-provider:kubernetes",
            *(f"EventRule:interruption-{k}" for k in EVENT_RULES),
            *(f"EventTarget:interruption-{k}" for k in EVENT_RULES),
            *(
                f"NodePool:capacity-{p}"
                for p in ("graviton-on-demand", "graviton-spot", "x86-on-demand", "x86-spot")
            ),
            *(f"Policy:controller-{p}" for p in CONTROLLER_POLICIES),
            *(f"RolePolicyAttachment:controller-{p}-{OLD_PATH}" for p in CONTROLLER_POLICIES),
        ),
        notes="everything named after the cluster or living in it; the provider takes every object (the "
        "node and Fargate roles keep their names: they are not tied to the cluster's name)",
    ),
    "upgrade Kubernetes": Case(
        "dev",
        "cluster.kubernetesVersion 1.34 -> 1.35, with kube-proxy's add-on version",
        _upgrade_kubernetes,
        disrupts=S("Cluster:cluster-eks"),
    ),
}


@pytest.fixture(scope="session")
def rules() -> Rules:
    return Rules.load()  # the project's own copy: never absent


@functools.cache
def _base(stack: str) -> dict[str, Any]:
    return synth(stack).as_json()


@functools.cache
def _outcome(name: str) -> Diff | None:
    """The diff of a case, or None when the program refuses the changed config."""
    case = CATALOGUE[name]
    values = copy.deepcopy(stack_values(case.stack))
    case.mutate(values)
    config = flatten_config(values, PROJECT)
    world = world_for(PROJECT, config)
    world.prior = prior_inputs(_base(case.stack))  # an update of the deployed stack (ignoreChanges)
    try:
        now = run(PROJECT, case.stack, config, world=world).as_json()
    except ConfigError:
        return None
    return diff_plans(_base(case.stack), now, Rules.load())


def test_the_catalogue_covers_both_stacks_and_enough_changes() -> None:
    assert len(CATALOGUE) >= 12
    assert {c.stack for c in CATALOGUE.values()} == {"dev", "prod"}


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_what_each_change_creates_replaces_and_deletes(name: str, rules: Rules) -> None:
    case = CATALOGUE[name]
    diff = _outcome(name)
    if case.refused:
        assert diff is None, f"{name}: expected the program to refuse {case.change}"
        return
    assert diff is not None, f"{name}: the program refused {case.change}"
    got = {
        "creates": set(diff.labels("create")),
        "replaces": set(diff.labels("replace")),
        "deletes": set(diff.labels("delete")),
        "disrupts": {c.label for c in diff.changes if c.disrupts},
    }
    want = {
        "creates": case.creates,
        "replaces": case.replaces,
        "deletes": case.deletes,
        "disrupts": case.disrupts,
    }
    assert got == {k: set(v) for k, v in want.items()}, to_markdown(
        diff, case.stack, "committed", case.change
    )
    assert all(not c.unclassified for c in diff.changes), "a type without replacement rules"


def breaks_environment(change: Change) -> bool:
    """The safety rule's own list (independent of harness/diff.py's consequence table): replacing or
    deleting one of these breaks a running Karpenter environment."""
    if change.op not in ("replace", "delete"):
        return False
    r = change.old or change.resource
    name = str(r.inputs.get("name") or r.inputs.get("namePrefix") or "")
    t = r.type
    if t in (
        "aws:eks/fargateProfile:FargateProfile",
        "kubernetes:core/v1:Namespace",
        "kubernetes:helm.sh/v3:Release",
        "eks:index:Cluster",
        "pulumi:providers:kubernetes",
        "aws:iam/instanceProfile:InstanceProfile",
        "aws:sqs/queue:Queue",
        "aws:eks/accessEntry:AccessEntry",
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/natGateway:NatGateway",
    ):
        return True
    if t == "aws:iam/role:Role":
        return name.startswith("Karpenter")
    if t in ("aws:iam/policy:Policy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        return change.delete_first
    if t in ("kubernetes:karpenter.sh/v1:NodePool", "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"):
        return True  # replaced or deleted: its nodes are drained and terminated
    if t == "aws:eks/addon:Addon":
        return r.inputs.get("addonName") == "coredns"
    return False


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_no_change_breaks_the_environment_silently(name: str, rules: Rules) -> None:
    diff = _outcome(name)
    if diff is None:
        return  # refused before anything is registered: nothing breaks
    silent = [c.label for c in diff.changes if breaks_environment(c) and not (c.breaking and c.consequence)]
    assert silent == [], f"{name}: replaced or deleted without a BREAKS consequence line: {silent}"


def test_consequences_name_the_budget_and_the_pods(rules: Rules) -> None:
    ami = _outcome("pin a new AMI")
    assert ami is not None
    [node_class] = ami.of("update")
    assert node_class.consequence is not None
    # prod's budgets: none during weekday business hours for drift, otherwise 10%.
    assert "graviton-on-demand, graviton-spot, x86-on-demand, x86-spot: none from `0 8 * * mon-fri`" in (
        node_class.consequence
    )
    assert "at most 10% of its nodes at a time" in node_class.consequence
    fargate = _outcome("drop an AZ")
    assert fargate is not None
    profiles = {c.label: c for c in fargate.of("replace")}
    core = profiles["FargateProfile:fargate-pods"]
    assert core.consequence and "CoreDNS" in core.consequence and "Karpenter controller" in core.consequence
    assert "every namespace" in core.consequence and "EBS CSI controller" in core.consequence
    assert not core.delete_first and core.forced_by == ["subnetIds"]
    assert set(profiles) == {"FargateProfile:fargate-pods"}
    moved = _outcome("move the namespace")
    assert moved is not None
    by_label = {c.label: c for c in moved.changes}
    assert "Release:karpenter-crd" not in by_label  # its namespace is fixed: the CRDs stay
    controller = by_label["Release:karpenter-controller"]
    assert controller.delete_first and controller.consequence
    assert "no Karpenter controller between the delete and the new install" in controller.consequence
    # The Namespace that goes is today's.
    assert "namespace karpenter deletes" in str(by_label["Namespace:karpenter-namespace"].consequence)
    narrowed = _outcome("add an instance filter")
    assert narrowed is not None
    assert all("the requirements no longer admit them" in str(c.consequence) for c in narrowed.of("update"))
    tainted = _outcome("add a startup taint and a grace period")
    assert tainted is not None
    assert all("every node of NodePool" in str(c.consequence) for c in tainted.of("update"))
    limits = _outcome("change limits")
    assert limits is not None
    assert all(not c.disrupts and not c.breaking for c in limits.changes)


NODE_POOL_LINES = {
    "reorder families": "no node of NodePool {pool} drifts",
    "add a family": "no node of NodePool {pool} drifts",
    "remove a family": "the nodes of NodePool {pool} with instance family r7g drift",
    "label a pool": "every node of NodePool {pool} drifts and is replaced (`spec.template.metadata.labels",
    "change a ratio": "the nodes of NodePool {pool} with Spot/On-Demand spread value (spread.karpenter-eks.",
    "change limits": "no node is replaced",
    "change budgets": "no node is replaced",
}
"""What the NodePool rows' consequence line says: which nodes drift (none, those of a removed value, all)."""


@pytest.mark.parametrize("name", sorted(NODE_POOL_LINES))
def test_node_pool_rows_name_the_nodes_that_drift(name: str, rules: Rules) -> None:
    diff = _outcome(name)
    assert diff is not None
    pools = [c for c in diff.changes if c.resource.type == "kubernetes:karpenter.sh/v1:NodePool"]
    assert pools
    for change in pools:
        pool = str(change.resource.inputs["metadata"]["name"])
        assert NODE_POOL_LINES[name].format(pool=pool) in str(change.consequence), change.consequence
        assert change.disrupts == ("no node" not in NODE_POOL_LINES[name])
    if name == "remove a family":
        assert all("m8g" not in str(c.consequence) for c in pools)


def test_deleting_a_node_pool_breaks(rules: Rules) -> None:
    diff = _outcome("remove a pool")
    assert diff is not None
    assert {c.label for c in diff.breaking} >= {
        "NodePool:capacity-x86-on-demand",
        "NodePool:capacity-x86-spot",
    }


def test_iam_path_cascades_through_unknown_arns(rules: Rules) -> None:
    """The controller release is updated because its values take the ARN of a role being replaced
    (unknown at preview), not because the mocks' fake ARN changed; the node role, instance profile and
    Fargate role keep their path (ignoreChanges), so nothing that names them changes."""
    diff = _outcome("change iam.path")
    assert diff is not None
    by_label = {c.label: c for c in diff.changes}
    role = by_label["Role:controller-role"]
    assert role.forced_by == ["path"] and not role.delete_first
    release = by_label["Release:karpenter-controller"]
    assert release.op == "update" and "values (unknown at preview)" in release.paths
    untouched = ("Role:nodes-role", "InstanceProfile:nodes-profile", "AccessEntry:nodes-access")
    assert not [label for label in untouched if label in by_label]
    assert not [label for label in by_label if label.startswith("FargateProfile:")]


# --- the Fargate profile is fixed ------------------------------------------------------------------------


def _toggle(section: str) -> Callable[[Values], None]:
    def mutate(values: Values) -> None:
        addon = values.setdefault("addons", {}).setdefault(section, {})
        addon["enabled"] = not addon.get("enabled", False)
        if section == "portainer" and addon["enabled"]:
            addon["adminPassword"] = "correct-horse-battery"
            values["addons"].setdefault("efs", {})["enabled"] = True
        if section == "s3" and addon["enabled"]:
            addon["buckets"] = [{"name": "karpenter-dev-scratch", "create": True}]
            addon.setdefault("version", "v2.7.0-eksbuild.1")  # as tests/stacks/Pulumi.everything.yaml

    return mutate


TOGGLES = {
    f"toggle addons.{s} ({stack})": (stack, s)
    for stack in ("dev", "prod")
    for s in ("ebs", "efs", "s3", "loadBalancerController", "portainer")
}


@functools.cache
def _toggled(name: str) -> Diff | None:
    stack, section = TOGGLES[name]
    values = copy.deepcopy(stack_values(stack))
    _toggle(section)(values)
    config = flatten_config(values, PROJECT)
    world = world_for(PROJECT, config)
    world.prior = prior_inputs(_base(stack))
    try:
        now = run(PROJECT, stack, config, world=world).as_json()
    except ConfigError:
        return None
    return diff_plans(_base(stack), now, Rules.load())


@pytest.mark.parametrize("name", sorted(TOGGLES))
def test_toggling_an_addon_touches_no_fargate_profile(name: str, rules: Rules) -> None:
    """Every add-on's Fargate pods are already selected by the stack's one profile: enabling or disabling
    one creates, replaces and deletes no profile."""
    outcome = _toggled(name)
    if outcome is None:
        pytest.skip(f"{name}: the config is refused in this stack")
    assert outcome.changes, f"{name} changes nothing: the toggle did not apply"
    touched = [c.label for c in outcome.changes if c.label.startswith("FargateProfile:")]
    assert touched == [], f"{name} touches {touched}"


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_only_subnet_and_cluster_changes_replace_the_fargate_profile(name: str, rules: Rules) -> None:
    outcome = _outcome(name)
    touched = [] if outcome is None else [c.label for c in outcome.changes if c.label.startswith("Fargate")]
    expected = ["FargateProfile:fargate-pods"] if name in ("drop an AZ", "rename the cluster") else []
    assert touched == expected
