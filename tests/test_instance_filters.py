"""A pool's instance filters, zones, startup taints and termination grace period: the config, the NodePool
requirements they render (CRD-valid), and what the region's catalogue says of them at preview."""

from __future__ import annotations

import copy
import gzip
import json
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from components.documents.node_pools import SPREAD_PREFIX, node_pool_manifests
from config.base import ConfigError, problems_of
from config.instance_filters import InstanceFilters
from config.load import parse_stack_config
from config.nodepools import NodePoolList
from harness.fake.ec2 import offered_types, type_specs
from harness.plan import Plan
from harness.stack_files import flatten_config
from harness.synth import world_for
from preflight.account import AccountAnswers, PoolQuery, account_report
from tests.support.crd_validation import validate_against_crd
from tests.support.render import PROJECT, render, shared_file, stack_values

POOLS = TypeAdapter(NodePoolList)
ARM = frozenset({"arm64"})

FILTERS: dict[str, Any] = {
    "excludeSizes": ["metal-24xl", "metal-48xl"],
    "cpu": {"min": 2, "max": 64},
    "memory": {"min": "4Gi", "max": "512Gi"},
    "hypervisor": ["nitro"],
    "localNvme": True,
    "networkBandwidthMbps": {"min": 750, "max": 50000},
}


def pool(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "x86",
        "architecture": "amd64",
        "families": ["m7i", "c7i", "r7i"],
        "weight": 50,
        "spotRatio": 0.5,
        "limits": {"cpu": 100, "memory": "400Gi"},
    }
    base.update(overrides)
    return base


def problems(entries: list[dict[str, Any]]) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        POOLS.validate_python(entries)
    return problems_of(refused.value, "nodePools")


# --- config and rendering ---------------------------------------------------------------------------


def test_every_filter_renders_its_requirement_and_is_crd_valid() -> None:
    [p] = POOLS.validate_python(
        [
            pool(
                instanceFilters=FILTERS,
                zones=["eu-west-1a", "eu-west-1b"],
                startupTaints=[{"key": "example.com/agent-not-ready", "effect": "NoExecute"}],
                terminationGracePeriod="2h",
            )
        ]
    )
    spot, on_demand = node_pool_manifests(p, node_class_name="default", spread_prefix=SPREAD_PREFIX)
    for manifest in (spot, on_demand):
        spec = manifest["spec"]["template"]["spec"]
        assert spec["requirements"][4:-1] == [
            {
                "key": "karpenter.k8s.aws/instance-size",
                "operator": "NotIn",
                "values": ["metal-24xl", "metal-48xl"],
            },
            {"key": "karpenter.k8s.aws/instance-cpu", "operator": "Gt", "values": ["1"]},
            {"key": "karpenter.k8s.aws/instance-cpu", "operator": "Lt", "values": ["65"]},
            {"key": "karpenter.k8s.aws/instance-memory", "operator": "Gt", "values": ["4095"]},
            {"key": "karpenter.k8s.aws/instance-memory", "operator": "Lt", "values": ["524289"]},
            {"key": "karpenter.k8s.aws/instance-hypervisor", "operator": "In", "values": ["nitro"]},
            {"key": "karpenter.k8s.aws/instance-local-nvme", "operator": "Gt", "values": ["0"]},
            {"key": "karpenter.k8s.aws/instance-network-bandwidth", "operator": "Gt", "values": ["749"]},
            {"key": "karpenter.k8s.aws/instance-network-bandwidth", "operator": "Lt", "values": ["50001"]},
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["eu-west-1a", "eu-west-1b"]},
        ]
        assert spec["startupTaints"] == [{"key": "example.com/agent-not-ready", "effect": "NoExecute"}]
        assert spec["terminationGracePeriod"] == "2h"
    # Against the CRD last: without ../shared it skips, after the assertions above have run.
    crd = shared_file("crds/karpenter.sh_nodepools.yaml")
    for manifest in (spot, on_demand):
        assert validate_against_crd(manifest, crd) == []


def test_a_pool_without_the_new_keys_renders_as_before() -> None:
    [p] = POOLS.validate_python([pool()])
    spec = node_pool_manifests(p, node_class_name="default", spread_prefix=SPREAD_PREFIX)[0]["spec"]
    template = spec["template"]["spec"]
    assert "startupTaints" not in template and "terminationGracePeriod" not in template
    assert [r["key"] for r in template["requirements"]] == [
        "kubernetes.io/os",
        "kubernetes.io/arch",
        "karpenter.sh/capacity-type",
        "karpenter.k8s.aws/instance-family",
        f"{SPREAD_PREFIX}/x86",
    ]


