"""Deploy and destroy order, read from the recorded plan's dependency edges.

`pulumi up` creates a resource after everything it depends on; `pulumi destroy` deletes it before them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.plan import Plan, RecordedResource
from tests.support.plan import destroy_order
from tests.support.render import stack_values


def _kind(plan: Plan, kind: str) -> list[RecordedResource]:
    return [r for r in plan.resources if r.type.endswith(f":{kind}")]


def test_controller_waits_for_fargate_iam_queue_and_crds(dev_plan: Plan) -> None:
    controller = dev_plan.one("kubernetes:helm.sh/v3:Release", "karpenter-controller")
    needs = [
        dev_plan.one("aws:eks/fargateProfile:FargateProfile", "fargate-pods"),
        dev_plan.one("aws:sqs/queue:Queue"),
        dev_plan.one("aws:sqs/queuePolicy:QueuePolicy"),
        dev_plan.one("kubernetes:helm.sh/v3:Release", "karpenter-crd"),
        dev_plan.one("aws:iam/role:Role", "controller-role"),
        *[
            r
            for r in dev_plan.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if r.name.startswith("controller-")
        ],
        *dev_plan.by_type("aws:cloudwatch/eventTarget:EventTarget"),
    ]
    assert len(needs) == 5 + 6 + 5  # five singles, six policy attachments, five rule targets
    for target in needs:
        assert dev_plan.depends_on(controller, target), f"controller release does not wait for {target.name}"


def test_node_classes_and_pools_depend_on_controller_and_identity(dev_plan: Plan) -> None:
    controller = dev_plan.one("kubernetes:helm.sh/v3:Release", "karpenter-controller")
    classes = _kind(dev_plan, "EC2NodeClass")
    pools = _kind(dev_plan, "NodePool")
    assert len(classes) == 2 and len(pools) == 4  # default, and bottlerocket for the x86 pool
    identity = [
        dev_plan.one("aws:iam/role:Role", "nodes-role"),
        dev_plan.one("aws:iam/instanceProfile:InstanceProfile"),
        dev_plan.one("aws:eks/accessEntry:AccessEntry", "nodes-access"),
    ]
    for node_class in classes:
        assert dev_plan.depends_on(node_class, controller)
        for target in identity:
            assert dev_plan.depends_on(node_class, target), (
                f"{node_class.name} does not wait for {target.name}"
            )
    by_name = {c.inputs["metadata"]["name"]: c for c in classes}
    for pool in pools:
        assert dev_plan.depends_on(pool, controller)
        assert dev_plan.depends_on(
            pool, by_name[pool.inputs["spec"]["template"]["spec"]["nodeClassRef"]["name"]]
        )


def test_destroy_removes_pools_first_and_identity_last(dev_plan: Plan) -> None:
    order = destroy_order(dev_plan)
    pos = {urn: i for i, urn in enumerate(order)}
    controller = dev_plan.one("kubernetes:helm.sh/v3:Release", "karpenter-controller")
    profile = dev_plan.one("aws:eks/fargateProfile:FargateProfile", "fargate-pods")
    access = dev_plan.one("aws:eks/accessEntry:AccessEntry", "nodes-access")
    instance_profile = dev_plan.one("aws:iam/instanceProfile:InstanceProfile")
    for obj in [*_kind(dev_plan, "NodePool"), *_kind(dev_plan, "EC2NodeClass")]:
        # Deleted while the controller (and its Fargate pods) still run to drain and terminate nodes...
        assert pos[obj.urn] < pos[controller.urn] < pos[profile.urn]
        # ...and while the nodes can still authenticate.
        assert pos[obj.urn] < pos[access.urn] and pos[obj.urn] < pos[instance_profile.urn]
    classes = {c.inputs["metadata"]["name"]: c for c in _kind(dev_plan, "EC2NodeClass")}
    for pool in _kind(dev_plan, "NodePool"):
        node_class = classes[pool.inputs["spec"]["template"]["spec"]["nodeClassRef"]["name"]]
        assert pos[pool.urn] < pos[node_class.urn]


@pytest.mark.parametrize(
    ("typ", "suffix"),
    [
        ("aws:iam/role:Role", "nodes-role"),
        ("aws:iam/instanceProfile:InstanceProfile", ""),
        ("aws:sqs/queue:Queue", ""),
        ("aws:sqs/queuePolicy:QueuePolicy", ""),
        ("aws:cloudwatch/eventRule:EventRule", "spot-interruption"),
        ("aws:iam/role:Role", "fargate-pod-execution"),
        ("aws:iam/policy:Policy", "controller-ResourceDiscovery"),
        ("aws:ec2/natGateway:NatGateway", ""),
    ],
)
def test_what_does_not_need_the_cluster_does_not_wait_for_it(dev_plan: Plan, typ: str, suffix: str) -> None:
    cluster = dev_plan.one("eks:index:Cluster")
    resource = dev_plan.one(typ, suffix)
    assert not dev_plan.depends_on(resource, cluster), f"{resource.name} waits for the cluster needlessly"


def test_coredns_addon_waits_for_the_fargate_profile(dev_plan: Plan) -> None:
    coredns = dev_plan.one("aws:eks/addon:Addon", "coredns")
    profile = dev_plan.one("aws:eks/fargateProfile:FargateProfile", "fargate-pods")
    assert dev_plan.depends_on(coredns, profile)
    controller = dev_plan.one("kubernetes:helm.sh/v3:Release", "karpenter-controller")
    assert not dev_plan.depends_on(controller, coredns), "the controller must not wait for CoreDNS"


def test_no_pod_identity_association_but_mountpoints_node(dev_plan: Plan, prod_plan: Plan) -> None:
    """The only Pod Identity association is the Mountpoint S3 driver's node DaemonSet (on EC2); see
    tests/test_storage_addons.py for the check against every Fargate profile's selectors."""
    assert dev_plan.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") == []
    [association] = prod_plan.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == (
        "kube-system",
        "s3-csi-driver-sa",
    )


