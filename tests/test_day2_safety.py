"""A running stack survives its config changes. Each test renders the stacks under the mocks
and checks the recorded plan against what the pinned providers do (harness/diff/replacements.json)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pulumi import RunError

from harness.diff import DEFAULT_RULES
from harness.fake.world import World
from harness.plan import Plan, RecordedResource
from harness.stack_files import flatten_config
from harness.synth import world_for
from tests.support.render import PROJECT, render, stack_values


def replacement_rules() -> dict[str, Any]:
    types: dict[str, Any] = json.loads(DEFAULT_RULES.read_text())["types"]
    return types


def _value(inputs: dict[str, Any], path: str) -> Any:
    """An input by a replacements.json path (`selectors[].namespace`: the list of every item's field)."""
    node: Any = inputs
    for part in path.split("."):
        if part.endswith("[]"):
            items = node.get(part[:-2]) if isinstance(node, dict) else None
            node = items if isinstance(items, list) else None
            continue
        if isinstance(node, list):
            node = [item.get(part) if isinstance(item, dict) else None for item in node]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def deletes_first(resource: RecordedResource, rule: dict[str, Any]) -> bool:
    """Whether a replacement of `resource` deletes before it creates, as the engine decides it: the
    resource option, a type that always deletes first, or an auto-nameable field set explicitly."""
    if resource.delete_before_replace:
        return True
    mode = str(rule.get("deleteBeforeReplace", ""))
    if mode.startswith("always"):
        return True
    auto = rule.get("autoNamed")
    return bool(mode.startswith("when the auto-named field") and auto and _value(resource.inputs, auto))


def replaced_inputs(old: RecordedResource, new: RecordedResource, rule: dict[str, Any]) -> list[str]:
    """Inputs whose change replaces the resource (those in ignore_changes keep their old value)."""
    return [
        path
        for path in rule.get("replaceOn", [])
        if path not in new.ignore_changes
        and path.split(".")[0] not in new.ignore_changes
        and _value(old.inputs, path) != _value(new.inputs, path)
    ]


def delete_first_replacements(old: Plan, new: Plan) -> list[str]:
    """Every resource the change from `old` to `new` replaces delete-first: an outage window."""
    rules = replacement_rules()
    before = old.urn_index()
    found = []
    for r in new.resources:
        rule = rules.get(r.type)
        if not r.custom or rule is None or r.urn not in before:
            continue
        changed = replaced_inputs(before[r.urn], r, rule)
        if changed and deletes_first(r, rule):
            found.append(f"{r.type} {r.name} ({', '.join(changed)})")
    return found


def changed(values: dict[str, Any], **edits: Any) -> dict[str, Any]:
    out = copy.deepcopy(values)
    for path, value in edits.items():
        node = out
        keys = path.split("__")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return out


# -- 2. fixed names ---------------------------------------------------------------------------------


def test_no_aws_resource_sets_a_name_that_makes_its_replacement_delete_first(
    dev_plan: Plan, prod_plan: Plan
) -> None:
    """pulumi-terraform-bridge deletes first when the auto-nameable field is set explicitly. Derived
    from the plans and replacements.json, so a new named resource is covered without listing it."""
    rules = replacement_rules()
    offenders = []
    for plan in (dev_plan, prod_plan):
        for r in plan.resources:
            rule = rules.get(r.type, {})
            auto = rule.get("autoNamed")
            if (
                r.type.startswith("aws:")
                and auto
                and str(rule.get("deleteBeforeReplace", "")).startswith("when the auto-named field")
                and _value(r.inputs, auto) is not None
            ):
                offenders.append(f"{plan.stack}: {r.type} {r.name} sets {auto}")
    assert offenders == []


def _node_identity(plan: Plan) -> list[RecordedResource]:
    """What running nodes and Fargate pods hold on to: the IAM resources the EC2_LINUX access entry,
    the EC2NodeClasses and the Fargate profiles reference."""
    index = plan.urn_index()
    users = [
        r
        for r in plan.resources
        if (r.type == "aws:eks/accessEntry:AccessEntry" and r.inputs.get("type") == "EC2_LINUX")
        or r.type in ("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "aws:eks/fargateProfile:FargateProfile")
    ]
    held = {}
    for user in users:
        for urns in user.property_dependencies.values():
            for urn in urns:
                dep = index[urn]
                if dep.custom and dep.type.startswith("aws:iam/"):
                    held[dep.urn] = dep
    return list(held.values())


def test_the_node_identity_is_never_replaced(dev_plan: Plan, prod_plan: Plan) -> None:
    """Nodes keep their instance profile and authenticate with the role's access entry until Karpenter
    replaces them (hours, under budgets); Fargate profiles name the pod execution role. Replacing any of
    them cuts running nodes off, even created first, so every input that would replace them is ignored."""
    rules = replacement_rules()
    for plan in (dev_plan, prod_plan):
        held = _node_identity(plan)
        assert {r.type for r in held} == {"aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile"}
        assert len(held) == 3  # node role, instance profile, Fargate pod execution role
        for r in held:
            replacing = [p for p in rules[r.type]["replaceOn"] if p != "region"]
            assert sorted(set(replacing) - set(r.ignore_changes)) == [], r.name


def with_ignored_changes(old: dict[str, Any], new: dict[str, Any], ignore: list[str]) -> dict[str, Any]:
    """The inputs the engine diffs (pulumi/pulumi processIgnoreChanges, top-level paths): an ignored
    input keeps its old value, or is dropped when it had none."""
    out = dict(new)
    for key in ignore:
        if key in old:
            out[key] = old[key]
        else:
            out.pop(key, None)
    return out


def test_stacks_deployed_with_fixed_names_keep_their_node_identity(dev_plan: Plan) -> None:
    """Migration: the previous version named these resources itself (`name`, no prefix). With the new
    inputs and their ignore_changes, nothing that would replace them differs."""
    rules = replacement_rules()
    legacy = {
        "nodes-role": {"name": "KarpenterNodeRole-karpenter-dev", "path": "/"},
        "nodes-profile": {"name": "KarpenterNodeRole-karpenter-dev", "path": "/"},
        "fargate-pod-execution": {"name": "KarpenterFargate-karpenter-dev", "path": "/"},
    }
    for name, old_inputs in legacy.items():
        [r] = [
            r
            for r in dev_plan.resources
            if r.name == name and r.type.startswith(("aws:iam/role:", "aws:iam/instanceProfile:"))
        ]
        new_inputs = with_ignored_changes(old_inputs, r.inputs, r.ignore_changes)
        assert new_inputs["name"] == old_inputs["name"] and "namePrefix" not in new_inputs
        assert [p for p in rules[r.type]["replaceOn"] if _value(old_inputs, p) != _value(new_inputs, p)] == []


def test_changing_iam_path_replaces_nothing_delete_first(dev_plan: Plan) -> None:
    values = changed(stack_values("dev"), iam__path="/karpenter/")
    new = render(values, stack="dev")
    assert delete_first_replacements(dev_plan, new) == []
    # The controller's role and policies do move (created first), and the controller rolls onto the
    # new role: its ARN is in the pod template.
    controller = new.one("kubernetes:helm.sh/v3:Release", "karpenter-controller").inputs["values"]
    assert (
        controller["podAnnotations"]["karpenter-eks.dev/controller-role-arn"]
        == new.outputs["controllerRoleArn"]
    )
    assert new.one("aws:iam/role:Role", "controller-role").inputs["path"] == "/karpenter/"


def test_a_controller_role_change_rolls_the_controller(dev_plan: Plan) -> None:
    values = dev_plan.one("kubernetes:helm.sh/v3:Release", "karpenter-controller").inputs["values"]
    role_arn = dev_plan.outputs["controllerRoleArn"]
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == role_arn
    assert values["podAnnotations"] == {"karpenter-eks.dev/controller-role-arn": role_arn}


def test_the_delete_first_detector_sees_a_fixed_name_replacement(dev_plan: Plan) -> None:
    """The detector itself: a role whose fixed name changes is reported."""
    new = copy.deepcopy(dev_plan)
    role = new.one("aws:iam/role:Role", "controller-role")
    role.inputs = {**role.inputs, "name": "KarpenterController-x", "path": "/x/"}
    assert delete_first_replacements(dev_plan, new) == ["aws:iam/role:Role controller-role (name, path)"]


# -- 1. endpoint access -----------------------------------------------------------------------------


def test_a_private_endpoint_gets_no_public_cidrs() -> None:
    plan = render(changed(stack_values("dev"), cluster__endpointPublicAccess=False))
    cluster = plan.one("eks:index:Cluster")
    assert cluster.inputs["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in cluster.inputs  # pulumi-eks throws when it is set


def test_cidrs_without_public_access_are_refused() -> None:
    values = changed(
        stack_values("dev"), cluster__endpointPublicAccess=False, cluster__publicAccessCidrs=["10.0.0.0/8"]
    )
    with pytest.raises(RunError, match=r"cluster\.publicAccessCidrs: only applies to a public endpoint"):
        render(values)


def test_a_public_endpoint_keeps_its_cidrs(dev_plan: Plan) -> None:
    assert dev_plan.one("eks:index:Cluster").inputs["publicAccessCidrs"] == ["0.0.0.0/0"]
    plan = render(changed(stack_values("dev"), cluster__publicAccessCidrs=["203.0.113.0/24"]))
    assert plan.one("eks:index:Cluster").inputs["publicAccessCidrs"] == ["203.0.113.0/24"]


# -- 3. Fargate profiles ----------------------------------------------------------------------------


def test_the_fargate_profile_is_the_same_whatever_the_config(dev_plan: Plan, prod_plan: Plan) -> None:
    """One profile, its selectors fixed: another controller namespace, CoreDNS off Fargate, or no add-ons
    leave it as it is (a profile's selectors cannot change in place: every change replaces it)."""
    core = dev_plan.one("aws:eks/fargateProfile:FargateProfile", "fargate-pods")
    variants = [
        changed(stack_values("dev"), karpenter__namespace="karpenter-system"),
        changed(stack_values("dev"), karpenter__coreDnsOnFargate=False),
        dict(stack_values("dev"), addons={}),
    ]
    for values in variants:
        (profile,) = render(values, stack="dev").by_type("aws:eks/fargateProfile:FargateProfile")
        assert profile.inputs == core.inputs
    (prod_profile,) = prod_plan.by_type("aws:eks/fargateProfile:FargateProfile")
    assert prod_profile.inputs["selectors"] == core.inputs["selectors"]


# -- 4. the Fargate scheduler -----------------------------------------------------------------------


def test_the_controller_names_the_fargate_scheduler(dev_plan: Plan, prod_plan: Plan) -> None:
    for plan in (dev_plan, prod_plan):
        values = plan.one("kubernetes:helm.sh/v3:Release", "karpenter-controller").inputs["values"]
        assert values["schedulerName"] == "fargate-scheduler"


# -- 5. namespace move ------------------------------------------------------------------------------


def test_a_namespace_move_never_replaces_the_crds_and_stops_the_controller_first(dev_plan: Plan) -> None:
    plan = render(changed(stack_values("dev"), karpenter__namespace="karpenter-system"), stack="dev")
    crd = plan.one("kubernetes:helm.sh/v3:Release", "karpenter-crd")
    before = dev_plan.one("kubernetes:helm.sh/v3:Release", "karpenter-crd")
    assert crd.inputs == before.inputs and crd.inputs["namespace"] == "kube-system"
    # Stacks deployed with the CRD release elsewhere keep it there: a namespace change would replace it.
    assert "namespace" in crd.ignore_changes
    # Destroy removes it before the namespace, where older stacks keep its Helm record.
    namespace = plan.one("kubernetes:core/v1:Namespace")
    assert namespace.urn in crd.dependencies
    assert all(namespace.urn not in urns for urns in crd.property_dependencies.values())
    controller = plan.one("kubernetes:helm.sh/v3:Release", "karpenter-controller")
    assert controller.inputs["namespace"] == "karpenter-system"
    assert controller.delete_before_replace  # never two controllers at once
    # Its dependents wait for it through depends_on only: the engine replaces dependents of a
    # delete-first replacement only when their inputs depend on it, so no NodePool is touched.
    for r in plan.resources:
        if r.type.startswith("kubernetes:karpenter"):
            assert controller.urn in r.dependencies
            assert all(controller.urn not in urns for urns in r.property_dependencies.values()), r.name


# -- 6. the caller's access entry -------------------------------------------------------------------


def test_listing_the_caller_role_in_create_mode_is_refused_before_anything_is_registered() -> None:
    values = stack_values("dev")  # lists arn:aws:iam::123456789012:role/platform-admins
    world = World(
        region="eu-west-1",
        caller_arn="arn:aws:sts::123456789012:assumed-role/platform-admins/alice@example.com",
    )
    with pytest.raises(RunError, match=r"cluster\.adminAccess\[0\]\.principalArn: .*platform-admins") as info:
        render(values, world)
    registered = getattr(info.value, "registered", [])
    assert {r.type for r in registered if r.custom} <= {"pulumi:providers:aws"}


def test_listing_the_caller_user_is_refused_and_others_pass() -> None:
    values = changed(
        stack_values("dev"), cluster__adminAccess=[{"principalArn": "arn:aws:iam::123456789012:user/ops/bob"}]
    )
    with pytest.raises(RunError, match=r"adminAccess\[0\]"):
        render(values, World(region="eu-west-1", caller_arn="arn:aws:iam::123456789012:user/ops/bob"))
    render(values, World(region="eu-west-1", caller_arn="arn:aws:iam::123456789012:user/ops/carol"))


def test_a_listed_pipeline_may_update_the_cluster_it_did_not_create() -> None:
    """Day 2: the cluster exists (someone else created it); the pipeline's entry is this stack's own."""
    world = World(
        region="eu-west-1",
        caller_arn="arn:aws:sts::123456789012:assumed-role/platform-admins/github-actions",
    )
    world.add_cluster("karpenter-dev", authentication_mode="API")
    render(stack_values("dev"), world)


# -- 7. chart pulls ---------------------------------------------------------------------------------


def test_public_ecr_chart_pulls_are_anonymous(dev_plan: Plan) -> None:
    """Public ECR serves public charts to unauthenticated pulls: no token, nothing new each run
    (tests/test_quiet_preview.py renders every stack twice)."""
    for name in ("karpenter-crd", "karpenter-controller"):
        release = dev_plan.one("kubernetes:helm.sh/v3:Release", name)
        assert release.inputs["chart"].startswith("oci://public.ecr.aws/karpenter/")
        assert "repositoryOpts" not in release.inputs
    assert not [t for t, _ in dev_plan.invokes if t.startswith("aws:ecrpublic/")]


def test_a_partition_without_public_ecr_needs_a_mirror() -> None:
    values = changed(
        stack_values("dev"),
        region="cn-north-1",
        cluster__vpc__availabilityZones=["a", "b"],
        cluster__adminAccess=[],
        addons__loadBalancerController__enabled=False,
    )
    with pytest.raises(RunError, match=r"karpenter\.chartRepository: is required in region cn-north-1"):
        render(values)
    with pytest.raises(RunError, match=r"karpenter\.chartRepository: is required"):
        render(changed(values, karpenter__chartRepository="oci://public.ecr.aws/karpenter"))
    mirror = "oci://123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/karpenter"
    plan = render(changed(values, karpenter__chartRepository=mirror))
    crd = plan.one("kubernetes:helm.sh/v3:Release", "karpenter-crd")
    assert crd.inputs["chart"] == f"{mirror}/karpenter-crd"
    assert crd.inputs["repositoryOpts"] == "[secret]"
    assert [t for t, _ in plan.invokes if t.startswith("aws:ecr/getAuthorizationToken")]
    assert not [t for t, _ in plan.invokes if t.startswith("aws:ecrpublic/")]


# -- 8. names that collide --------------------------------------------------------------------------


def _adopt_world(values: dict[str, Any]) -> World:
    return world_for(PROJECT, flatten_config(values, PROJECT))


def test_a_hand_made_karpenter_on_an_adopted_cluster_is_refused() -> None:
    values = stack_values("prod")
    world = _adopt_world(values)
    world.add_role("KarpenterNodeRole-prod-main", description="")
    world.queues["prod-main"] = {}
    with pytest.raises(RunError, match="Karpenter installed outside this stack") as info:
        render(values, world, stack="prod")
    message = str(info.value)
    assert "KarpenterNodeRole-prod-main" in message and "SQS queue prod-main" in message
    assert not [
        r for r in getattr(info.value, "registered", []) if r.custom and not r.type.startswith("pulumi:")
    ]


def test_the_stacks_own_resources_are_recognised() -> None:
    values = stack_values("prod")
    world = _adopt_world(values)
    # Tagged by this stack, or (stacks deployed before the tag) the node role this program described.
    world.add_role("KarpenterControllerRole-prod-main", tags={"karpenter-eks/stack": "karpenter-eks/prod"})
    world.add_role(
        "KarpenterNodeRole-prod-main", description="Nodes Karpenter launches for EKS cluster prod-main"
    )
    world.queues["prod-main"] = {}
    render(values, world, stack="prod")
    # Another stack's tag is not this stack's.
    world.roles["KarpenterControllerRole-prod-main"]["tags"] = {"karpenter-eks/stack": "karpenter-eks/other"}
    with pytest.raises(RunError, match="KarpenterControllerRole-prod-main"):
        render(values, world, stack="prod")


def test_two_regions_of_one_account_never_ask_for_the_same_iam_name(dev_plan: Plan) -> None:
    other = render(changed(stack_values("dev"), region="us-west-2"), stack="dev-us")
    for plan in (dev_plan, other):
        for r in plan.by_type("aws:iam/role:Role") + plan.by_type("aws:iam/instanceProfile:InstanceProfile"):
            assert "name" not in r.inputs and r.inputs["namePrefix"].endswith("-"), r.name


# -- 9. the Spot service-linked role ----------------------------------------------------------------


def test_the_spot_service_linked_role_is_created_only_when_missing(dev_plan: Plan) -> None:
    slr = dev_plan.one("aws:iam/serviceLinkedRole:ServiceLinkedRole")
    assert slr.inputs["awsServiceName"] == "spot.amazonaws.com"
    # Once it exists (made by this stack or anything else) it is not registered any more; the
    # resulting delete only drops it from the state, because retainOnDelete is kept in the state.
    assert slr.retain_on_delete
    assert ("aws:iam/getRoles:getRoles", slr.provider) in dev_plan.invokes
    world = World(region="eu-west-1")
    world.add_role("AWSServiceRoleForEC2Spot", path="/aws-service-role/spot.amazonaws.com/")
    assert render(stack_values("dev"), world).by_type("aws:iam/serviceLinkedRole:ServiceLinkedRole") == []
    skip = changed(stack_values("dev"), iam__spotServiceLinkedRole="skip")
    assert render(skip).by_type("aws:iam/serviceLinkedRole:ServiceLinkedRole") == []


def test_the_old_spot_key_is_refused_with_the_fix() -> None:
    values = changed(stack_values("dev"), iam__createSpotServiceLinkedRole=True)
    with pytest.raises(RunError, match="createSpotServiceLinkedRole: was replaced by spotServiceLinkedRole"):
        render(values)


# -- 11. the Kubernetes provider's identity ---------------------------------------------------------


def test_the_kubernetes_provider_is_pinned_to_the_cluster_arn(dev_plan: Plan, prod_plan: Plan) -> None:
    for plan, expected in (
        (dev_plan, "arn:aws:eks:eu-west-1:123456789012:cluster/karpenter-dev"),
        (prod_plan, "arn:aws:eks:us-east-1:123456789012:cluster/prod-main"),
    ):
        provider = plan.one("pulumi:providers:kubernetes")
        assert provider.inputs["clusterIdentifier"] == expected
        # Known at preview: built from lookups, never from the cluster being created.
        cluster = plan.by_type("eks:index:Cluster")
        assert all(c.urn not in provider.property_dependencies.get("clusterIdentifier", []) for c in cluster)