BAD = [
    (
        "type as a size",
        {"instanceFilters": {"excludeSizes": ["m7i.metal"]}},
        "instanceFilters.excludeSizes[0]",
        "is an instance type; list sizes only",
    ),
    ("empty range", {"instanceFilters": {"cpu": {}}}, "instanceFilters.cpu", "set min, max or both"),
    (
        "range backwards",
        {"instanceFilters": {"cpu": {"min": 8, "max": 4}}},
        "instanceFilters.cpu.max",
        "is below min (8)",
    ),
    (
        "zero cpu",
        {"instanceFilters": {"cpu": {"min": 0}}},
        "instanceFilters.cpu.min",
        "greater than or equal to 1",
    ),
    (
        "bare memory",
        {"instanceFilters": {"memory": {"min": 4}}},
        "instanceFilters.memory.min",
        'such as "4Gi"',
    ),
    (
        "memory unit",
        {"instanceFilters": {"memory": {"max": "4GB"}}},
        "instanceFilters.memory.max",
        "Mi, Gi or Ti",
    ),
    (
        "memory backwards",
        {"instanceFilters": {"memory": {"min": "8Gi", "max": "4096Mi"}}},
        "instanceFilters.memory.max",
        "is below min (8Gi)",
    ),
    (
        "hypervisor",
        {"instanceFilters": {"hypervisor": ["kvm"]}},
        "instanceFilters.hypervisor[0]",
        "'nitro' or 'xen'",
    ),
    ("nvme as text", {"instanceFilters": {"localNvme": "yes"}}, "instanceFilters.localNvme", "true or false"),
    (
        "bandwidth",
        {"instanceFilters": {"networkBandwidthMbps": {"max": 0}}},
        "instanceFilters.networkBandwidthMbps.max",
        "greater than or equal to 1",
    ),
    ("unknown filter", {"instanceFilters": {"gpus": 1}}, "instanceFilters.gpus", "unknown key"),
    ("zone letter", {"zones": ["a"]}, "zones[0]", "such as eu-west-1a"),
    ("zone twice", {"zones": ["eu-west-1a", "eu-west-1a"]}, "zones[1]", "repeats"),
    ("grace never", {"terminationGracePeriod": "Never"}, "terminationGracePeriod", "no Never"),
    ("grace days", {"terminationGracePeriod": "1d"}, "terminationGracePeriod", "no days"),
    ("grace bare", {"terminationGracePeriod": 30}, "terminationGracePeriod", '"30m"'),
    (
        "startup taint domain",
        {"startupTaints": [{"key": "karpenter.sh/x", "effect": "NoSchedule"}]},
        "startupTaints[0].key",
        "reserved for Karpenter",
    ),
    (
        "startup taint also a taint",
        {
            "taints": [{"key": "a.io/b", "effect": "NoSchedule"}],
            "startupTaints": [{"key": "a.io/b", "value": "x", "effect": "NoSchedule"}],
        },
        "startupTaints[0]",
        "also a taint of the pool",
    ),
    (
        "startup taint is the gpu taint",
        {
            "gpu": "nvidia",
            "families": ["g6", "g5"],
            "startupTaints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}],
        },
        "startupTaints[0]",
        "also a taint of the pool",
    ),
    (
        "startup taint twice",
        {"startupTaints": [{"key": "a.io/b", "effect": "NoSchedule"}] * 2},
        "startupTaints[1]",
        "listed twice",
    ),
]


@pytest.mark.parametrize(("case", "overrides", "key", "hint"), BAD, ids=[c[0] for c in BAD])
def test_a_bad_value_is_refused_by_key_path_with_what_is_allowed(
    case: str, overrides: dict[str, Any], key: str, hint: str
) -> None:
    found = problems([pool(**overrides)])
    matching = [p for p in found if p.startswith(f"nodePools[0].{key}: ")]
    assert matching, found
    assert any(hint in p for p in matching), found


def test_pool_zones_must_be_in_the_region_and_the_vpc() -> None:
    values = stack_values("dev")
    values["cluster"]["vpc"]["availabilityZones"] = ["a", "b"]
    values["nodePools"][0]["zones"] = ["eu-west-1a", "eu-west-1c", "us-east-1a"]
    with pytest.raises(ConfigError) as refused:
        parse_stack_config(values)
    zone_lines = [p for p in refused.value.problems if ".zones[" in p]
    assert zone_lines == [
        "nodePools[0].zones[1]: has no subnet: cluster.vpc.availabilityZones creates subnets in eu-west-1a, "
        "eu-west-1b only, got 'eu-west-1c'",
        "nodePools[0].zones[2]: is not a zone of the stack's region eu-west-1; write eu-west-1<letter>, got "
        "'us-east-1a'",
    ]