def test_fargate_and_everything_after_it_keep_egress_until_the_end(dev_plan: Plan) -> None:
    """The controller on Fargate reaches STS, EC2 and SQS through the NAT gateway: destroy must keep
    the NAT gateway and the private routes until the controller has drained its nodes."""
    profile = dev_plan.one("aws:eks/fargateProfile:FargateProfile", "fargate-pods")
    egress = [
        *dev_plan.by_type("aws:ec2/natGateway:NatGateway"),
        *[r for r in dev_plan.by_type("aws:ec2/routeTable:RouteTable") if "private" in r.name],
        *[
            r
            for r in dev_plan.by_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
            if "private" in r.name
        ],
    ]
    assert len(egress) == 1 + 3 + 3
    order = {urn: i for i, urn in enumerate(destroy_order(dev_plan))}
    for target in egress:
        assert dev_plan.depends_on(profile, target), f"the Fargate profile does not wait for {target.name}"
        for obj in [*_kind(dev_plan, "NodePool"), *_kind(dev_plan, "EC2NodeClass")]:
            assert order[obj.urn] < order[target.urn]


def test_node_classes_wait_for_node_policies_and_discovery_tags(dev_plan: Plan, prod_plan: Plan) -> None:
    for plan in (dev_plan, prod_plan):
        node_class = _kind(plan, "EC2NodeClass")[0]
        attachments = [
            r
            for r in plan.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if r.name.startswith("nodes-")
        ]
        tags = plan.by_type("aws:ec2/tag:Tag")
        assert len(attachments) == 4 and tags
        for target in [*attachments, *tags]:
            assert plan.depends_on(node_class, target), f"{node_class.name} does not wait for {target.name}"


def test_kubernetes_objects_wait_for_admin_access_entries(prod_plan: Plan) -> None:
    controller = prod_plan.one("kubernetes:helm.sh/v3:Release", "karpenter-controller")
    provider = prod_plan.one("pulumi:providers:kubernetes")
    associations = prod_plan.by_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert len(associations) == len(stack_values("prod")["cluster"]["adminAccess"]) == 4
    for association in associations:
        assert prod_plan.depends_on(provider, association)
    assert controller.provider and controller.provider.startswith(provider.urn)


def test_karpenter_objects_get_time_to_drain_on_delete(dev_plan: Plan) -> None:
    # The timeout is a resource option, not an input: check it where the program sets it.
    from components.karpenter import node_pools

    source = Path(node_pools.__file__).read_text()
    assert source.count('custom_timeouts=pulumi.CustomTimeouts(delete="45m")') == 2
