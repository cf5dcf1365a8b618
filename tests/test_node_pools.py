"""The `nodePools` / `nodeClass` config models and the NodePool / EC2NodeClass manifests rendered from
them, validated against the pinned Karpenter 1.14.1 CRDs (schema and CEL rules)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from components.documents.node_pools import (
    SPREAD_PREFIX,
    node_class_manifest,
    node_pool_manifests,
    spot_split,
    spread_constraint,
    spread_label_key,
)
from config.base import problems_of
from config.families import family_architecture
from config.labels import label_key_problem
from config.nodeclass import NodeClassConfig
from config.nodepools import NodePoolConfig, NodePoolList
from tests.support.crd_validation import (
    SUPPORTED_CEL_FUNCTIONS,
    cel_functions_used,
    check_against_crd,
    crd_rules,
    evaluate_rule,
    is_transition_rule,
    validate_against_crd,
)
from tests.support.render import stack_values
from tests.support.stacks import PROJECT_STACKS

CRDS = Path(__file__).resolve().parents[2] / "shared" / "karpenter" / "1.14.1" / "crds"
POOLS = TypeAdapter(NodePoolList)
NODE_CLASS = TypeAdapter(NodeClassConfig)


@pytest.fixture(scope="module")
def nodepool_crd() -> Path:
    if not CRDS.is_dir():
        pytest.skip(f"reference CRD folder {CRDS} is absent (../shared is not next to this checkout)")
    return CRDS / "karpenter.sh_nodepools.yaml"


@pytest.fixture(scope="module")
def nodeclass_crd() -> Path:
    if not CRDS.is_dir():
        pytest.skip(f"reference CRD folder {CRDS} is absent (../shared is not next to this checkout)")
    return CRDS / "karpenter.k8s.aws_ec2nodeclasses.yaml"


def pool(**overrides: Any) -> dict[str, Any]:
    """A valid pool entry as the stack file spells it (camelCase), with overrides."""
    base: dict[str, Any] = {
        "name": "graviton",
        "architecture": "arm64",
        "families": ["m8g", "c7g", "r7g"],
        "weight": 100,
        "spotRatio": 0.7,
        "limits": {"cpu": 200, "memory": "800Gi"},
        "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "1m"},
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def dev_pools() -> list[NodePoolConfig]:
    return POOLS.validate_python(
        [
            pool(),
            pool(name="x86", architecture="amd64", families=["m7i", "c7i", "r7i"], weight=50, spotRatio=0.5),
        ]
    )


def problems(entries: list[dict[str, Any]]) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        POOLS.validate_python(entries)
    return problems_of(refused.value, "nodePools")


def render_all(pools: list[NodePoolConfig]) -> list[dict[str, Any]]:
    out = []
    for p in pools:
        out += node_pool_manifests(
            p, node_class_name="gpu" if p.gpu else "default", spread_prefix=SPREAD_PREFIX
        )
    return out


def assert_valid(manifest: dict[str, Any], crd: Path) -> None:
    report = check_against_crd(manifest, crd)
    assert report.errors == [], report.errors
    assert report.rules_evaluated > 0


# --------------------------------------------------------------------------------------------------
# Spot / On-Demand arithmetic
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "split"),
    [
        (0.7, (7, 3)),
        (0.75, (3, 1)),
        (0.8, (4, 1)),
        (0.5, (1, 1)),
        (0.25, (1, 3)),
        (0.4, (2, 3)),
        (0.125, (1, 7)),
        (0.9, (9, 1)),
        (1, (1, 0)),
        (1.0, (1, 0)),
        (0, (0, 1)),
    ],
)
def test_spot_split_uses_the_fewest_values(ratio: float, split: tuple[int, int]) -> None:
    assert spot_split(ratio) == split


def test_spot_split_refuses_033_naming_nearby_ratios() -> None:
    with pytest.raises(ValueError) as refused:
        spot_split(0.33)
    message = str(refused.value)
    assert "needs 100 spread values (33 Spot, 67 On-Demand)" in message
    assert "nearby ratios that work (Spot:On-Demand values): 0.3 (3:7), 0.375 (3:5), 0.4 (2:3)" in message


def test_spot_split_refuses_0123() -> None:
    with pytest.raises(
        ValueError, match=r"needs 1000 spread values.*0\.1 \(1:9\), 0\.125 \(1:7\), 0\.2 \(1:4\)"
    ):
        spot_split(0.123)


def test_spot_split_respects_a_smaller_maximum() -> None:
    assert spot_split(0.75, max_values=4) == (3, 1)
    with pytest.raises(ValueError, match="more than the 4"):
        spot_split(0.7, max_values=4)


def test_every_suggested_ratio_works() -> None:
    for ratio in (0.01, 0.33, 0.66, 0.123, 0.999, 0.45):
        with pytest.raises(ValueError) as refused:
            spot_split(ratio)
        suggestions = str(refused.value).split("values): ")[1].split(", ")
        assert len(suggestions) == 3
        for suggestion in suggestions:
            spot_split(float(suggestion.split(" ")[0]))


# --------------------------------------------------------------------------------------------------
# Family / architecture rule
# --------------------------------------------------------------------------------------------------

GRAVITON = [
    "m8g",
    "c8g",
    "r8g",
    "m7g",
    "c7g",
    "c7gn",
    "c7gd",
    "m7gd",
    "r7gd",
    "t4g",
    "x2gd",
    "im4gn",
    "is4gen",
    "i4g",
    "i8g",
    "i8ge",
    "g5g",
    "m6g",
    "m6gd",
    "c6g",
    "c6gn",
    "r6g",
    "hpc7g",
    "x8g",
    "m8gd",
    "c8gn",
    "a1",
    "p6e-gb200",
]
X86 = [
    "m7i",
    "c7i",
    "r7i",
    "m7a",
    "c7a",
    "r7a",
    "c6in",
    "m5dn",
    "r5b",
    "x2iedn",
    "x2idn",
    "x1e",
    "g5",
    "g6",
    "g6e",
    "g4dn",
    "g4ad",
    "p4d",
    "p5",
    "p5en",
    "p6-b200",
    "inf2",
    "trn1",
    "trn1n",
    "trn2",
    "t3",
    "t3a",
    "i4i",
    "i7ie",
    "m6idn",
    "z1d",
    "hpc7a",
    "hpc6id",
    "u7i-12tb",
    "u-6tb1",
    "m7i-flex",
    "c7i-flex",
    "r7iz",
    "m5zn",
    "d3en",
    "h1",
    "dl1",
    "f2",
    "vt1",
    "c5",
    "m8i",
    "r8i",
]


@pytest.mark.parametrize("family", GRAVITON)
def test_graviton_families_are_arm64(family: str) -> None:
    assert family_architecture(family) == "arm64"


@pytest.mark.parametrize("family", X86)
def test_x86_families_are_amd64(family: str) -> None:
    assert family_architecture(family) == "amd64"


def test_real_families_are_accepted_in_a_pool_of_their_architecture() -> None:
    arm = [f for f in GRAVITON if not f.startswith(("g", "p"))]
    x86 = [f for f in X86 if not f.startswith(("g", "p"))]
    POOLS.validate_python(
        [pool(families=arm), pool(name="x86", architecture="amd64", families=x86, weight=50)]
    )


# --------------------------------------------------------------------------------------------------
# Invalid pools: each refused with a message naming the key
# --------------------------------------------------------------------------------------------------

_BUDGET = {"nodes": "0", "schedule": "0 8 * * mon-fri", "duration": "10h"}

# (id, entries, key path, fragment of the explanation)
BAD_POOLS: list[tuple[str, list[dict[str, Any]], str, str]] = [
    (
        "x86 family in arm64 pool",
        [pool(families=["m8g", "m7i"])],
        "nodePools[0].families[1]",
        "m7i is an x86 (amd64) family; a Graviton (arm64) pool takes families such as m8g, c7g, r7g",
    ),
    (
        "graviton family in amd64 pool",
        [pool(architecture="amd64", families=["m7i", "c7g"])],
        "nodePools[0].families[1]",
        "c7g is a Graviton (arm64) family; an x86 (amd64) pool takes families",
    ),
    (
        "instance type instead of family",
        [pool(families=["m8g.large"])],
        "nodePools[0].families[0]",
        "the family 'm8g'",
    ),
    ("uppercase family", [pool(families=["M8g"])], "nodePools[0].families[0]", "lowercase, such as 'm8g'"),
    ("not a family", [pool(families=["graviton4"])], "nodePools[0].families[0]", "EC2 instance family"),
    ("macOS family", [pool(families=["mac2"])], "nodePools[0].families[0]", "macOS"),
    ("repeated family", [pool(families=["m8g", "m8g"])], "nodePools[0].families[1]", "repeats 'm8g'"),
    ("empty families", [pool(families=[])], "nodePools[0].families", "at least 1 item"),
    (
        "families and categories",
        [pool(categories=["c", "m"], minGeneration=7)],
        "nodePools[0].categories",
        "exactly one of families",
    ),
    (
        "neither families nor categories",
        [pool(families=None)],
        "nodePools[0].families",
        "exactly one of families",
    ),
    (
        "categories without minGeneration",
        [pool(families=None, categories=["c", "m"])],
        "nodePools[0].minGeneration",
        "categories need minGeneration",
    ),
    (
        "minGeneration with families",
        [pool(minGeneration=7)],
        "nodePools[0].minGeneration",
        "minGeneration goes with categories",
    ),
    (
        "unknown category",
        [pool(families=None, categories=["q"], minGeneration=7)],
        "nodePools[0].categories[0]",
        "'c'",
    ),
    (
        "GPU family without gpu",
        [pool(architecture="amd64", families=["g5", "m7i"])],
        "nodePools[0].families[0]",
        "g5 is a GPU family; put it in a pool with gpu: nvidia",
    ),
    (
        "GPU category without gpu",
        [pool(families=None, categories=["c", "p"], minGeneration=5)],
        "nodePools[0].categories",
        "p is a GPU category",
    ),
    (
        "gpu pool with CPU family",
        [pool(architecture="amd64", gpu="nvidia", families=["g5", "m7i"], minFamilies=1)],
        "nodePools[0].families[1]",
        "m7i has no NVIDIA GPU; a gpu: nvidia pool takes NVIDIA families such as g5",
    ),
    (
        "gpu pool with AMD GPU",
        [pool(architecture="amd64", gpu="nvidia", families=["g4ad"], minFamilies=1)],
        "nodePools[0].families[0]",
        "AMD Radeon",
    ),
    (
        "arm64 gpu pool with x86 GPU",
        [pool(gpu="nvidia", families=["g5"], minFamilies=1)],
        "nodePools[0].families[0]",
        "g5 is an x86 (amd64) family",
    ),
    (
        "gpu pool with CPU category",
        [pool(gpu="nvidia", families=None, categories=["g", "m"], minGeneration=5)],
        "nodePools[0].categories",
        "GPU categories g, gr and p only, not m",
    ),
    ("unknown gpu vendor", [pool(gpu="amd")], "nodePools[0].gpu", "'nvidia'"),
    (
        "unknown architecture",
        [pool(architecture="x86_64")],
        "nodePools[0].architecture",
        "'arm64' or 'amd64'",
    ),
    (
        "spotRatio above 1",
        [pool(spotRatio=1.5)],
        "nodePools[0].spotRatio",
        "less than or equal to 1, got 1.5",
    ),
    ("spotRatio below 0", [pool(spotRatio=-0.1)], "nodePools[0].spotRatio", "greater than or equal to 0"),
    (
        "spotRatio needing 100 values",
        [pool(spotRatio=0.33)],
        "nodePools[0].spotRatio",
        "nearby ratios that work (Spot:On-Demand values): 0.3 (3:7)",
    ),
    (
        "minFamilies above families",
        [pool(minFamilies=4)],
        "nodePools[0].families",
        "lists 3 families but a Spot node needs at least minFamilies (4) families",
    ),
    (
        "single family with default minFamilies",
        [pool(families=["m8g"])],
        "nodePools[0].families",
        "lists 1 family but a Spot node needs at least minFamilies (2)",
    ),
    ("weight 0", [pool(weight=0)], "nodePools[0].weight", "greater than or equal to 1"),
    ("weight 101", [pool(weight=101)], "nodePools[0].weight", "less than or equal to 100"),
    ("unknown key", [pool(spotratio=0.5)], "nodePools[0].spotratio", "unknown key"),
    ("missing limits", [pool(limits=None)], "nodePools[0].limits", "required"),
    (
        "memory without unit",
        [pool(limits={"cpu": 10, "memory": "800"})],
        "nodePools[0].limits.memory",
        "with a unit such as 800Gi",
    ),
    (
        "cpu not a quantity",
        [pool(limits={"cpu": "lots", "memory": "1Ti"})],
        "nodePools[0].limits.cpu",
        "CPU count",
    ),
    ("cpu zero", [pool(limits={"cpu": 0, "memory": "1Ti"})], "nodePools[0].limits.cpu", "at least 1"),
    (
        "consolidateAfter in days",
        [pool(disruption={"consolidateAfter": "1d"})],
        "nodePools[0].disruption.consolidateAfter",
        "no days and no decimals",
    ),
    (
        "expireAfter with decimals",
        [pool(disruption={"expireAfter": "1.5h"})],
        "nodePools[0].disruption.expireAfter",
        "whole hours, minutes and seconds",
    ),
    (
        "expireAfter zero",
        [pool(disruption={"expireAfter": "0s"})],
        "nodePools[0].disruption.expireAfter",
        "longer than zero",
    ),
    (
        "unknown consolidation policy",
        [pool(disruption={"consolidationPolicy": "WhenUnderutilized"})],
        "nodePools[0].disruption.consolidationPolicy",
        "'WhenEmptyOrUnderutilized' or 'WhenEmpty'",
    ),
    (
        "schedule without duration",
        [pool(disruption={"budgets": [{"nodes": "0", "schedule": "@daily"}]})],
        "nodePools[0].disruption.budgets[0].duration",
        "schedule and duration go together",
    ),
    (
        "duration without schedule",
        [pool(disruption={"budgets": [{"nodes": "0", "duration": "1h"}]})],
        "nodePools[0].disruption.budgets[0].schedule",
        "schedule and duration go together",
    ),
    (
        "budget nodes above 100%",
        [pool(disruption={"budgets": [{"nodes": "150%"}]})],
        "nodePools[0].disruption.budgets[0].nodes",
        "percentage from",
    ),
    (
        "budget duration in seconds",
        [pool(disruption={"budgets": [{**_BUDGET, "duration": "30s"}]})],
        "nodePools[0].disruption.budgets[0].duration",
        "hours and/or minutes",
    ),
    (
        "cron hour out of range",
        [pool(disruption={"budgets": [{**_BUDGET, "schedule": "0 25 * * *"}]})],
        "nodePools[0].disruption.budgets[0].schedule",
        "hour field takes 0-23",
    ),
    (
        "cron with 6 fields",
        [pool(disruption={"budgets": [{**_BUDGET, "schedule": "0 0 8 * * mon"}]})],
        "nodePools[0].disruption.budgets[0].schedule",
        "5-field cron",
    ),
    (
        "cron with time zone",
        [pool(disruption={"budgets": [{**_BUDGET, "schedule": "CRON_TZ=UTC 0 8 * * *"}]})],
        "nodePools[0].disruption.budgets[0].schedule",
        "UTC",
    ),
    (
        "unknown budget reason",
        [pool(disruption={"budgets": [{"nodes": "1", "reasons": ["Expired"]}]})],
        "nodePools[0].disruption.budgets[0].reasons[0]",
        "'Underutilized', 'Empty' or 'Drifted'",
    ),
    (
        "label in karpenter.sh",
        [pool(labels={"karpenter.sh/team": "a"})],
        "nodePools[0].labels",
        "label domain karpenter.sh belongs to Karpenter",
    ),
    (
        "label in karpenter.k8s.aws",
        [pool(labels={"karpenter.k8s.aws/instance-size": "large"})],
        "nodePools[0].labels",
        "label domain karpenter.k8s.aws belongs to Karpenter",
    ),
    (
        "label in kubernetes.io",
        [pool(labels={"node-role.kubernetes.io/worker": ""})],
        "nodePools[0].labels",
        "label node-role.kubernetes.io/worker is in the domain kubernetes.io, which Karpenter restricts",
    ),
    ("label in k8s.io", [pool(labels={"example.k8s.io/x": "y"})], "nodePools[0].labels", "domain k8s.io"),
    (
        "well-known label",
        [pool(labels={"kubernetes.io/arch": "arm64"})],
        "nodePools[0].labels",
        "well-known label Kubernetes and Karpenter set on every node",
    ),
    (
        "hostname label",
        [pool(labels={"kubernetes.io/hostname": "x"})],
        "nodePools[0].labels",
        "well-known label",
    ),
    (
        "reserved spread domain",
        [pool(labels={f"{SPREAD_PREFIX}/x86": "1"})],
        "nodePools[0].labels",
        "reserved for the pool and spread labels",
    ),
    ("bad label key", [pool(labels={"Example.com/team": "a"})], "nodePools[0].labels", "bad prefix"),
    (
        "bad label value",
        [pool(labels={"example.com/team": "two words"})],
        "nodePools[0].labels",
        "a label value is at most 63",
    ),
    (
        "bad taint effect",
        [pool(taints=[{"key": "example.com/x", "effect": "NoRun"}])],
        "nodePools[0].taints[0].effect",
        "'NoSchedule', 'PreferNoSchedule' or 'NoExecute'",
    ),
    (
        "bad taint key",
        [pool(taints=[{"key": "bad key", "effect": "NoSchedule"}])],
        "nodePools[0].taints[0].key",
        "taint key",
    ),
    (
        "taint in karpenter.sh",
        [pool(taints=[{"key": "karpenter.sh/disrupted", "effect": "NoSchedule"}])],
        "nodePools[0].taints[0].key",
        "reserved for Karpenter's own taints",
    ),
    (
        "duplicate taint",
        [pool(taints=[{"key": "a.io/x", "effect": "NoSchedule"}] * 2)],
        "nodePools[0].taints[1]",
        "listed twice",
    ),
    (
        "GPU taint on a gpu pool",
        [
            pool(
                architecture="amd64",
                gpu="nvidia",
                families=["g5", "g6"],
                taints=[{"key": "nvidia.com/gpu", "effect": "NoSchedule"}],
            )
        ],
        "nodePools[0].taints[0]",
        "already",
    ),
    ("uppercase name", [pool(name="Graviton")], "nodePools[0].name", "DNS label"),
    ("name too long", [pool(name="a" * 51)], "nodePools[0].name", "at most 50 characters"),
    ("reserved name", [pool(name="pool")], "nodePools[0].name", "reserved"),
    (
        "repeated pool name",
        [pool(), pool(spotRatio=1)],
        "nodePools[1].name",
        "repeats the name 'graviton', first listed at [0].name",
    ),
    ("empty pool list", [], "nodePools", "at least one pool"),
]


@pytest.mark.parametrize(("case", "entries", "key", "hint"), BAD_POOLS, ids=[c[0] for c in BAD_POOLS])
def test_bad_pool_is_refused_naming_the_key(
    case: str, entries: list[dict[str, Any]], key: str, hint: str
) -> None:
    found = problems(entries)
    matching = [p for p in found if p.startswith(f"{key}: ")]
    assert matching, found
    assert any(hint in p for p in matching), found


def test_second_pool_problems_name_its_index() -> None:
    # A single family is fine for an On-Demand-only pool: minFamilies is about Spot.
    x86 = {"name": "x86", "architecture": "amd64", "families": ["m7i"], "weight": 50}
    POOLS.validate_python([pool(), pool(**x86, spotRatio=0)])
    found = problems([pool(), pool(**x86, spotRatio=0.5)])
    assert [p.split(":")[0] for p in found] == ["nodePools[1].families"]


def test_budget_nodes_may_be_written_as_a_number() -> None:
    [p] = POOLS.validate_python(
        [pool(disruption={"budgets": [{"nodes": 0, **{"schedule": "@daily"}, "duration": "8h"}]})]
    )
    assert p.disruption.budgets[0].nodes == "0"


@pytest.mark.parametrize(
    "key",
    [
        "example.com/team",
        "team",
        "node-restriction.kubernetes.io/team",
        "node.kubernetes.io/lifecycle",
        "kops.k8s.io/instancegroup",
        "acme.io/cost-center",
    ],
)
def test_allowed_label_keys(key: str) -> None:
    assert label_key_problem(key) is None


def test_defaults_come_from_the_model() -> None:
    [p] = POOLS.validate_python([pool(disruption=None, weight=None)])
    assert p.weight == 50
    assert p.min_families == 2
    assert p.disruption.consolidation_policy == "WhenEmptyOrUnderutilized"
    assert p.disruption.expire_after == "720h"
    assert [b.nodes for b in p.disruption.budgets] == ["10%"]
    assert p.labels == {} and p.taints == [] and p.gpu is None


# --------------------------------------------------------------------------------------------------
# nodeClass
# --------------------------------------------------------------------------------------------------


BAD_NODE_CLASSES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "latest without allowLatestAmi",
        {"amiVersion": "latest"},
        "nodeClass.amiVersion",
        "production should pin",
    ),
    ("version without v", {"amiVersion": "20251120"}, "nodeClass.amiVersion", "such as v20251120"),
    (
        "root volume too small",
        {"amiVersion": "v20251120", "rootVolumeSize": 10},
        "nodeClass.rootVolumeSize",
        "greater than or equal to 20",
    ),
    (
        "gpu root volume too big",
        {"amiVersion": "v20251120", "gpuRootVolumeSize": 20000},
        "nodeClass.gpuRootVolumeSize",
        "less than or equal to 16384",
    ),
    (
        "cluster tag",
        {"amiVersion": "v20251120", "tags": {"kubernetes.io/cluster/prod": "owned"}},
        "nodeClass.tags",
        "Karpenter sets itself",
    ),
    (
        "nodepool tag",
        {"amiVersion": "v20251120", "tags": {"karpenter.sh/nodepool": "x"}},
        "nodeClass.tags",
        "Karpenter sets itself",
    ),
    (
        "eks cluster name tag",
        {"amiVersion": "v20251120", "tags": {"eks:eks-cluster-name": "x"}},
        "nodeClass.tags",
        "Karpenter sets itself",
    ),
    ("aws: tag", {"amiVersion": "v20251120", "tags": {"aws:team": "x"}}, "nodeClass.tags", "AWS reserves"),
    ("empty tag key", {"amiVersion": "v20251120", "tags": {"": "x"}}, "nodeClass.tags", "1 to 128"),
    ("unknown key", {"amiVersion": "v20251120", "role": "x"}, "nodeClass.role", "unknown key"),
]


@pytest.mark.parametrize(
    ("case", "value", "key", "hint"), BAD_NODE_CLASSES, ids=[c[0] for c in BAD_NODE_CLASSES]
)
def test_bad_node_class_is_refused_naming_the_key(
    case: str, value: dict[str, Any], key: str, hint: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        NODE_CLASS.validate_python(value)
    found = problems_of(refused.value, "nodeClass")
    assert any(p.startswith(f"{key}: ") and hint in p for p in found), found


def test_latest_ami_is_allowed_when_asked_for() -> None:
    node_class = NODE_CLASS.validate_python({"amiVersion": "latest", "allowLatestAmi": True})
    assert (node_class.root_volume_size, node_class.gpu_root_volume_size) == (40, 200)


# --------------------------------------------------------------------------------------------------
# Rendered manifests
# --------------------------------------------------------------------------------------------------


def _requirement(manifest: dict[str, Any], key: str) -> dict[str, Any]:
    [found] = [r for r in manifest["spec"]["template"]["spec"]["requirements"] if r["key"] == key]
    return found


def test_dev_pools_render_four_valid_node_pools_with_disjoint_spread_values(nodepool_crd: Path) -> None:
    manifests = render_all(dev_pools())
    by_name = {m["metadata"]["name"]: m for m in manifests}
    assert list(by_name) == ["graviton-spot", "graviton-on-demand", "x86-spot", "x86-on-demand"]
    for manifest in manifests:
        assert_valid(manifest, nodepool_crd)

    def values(name: str, pool_name: str) -> list[str]:
        values: list[str] = _requirement(by_name[name], spread_label_key(SPREAD_PREFIX, pool_name))["values"]
        return values

    assert values("graviton-spot", "graviton") == ["1", "2", "3", "4", "5", "6", "7"]
    assert values("graviton-on-demand", "graviton") == ["8", "9", "10"]
    assert values("x86-spot", "x86") == ["1"]
    assert values("x86-on-demand", "x86") == ["2"]
    assert [by_name[n]["spec"]["weight"] for n in by_name] == [100, 99, 50, 49]

    spot = by_name["graviton-spot"]
    assert _requirement(spot, "karpenter.sh/capacity-type")["values"] == ["spot"]
    assert _requirement(spot, "kubernetes.io/arch")["values"] == ["arm64"]
    assert _requirement(spot, "karpenter.k8s.aws/instance-family") == {
        "key": "karpenter.k8s.aws/instance-family",
        "operator": "In",
        "values": ["m8g", "c7g", "r7g"],
        "minValues": 2,
    }
    on_demand = by_name["graviton-on-demand"]
    assert _requirement(on_demand, "karpenter.sh/capacity-type")["values"] == ["on-demand"]
    assert "minValues" not in _requirement(on_demand, "karpenter.k8s.aws/instance-family")
    assert spot["spec"]["template"]["metadata"]["labels"] == {f"{SPREAD_PREFIX}/pool": "graviton"}
    assert spot["spec"]["template"]["spec"]["nodeClassRef"] == {
        "group": "karpenter.k8s.aws",
        "kind": "EC2NodeClass",
        "name": "default",
    }
    assert spot["spec"]["limits"] == {"cpu": 200, "memory": "800Gi"}
    assert spot["spec"]["disruption"]["consolidateAfter"] == "1m"
    assert spot["spec"]["template"]["spec"]["expireAfter"] == "720h"


def test_spread_constraints_of_the_dev_pools() -> None:
    graviton, x86 = dev_pools()
    assert spread_constraint(graviton, SPREAD_PREFIX) == {
        "maxSkew": 1,
        "topologyKey": f"{SPREAD_PREFIX}/graviton",
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "<your-app>"}},
    }
    constraint = spread_constraint(x86, SPREAD_PREFIX)
    assert constraint is not None and constraint["topologyKey"] == f"{SPREAD_PREFIX}/x86"


@pytest.mark.parametrize(("ratio", "name"), [(1, "graviton-spot"), (0, "graviton-on-demand")])
def test_pure_pools_render_one_node_pool_without_spread(nodepool_crd: Path, ratio: float, name: str) -> None:
    [p] = POOLS.validate_python([pool(spotRatio=ratio)])
    [manifest] = node_pool_manifests(p, node_class_name="default", spread_prefix=SPREAD_PREFIX)
    assert manifest["metadata"]["name"] == name
    assert manifest["spec"]["weight"] == 100
    keys = [r["key"] for r in manifest["spec"]["template"]["spec"]["requirements"]]
    assert not any(k.startswith(f"{SPREAD_PREFIX}/") for k in keys)
    assert spread_constraint(p, SPREAD_PREFIX) is None
    assert_valid(manifest, nodepool_crd)


def test_weight_one_is_refused_for_a_mixed_pool_but_fine_for_a_single_capacity_type() -> None:
    # Spot and On-Demand at the same weight would make Karpenter's choice arbitrary, not Spot-first.
    assert problems([pool(weight=1)]) == [
        "nodePools[0].weight: weight 1 leaves no room below it: a pool with 0 < spotRatio < 1 gives its "
        "On-Demand NodePool weight-1 so pods that do not spread prefer Spot; use weight 2 or more"
    ]
    [p] = POOLS.validate_python([pool(weight=1, spotRatio=1)])
    weights = [m["spec"]["weight"] for m in node_pool_manifests(p, node_class_name="d", spread_prefix="a.io")]
    assert weights == [1]


def test_pools_whose_node_pools_would_tie_on_weight_are_refused() -> None:
    x86 = {"name": "x86", "architecture": "amd64", "families": ["m7i", "c7i"]}
    found = problems([pool(weight=100), pool(**x86, weight=99, spotRatio=0.5)])
    assert len(found) == 1 and found[0].startswith(
        "nodePools[1].weight: the NodePools graviton-on-demand and x86-spot"
    )
    POOLS.validate_python([pool(weight=100), pool(**x86, weight=98, spotRatio=0.5)])


def test_gpu_pool_renders_its_taint_and_valid_manifests(nodepool_crd: Path, nodeclass_crd: Path) -> None:
    [p] = POOLS.validate_python(
        [
            pool(
                name="gpu",
                architecture="amd64",
                gpu="nvidia",
                families=["g5", "g6", "g6e"],
                spotRatio=0.25,
                labels={"example.com/accelerator": "nvidia"},
                taints=[{"key": "example.com/team", "value": "ml", "effect": "NoSchedule"}],
            )
        ]
    )
    manifests = node_pool_manifests(p, node_class_name="gpu", spread_prefix=SPREAD_PREFIX)
    assert [m["metadata"]["name"] for m in manifests] == ["gpu-spot", "gpu-on-demand"]
    for manifest in manifests:
        spec = manifest["spec"]["template"]["spec"]
        assert spec["taints"] == [
            {"key": "example.com/team", "effect": "NoSchedule", "value": "ml"},
            {"key": "nvidia.com/gpu", "effect": "NoSchedule"},
        ]
        assert spec["nodeClassRef"]["name"] == "gpu"
        assert manifest["spec"]["template"]["metadata"]["labels"] == {
            "example.com/accelerator": "nvidia",
            f"{SPREAD_PREFIX}/pool": "gpu",
        }
        assert_valid(manifest, nodepool_crd)
    node_class = node_class_manifest(
        name="gpu",
        cluster_name="karpenter-dev",
        instance_profile="karpenter-dev-node",
        node_class=NodeClassConfig(ami_version="v20251120", tags={"team": "ml"}),
        root_volume_gib=200,
    )
    assert node_class["spec"]["blockDeviceMappings"][0]["ebs"]["volumeSize"] == "200Gi"
    assert_valid(node_class, nodeclass_crd)


def test_arm64_gpu_pool_with_g5g_is_valid(nodepool_crd: Path) -> None:
    [p] = POOLS.validate_python(
        [pool(name="gpu-arm", gpu="nvidia", families=["g5g"], minFamilies=1, spotRatio=1)]
    )
    [manifest] = node_pool_manifests(p, node_class_name="gpu", spread_prefix=SPREAD_PREFIX)
    assert "minValues" not in _requirement(manifest, "karpenter.k8s.aws/instance-family")
    assert_valid(manifest, nodepool_crd)


def test_categories_mode_renders_valid_node_pools(nodepool_crd: Path) -> None:
    [p] = POOLS.validate_python(
        [pool(families=None, categories=["c", "m", "r"], minGeneration=7, minFamilies=5, spotRatio=0.8)]
    )
    spot, on_demand = node_pool_manifests(p, node_class_name="default", spread_prefix=SPREAD_PREFIX)
    assert _requirement(spot, "karpenter.k8s.aws/instance-category")["values"] == ["c", "m", "r"]
    assert _requirement(spot, "karpenter.k8s.aws/instance-generation") == {
        "key": "karpenter.k8s.aws/instance-generation",
        "operator": "Gt",
        "values": ["6"],
    }
    assert _requirement(spot, "karpenter.k8s.aws/instance-family") == {
        "key": "karpenter.k8s.aws/instance-family",
        "operator": "Exists",
        "minValues": 5,
    }
    assert not [r for r in on_demand["spec"]["template"]["spec"]["requirements"] if "minValues" in r]
    assert _requirement(spot, spread_label_key(SPREAD_PREFIX, "graviton"))["values"] == ["1", "2", "3", "4"]
    assert _requirement(on_demand, spread_label_key(SPREAD_PREFIX, "graviton"))["values"] == ["5"]
    for manifest in (spot, on_demand):
        assert_valid(manifest, nodepool_crd)


def test_budgets_render_and_validate(nodepool_crd: Path) -> None:
    budgets = [
        {"nodes": "0", "schedule": "0 8 * * mon-fri", "duration": "10h", "reasons": ["Drifted"]},
        {"nodes": 3},
    ]
    [p] = POOLS.validate_python([pool(disruption={"budgets": budgets, "expireAfter": "Never"})])
    [spot, _] = node_pool_manifests(p, node_class_name="default", spread_prefix=SPREAD_PREFIX)
    assert spot["spec"]["disruption"]["budgets"] == [
        {"nodes": "0", "schedule": "0 8 * * mon-fri", "duration": "10h", "reasons": ["Drifted"]},
        {"nodes": "3"},
    ]
    assert spot["spec"]["template"]["spec"]["expireAfter"] == "Never"
    assert_valid(spot, nodepool_crd)


@pytest.mark.parametrize("stack", PROJECT_STACKS)
def test_committed_stacks_render_valid_karpenter_objects(
    stack: str, nodepool_crd: Path, nodeclass_crd: Path
) -> None:
    values = stack_values(stack)
    pools = POOLS.validate_python(values["nodePools"])
    node_class = NODE_CLASS.validate_python(values["nodeClass"])
    manifests = render_all(pools)
    assert len(manifests) == sum(2 if p.mixed else 1 for p in pools)
    for manifest in manifests:
        assert_valid(manifest, nodepool_crd)
    for name, size in (("default", node_class.root_volume_size), ("gpu", node_class.gpu_root_volume_size)):
        manifest = node_class_manifest(
            name=name,
            cluster_name=values["cluster"]["name"],
            instance_profile=f"{values['cluster']['name']}-node",
            node_class=node_class,
            root_volume_gib=size,
        )
        assert_valid(manifest, nodeclass_crd)
    for p in pools:
        if p.mixed:
            spot, on_demand = (m for m in manifests if m["metadata"]["name"].startswith(f"{p.name}-"))
            key = spread_label_key(SPREAD_PREFIX, p.name)
            s, o = spot_split(p.spot_ratio)
            assert _requirement(spot, key)["values"] + _requirement(on_demand, key)["values"] == [
                str(i) for i in range(1, s + o + 1)
            ]


def test_node_class_manifest(nodeclass_crd: Path) -> None:
    manifest = node_class_manifest(
        name="default",
        cluster_name="karpenter-dev",
        instance_profile="karpenter-dev-node",
        node_class=NodeClassConfig(ami_version="latest", allow_latest_ami=True, tags={}),
        root_volume_gib=40,
    )
    spec = manifest["spec"]
    assert manifest["apiVersion"] == "karpenter.k8s.aws/v1" and manifest["kind"] == "EC2NodeClass"
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
    assert spec["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "karpenter-dev"}}]
    assert spec["securityGroupSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "karpenter-dev"}}]
    assert spec["blockDeviceMappings"] == [
        {
            "deviceName": "/dev/xvda",
            "ebs": {
                "volumeSize": "40Gi",
                "volumeType": "gp3",
                "encrypted": True,
                "deleteOnTermination": True,
            },
        }
    ]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert "tags" not in spec
    assert_valid(manifest, nodeclass_crd)


# --------------------------------------------------------------------------------------------------
# The CRD validator itself: CEL rules really run and really refuse
# --------------------------------------------------------------------------------------------------


def _dev_spot() -> dict[str, Any]:
    return copy.deepcopy(render_all(dev_pools())[0])


def _only(errors: list[str], path: str, message: str) -> None:
    assert errors == [f"{path}: {message}"], errors


def test_cel_refuses_a_budget_with_schedule_but_no_duration(nodepool_crd: Path) -> None:
    manifest = _dev_spot()
    manifest["spec"]["disruption"]["budgets"] = [{"nodes": "0", "schedule": "0 8 * * *"}]
    _only(
        validate_against_crd(manifest, nodepool_crd),
        "spec.disruption.budgets",
        "'schedule' must be set with 'duration'",
    )


def test_cel_refuses_a_restricted_label(nodepool_crd: Path) -> None:
    manifest = _dev_spot()
    manifest["spec"]["template"]["metadata"]["labels"]["karpenter.sh/team"] = "a"
    _only(
        validate_against_crd(manifest, nodepool_crd),
        "spec.template.metadata.labels",
        'label domain "karpenter.sh" is restricted',
    )
    manifest["spec"]["template"]["metadata"]["labels"] = {"team.karpenter.k8s.aws/x": "a"}
    _only(
        validate_against_crd(manifest, nodepool_crd),
        "spec.template.metadata.labels",
        'label domain "karpenter.k8s.aws" is restricted',
    )


def test_cel_refuses_an_in_requirement_without_values(nodepool_crd: Path) -> None:
    manifest = _dev_spot()
    manifest["spec"]["template"]["spec"]["requirements"].append(
        {"key": "example.com/x", "operator": "In", "values": []}
    )
    _only(
        validate_against_crd(manifest, nodepool_crd),
        "spec.template.spec.requirements",
        "requirements with operator 'In' must have a value defined",
    )


def test_cel_refuses_min_values_above_the_values(nodepool_crd: Path) -> None:
    manifest = _dev_spot()
    manifest["spec"]["template"]["spec"]["requirements"][3]["minValues"] = 4
    _only(
        validate_against_crd(manifest, nodepool_crd),
        "spec.template.spec.requirements",
        "requirements with 'minValues' must have at least that many values specified in the 'values' field",
    )


def test_cel_refuses_a_non_integer_gt(nodepool_crd: Path) -> None:
    manifest = _dev_spot()
    manifest["spec"]["template"]["spec"]["requirements"].append(
        {"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt", "values": ["seven"]}
    )
    errors = validate_against_crd(manifest, nodepool_crd)
    assert len(errors) == 1 and "must have a single positive integer value" in errors[0], errors


def test_cel_refuses_a_restricted_requirement_key(nodepool_crd: Path) -> None:
    manifest = _dev_spot()
    manifest["spec"]["template"]["spec"]["requirements"].append(
        {"key": "karpenter.sh/nodepool", "operator": "In", "values": ["x"]}
    )
    errors = validate_against_crd(manifest, nodepool_crd)
    assert errors == [
        'spec.template.spec.requirements[5].key: label "karpenter.sh/nodepool" is restricted'
    ], errors


def test_cel_refuses_bad_node_classes(nodeclass_crd: Path) -> None:
    base = node_class_manifest(
        name="default",
        cluster_name="c",
        instance_profile="p",
        node_class=NodeClassConfig(ami_version="v20251120", tags={}),
        root_volume_gib=40,
    )
    bad_tag = copy.deepcopy(base)
    bad_tag["spec"]["tags"] = {"karpenter.sh/nodepool": "x"}
    _only(
        validate_against_crd(bad_tag, nodeclass_crd),
        "spec.tags",
        "tag contains a restricted tag matching karpenter.sh/nodepool",
    )
    bad_alias = copy.deepcopy(base)
    bad_alias["spec"]["amiSelectorTerms"] = [{"alias": "ubuntu@v1"}]
    errors = validate_against_crd(bad_alias, nodeclass_crd)
    assert errors == [
        "spec.amiSelectorTerms[0].alias: family is not supported, must be one of the following: 'al2', "
        "'al2023', 'bottlerocket', 'windows2019', 'windows2022', 'windows2025'"
    ], errors
    both = copy.deepcopy(base)
    both["spec"]["role"] = "node-role"
    _only(
        validate_against_crd(both, nodeclass_crd),
        "spec",
        "must specify exactly one of ['role', 'instanceProfile']",
    )
    wrong_family = copy.deepcopy(base)
    wrong_family["spec"]["amiFamily"] = "Bottlerocket"
    _only(
        validate_against_crd(wrong_family, nodeclass_crd),
        "spec",
        "if set, amiFamily must be 'AL2023' or 'Custom' when using an AL2023 alias",
    )


def test_schema_refuses_unknown_fields_and_bad_values(nodepool_crd: Path) -> None:
    manifest = _dev_spot()
    manifest["spec"]["template"]["spec"]["nodeClassRef"]["apiVersion"] = "karpenter.k8s.aws/v1"
    manifest["spec"]["disruption"]["consolidateAfter"] = "1d"
    manifest["spec"]["limits"]["cpu"] = "lots"
    errors = validate_against_crd(manifest, nodepool_crd)
    assert len(errors) == 3, errors
    assert any(e.startswith("spec.template.spec.nodeClassRef: Additional properties") for e in errors), errors
    assert any(e.startswith("spec.disruption.consolidateAfter: '1d' does not match") for e in errors), errors
    assert any(e.startswith("spec.limits.cpu: 'lots' does not match") for e in errors), errors


def test_wrong_api_version_or_kind_is_refused(nodepool_crd: Path) -> None:
    manifest = _dev_spot()
    manifest["apiVersion"] = "karpenter.sh/v1beta1"
    assert "is not served" in validate_against_crd(manifest, nodepool_crd)[0]
    manifest = _dev_spot()
    manifest["kind"] = "NodeClaim"
    assert validate_against_crd(manifest, nodepool_crd)[0].startswith("kind:")


def test_defaults_are_applied_before_validation(nodepool_crd: Path) -> None:
    manifest = _dev_spot()
    del manifest["spec"]["disruption"]  # the CRD defaults it to consolidateAfter 0s, budgets [10%]
    report = check_against_crd(manifest, nodepool_crd)
    assert report.errors == []
    manifest["spec"]["disruption"] = {"consolidationPolicy": "WhenEmpty"}  # consolidateAfter is required
    assert validate_against_crd(manifest, nodepool_crd) == [
        "spec.disruption: 'consolidateAfter' is a required property"
    ]


def test_every_cel_rule_of_the_pinned_crds_uses_supported_functions(nodepool_crd: Path) -> None:
    rules = [r for path in sorted(CRDS.glob("*.yaml")) for r in crd_rules(path)]
    assert len(rules) > 50
    unsupported = {(r.path, f) for r in rules for f in cel_functions_used(r.rule) - SUPPORTED_CEL_FUNCTIONS}
    assert unsupported == set()


def test_kubernetes_cel_string_functions() -> None:
    assert evaluate_rule("self.find('^([^/]+)') == 'karpenter.sh'", "karpenter.sh/nodepool") == (True, None)
    assert evaluate_rule("self.find('^([^/]+)') == ''", "/x") == (True, None)
    assert evaluate_rule("self.split('@') == ['al2023', 'v1']", "al2023@v1") == (True, None)
    assert evaluate_rule("self.split('@', 1) == ['al2023@v1']", "al2023@v1") == (True, None)
    assert evaluate_rule("self.lowerAscii() == 'abc' && self.upperAscii() == 'ABC'", "aBc") == (True, None)
    assert evaluate_rule("self.indexOf('c') == 2 && self.substring(1, 3) == 'Bc'", "aBc") == (True, None)
    assert evaluate_rule("['a', 'b'].join('-') == 'a-b' && self.replace('B', 'x') == 'axc'", "aBc") == (
        True,
        None,
    )
    passed, error = evaluate_rule("self.nosuchfunction()", "x")
    assert not passed and error is not None


def test_the_crds_have_transition_rules_that_are_skipped(nodepool_crd: Path) -> None:
    report = check_against_crd(_dev_spot(), nodepool_crd)
    assert report.transition_rules_skipped == 3
    assert report.rules_evaluated >= 30
    assert all(is_transition_rule(r.rule) == ("oldSelf" in r.rule) for r in crd_rules(nodepool_crd))


def test_config_label_rules_are_at_least_as_strict_as_the_crd(nodepool_crd: Path) -> None:
    keys = [
        "karpenter.sh/x",
        "a.karpenter.sh/x",
        "karpenter.sh/capacity-type",
        "karpenter.k8s.aws/instance-size",
        "x.karpenter.k8s.aws/y",
        "kubernetes.io/hostname",
        "example.com/x",
        "node.kubernetes.io/x",
    ]
    for key in keys:
        manifest = _dev_spot()
        manifest["spec"]["template"]["metadata"]["labels"] = {key: "v"}
        if validate_against_crd(manifest, nodepool_crd):
            assert label_key_problem(key) is not None, key


def test_a_pool_without_its_pool_label_renders_no_template_labels(nodepool_crd: Path) -> None:
    """`poolLabel: false` (a NodePool made by hand has no such label): no `metadata` in the template at
    all, since an empty `labels: {}` is stored and hashed unlike none; labels of the pool stay."""
    [bare] = POOLS.validate_python([pool(spotRatio=1, poolLabel=False)])
    [manifest] = node_pool_manifests(bare, node_class_name="default", spread_prefix=SPREAD_PREFIX)
    assert set(manifest["spec"]["template"]) == {"spec"}
    assert_valid(manifest, nodepool_crd)
    [labelled] = POOLS.validate_python([pool(poolLabel=False, labels={"example.com/tier": "web"})])
    spot, on_demand = node_pool_manifests(labelled, node_class_name="default", spread_prefix=SPREAD_PREFIX)
    assert spot["spec"]["template"]["metadata"] == {"labels": {"example.com/tier": "web"}}
    # The spread label of a mixed pool is a requirement, not the pool label: it stays.
    keys = [r["key"] for r in on_demand["spec"]["template"]["spec"]["requirements"]]
    assert f"{SPREAD_PREFIX}/graviton" in keys


def test_on_demand_fallback_widens_the_spot_node_pool_only(nodepool_crd: Path) -> None:
    [p] = POOLS.validate_python([pool(spotRatio=1, onDemandFallback=True, nodePoolName="graviton")])
    [manifest] = node_pool_manifests(p, node_class_name="default", spread_prefix=SPREAD_PREFIX)
    capacity = [
        r
        for r in manifest["spec"]["template"]["spec"]["requirements"]
        if r["key"] == "karpenter.sh/capacity-type"
    ]
    assert capacity == [
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot", "on-demand"]}
    ]
    assert manifest["metadata"]["name"] == "graviton"
    assert_valid(manifest, nodepool_crd)
    assert problems(
        [pool(onDemandFallback=True), pool(name="x", spotRatio=0, weight=10, onDemandFallback=True)]
    ) == [
        "nodePools[0].onDemandFallback: is for a Spot-only pool (spotRatio 1), whose one NodePool then also "
        "allows On-Demand; with a lower spotRatio the pool has its own On-Demand NodePool",
        "nodePools[1].onDemandFallback: is for a Spot-only pool (spotRatio 1), whose one NodePool then also "
        "allows On-Demand; with a lower spotRatio the pool has its own On-Demand NodePool",
    ]


def test_empty_block_device_mappings_leave_the_family_defaults(nodeclass_crd: Path) -> None:
    """`blockDeviceMappings: []` renders none (Karpenter's AMI family defaults); `encrypted: null` and
    `deleteOnTermination: null` leave those unset, as a class made by hand may."""
    bare = NODE_CLASS.validate_python({"amiVersion": "v20251120", "blockDeviceMappings": []})
    manifest = node_class_manifest(
        name="default", cluster_name="c", instance_profile="p", node_class=bare, root_volume_gib=40
    )
    assert "blockDeviceMappings" not in manifest["spec"]
    assert validate_against_crd(manifest, nodeclass_crd) == []
    unset = {"volumeSize": "50Gi", "volumeType": "gp3", "encrypted": None, "deleteOnTermination": None}
    loose = NODE_CLASS.validate_python(
        {
            "amiVersion": "v20251120",
            "blockDeviceMappings": [{"deviceName": "/dev/xvda", "rootVolume": True, "ebs": unset}],
        }
    )
    manifest = node_class_manifest(
        name="default", cluster_name="c", instance_profile="p", node_class=loose, root_volume_gib=40
    )
    assert manifest["spec"]["blockDeviceMappings"] == [
        {"deviceName": "/dev/xvda", "ebs": {"volumeSize": "50Gi", "volumeType": "gp3"}, "rootVolume": True}
    ]