# --- against the catalogue --------------------------------------------------------------------------


def query(filters: dict[str, Any] | None, **overrides: Any) -> PoolQuery:
    base: dict[str, Any] = {
        "key": "nodePools[0]",
        "name": "x86",
        "architecture": "amd64",
        "families": ("m7i", "c7i", "r7i"),
        "categories": None,
        "min_generation": None,
        "min_families": 2,
        "spot": True,
        "filters": InstanceFilters.model_validate(filters) if filters is not None else None,
    }
    base.update(overrides)
    return PoolQuery(**base)


def eu_west_1() -> AccountAnswers:
    types = {
        t: frozenset({"amd64"} if "x86_64" in a else set()) for t, a in offered_types("eu-west-1").items()
    }
    specs = {t: tuple(s) for t, s in type_specs("eu-west-1").items()}
    return AccountAnswers(("eu-west-1a", "eu-west-1b", "eu-west-1c"), types, specs)


def test_filters_narrow_the_spot_count() -> None:
    # m7i, c7i and r7i: 11 sizes each in eu-west-1, two of them metal.
    unfiltered = account_report("eu-west-1", None, [query(None)], eu_west_1())
    assert unfiltered.spot_instance_type_counts == {"x86-spot": 33}
    no_metal = account_report(
        "eu-west-1", None, [query({"excludeSizes": ["metal-24xl", "metal-48xl"]})], eu_west_1()
    )
    assert no_metal.spot_instance_type_counts == {"x86-spot": 27}
    # 2 to 64 vCPUs, with a hypervisor: large .. 16xlarge, 7 sizes of each family.
    ranged = account_report(
        "eu-west-1", None, [query({"cpu": {"min": 2, "max": 64}, "hypervisor": ["nitro"]})], eu_west_1()
    )
    assert ranged.spot_instance_type_counts == {"x86-spot": 21}
    assert ranged.problems == [] and ranged.warnings == []


def test_a_filter_leaving_few_types_is_warned_and_one_leaving_none_refused() -> None:
    few = account_report("eu-west-1", None, [query({"memory": {"min": "256Gi"}})], eu_west_1())
    # 256Gi and more: m7i 24x/48x/metal x2, c7i 48x/metal-48xl, r7i 8x..48x and metals.
    assert few.spot_instance_type_counts["x86-spot"] < 15 and few.problems == []
    assert few.warnings and "or widen its instanceFilters" in few.warnings[0]
    none = account_report("eu-west-1", None, [query({"localNvme": True})], eu_west_1())
    assert none.problems == [
        "nodePools[0].instanceFilters: no amd64 instance type of the pool's families or categories "
        "offered in eu-west-1 passes the filters (33 before them), so Karpenter could never launch a node "
        "for it; widen the ranges or exclude fewer sizes"
    ]
    assert none.spot_instance_type_counts == {"x86-spot": 0}


def test_a_filter_leaving_too_few_families_is_refused() -> None:
    # Only r7i has 1Ti+ types: one family left, minFamilies 2.
    report = account_report("eu-west-1", None, [query({"memory": {"min": "1Ti"}})], eu_west_1())
    assert [p.split(":")[0] for p in report.problems] == ["nodePools[0].minFamilies"]
    assert "pass its instanceFilters" in report.problems[0]


def test_an_excluded_size_the_pool_lacks_is_warned_about() -> None:
    report = account_report("eu-west-1", None, [query({"excludeSizes": ["metal24xl"]})], eu_west_1())
    assert report.problems == []
    assert report.warnings == [
        "nodePools[0].instanceFilters.excludeSizes[0]: no instance type of the pool in eu-west-1 has the "
        "size 'metal24xl', so it excludes nothing (its sizes: large, xlarge, 2xlarge, 4xlarge, 8xlarge, "
        "12xlarge, 16xlarge, 24xlarge, 48xlarge, metal-24xl, metal-48xl)"
    ]


def test_a_pool_zone_the_region_lacks_is_refused() -> None:
    report = account_report("eu-west-1", None, [query(None, zones=("eu-west-1d",))], eu_west_1())
    assert report.problems == [
        "nodePools[0].zones[0]: eu-west-1d is not an availability zone of eu-west-1 (it has eu-west-1a, "
        "eu-west-1b, eu-west-1c), got 'eu-west-1d'"
    ]


