"""A table of bad and edge-case stack files, as data: each case is the dev stack with some keys changed,
and every problem line the refusal must contain (key path and a fragment naming the value or what is
allowed), no more, no fewer. Valid edge cases must render NodePools and EC2NodeClasses the pinned
Karpenter CRDs accept.

The model is validated directly (fast); a representative subset runs the whole program under the mocks,
where the refusal must come before any resource is registered.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest

from components.documents.node_pools import SPREAD_PREFIX, node_class_manifest, node_pool_manifests
from components.karpenter.node_pools import node_class_name, node_classes
from config.base import ConfigError
from config.load import parse_stack_config
from tests.support.crd_validation import check_against_crd
from tests.support.render import render, shared_file, stack_values

DELETE = object()
"""A change that removes the key."""


@dataclass(frozen=True)
class Case:
    id: str
    changes: dict[str, Any]
    """Dotted key path (list indexes as numbers) -> new value, or DELETE."""
    expected: list[tuple[str, str]] = field(default_factory=list)
    """Every problem: (key path, fragment of its line). Empty: the stack is valid."""


def apply(values: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(values)
    for path, value in changes.items():
        parts = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = out
        for part in parts[:-1]:
            if isinstance(part, int):
                node = node[part]
            else:
                if not isinstance(node.get(part), dict | list):
                    node[part] = {}
                node = node[part]
        last = parts[-1]
        if value is DELETE:
            del node[last]
        elif isinstance(node, list) and isinstance(last, int) and last == len(node):
            node.append(value)
        else:
            node[last] = value
    return out


def pool(name: str, **overrides: Any) -> dict[str, Any]:
    """A valid extra pool (weights far from the dev pools' 100 and 50)."""
    base: dict[str, Any] = {
        "name": name,
        "architecture": "arm64",
        "families": ["m7g", "c7g", "r7g"],
        "weight": 20,
        "spotRatio": 1,
        "limits": {"cpu": 10, "memory": "40Gi"},
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not DELETE}


P0, P1 = "nodePools.0", "nodePools.1"
K0, K1 = "nodePools[0]", "nodePools[1]"
BUDGET = {"nodes": "0", "schedule": "0 8 * * mon-fri", "duration": "10h"}
GOV_ARN = "arn:aws-us-gov:iam::123456789012:role/admins"
CN_POLICY = "arn:aws-cn:iam::aws:policy/CloudWatchAgentServerPolicy"

BAD: list[Case] = [
    # --- types: booleans and strings are never numbers ---------------------------------------------
    Case(
        "spotRatio true",
        {f"{P0}.spotRatio": True},
        [(f"{K0}.spotRatio", "true and false are not numbers here, got true")],
    ),
    Case("spotRatio false", {f"{P0}.spotRatio": False}, [(f"{K0}.spotRatio", "got false")]),
    Case(
        "spotRatio quoted",
        {f"{P0}.spotRatio": "0.7"},
        [
            (
                f"{K0}.spotRatio",
                "written without quotes (`pulumi config set --path` stores numbers other than integers as "
                "text unless given `--type float`), got '0.7'",
            )
        ],
    ),
    Case(
        "spotRatio percent",
        {f"{P0}.spotRatio": "70%"},
        [(f"{K0}.spotRatio", "without units or %, got '70%'")],
    ),
    Case(
        "limits.cpu true",
        {f"{P0}.limits.cpu": True},
        [
            (
                f"{K0}.limits.cpu",
                'whole CPU count such as 200 or a Kubernetes quantity such as "1500m", got true',
            )
        ],
    ),
    Case("limits.cpu float", {f"{P0}.limits.cpu": 1.5}, [(f"{K0}.limits.cpu", "got 1.5")]),
    Case("limits.cpu list", {f"{P0}.limits.cpu": [1]}, [(f"{K0}.limits.cpu", "got [1]")]),
    Case("limits.cpu null", {f"{P0}.limits.cpu": None}, [(f"{K0}.limits.cpu", "got null")]),
    Case(
        "weight true", {f"{P0}.weight": True}, [(f"{K0}.weight", "whole number (an integer); true and false")]
    ),
    Case("weight float", {f"{P0}.weight": 99.5}, [(f"{K0}.weight", "whole number (an integer), got 99.5")]),
    Case("weight quoted", {f"{P0}.weight": "100"}, [(f"{K0}.weight", "`--type int`), got '100'")]),
    Case("replicas quoted", {"karpenter.replicas": "2"}, [("karpenter.replicas", "written without quotes")]),
    Case("replicas true", {"karpenter.replicas": True}, [("karpenter.replicas", "got true")]),
    Case(
        "replicas word", {"karpenter.replicas": "two"}, [("karpenter.replicas", "whole number (an integer)")]
    ),
    Case("minFamilies true", {f"{P0}.minFamilies": True}, [(f"{K0}.minFamilies", "got true")]),
    Case(
        "minGeneration quoted",
        {f"{P0}.families": DELETE, f"{P0}.categories": ["m"], f"{P0}.minGeneration": "7"},
        [(f"{K0}.minGeneration", "written without quotes")],
    ),
    Case(
        "rootVolumeSize quoted",
        {"nodeClass.rootVolumeSize": "40"},
        [("nodeClass.rootVolumeSize", "written without quotes")],
    ),
    Case(
        "rootVolumeSize with unit",
        {"nodeClass.rootVolumeSize": "40Gi"},
        [("nodeClass.rootVolumeSize", "without units or %, got '40Gi'")],
    ),
    Case(
        "allowLatestAmi string",
        {"nodeClass.allowLatestAmi": "yes"},
        [("nodeClass.allowLatestAmi", "must be true or false")],
    ),
    Case(
        "allowLatestAmi number",
        {"nodeClass.allowLatestAmi": 1},
        [("nodeClass.allowLatestAmi", "must be true or false (without quotes), got 1")],
    ),
    Case(
        "endpointPublicAccess string",
        {"cluster.endpointPublicAccess": "false"},
        [("cluster.endpointPublicAccess", "true or false")],
    ),
    Case(
        "createSpotServiceLinkedRole number",
        {"iam.createSpotServiceLinkedRole": 0},
        [("iam.createSpotServiceLinkedRole", "was replaced by spotServiceLinkedRole")],
    ),
    Case(
        "spotToSpotConsolidation string",
        {"karpenter.spotToSpotConsolidation": "true"},
        [("karpenter.spotToSpotConsolidation", "true or false")],
    ),
    Case("name number", {f"{P0}.name": 5}, [(f"{K0}.name", "must be text; YAML read this as a number")]),
    Case("name boolean", {f"{P0}.name": True}, [(f"{K0}.name", "YAML read this as true/false")]),
    Case("cluster name number", {"cluster.name": 123}, [("cluster.name", "must be text")]),
    Case(
        "kubernetesVersion float",
        {"cluster.kubernetesVersion": 1.3},
        [("cluster.kubernetesVersion", "put it in quotes, got 1.3")],
    ),
    Case("karpenter version float", {"karpenter.version": 1.14}, [("karpenter.version", "put it in quotes")]),
    Case("region number", {"region": 1}, [("region", "must be text")]),
    Case("tag value number", {"tags.cost": 5}, [("tags.cost", "put it in quotes, got 5")]),
    Case(
        "label value number",
        {f"{P0}.labels": {"example.com/tier": 1}},
        [(f"{K0}.labels.example.com/tier", "got 1")],
    ),
    Case(
        "budget nodes float",
        {f"{P0}.disruption.budgets": [{"nodes": 1.5}]},
        [(f"{K0}.disruption.budgets[0].nodes", "got 1.5")],
    ),
    Case(
        "budget nodes boolean",
        {f"{P0}.disruption.budgets": [{"nodes": True}]},
        [(f"{K0}.disruption.budgets[0].nodes", "got true")],
    ),
    Case("families string", {f"{P0}.families": "m8g"}, [(f"{K0}.families", "write [m8g]")]),
    Case("nodePools null", {"nodePools": None}, [("nodePools", "must be a list with at least one entry")]),
    Case("nodePools mapping", {"nodePools": {"name": "x"}}, [("nodePools", "must be a list")]),
    Case("karpenter null", {"karpenter": None}, [("karpenter", "mapping of keys")]),
    Case("cluster list", {"cluster": ["create"]}, [("cluster", "mapping of keys")]),
    Case("limits string", {f"{P0}.limits": "200"}, [(f"{K0}.limits", "mapping of keys")]),
    Case("pool entry string", {"nodePools.1": "x86"}, [(K1, "mapping of keys")]),
    # --- unknown and missing keys ------------------------------------------------------------------
    Case("unknown top-level key", {"karpenterr": {}}, [("karpenterr", "unknown key")]),
    Case("unknown cluster key", {"cluster.colour": "blue"}, [("cluster.colour", "unknown key")]),
    Case("unknown vpc key", {"cluster.vpc.nat": "single"}, [("cluster.vpc.nat", "unknown key")]),
    Case("unknown pool key", {f"{P0}.spotratio": 0.5}, [(f"{K0}.spotratio", "unknown key")]),
    Case("unknown limits key", {f"{P0}.limits.gpu": 4}, [(f"{K0}.limits.gpu", "unknown key")]),
    Case(
        "unknown disruption key",
        {f"{P0}.disruption.consolidateAfterr": "1m"},
        [(f"{K0}.disruption.consolidateAfterr", "unknown key")],
    ),
    Case(
        "unknown budget key",
        {f"{P0}.disruption.budgets": [{"nodes": "1", "reason": ["Empty"]}]},
        [(f"{K0}.disruption.budgets[0].reason", "unknown key")],
    ),
    Case(
        "unknown taint key",
        {f"{P0}.taints": [{"key": "a.io/x", "effect": "NoSchedule", "operator": "Equal"}]},
        [(f"{K0}.taints[0].operator", "unknown key")],
    ),
    Case("unknown nodeClass key", {"nodeClass.role": "x"}, [("nodeClass.role", "unknown key")]),
    Case("unknown iam key", {"iam.boundary": "x"}, [("iam.boundary", "unknown key")]),
    Case(
        "unknown resources key",
        {"karpenter.resources.gpu": "1"},
        [("karpenter.resources.gpu", "unknown key")],
    ),
    Case(
        "snake_case key for a camelCase one",
        {"nodeClass.ami_versions": "x"},
        [("nodeClass.ami_versions", "unknown key")],
    ),
    Case("missing region", {"region": DELETE}, [("region", "required key is missing")]),
    Case("missing cluster", {"cluster": DELETE}, [("cluster", "required key is missing")]),
    Case("missing mode", {"cluster.mode": DELETE}, [("cluster.mode", "required key is missing")]),
    Case("missing nodeClass", {"nodeClass": DELETE}, [("nodeClass", "required key is missing")]),
    Case(
        "missing amiVersion",
        {"nodeClass.amiVersion": DELETE},
        [
            (
                "nodeClass.amiVersion",
                "set exactly one of amiVersion (an EKS AMI release, such as v20251120) and amiSelectorTerms",
            )
        ],
    ),
    Case(
        "missing architecture",
        {f"{P0}.architecture": DELETE},
        [(f"{K0}.architecture", "required key is missing")],
    ),
    Case("missing spotRatio", {f"{P1}.spotRatio": DELETE}, [(f"{K1}.spotRatio", "required key is missing")]),
    Case("missing limits", {f"{P0}.limits": DELETE}, [(f"{K0}.limits", "required key is missing")]),
    Case(
        "missing memory limit",
        {f"{P0}.limits.memory": DELETE},
        [(f"{K0}.limits.memory", "required key is missing")],
    ),
    Case(
        "missing budget nodes",
        {f"{P0}.disruption.budgets": [{"reasons": ["Empty"]}]},
        [(f"{K0}.disruption.budgets[0].nodes", "required key is missing")],
    ),
    Case(
        "missing taint effect",
        {f"{P0}.taints": [{"key": "a.io/x"}]},
        [(f"{K0}.taints[0].effect", "required key is missing")],
    ),
    Case(
        "missing principalArn",
        {"cluster.adminAccess.0": {"policy": "AmazonEKSViewPolicy"}},
        [("cluster.adminAccess[0].principalArn", "required key is missing")],
    ),
    # --- ranges ------------------------------------------------------------------------------------
    Case(
        "spotRatio above 1",
        {f"{P1}.spotRatio": 1.5},
        [(f"{K1}.spotRatio", "less than or equal to 1, got 1.5")],
    ),
    Case(
        "spotRatio below 0",
        {f"{P1}.spotRatio": -0.1},
        [(f"{K1}.spotRatio", "greater than or equal to 0, got -0.1")],
    ),
    Case("weight 0", {f"{P0}.weight": 0}, [(f"{K0}.weight", "greater than or equal to 1, got 0")]),
    Case("weight 101", {f"{P0}.weight": 101}, [(f"{K0}.weight", "less than or equal to 100, got 101")]),
    Case("minFamilies 0", {f"{P0}.minFamilies": 0}, [(f"{K0}.minFamilies", "greater than or equal to 1")]),
    Case("minFamilies 51", {f"{P0}.minFamilies": 51}, [(f"{K0}.minFamilies", "less than or equal to 50")]),
    Case(
        "replicas 0", {"karpenter.replicas": 0}, [("karpenter.replicas", "greater than or equal to 1, got 0")]
    ),
    Case("replicas 6", {"karpenter.replicas": 6}, [("karpenter.replicas", "less than or equal to 5, got 6")]),
    Case(
        "root volume 10",
        {"nodeClass.rootVolumeSize": 10},
        [("nodeClass.rootVolumeSize", "greater than or equal to 20")],
    ),
    Case(
        "gpu root volume 20000",
        {"nodeClass.gpuRootVolumeSize": 20000},
        [("nodeClass.gpuRootVolumeSize", "less than or equal to 16384")],
    ),
    Case("cpu limit 0", {f"{P0}.limits.cpu": 0}, [(f"{K0}.limits.cpu", "at least 1 CPU, got 0")]),
    Case("cpu limit 0m", {f"{P0}.limits.cpu": "0m"}, [(f"{K0}.limits.cpu", "more than zero CPUs, got '0m'")]),
    Case(
        "memory limit below 1Gi",
        {f"{P0}.limits.memory": "512Mi"},
        [
            (
                f"{K0}.limits.memory",
                "at least 1Gi (Karpenter could not launch a single node below it), got '512Mi'",
            )
        ],
    ),
    Case(
        "minGeneration 0",
        {f"{P0}.families": DELETE, f"{P0}.categories": ["m"], f"{P0}.minGeneration": 0},
        [(f"{K0}.minGeneration", "greater than or equal to 1")],
    ),
    Case(
        "one AZ",
        {"cluster.vpc.availabilityZones": ["a"]},
        [("cluster.vpc.availabilityZones", "at least 2 items")],
    ),
    Case(
        "five AZs",
        {"cluster.vpc.availabilityZones": ["a", "b", "c", "d", "e"]},
        [("cluster.vpc.availabilityZones", "at most 4 items")],
    ),
    Case(
        "fargate namespaces (removed)",
        {"karpenter.fargateNamespaces": ["apps"]},
        [("karpenter.fargateNamespaces", "label the pods of those namespaces `fargate: enabled`")],
    ),
    Case(
        "controller on the host network",
        {"karpenter.helmValues": {"hostNetwork": True}},
        [("karpenter.helmValues", "refuses host-network pods")],
    ),
    Case("empty nodePools", {"nodePools": []}, [("nodePools", "at least one pool")]),
    Case("empty families", {f"{P0}.families": []}, [(f"{K0}.families", "at least 1 item")]),
    Case(
        "empty budgets", {f"{P0}.disruption.budgets": []}, [(f"{K0}.disruption.budgets", "at least 1 item")]
    ),
    Case(
        "controller cpu too small",
        {"karpenter.resources.cpu": "100m"},
        [("karpenter.resources.cpu", "250m to 16 CPUs (the sizes a Fargate pod can have), got '100m'")],
    ),
    Case(
        "controller cpu too big",
        {"karpenter.resources.cpu": "32"},
        [("karpenter.resources.cpu", "250m to 16 CPUs")],
    ),
    Case(
        "controller cpu in Gi",
        {"karpenter.resources.cpu": "1Gi"},
        [("karpenter.resources.cpu", "a CPU quantity in quotes")],
    ),
    Case(
        "controller cpu unquoted",
        {"karpenter.resources.cpu": 1},
        [("karpenter.resources.cpu", 'write it in quotes with its unit, such as "1", got 1')],
    ),
    Case(
        "controller memory 512 bytes",
        {"karpenter.resources.memory": "512"},
        [("karpenter.resources.memory", "a memory quantity with a unit such as 1Gi or 512Mi, got '512'")],
    ),
    Case(
        "controller memory number",
        {"karpenter.resources.memory": 512},
        [("karpenter.resources.memory", 'such as "512Mi", got 512')],
    ),
    Case(
        "controller memory in millis",
        {"karpenter.resources.memory": "500m"},
        [("karpenter.resources.memory", "with a unit")],
    ),
    Case(
        "controller memory too small",
        {"karpenter.resources.memory": "256Mi"},
        [("karpenter.resources.memory", "512Mi to 120Gi")],
    ),
    Case(
        "controller memory too big",
        {"karpenter.resources.memory": "1Ti"},
        [("karpenter.resources.memory", "512Mi to 120Gi")],
    ),
    # --- names -------------------------------------------------------------------------------------
    Case("uppercase pool name", {f"{P0}.name": "Graviton"}, [(f"{K0}.name", "DNS label")]),
    Case(
        "pool name with underscore",
        {f"{P0}.name": "my_pool"},
        [(f"{K0}.name", "starting and ending alphanumeric, got 'my_pool'")],
    ),
    Case("pool name too long", {f"{P0}.name": "a" * 51}, [(f"{K0}.name", "at most 50 characters")]),
    Case("empty pool name", {f"{P0}.name": ""}, [(f"{K0}.name", "at least 1 character")]),
    Case("reserved pool name", {f"{P0}.name": "pool"}, [(f"{K0}.name", "'pool' is reserved")]),
    Case(
        "repeated pool name",
        {f"{P1}.name": "graviton"},
        [(f"{K1}.name", "repeats the name 'graviton', first listed at [0].name; list each once")],
    ),
    Case("bad cluster name", {"cluster.name": "-dev"}, [("cluster.name", "an EKS cluster name")]),
    Case("cluster name too long", {"cluster.name": "c" * 101}, [("cluster.name", "at most 100")]),
    Case(
        "bad namespace", {"karpenter.namespace": "Karpenter"}, [("karpenter.namespace", "a Kubernetes name")]
    ),
    Case(
        "system namespace",
        {"karpenter.namespace": "kube-system"},
        [("karpenter.namespace", "system namespace")],
    ),
    Case(
        "bad service account",
        {"karpenter.serviceAccount": "my_sa"},
        [("karpenter.serviceAccount", "a Kubernetes name")],
    ),
    Case(
        "bad admin namespace",
        {"cluster.adminAccess.0.namespaces": ["Apps"]},
        [("cluster.adminAccess[0].namespaces[0]", "a Kubernetes name")],
    ),
    Case("bad IAM path", {"iam.path": "platform"}, [("iam.path", "an IAM path that starts and ends with /")]),
    Case("podIdentity", {"karpenter.identity": "podIdentity"}, [("karpenter.identity", "Fargate")]),
    Case(
        "unknown log level",
        {"karpenter.logLevel": "verbose"},
        [("karpenter.logLevel", "must be 'debug', 'info' or 'error'")],
    ),
    Case("unknown mode", {"cluster.mode": "import"}, [("cluster.mode", "must be 'create' or 'adopt'")]),
    Case(
        "unknown nat mode",
        {"cluster.vpc.natGateways": "none"},
        [("cluster.vpc.natGateways", "'single' or 'perAz'")],
    ),
    Case(
        "unknown admin policy",
        {"cluster.adminAccess.0.policy": "Admin"},
        [("cluster.adminAccess[0].policy", "AmazonEKSViewPolicy")],
    ),
    Case(
        "unknown architecture",
        {f"{P0}.architecture": "x86_64"},
        [(f"{K0}.architecture", "'arm64' or 'amd64', got 'x86_64'")],
    ),
    # --- labels and taints -------------------------------------------------------------------------
    Case(
        "label in karpenter.sh",
        {f"{P0}.labels": {"karpenter.sh/team": "a"}},
        [(f"{K0}.labels", "label domain karpenter.sh belongs to Karpenter")],
    ),
    Case(
        "two reserved labels",
        {f"{P0}.labels": {"karpenter.sh/team": "a", "kubernetes.io/arch": "arm64"}},
        [
            (f"{K0}.labels", "karpenter.sh belongs to Karpenter"),
            (f"{K0}.labels", "label kubernetes.io/arch is a well-known label"),
        ],
    ),
    Case("label in k8s.io", {f"{P0}.labels": {"example.k8s.io/x": "y"}}, [(f"{K0}.labels", "domain k8s.io")]),
    Case(
        "label in the spread domain",
        {f"{P0}.labels": {f"{SPREAD_PREFIX}/x": "1"}},
        [(f"{K0}.labels", "reserved for the pool and spread labels")],
    ),
    Case(
        "bad label key and bad label value",
        {f"{P0}.labels": {"Example.com/team": "a", "example.com/tier": "two words"}},
        [
            (f"{K0}.labels", "bad prefix"),
            (f"{K0}.labels", "label example.com/tier has the value 'two words'"),
        ],
    ),
    Case(
        "bad taint effect",
        {f"{P0}.taints": [{"key": "a.io/x", "effect": "NoRun"}]},
        [(f"{K0}.taints[0].effect", "'NoSchedule', 'PreferNoSchedule' or 'NoExecute', got 'NoRun'")],
    ),
    Case(
        "bad taint key",
        {f"{P0}.taints": [{"key": "bad key", "effect": "NoSchedule"}]},
        [(f"{K0}.taints[0].key", "taint key 'bad key'")],
    ),
    Case(
        "taint in karpenter.sh",
        {f"{P0}.taints": [{"key": "karpenter.sh/disrupted", "effect": "NoSchedule"}]},
        [(f"{K0}.taints[0].key", "reserved for Karpenter's own taints")],
    ),
    Case(
        "bad taint value",
        {f"{P0}.taints": [{"key": "a.io/x", "value": "a b", "effect": "NoSchedule"}]},
        [(f"{K0}.taints[0].value", "a taint value is at most 63")],
    ),
    Case(
        "duplicate taint next to a bad taint",
        {
            f"{P0}.taints": [
                {"key": "a.io/x", "effect": "NoSchedule"},
                {"key": "a.io/x", "effect": "NoSchedule"},
                {"key": "a.io/y", "effect": "Never"},
            ]
        },
        [(f"{K0}.taints[2].effect", "got 'Never'")],
    ),
    Case(
        "duplicate taint",
        {f"{P0}.taints": [{"key": "a.io/x", "effect": "NoSchedule"}] * 2},
        [(f"{K0}.taints[1]", "taint a.io/x:NoSchedule is listed twice")],
    ),
    # --- families and categories -------------------------------------------------------------------
    Case(
        "x86 family in an arm64 pool",
        {f"{P0}.families": ["m8g", "m7i"]},
        [(f"{K0}.families[1]", "m7i is an x86 (amd64) family; a Graviton (arm64) pool")],
    ),
    Case(
        "two x86 families in an arm64 pool",
        {f"{P0}.families": ["m8g", "m7i", "c7i"]},
        [(f"{K0}.families[1]", "m7i is an x86"), (f"{K0}.families[2]", "c7i is an x86")],
    ),
    Case(
        "single x86 family in an arm64 pool",
        {f"{P0}.families": ["m7i"]},
        [
            (f"{K0}.families", "lists 1 family but a Spot node needs at least minFamilies (2)"),
            (f"{K0}.families[0]", "m7i is an x86 (amd64) family"),
        ],
    ),
    Case(
        "graviton family in an amd64 pool",
        {f"{P1}.families": ["m7i", "c7gn"]},
        [(f"{K1}.families[1]", "c7gn is a Graviton (arm64) family; an x86 (amd64) pool")],
    ),
    Case(
        "instance type instead of a family",
        {f"{P0}.families": ["m8g.large", "c7g"]},
        [
            (
                f"{K0}.families[0]",
                "m8g.large is an instance type; list instance families, here the family 'm8g'",
            )
        ],
    ),
    Case(
        "uppercase family",
        {f"{P0}.families": ["M8g", "c7g"]},
        [(f"{K0}.families[0]", "lowercase, such as 'm8g'")],
    ),
    Case(
        "not a family",
        {f"{P0}.families": ["graviton4", "c7g"]},
        [(f"{K0}.families[0]", "EC2 instance family such as")],
    ),
    Case("macOS family", {f"{P0}.families": ["mac2", "c7g"]}, [(f"{K0}.families[0]", "macOS")]),
    Case(
        "repeated family",
        {f"{P0}.families": ["m8g", "m8g", "c7g"]},
        [(f"{K0}.families[1]", "repeats 'm8g', first listed at [0]")],
    ),
    Case(
        "repeated family next to a bad one",
        {f"{P0}.families": ["m8g", "m8g", "M7g"]},
        [(f"{K0}.families[1]", "repeats 'm8g'"), (f"{K0}.families[2]", "lowercase")],
    ),
    Case(
        "uppercase family next to an x86 family",
        {f"{P0}.families": ["M8g", "m7i", "c7g"]},
        [
            (f"{K0}.families[0]", "lowercase, such as 'm8g'"),
            (f"{K0}.families[1]", "m7i is an x86 (amd64) family"),
        ],
    ),
    Case(
        "repeated x86 family in an arm64 pool",
        {f"{P0}.families": ["m7i", "m7i", "c7g"]},
        [
            (f"{K0}.families[0]", "m7i is an x86"),
            (f"{K0}.families[1]", "repeats 'm7i'"),
        ],
    ),
    Case(
        "GPU family without gpu",
        {f"{P1}.families": ["g5", "m7i"]},
        [(f"{K1}.families[0]", "g5 is a GPU family; put it in a pool with gpu: nvidia")],
    ),
    Case(
        "gpu amd plus an x86 family in an arm64 pool",
        {f"{P0}.gpu": "amd", f"{P0}.families": ["m8g", "m7i"]},
        [(f"{K0}.gpu", "must be 'nvidia', got 'amd'"), (f"{K0}.families[1]", "m7i is an x86 (amd64) family")],
    ),
    Case(
        "gpu pool with a CPU family",
        {"nodePools.2": pool("gpu", architecture="amd64", gpu="nvidia", families=["g5", "m7i"], spotRatio=0)},
        [("nodePools[2].families[1]", "m7i has no NVIDIA GPU")],
    ),
    Case(
        "gpu pool with AMD GPUs",
        {"nodePools.2": pool("gpu", architecture="amd64", gpu="nvidia", families=["g4ad"], spotRatio=0)},
        [("nodePools[2].families[0]", "AMD Radeon Pro V520")],
    ),
    Case(
        "GPU taint on a gpu pool",
        {
            "nodePools.2": pool(
                "gpu",
                architecture="amd64",
                gpu="nvidia",
                families=["g5"],
                spotRatio=0,
                taints=[{"key": "nvidia.com/gpu", "effect": "NoSchedule"}],
            )
        },
        [("nodePools[2].taints[0]", "get the taint nvidia.com/gpu:NoSchedule already")],
    ),
    Case(
        "families and categories",
        {f"{P0}.categories": ["c", "m"]},
        [
            (f"{K0}.categories", "set exactly one of families"),
            (f"{K0}.minGeneration", "categories need minGeneration"),
        ],
    ),
    Case(
        "neither families nor categories",
        {f"{P0}.families": DELETE},
        [(f"{K0}.families", "set exactly one of families")],
    ),
    Case(
        "categories without minGeneration",
        {f"{P0}.families": DELETE, f"{P0}.categories": ["c", "m"]},
        [(f"{K0}.minGeneration", "categories need minGeneration")],
    ),
    Case(
        "minGeneration with families",
        {f"{P0}.minGeneration": 7},
        [(f"{K0}.minGeneration", "minGeneration goes with categories")],
    ),
    Case(
        "unknown category",
        {f"{P0}.families": DELETE, f"{P0}.categories": ["q"], f"{P0}.minGeneration": 7},
        [(f"{K0}.categories[0]", "got 'q'")],
    ),
    Case(
        "GPU category without gpu",
        {f"{P0}.families": DELETE, f"{P0}.categories": ["c", "p"], f"{P0}.minGeneration": 5},
        [(f"{K0}.categories", "p is a GPU category")],
    ),
    Case(
        "repeated category",
        {f"{P0}.families": DELETE, f"{P0}.categories": ["c", "c"], f"{P0}.minGeneration": 7},
        [(f"{K0}.categories[1]", "repeats 'c'")],
    ),
    Case(
        "minFamilies above the families",
        {f"{P0}.minFamilies": 4},
        [(f"{K0}.families", "lists 3 families but a Spot node needs at least minFamilies (4)")],
    ),
    # --- ratios and weights ------------------------------------------------------------------------
    Case(
        "ratio needing 100 values",
        {f"{P0}.spotRatio": 0.33},
        [(f"{K0}.spotRatio", "nearby ratios that work (Spot:On-Demand values): 0.3 (3:7)")],
    ),
    Case("ratio 0.123", {f"{P0}.spotRatio": 0.123}, [(f"{K0}.spotRatio", "needs 1000 spread values")]),
    Case(
        "ratio within rounding of 0",
        {f"{P0}.spotRatio": 1e-10},
        [(f"{K0}.spotRatio", "within rounding of 0 but not 0; write 0 (On-Demand only)")],
    ),
    Case(
        "ratio within rounding of 1",
        {f"{P0}.spotRatio": 0.9999999999},
        [(f"{K0}.spotRatio", "within rounding of 1 but not 1; write 1 (Spot only)")],
    ),
    Case(
        "ratio NaN",
        {f"{P0}.spotRatio": float("nan")},
        [(f"{K0}.spotRatio", "less than or equal to 1, got nan")],
    ),
    Case(
        "mixed pool with weight 1",
        {f"{P1}.weight": 1},
        [(f"{K1}.weight", "weight 1 leaves no room below it")],
    ),
    Case(
        "colliding NodePool weights",
        {f"{P1}.weight": 99},
        [(f"{K1}.weight", "the NodePools graviton-on-demand and x86-spot would both have weight 99")],
    ),
    Case(
        "repeated name next to a bad weight",
        {f"{P1}.name": "graviton", f"{P1}.weight": "x"},
        [(f"{K1}.name", "repeats the name 'graviton'"), (f"{K1}.weight", "got 'x'")],
    ),
    # --- durations and quantities ------------------------------------------------------------------
    Case(
        "memory as a number",
        {f"{P0}.limits.memory": 800},
        [(f"{K0}.limits.memory", 'a bare number has no unit; write it with one, such as "800Gi", got 800')],
    ),
    Case(
        "memory without unit",
        {f"{P0}.limits.memory": "800"},
        [(f"{K0}.limits.memory", "with a unit such as 800Gi")],
    ),
    Case("memory in millis", {f"{P0}.limits.memory": "800m"}, [(f"{K0}.limits.memory", "with a unit")]),
    Case("cpu not a quantity", {f"{P0}.limits.cpu": "lots"}, [(f"{K0}.limits.cpu", "got 'lots'")]),
    Case(
        "expireAfter as a number",
        {f"{P0}.disruption.expireAfter": 720},
        [(f"{K0}.disruption.expireAfter", 'such as "720h", got 720')],
    ),
    Case(
        "consolidateAfter as a number",
        {f"{P0}.disruption.consolidateAfter": 30},
        [(f"{K0}.disruption.consolidateAfter", 'such as "30m", got 30')],
    ),
    Case(
        "consolidateAfter in days",
        {f"{P0}.disruption.consolidateAfter": "1d"},
        [(f"{K0}.disruption.consolidateAfter", "no days and no decimals")],
    ),
    Case(
        "expireAfter with decimals",
        {f"{P0}.disruption.expireAfter": "1.5h"},
        [(f"{K0}.disruption.expireAfter", "whole hours, minutes and seconds")],
    ),
    Case(
        "expireAfter zero",
        {f"{P0}.disruption.expireAfter": "0s"},
        [(f"{K0}.disruption.expireAfter", "longer than zero")],
    ),
    Case(
        "expireAfter never lowercase",
        {f"{P0}.disruption.expireAfter": "never"},
        [(f"{K0}.disruption.expireAfter", "or Never")],
    ),
    Case(
        "unknown consolidation policy",
        {f"{P0}.disruption.consolidationPolicy": "WhenUnderutilized"},
        [(f"{K0}.disruption.consolidationPolicy", "'WhenEmptyOrUnderutilized' or 'WhenEmpty'")],
    ),
    # --- budgets -----------------------------------------------------------------------------------
    Case(
        "budget nodes above 100%",
        {f"{P0}.disruption.budgets": [{"nodes": "150%"}]},
        [(f"{K0}.disruption.budgets[0].nodes", 'percentage from "0%" to "100%", got \'150%\'')],
    ),
    Case(
        "budget 150% and schedule without duration",
        {f"{P0}.disruption.budgets": [{"nodes": "150%", "schedule": "@daily"}]},
        [
            (f"{K0}.disruption.budgets[0].nodes", "got '150%'"),
            (f"{K0}.disruption.budgets[0].duration", "schedule and duration go together"),
        ],
    ),
    Case(
        "duration without schedule",
        {f"{P0}.disruption.budgets": [{"nodes": "0", "duration": "1h"}]},
        [(f"{K0}.disruption.budgets[0].schedule", "schedule and duration go together")],
    ),
    Case(
        "budget duration in seconds",
        {f"{P0}.disruption.budgets": [{**BUDGET, "duration": "30s"}]},
        [(f"{K0}.disruption.budgets[0].duration", "hours and/or minutes")],
    ),
    Case(
        "budget duration as a number",
        {f"{P0}.disruption.budgets": [{**BUDGET, "duration": 10}]},
        [(f"{K0}.disruption.budgets[0].duration", 'such as "10h", got 10')],
    ),
    Case(
        "cron hour out of range",
        {f"{P0}.disruption.budgets": [{**BUDGET, "schedule": "0 25 * * *"}]},
        [(f"{K0}.disruption.budgets[0].schedule", "hour field takes 0-23")],
    ),
    Case(
        "cron with 6 fields",
        {f"{P0}.disruption.budgets": [{**BUDGET, "schedule": "0 0 8 * * mon"}]},
        [(f"{K0}.disruption.budgets[0].schedule", "5-field cron")],
    ),
    Case(
        "cron with a time zone",
        {f"{P0}.disruption.budgets": [{**BUDGET, "schedule": "CRON_TZ=UTC 0 8 * * *"}]},
        [(f"{K0}.disruption.budgets[0].schedule", "UTC")],
    ),
    Case(
        "cron unknown macro",
        {f"{P0}.disruption.budgets": [{**BUDGET, "schedule": "@sometimes"}]},
        [(f"{K0}.disruption.budgets[0].schedule", "cron macros Karpenter accepts")],
    ),
    Case(
        "cron backwards range",
        {f"{P0}.disruption.budgets": [{**BUDGET, "schedule": "0 8 * * fri-mon"}]},
        [(f"{K0}.disruption.budgets[0].schedule", "runs backwards")],
    ),
    Case(
        "unknown budget reason",
        {f"{P0}.disruption.budgets": [{"nodes": "1", "reasons": ["Expired"]}]},
        [(f"{K0}.disruption.budgets[0].reasons[0]", "'Underutilized', 'Empty' or 'Drifted', got 'Expired'")],
    ),
    Case(
        "repeated budget reason",
        {f"{P0}.disruption.budgets": [{"nodes": "1", "reasons": ["Empty", "Empty"]}]},
        [(f"{K0}.disruption.budgets[0].reasons[1]", "repeats 'Empty'")],
    ),
    Case(
        "two bad budgets",
        {f"{P0}.disruption.budgets": [{"nodes": "x"}, {"nodes": "1", "schedule": "@daily"}]},
        [
            (f"{K0}.disruption.budgets[0].nodes", "got 'x'"),
            (f"{K0}.disruption.budgets[1].duration", "go together"),
        ],
    ),
    # --- ARNs --------------------------------------------------------------------------------------
    Case(
        "principal not an ARN",
        {"cluster.adminAccess.0.principalArn": "platform-admins"},
        [("cluster.adminAccess[0].principalArn", "an IAM role or user ARN")],
    ),
    Case(
        "STS session ARN",
        {"cluster.adminAccess.0.principalArn": "arn:aws:sts::123456789012:assumed-role/admins/me"},
        [("cluster.adminAccess[0].principalArn", "use the role's ARN")],
    ),
    Case(
        "repeated principal",
        {"cluster.adminAccess.1": {"principalArn": "arn:aws:iam::123456789012:role/platform-admins"}},
        [
            (
                "cluster.adminAccess[1].principalArn",
                "repeats the principal 'arn:aws:iam::123456789012:role/platform-admins'",
            )
        ],
    ),
    Case(
        "bad boundary ARN",
        {"iam.permissionsBoundaryArn": "arn:aws:iam::123456789012:role/x"},
        [("iam.permissionsBoundaryArn", "an IAM policy ARN")],
    ),
    Case(
        "standard node policy as extra",
        {"iam.extraNodePolicyArns": ["arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"]},
        [("iam.extraNodePolicyArns", "AmazonEKSWorkerNodePolicy is attached to the node role already")],
    ),
    Case(
        "two extra policies with one name",
        {"iam.extraNodePolicyArns": ["arn:aws:iam::aws:policy/A", "arn:aws:iam::123456789012:policy/A"]},
        [("iam.extraNodePolicyArns", "two policies named A")],
    ),
    Case(
        "ARN of another partition",
        {"region": "cn-north-1", "cluster.vpc.availabilityZones": ["a", "b"]},
        [
            (
                "cluster.adminAccess[0].principalArn",
                "is an ARN of partition aws, but region cn-north-1 is in partition aws-cn",
            ),
            ("cluster.adminAccess[1].principalArn", "partition aws-cn"),
            ("karpenter.chartRepository", "is required in region cn-north-1 (partition aws-cn)"),
            ("addons.loadBalancerController.enabled", "is not available in partition aws-cn"),
        ],
    ),
    Case(
        "partition error next to range errors",
        {
            "region": "cn-north-1",
            "cluster.vpc.availabilityZones": ["a", "b"],
            f"{P0}.weight": 500,
            "karpenter.replicas": 9,
        },
        [
            ("cluster.adminAccess[0].principalArn", "partition aws-cn"),
            ("cluster.adminAccess[1].principalArn", "partition aws-cn"),
            ("karpenter.chartRepository", "is required in region cn-north-1"),
            ("addons.loadBalancerController.enabled", "is not available in partition aws-cn"),
            (f"{K0}.weight", "got 500"),
            ("karpenter.replicas", "got 9"),
        ],
    ),
    Case(
        "GovCloud principal in a commercial region",
        {"cluster.adminAccess.0.principalArn": GOV_ARN},
        [
            (
                "cluster.adminAccess[0].principalArn",
                "is an ARN of partition aws-us-gov, but region eu-west-1 is in partition aws",
            )
        ],
    ),
    Case(
        "China policy in a commercial region",
        {"iam.extraNodePolicyArns": [CN_POLICY]},
        [("iam.extraNodePolicyArns[0]", "partition aws-cn")],
    ),
    # --- CIDRs -------------------------------------------------------------------------------------
    Case(
        "VPC CIDR with host bits",
        {"cluster.vpc.cidr": "10.0.0.1/16"},
        [("cluster.vpc.cidr", "has host bits set; write the network address 10.0.0.0/16")],
    ),
    Case("VPC CIDR too big", {"cluster.vpc.cidr": "10.0.0.0/8"}, [("cluster.vpc.cidr", "/16 to /20")]),
    Case("VPC CIDR public", {"cluster.vpc.cidr": "8.8.0.0/16"}, [("cluster.vpc.cidr", "private (RFC 1918)")]),
    Case(
        "VPC CIDR not a network",
        {"cluster.vpc.cidr": "ten"},
        [("cluster.vpc.cidr", "CIDR notation such as 10.0.0.0/16, got 'ten'")],
    ),
    Case(
        "VPC CIDR as a number",
        {"cluster.vpc.cidr": 10},
        [("cluster.vpc.cidr", "CIDR notation such as 10.0.0.0/16, got 10")],
    ),
    Case(
        "public access CIDR with host bits",
        {"cluster.publicAccessCidrs": ["203.0.113.7/24"]},
        [("cluster.publicAccessCidrs[0]", "write the network address 203.0.113.0/24")],
    ),
    Case(
        "public access CIDRs empty",
        {"cluster.publicAccessCidrs": []},
        [("cluster.publicAccessCidrs", "at least 1 item")],
    ),
    # --- AZs ---------------------------------------------------------------------------------------
    Case(
        "AZ letter out of range",
        {"cluster.vpc.availabilityZones": ["a", "h"]},
        [("cluster.vpc.availabilityZones[1]", "one letter from a to g, got 'h'")],
    ),
    Case(
        "AZ full name",
        {"cluster.vpc.availabilityZones": ["eu-west-1a", "b"]},
        [("cluster.vpc.availabilityZones[0]", "one letter from a to g")],
    ),
    Case(
        "repeated AZ",
        {"cluster.vpc.availabilityZones": ["a", "a"]},
        [("cluster.vpc.availabilityZones[1]", "repeats 'a'")],
    ),
    # --- modes -------------------------------------------------------------------------------------
    Case(
        "existing in create mode",
        {"cluster.existing": {"createOidcProvider": True}},
        [("cluster.existing", "is for mode adopt")],
    ),
    Case("vpc in adopt mode", {"cluster.mode": "adopt"}, [("cluster.vpc", "is for mode create")]),
    Case(
        "create mode, existing, latest AMI, bad Kubernetes version",
        {"cluster.existing": {}, "nodeClass.allowLatestAmi": False, "cluster.kubernetesVersion": "1.99"},
        [
            ("cluster.existing", "is for mode adopt"),
            (
                "cluster.kubernetesVersion",
                "a Kubernetes minor version in quotes, such as \"1.34\", got '1.99'",
            ),
            ("nodeClass.amiVersion", "amiVersion latest is refused unless allowLatestAmi is true"),
        ],
    ),
    Case(
        "add-on versions: another Kubernetes version needs kube-proxy's, of its minor version",
        {"cluster.kubernetesVersion": "1.35", "cluster.addonVersions": {"vpcCni": "v1.20"}},
        [
            ("cluster.addonVersions.vpcCni", "an EKS add-on version such as"),
            (
                "cluster.addonVersions.kubeProxy",
                "is required with kubernetesVersion 1.35 (defaults exist for 1.34)",
            ),
        ],
    ),
    Case(
        "add-on versions: kube-proxy of another minor version",
        {"cluster.addonVersions": {"kubeProxy": "v1.33.3-eksbuild.1"}},
        [
            (
                "cluster.addonVersions.kubeProxy",
                "must be a v1.34.x version: kube-proxy follows the control plane",
            )
        ],
    ),
    Case(
        "add-on versions in adopt mode",
        {"cluster.mode": "adopt", "cluster.vpc": DELETE, "cluster.addonVersions": {}},
        [("cluster.addonVersions", "is for mode create")],
    ),
    Case(
        "bad subnet ID",
        {
            "cluster.mode": "adopt",
            "cluster.vpc": DELETE,
            "cluster.existing": {"privateSubnetIds": ["subnet-xyz"]},
        },
        [("cluster.existing.privateSubnetIds[0]", "a subnet ID such as")],
    ),
    Case(
        "repeated subnet",
        {
            "cluster.mode": "adopt",
            "cluster.vpc": DELETE,
            "cluster.existing": {"privateSubnetIds": ["subnet-0a1b2c3d", "subnet-0a1b2c3d"]},
        },
        [("cluster.existing.privateSubnetIds[1]", "repeats 'subnet-0a1b2c3d'")],
    ),
    Case(
        "bad security group",
        {"cluster.mode": "adopt", "cluster.vpc": DELETE, "cluster.existing": {"securityGroupId": "sg-1"}},
        [("cluster.existing.securityGroupId", "a security group ID")],
    ),
    # --- versions ----------------------------------------------------------------------------------
    Case("Karpenter version below 1.0", {"karpenter.version": "0.37.0"}, [("karpenter.version", "v1 API")]),
    Case(
        "Karpenter release the program does not carry",
        {"karpenter.version": "1.14.2"},
        [
            (
                "karpenter.version",
                "is a release this program does not carry; it supports 1.14.1 (the controller's",
            )
        ],
    ),
    Case(
        "Karpenter version with v", {"karpenter.version": "v1.14.1"}, [("karpenter.version", "no leading v")]
    ),
    Case(
        "Karpenter version two parts",
        {"karpenter.version": "1.14"},
        [("karpenter.version", "a release number such as 1.14.1")],
    ),
    Case(
        "Kubernetes version too old",
        {"cluster.kubernetesVersion": "1.27"},
        [("cluster.kubernetesVersion", "got '1.27'")],
    ),
    Case(
        "AMI version without v",
        {"nodeClass.amiVersion": "20251120"},
        [("nodeClass.amiVersion", "such as v20251120")],
    ),
    Case(
        "AMI latest not allowed",
        {"nodeClass.allowLatestAmi": False},
        [("nodeClass.amiVersion", "production should pin a release")],
    ),
    Case("bad region", {"region": "europe-west1"}, [("region", "an AWS region code such as eu-west-1")]),
    # --- tags --------------------------------------------------------------------------------------
    Case(
        "node class tag Karpenter sets",
        {"nodeClass.tags": {"karpenter.sh/nodepool": "x"}},
        [("nodeClass.tags", "one Karpenter sets itself")],
    ),
    Case(
        "two bad node class tags",
        {"nodeClass.tags": {"aws:team": "x", "kubernetes.io/cluster/x": "owned"}},
        [
            ("nodeClass.tags", "aws: prefix"),
            ("nodeClass.tags", "tag kubernetes.io/cluster/x is one Karpenter sets itself"),
        ],
    ),
    Case(
        "tag key too long",
        {"tags": {"k" * 129: "v"}},
        [("tags", "key: string should have at most 128 characters")],
    ),
    # --- Helm values -------------------------------------------------------------------------------
    Case(
        "unknown Helm value",
        {"karpenter.helmValues": {"replica": 3}},
        [("karpenter.helmValues.replica", "is not a value of the karpenter chart 1.14.1")],
    ),
    Case(
        "unknown nested Helm value",
        {"karpenter.helmValues": {"settings": {"batchMaxDurtion": "5s"}}},
        [("karpenter.helmValues.settings.batchMaxDurtion", "not a value of the karpenter chart")],
    ),
    Case(
        "two unknown Helm values",
        {"karpenter.helmValues": {"controller": {"resource": {}}, "podAnnotation": {}}},
        [
            ("karpenter.helmValues.controller.resource", "not a value"),
            ("karpenter.helmValues.podAnnotation", "not a value"),
        ],
    ),
    Case(
        "Helm override of a program-owned value",
        {"karpenter.helmValues": {"serviceAccount": {"name": "other"}}},
        [("karpenter.helmValues", "serviceAccount.name")],
    ),
    Case(
        "Helm override removing settings",
        {"karpenter.helmValues": {"settings": None}},
        [("karpenter.helmValues", "settings.interruptionQueue")],
    ),
    Case(
        "Helm values not a mapping",
        {"karpenter.helmValues": ["replicas=3"]},
        [("karpenter.helmValues", "mapping of keys")],
    ),
    # --- several mistakes at once ------------------------------------------------------------------
    Case(
        "three sections at once",
        {"karpenter.replicas": 0, f"{P1}.spotRatio": 1.5, "cluster.colour": "blue"},
        [("cluster.colour", "unknown key"), ("karpenter.replicas", "got 0"), (f"{K1}.spotRatio", "got 1.5")],
    ),
    Case(
        "both pools broken",
        {f"{P0}.families": ["m7i", "c7g"], f"{P1}.families": ["c7g", "m7i"]},
        [(f"{K0}.families[0]", "m7i is an x86"), (f"{K1}.families[0]", "c7g is a Graviton")],
    ),
    Case(
        "every pool key wrong",
        {
            P0: {
                "name": "A",
                "architecture": "sparc",
                "spotRatio": True,
                "weight": 0,
                "limits": {"cpu": 0, "memory": 1},
            }
        },
        [
            (f"{K0}.name", "DNS label"),
            (f"{K0}.architecture", "got 'sparc'"),
            (f"{K0}.spotRatio", "got true"),
            (f"{K0}.weight", "got 0"),
            (f"{K0}.limits.cpu", "at least 1 CPU"),
            (f"{K0}.limits.memory", '"1Gi", got 1'),
            (f"{K0}.families", "set exactly one of families"),
        ],
    ),
    Case(
        "bad ratio and reserved label and bad taint",
        {
            f"{P0}.spotRatio": 0.33,
            f"{P0}.labels": {"karpenter.sh/x": "1"},
            f"{P0}.taints": [{"key": "a.io/x", "effect": "Nope"}],
        },
        [
            (f"{K0}.spotRatio", "nearby ratios"),
            (f"{K0}.labels", "karpenter.sh belongs to Karpenter"),
            (f"{K0}.taints[0].effect", "got 'Nope'"),
        ],
    ),
    Case(
        "CIDR, AZs and NAT at once",
        {"cluster.vpc": {"cidr": "10.0.0.1/16", "availabilityZones": ["a", "z"], "natGateways": "many"}},
        [
            ("cluster.vpc.cidr", "host bits"),
            ("cluster.vpc.availabilityZones[1]", "got 'z'"),
            ("cluster.vpc.natGateways", "got 'many'"),
        ],
    ),
    Case(
        "duplicate names, weights and a missing key",
        {f"{P1}.name": "graviton", f"{P1}.limits": DELETE},
        [(f"{K1}.name", "repeats the name 'graviton'"), (f"{K1}.limits", "required key is missing")],
    ),
    Case(
        "controller sized wrong twice",
        {"karpenter.resources": {"cpu": "64", "memory": "512"}},
        [("karpenter.resources.cpu", "250m to 16 CPUs"), ("karpenter.resources.memory", "got '512'")],
    ),
]

VALID: list[Case] = [
    Case("the dev stack as it is", {}),
    Case("spotRatio 0", {f"{P0}.spotRatio": 0}),
    Case("spotRatio 1", {f"{P0}.spotRatio": 1}),
    Case("spotRatio 1.0", {f"{P0}.spotRatio": 1.0}),
    Case("spotRatio 0.1", {f"{P0}.spotRatio": 0.1}),
    Case("spotRatio 0.9", {f"{P0}.spotRatio": 0.9}),
    Case("spotRatio 0.125", {f"{P0}.spotRatio": 0.125}),
    Case("spotRatio 0.75", {f"{P0}.spotRatio": 0.75}),
    Case("single family On-Demand pool", {f"{P1}.families": ["m7i"], f"{P1}.spotRatio": 0}),
    Case("minFamilies 1 with one family", {f"{P0}.families": ["m8g"], f"{P0}.minFamilies": 1}),
    Case(
        "categories pool",
        {f"{P0}.families": DELETE, f"{P0}.categories": ["c", "m", "r"], f"{P0}.minGeneration": 7},
    ),
    Case("cpu as a quantity", {f"{P0}.limits.cpu": "1500m"}),
    Case("memory in Ti", {f"{P0}.limits.memory": "2Ti"}),
    Case(
        "budget nodes as a number",
        {f"{P0}.disruption.budgets": [{"nodes": 0, "schedule": "@daily", "duration": "8h"}]},
    ),
    Case(
        "budget with reasons",
        {f"{P0}.disruption.budgets": [BUDGET | {"reasons": ["Drifted"]}, {"nodes": "10%"}]},
    ),
    Case("expireAfter Never", {f"{P0}.disruption.expireAfter": "Never"}),
    Case("consolidateAfter Never", {f"{P0}.disruption.consolidateAfter": "Never"}),
    Case("allowed labels", {f"{P0}.labels": {"example.com/team": "a", "node.kubernetes.io/lifecycle": "x"}}),
    Case(
        "taints", {f"{P0}.taints": [{"key": "example.com/dedicated", "value": "ci", "effect": "NoSchedule"}]}
    ),
    Case("weight 1 for a Spot-only pool", {f"{P1}.weight": 1, f"{P1}.spotRatio": 1}),
    Case(
        "gpu pool",
        {
            "nodePools.2": pool(
                "gpu", architecture="amd64", gpu="nvidia", families=["g5", "g4dn"], spotRatio=0
            )
        },
    ),
    Case("pinned AMI", {"nodeClass.amiVersion": "v20251120", "nodeClass.allowLatestAmi": False}),
    Case(
        "free Helm values",
        {
            "karpenter.helmValues": {
                "podAnnotations": {"a": "b"},
                "settings": {"featureGates": {"futureGate": True}},
                "nodeSelector": {"x": "y"},
            }
        },
    ),
    Case("controller sized", {"karpenter.resources": {"cpu": "500m", "memory": "512Mi"}}),
    Case("CIDR /20", {"cluster.vpc.cidr": "172.16.0.0/20"}),
    Case("four AZs", {"cluster.vpc.availabilityZones": ["a", "b", "c", "d"]}),
]


def _problems(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as refused:
        parse_stack_config(values)
    return refused.value.problems


def assert_lines(problems: list[str], expected: list[tuple[str, str]]) -> None:
    """Every expected problem appears (its key path, then the fragment), and nothing else."""
    remaining = list(problems)
    for key, fragment in expected:
        match = [p for p in remaining if p.startswith(f"{key}: ") and fragment in p]
        assert match, f"no line `{key}: ...{fragment}...` in {problems}"
        remaining.remove(match[0])
    assert remaining == [], f"unexpected lines: {remaining}"
    for line in problems:
        assert "Traceback" not in line and "^" not in line and "\\d" not in line, line  # no raw regex
        assert ".int:" not in line and ".str:" not in line and "function-" not in line, line


def test_the_table_has_150_bad_stack_files() -> None:
    assert len(BAD) >= 150
    assert len({c.id for c in BAD + VALID}) == len(BAD) + len(VALID)


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_bad_stack_file_lists_every_problem(case: Case) -> None:
    assert_lines(_problems(apply(stack_values("dev"), case.changes)), case.expected)


def _karpenter_objects(values: dict[str, Any]) -> list[dict[str, Any]]:
    cfg = parse_stack_config(values)
    classes = node_classes(cfg.node_class, cfg.node_classes, cfg.node_pools)
    objects = [
        node_class_manifest(
            name=name,
            cluster_name=cfg.cluster.name,
            instance_profile=f"{cfg.cluster.name}-node",
            node_class=spec,
            root_volume_gib=size,
        )
        for name, (spec, size) in classes.items()
    ]
    for p in cfg.node_pools:
        objects += node_pool_manifests(p, node_class_name=node_class_name(p), spread_prefix=SPREAD_PREFIX)
    return objects


@pytest.mark.parametrize("case", VALID, ids=[c.id for c in VALID])
def test_valid_edge_case_renders_crd_valid_objects(case: Case) -> None:
    objects = _karpenter_objects(apply(stack_values("dev"), case.changes))
    crds = {
        "NodePool": shared_file("crds/karpenter.sh_nodepools.yaml"),
        "EC2NodeClass": shared_file("crds/karpenter.k8s.aws_ec2nodeclasses.yaml"),
    }
    for doc in objects:
        report = check_against_crd(doc, crds[doc["kind"]])
        assert report.errors == [], (doc["metadata"]["name"], report.errors)
        assert report.rules_evaluated > 0


PROGRAM_RUNS = [
    "spotRatio true",
    "limits.cpu true",
    "ratio within rounding of 0",
    "controller memory 512 bytes",
    "gpu amd plus an x86 family in an arm64 pool",
    "create mode, existing, latest AMI, bad Kubernetes version",
    "partition error next to range errors",
    "repeated name next to a bad weight",
    "unknown nested Helm value",
    "VPC CIDR with host bits",
    "every pool key wrong",
]


@pytest.mark.parametrize("case_id", PROGRAM_RUNS)
def test_the_program_refuses_before_registering_anything(case_id: str) -> None:
    [case] = [c for c in BAD if c.id == case_id]
    with pytest.raises(ConfigError) as refused:
        render(apply(stack_values("dev"), case.changes))
    assert_lines(refused.value.problems, case.expected)
    assert {r.type for r in refused.value.registered} <= {"pulumi:pulumi:Stack", "pulumi:providers:aws"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("case_id", ["spotRatio 0.1", "categories pool", "gpu pool", "free Helm values"])
def test_the_program_renders_valid_edge_cases(case_id: str) -> None:
    [case] = [c for c in VALID if c.id == case_id]
    plan = render(apply(stack_values("dev"), case.changes))
    kinds = {r.inputs.get("kind") for r in plan.resources if r.type.startswith("kubernetes:karpenter")}
    assert kinds == {"NodePool", "EC2NodeClass"}


RATIOS = [i / 100 for i in range(101)] + [1e-10, 1e-9, 0.9999999999, 0.5 + 1e-12, 0.125, 0.375, 0.875]


def test_every_accepted_ratio_renders_crd_valid_node_pools_and_the_rest_is_refused() -> None:
    crd = shared_file("crds/karpenter.sh_nodepools.yaml")
    accepted = []
    for ratio in RATIOS:
        values = apply(stack_values("dev"), {f"{P0}.spotRatio": ratio})
        try:
            cfg = parse_stack_config(values)
        except ConfigError as refused:
            assert [p.split(":")[0] for p in refused.problems] == [f"{K0}.spotRatio"], (
                ratio,
                refused.problems,
            )
            continue
        accepted.append(ratio)
        for doc in node_pool_manifests(
            cfg.node_pools[0], node_class_name="default", spread_prefix=SPREAD_PREFIX
        ):
            assert check_against_crd(doc, crd).errors == [], (ratio, doc["metadata"]["name"])
    assert {0.0, 0.1, 0.25, 0.5, 0.7, 0.75, 1.0, 0.125} <= set(accepted)
    assert not {1e-10, 1e-9, 0.9999999999, 0.33} & set(accepted)


def test_no_pattern_of_the_models_is_shown_raw() -> None:
    from config.base import PATTERN_HINTS
    from config.stack import StackConfig

    patterns: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                patterns.append(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(StackConfig.model_json_schema(by_alias=True))
    assert patterns and all(p in PATTERN_HINTS for p in patterns), set(patterns) - set(PATTERN_HINTS)
