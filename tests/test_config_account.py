"""What only the AWS account knows, checked at program start; the catalogue the mocks answer from; the
chart's value paths; project keys under a foreign namespace."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from config.base import ConfigError
from config.load import misplaced_keys, parse_stack_config, raw_stack_config
from harness.fake.ec2 import CATALOGUE, offered_types
from harness.fake.world import World
from harness.synth import tree
from preflight.account import (
    SPOT_DIVERSITY_WARNING,
    AccountAnswers,
    PoolQuery,
    account_report,
)
from tests.support.render import PROJECT, render, shared_file, stack_values
from tools.generate import chart_values

ARM = frozenset({"arm64"})
X86 = frozenset({"amd64"})


def query(**overrides: Any) -> PoolQuery:
    base: dict[str, Any] = {
        "key": "nodePools[0]",
        "name": "graviton",
        "architecture": "arm64",
        "families": ("m8g", "c7g"),
        "categories": None,
        "min_generation": None,
        "min_families": 2,
        "spot": True,
    }
    base.update(overrides)
    return PoolQuery(**base)


def answers(
    types: dict[str, frozenset[str]], zones: tuple[str, ...] = ("eu-west-1a", "eu-west-1b")
) -> AccountAnswers:
    return AccountAnswers(zones=zones, types=types)


SIZES = ["medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"]
ENOUGH = {f"{f}.{s}": ARM for f in ("m8g", "c7g") for s in SIZES} | {f"m7i.{s}": X86 for s in SIZES}


# --- the pure checks -------------------------------------------------------------------------------


def test_a_zone_letter_the_region_lacks_is_refused() -> None:
    report = account_report("eu-west-1", ["a", "b", "d"], [], answers({}))
    assert report.problems == [
        "cluster.vpc.availabilityZones[2]: eu-west-1d is not an availability zone of eu-west-1 (it has a, "
        "b), got 'd'"
    ]


def test_a_family_not_offered_is_refused_with_the_nearest_offered_ones() -> None:
    report = account_report("eu-west-1", None, [query(families=("m9g", "c7g", "zz9"))], answers(ENOUGH))
    assert report.problems[:2] == [
        "nodePools[0].families[0]: no instance type of the family m9g is offered in eu-west-1; did you mean "
        "m8g?, got 'm9g'",
        "nodePools[0].families[2]: no instance type of the family zz9 is offered in eu-west-1 (check the "
        "spelling), got 'zz9'",
    ]
    # Only c7g is left: fewer families than minFamilies, so no Spot node could ever launch.
    assert report.problems[2].startswith("nodePools[0].minFamilies: the Spot NodePool graviton-spot needs 2")


def test_the_account_decides_a_familys_architecture() -> None:
    types = ENOUGH | {f"a1.{s}": ARM for s in SIZES}
    report = account_report(
        "eu-west-1", None, [query(architecture="amd64", families=("m7i", "a1"))], answers(types)
    )
    assert report.problems[0] == (
        "nodePools[0].families[1]: a1 instances in eu-west-1 are arm64, not amd64; move it to a pool of that "
        "architecture, got 'a1'"
    )


def test_spot_pools_report_their_type_counts_and_are_warned_below_15() -> None:
    types = {f"m8g.{s}": ARM for s in SIZES[:4]} | {f"c7g.{s}": ARM for s in SIZES[:4]}
    report = account_report("eu-west-1", None, [query()], answers(types))
    assert report.problems == []
    assert report.spot_instance_type_counts == {"graviton-spot": 8}
    assert report.warnings == [
        "nodePools[0]: the Spot NodePool graviton-spot admits only 8 instance types in eu-west-1; AWS "
        f"advises flexibility across many types (at least {SPOT_DIVERSITY_WARNING} here) so Spot capacity is "
        "found: list more families"
    ]
    assert account_report("eu-west-1", None, [query()], answers(ENOUGH)).warnings == []


def test_a_spot_pool_that_admits_nothing_is_refused_and_on_demand_pools_are_not_counted() -> None:
    report = account_report("eu-west-1", None, [query(families=("m7i", "c7i"))], answers(ENOUGH))
    assert "nodePools[0]: the Spot NodePool graviton-spot admits no instance type in eu-west-1" in "\n".join(
        report.problems
    )
    on_demand = account_report("eu-west-1", None, [query(spot=False)], answers(ENOUGH))
    assert on_demand.spot_instance_type_counts == {} and on_demand.problems == []


def test_categories_count_the_families_of_their_generation() -> None:
    types = ENOUGH | {f"c6g.{s}": ARM for s in SIZES} | {f"m7g.{s}": ARM for s in SIZES}
    pool = query(families=None, categories=("c", "m"), min_generation=7)
    report = account_report("eu-west-1", None, [pool], answers(types))
    assert report.spot_instance_type_counts == {"graviton-spot": 3 * len(SIZES)}  # m8g, c7g, m7g; not c6g
    none = account_report(
        "eu-west-1", None, [query(families=None, categories=("r",), min_generation=9)], answers(types)
    )
    assert none.problems[0].startswith("nodePools[0].categories: no arm64 instance type of the categories r")


# --- the program, under the mocks (answers from harness/catalogue) ----------------------------------


def _refused(values: dict[str, Any], world: World | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as refused:
        render(values, world)
    registered = {r.type for r in refused.value.registered}  # type: ignore[attr-defined]
    assert registered <= {"pulumi:pulumi:Stack", "pulumi:providers:aws"}, registered
    return refused.value


def test_the_program_refuses_a_region_that_does_not_exist(dev_values: dict[str, Any]) -> None:
    dev_values["region"] = "eu-west-9"
    error = _refused(dev_values)
    assert len(error.problems) == 1
    assert error.problems[0].startswith("region: AWS does not answer for 'eu-west-9' (")
    assert "invalid AWS Region: eu-west-9" in error.problems[0]


def test_a_caller_denied_the_lookups_is_told_what_to_grant(dev_values: dict[str, Any]) -> None:
    """AccessDenied is not reported as a wrong region: the line names the permissions to grant."""
    world = World(region="eu-west-1")
    world.denied.add("aws:index/getAvailabilityZones:getAvailabilityZones")
    error = _refused(dev_values, world)
    assert len(error.problems) == 1
    assert error.problems[0].startswith("region: the caller may not look up eu-west-1's zones and instance")
    assert "grant ec2:DescribeAvailabilityZones, ec2:DescribeInstanceTypeOfferings" in error.problems[0]


def test_the_program_refuses_account_problems_by_key(dev_values: dict[str, Any]) -> None:
    dev_values["cluster"]["vpc"]["availabilityZones"] = ["a", "b", "d"]
    dev_values["nodePools"][0]["families"] = ["m8g", "c7g", "m8gg"]
    dev_values["nodePools"][1]["families"] = ["m7i", "c7i", "zz9"]
    error = _refused(dev_values)
    assert error.problems == [
        "cluster.vpc.availabilityZones[2]: eu-west-1d is not an availability zone of eu-west-1 (it has a, b, "
        "c), got 'd'",
        "nodePools[0].families[2]: no instance type of the family m8gg is offered in eu-west-1; did you mean "
        "m8g or m8gn or m8gd?, got 'm8gg'",
        "nodePools[1].families[2]: no instance type of the family zz9 is offered in eu-west-1 (check the "
        "spelling), got 'zz9'",
    ]


def test_the_program_outputs_each_spot_node_pools_instance_type_count(dev_plan: Any, prod_plan: Any) -> None:
    # From the catalogue: eu-west-1 offers m8g in 12 sizes, c7g and r7g in 9; m7i, c7i, r7i in 11.
    assert dev_plan.outputs["spotInstanceTypeCounts"] == {"graviton-spot": 30, "x86-spot": 33}
    assert "Spot NodePools, instance types each admits in the region: graviton-spot 30, x86-spot 33" in tree(
        dev_plan
    )
    assert set(prod_plan.outputs["spotInstanceTypeCounts"]) == {"graviton-spot", "x86-spot"}
    assert all(
        count >= SPOT_DIVERSITY_WARNING for count in prod_plan.outputs["spotInstanceTypeCounts"].values()
    )
    tokens = {token for token, _ in dev_plan.invokes}
    assert {
        "aws:index/getAvailabilityZones:getAvailabilityZones",
        "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings",
        "aws:ec2/getInstanceTypes:getInstanceTypes",
    } <= tokens
    # Through the explicit provider, never the default one.
    assert all(
        provider and "pulumi:providers:aws::aws" in provider
        for token, provider in dev_plan.invokes
        if "ec2/getInstance" in token
    )


def test_a_small_spot_pool_is_warned_about_in_the_preview(dev_values: dict[str, Any]) -> None:
    dev_values["nodePools"][0]["families"] = ["a1", "t4g"]  # 6 + 7 sizes in eu-west-1
    plan = render(dev_values)
    assert plan.outputs["spotInstanceTypeCounts"]["graviton-spot"] == 13
    assert any("graviton-spot admits only 13 instance types" in w for w in plan.warnings), plan.warnings


def test_an_uncatalogued_region_falls_back_to_the_naming_rule(dev_values: dict[str, Any]) -> None:
    # cn-north-1: moto lists its zones (a, b) but ships no offerings for it.
    assert json.loads((CATALOGUE / "cn-north-1.json").read_text())["families"] == {}
    types = offered_types("cn-north-1")
    assert types["m8g.large"] == ["arm64"] and types["m7i.large"] == ["x86_64"]
    dev_values["region"] = "cn-north-1"
    dev_values["cluster"]["vpc"]["availabilityZones"] = ["a", "b", "c"]
    dev_values["cluster"]["adminAccess"] = []
    dev_values["karpenter"]["chartRepository"] = "oci://123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/k"
    dev_values["addons"]["loadBalancerController"] = {"enabled": False}
    assert _refused(dev_values).problems == [
        "cluster.vpc.availabilityZones[2]: cn-north-1c is not an availability zone of cn-north-1 (it has "
        "a, b), got 'c'"
    ]


def test_the_catalogue_names_its_source_and_covers_the_stacks() -> None:
    for region, stack in (("eu-west-1", "dev"), ("us-east-1", "prod")):
        doc = json.loads((CATALOGUE / f"{region}.json").read_text())
        assert doc["source"].startswith("moto 5.2.5 (PyPI wheel") and region in doc["source"]
        for p in stack_values(stack)["nodePools"]:
            for family in p["families"]:
                assert family in doc["families"], (region, family)


# --- Helm value paths of the pinned chart -----------------------------------------------------------


def test_the_committed_chart_value_paths_are_what_the_chart_says() -> None:
    reference = yaml.safe_load(shared_file("chart-values.yaml").read_text())
    committed = (chart_values.OUT / "karpenter-1.14.1.json").read_text()
    assert committed == chart_values.render(chart_values.derive(reference, "1.14.1")), (
        "stale: venv/bin/python -m tools.generate.chart_values --write"
    )
    doc = json.loads(committed)
    assert {"settings.featureGates", "podAnnotations", "nodeSelector", "tolerations"} <= set(doc["free"])
    assert "settings.batchMaxDuration" in doc["paths"] and "settings.batchMaxDuration" not in doc["free"]


# --- project keys under another namespace ---------------------------------------------------------


def _namespaced(values: dict[str, Any]) -> dict[str, Any]:
    return {f"{PROJECT}:{k}": json.dumps(v) if isinstance(v, dict | list) else v for k, v in values.items()}


def _parse(values: dict[str, Any]) -> Any:
    return parse_stack_config(raw_stack_config(PROJECT, values), misplaced_keys(PROJECT, values), PROJECT)


def test_an_optional_project_key_under_a_foreign_namespace_is_refused() -> None:
    values = _namespaced(stack_values("dev"))
    values["aws:karpenter"] = json.dumps({"replicas": 3})
    with pytest.raises(ConfigError) as refused:
        _parse(values)
    assert refused.value.problems == [
        "aws:karpenter: karpenter is a key of this project, so aws:karpenter is never read; write it as "
        "karpenter-eks:karpenter (under `config:` in Pulumi.<stack>.yaml)"
    ]


def test_aws_region_is_fine_when_it_agrees_and_refused_when_it_does_not() -> None:
    values = _namespaced(stack_values("dev"))
    _parse(values | {"aws:region": "eu-west-1"})
    with pytest.raises(ConfigError) as refused:
        _parse(values | {"aws:region": "us-east-1"})
    assert refused.value.problems[0].startswith("aws:region: region is a key of this project")


def test_aws_region_instead_of_the_projects_region_says_it_is_not_read() -> None:
    values = _namespaced(stack_values("dev"))
    values["aws:region"] = values.pop(f"{PROJECT}:region")
    with pytest.raises(ConfigError) as refused:
        _parse(values)
    assert refused.value.problems == [
        "region: required key is missing (aws:region is not read: it configures only Pulumi's default aws "
        "provider, which this program does not use; set karpenter-eks:region, e.g. `pulumi config set "
        "region <value>` in this project)"
    ]
    # Beside an agreeing project key it is fine (above); without any region, just the missing key.
    del values["aws:region"]
    with pytest.raises(ConfigError) as refused:
        _parse(values)
    assert refused.value.problems == ["region: required key is missing"]


@pytest.mark.parametrize("written", ["null", "~", ""])
def test_a_null_node_pool_list_is_not_told_to_be_wrapped_in_a_list(written: str) -> None:
    values = _namespaced(stack_values("dev"))
    values[f"{PROJECT}:nodePools"] = written  # Pulumi passes `nodePools: null` (or `nodePools:`) as text
    with pytest.raises(ConfigError) as refused:
        _parse(values)
    [problem] = refused.value.problems
    assert problem.startswith("nodePools: must be a list with at least one entry, not null"), problem
    assert "write [" not in problem
    # A lone value is still told how to write it as a list.
    values[f"{PROJECT}:nodePools"] = "graviton"
    with pytest.raises(ConfigError) as refused:
        _parse(values)
    assert refused.value.problems[0].startswith("nodePools: must be a list; write [graviton]")


def test_a_misplaced_key_is_listed_with_the_other_problems() -> None:
    values = copy.deepcopy(_namespaced(stack_values("dev")))
    values["aws:tags"] = json.dumps({"team": "x"})
    values[f"{PROJECT}:karpenter"] = json.dumps({"replicas": 0})
    with pytest.raises(ConfigError) as refused:
        _parse(values)
    assert [p.split(":")[0] for p in refused.value.problems] == ["karpenter.replicas", "aws"]


def test_account_problems_are_listed_after_the_models_problems(dev_values: dict[str, Any]) -> None:
    dev_values["karpenter"]["replicas"] = 0  # a model problem
    dev_values["nodePools"][0]["weight"] = "high"  # a model problem in the pool: its account checks still run
    dev_values["nodePools"][0]["families"] = ["m8g", "c7g", "m8gg"]
    dev_values["nodePools"][1]["families"] = ["m7i", "c7i", "zz9"]
    dev_values["nodePools"][1]["architecture"] = "x86"  # invalid: no account check of this pool
    dev_values["cluster"]["vpc"]["availabilityZones"] = ["a", "d"]
    error = _refused(dev_values)
    assert [p.split(":")[0] for p in error.problems] == [
        "karpenter.replicas",
        "nodePools[0].weight",
        "nodePools[1].architecture",
        "cluster.vpc.availabilityZones[1]",
        "nodePools[0].families[2]",
    ]
    assert "m8gg is offered in eu-west-1; did you mean m8g or m8gn or m8gd?" in error.problems[-1]


def test_no_account_lookup_without_a_valid_region(dev_values: dict[str, Any]) -> None:
    dev_values["region"] = "europe-west1"
    dev_values["nodePools"][0]["families"] = ["m8g", "c7g", "m8gg"]
    with pytest.raises(ConfigError) as refused:
        render(dev_values)
    assert [p.split(":")[0] for p in refused.value.problems] == ["region"]
    assert {r.type for r in refused.value.registered} <= {"pulumi:pulumi:Stack"}  # type: ignore[attr-defined]


def test_every_data_source_the_program_calls_exists_in_the_pinned_provider(dev_plan: Any) -> None:
    import gzip

    schema_file = shared_file("../../pulumi-schemas/aws-7.51.1.json.gz")
    schema = json.loads(gzip.decompress(schema_file.read_bytes()))
    called = {token for token, _ in dev_plan.invokes}
    assert called and called <= set(schema["allFunctions"]), called - set(schema["allFunctions"])