def test_unknown_properties_pass_only_the_filters_that_do_not_read_them() -> None:
    answers = AccountAnswers(("eu-west-1a",), {f"m8g.{s}": ARM for s in ("large", "metal-24xl")})
    sizes_only = query(
        {"excludeSizes": ["metal-24xl"]}, architecture="arm64", families=("m8g",), min_families=1
    )
    assert account_report("eu-west-1", None, [sizes_only], answers).spot_instance_type_counts == {
        "x86-spot": 1
    }
    cpu = query({"cpu": {"min": 1}}, architecture="arm64", families=("m8g",), min_families=1)
    assert account_report("eu-west-1", None, [cpu], answers).spot_instance_type_counts == {"x86-spot": 0}


# --- the program, under the mocks ---------------------------------------------------------------------


def test_the_everything_stack_counts_follow_its_filters(everything_plan: Plan) -> None:
    assert everything_plan.outputs["spotInstanceTypeCounts"] == {"graviton-spot": 30, "x86-spot": 21}
    called = {token for token, _ in everything_plan.invokes}
    assert "aws:ec2/getInstanceType:getInstanceType" in called
    schema = json.loads(gzip.decompress(shared_file("../../pulumi-schemas/aws-7.51.1.json.gz").read_bytes()))
    assert called <= set(schema["allFunctions"])


def test_a_filter_that_leaves_nothing_is_refused_before_anything_is_registered() -> None:
    values = copy.deepcopy(stack_values("dev"))
    values["nodePools"][1]["instanceFilters"] = {"cpu": {"min": 1000}}
    with pytest.raises(ConfigError) as refused:
        render(values)
    assert [p.split(":")[0] for p in refused.value.problems] == ["nodePools[1].instanceFilters"]


def test_an_adopted_clusters_pool_zones_are_those_of_its_subnets() -> None:
    """Adopt mode: the zones come from the cluster's private subnets (one lookup each), and a pool zone
    without one is refused before anything is registered."""
    values = copy.deepcopy(stack_values("prod"))
    subnets = values["cluster"]["existing"]["privateSubnetIds"]
    world = world_for(PROJECT, flatten_config(values, PROJECT))
    world.subnet_zones.update(dict(zip(subnets, ["us-east-1a", "us-east-1b", "us-east-1b"], strict=True)))
    values["nodePools"][0]["zones"] = ["us-east-1a", "us-east-1c"]
    with pytest.raises(ConfigError) as refused:
        render(values, world=world)
    assert refused.value.problems == [
        "nodePools[0].zones[1]: the cluster's private subnets are in us-east-1a, us-east-1b, not "
        "us-east-1c; list zones of those subnets, got 'us-east-1c'"
    ]
    values["nodePools"][0]["zones"] = ["us-east-1b"]
    plan = render(values, world=world)
    zones = [
        r
        for p in plan.by_type("kubernetes:karpenter.sh/v1:NodePool")
        for r in p.inputs["spec"]["template"]["spec"]["requirements"]
        if r["key"] == "topology.kubernetes.io/zone"
    ]
    assert zones and all(r["values"] == ["us-east-1b"] for r in zones)


def test_filters_are_checked_against_the_region_beside_the_models_problems() -> None:
    values = copy.deepcopy(stack_values("dev"))
    values["nodePools"][0]["weight"] = 0
    values["nodePools"][1]["instanceFilters"] = {"cpu": {"min": 1000}}
    values["nodePools"][1]["zones"] = ["eu-west-1a"]
    with pytest.raises(ConfigError) as refused:
        render(values)
    assert [p.split(":")[0] for p in refused.value.problems] == [
        "nodePools[0].weight",
        "nodePools[1].instanceFilters",
    ]


def test_local_nvme_is_what_the_account_says_of_each_type() -> None:
    """Through the data sources: m7i, c7i and r7i have no instance storage, m6id, c6id and r6id NVMe."""
    values = copy.deepcopy(stack_values("dev"))
    values["nodePools"][1]["instanceFilters"] = {"localNvme": True}
    with pytest.raises(ConfigError) as refused:
        render(values)
    assert [p.split(":")[0] for p in refused.value.problems] == ["nodePools[1].instanceFilters"]
    values["nodePools"][1]["families"] = ["m6id", "c6id", "r6id"]
    assert render(values).outputs["spotInstanceTypeCounts"]["x86-spot"] == 30
