"""Every resource input and data-source argument the rendered plans record (every `Pulumi.<stack>.yaml`,
tests/stacks/Pulumi.everything.yaml, and a dev variant taking the branches none of them takes), against the
pinned providers' schemas (pulumi-aws 7.51.1, pulumi-kubernetes 4.34.2, pulumi-eks 4.4.0). The mocks
accept anything, so this is what catches a misspelt argument, a missing required input or a bad enum
value before `pulumi up` does.
How schemas are found (shared files first, the pinned SDK's rebuild for tokens they do not detail) and how
nulls count: tests/support/provider_schema.py.

Which resources, and how:
- custom resources of aws, kubernetes and eks: type token in the schema; inputs against `inputProperties`,
  `requiredInputs`, enums and nested `types`, recursively;
- provider resources (`pulumi:providers:aws|kubernetes`): the token names a pinned package; inputs against
  the schema's `provider` section (config values arrive JSON-encoded and are decoded first);
- remote components a provider implements (`eks:index:Cluster`, `kubernetes:yaml/v2:ConfigFile`): registered
  as components but their inputs go to the provider's Construct, so they are checked like resources. What a
  ConfigFile's file holds is applied by the provider at deploy; under mocks it registers no children;
- Kubernetes custom resources (Karpenter's NodePool, EC2NodeClass): no provider schema has them (the shared
  files list them under `notInSchema`); their schema is the CRD, so the token must name a served version and
  kind of a pinned Karpenter CRD, and the whole object (metadata included) is validated against that CRD
  (tests/support/crd_validation.py: structure, enums, patterns and CEL rules);
- the program's own components (`karpenter-eks:*`) and the stack: no provider sees them; skipped.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.plan import Plan, RecordedResource
from harness.runner import run_program
from harness.stack_files import ROOT
from tests.support import provider_schema as ps
from tests.support.crd_validation import load_crd, validate_against_crd
from tests.support.render import render, stack_values
from tests.support.stacks import ALL_STACKS, stack_plan

CRDS = ROOT.parent / "shared" / "karpenter" / "1.14.1" / "crds"


@pytest.fixture(scope="module", autouse=True)
def _shared_present() -> None:
    for path in (ps.SCHEMAS, CRDS):
        if not path.exists():
            pytest.skip(f"reference data {path} is absent (../shared is not next to this checkout)")


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    """Every stack of the project (the example stacks and any a user added), the everything stack, and a
    dev variant."""
    # The branches none of the stacks takes: a namespace-scoped access policy, Karpenter-managed instance
    # profiles (`spec.role`) and a GPU pool (its own EC2NodeClass and taints).
    variants = stack_values("dev")
    variants["cluster"]["adminAccess"][0]["namespaces"] = ["default", "apps"]
    variants["iam"] = {"karpenterManagesInstanceProfiles": True}
    variants["nodePools"].append(
        {
            "name": "gpu",
            "architecture": "amd64",
            "gpu": "nvidia",
            "families": ["g5", "g4dn"],
            "spotRatio": 0.25,
            "weight": 10,
            "limits": {"cpu": 64, "memory": "256Gi"},
            "taints": [{"key": "example.com/team", "value": "ml", "effect": "NoSchedule"}],
        }
    )
    return {**{stack: stack_plan(stack) for stack in ALL_STACKS}, "dev-variants": render(variants)}


def crd_for(token: str) -> Path | None:
    """The pinned Karpenter CRD serving `kubernetes:<group>/<version>:<Kind>`, if any."""
    _, api_version, kind = token.split(":")
    for path in sorted(CRDS.glob("*.yaml")):
        crd = load_crd(path)
        served = {f"{crd['spec']['group']}/{v['name']}" for v in crd["spec"]["versions"] if v.get("served")}
        if crd["spec"]["names"]["kind"] == kind and api_version in served:
            return path
    return None


def check_resource(resource: RecordedResource) -> tuple[str, list[str], ps.Checker | None]:
    """(how the resource was treated, its problems, the checker that compared its inputs)."""
    token = resource.type
    package = ps.package_of(token)
    if package not in ps.PINNED:
        return "not a provider's", [], None
    if (
        package == "kubernetes"
        and not token.startswith("pulumi:")
        and token not in ps.shared_schema("kubernetes")["allResources"]
    ):
        crd = crd_for(token)
        if crd is None:
            return (
                "custom resource",
                [f"{token}: neither the provider nor a pinned CRD knows this type"],
                None,
            )
        manifest = dict(resource.inputs)
        problems = validate_against_crd(manifest, crd)
        if token != f"kubernetes:{manifest.get('apiVersion')}:{manifest.get('kind')}":
            problems.insert(
                0, f"{token}: apiVersion/kind are {manifest.get('apiVersion')}/{manifest.get('kind')}"
            )
        return "custom resource", problems, None
    schema = ps.schema_for(token)
    if schema is None:
        return "unknown", [f"{token}: no such type in {ps.PINNED[package]}"], None
    checker = ps.Checker(schema.types, resource.unknowns)
    checker.check_object(
        resource.inputs, schema.spec.get("inputProperties", {}), schema.spec.get("requiredInputs", []), ""
    )
    return schema.source, checker.problems, checker


def test_every_resource_the_plans_register_matches_its_providers_schema(plans: dict[str, Plan]) -> None:
    problems: list[str] = []
    treated: Counter[str] = Counter()
    tokens: dict[str, set[str]] = {}
    values = enums = 0
    for stack, plan in plans.items():
        for resource in plan.resources:
            how, found, checker = check_resource(resource)
            treated[how] += 1
            tokens.setdefault(how, set()).add(resource.type)
            problems += [f"{stack} {resource.type} {resource.name}: {p}" for p in found]
            if checker is not None:
                values, enums = values + checker.checked, enums + checker.enums
    assert not problems, "\n".join(problems)
    # What was compared, so a checker that silently compares nothing cannot pass.
    assert treated["unknown"] == 0
    assert treated["shared"] >= 200 and treated["sdk"] >= 40 and treated["provider"] == 2 * len(plans), (
        treated
    )
    assert tokens["custom resource"] >= {
        "kubernetes:karpenter.sh/v1:NodePool",
        "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
    }
    assert {
        "eks:index:Cluster",
        "kubernetes:yaml/v2:ConfigFile",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        "kubernetes:storage.k8s.io/v1:StorageClass",
    } <= tokens["shared"] | tokens["sdk"]
    assert values >= 1200 and enums >= 50, (values, enums)


def test_every_data_source_call_matches_its_schema(plans: dict[str, Plan]) -> None:
    problems: list[str] = []
    calls = 0
    tokens: set[str] = set()
    for stack, plan in plans.items():
        assert [t for t, _ in plan.invoke_args] == [t for t, _ in plan.invokes]
        for token, args in plan.invoke_args:
            calls += 1
            tokens.add(token)
            schema = ps.function_schema_for(token)
            if schema is None:
                problems.append(
                    f"{stack} {token}: no such data source in {ps.PINNED.get(ps.package_of(token))}"
                )
                continue
            checker = ps.Checker(schema.types)
            # Which aws arguments are required is unknown (tests/support/provider_schema.py): names and types
            # only.
            checker.check_object(args, schema.spec["properties"], schema.spec.get("required", []), "")
            problems += [f"{stack} {token}: {p}" for p in checker.problems]
    assert not problems, "\n".join(problems)
    assert calls >= 20 and len(tokens) >= 9, (calls, sorted(tokens))


def shape(spec: dict[str, Any], types: dict[str, Any], depth: int = 0) -> Any:
    """A schema entry with `$ref`s followed, as comparable plain data (names, required, enums, kinds)."""
    if depth > 6:
        return "..."
    if "$ref" in spec:
        ref = spec["$ref"]
        if not ref.startswith("#/types/"):
            # pulumi.json#/Any, or another package's type: eks' schema.json refers to aws types by URL
            # (`/aws/v7.x/schema.json#/types/...`) where the SDK has classes; `same` compares them as opaque.
            return "any"
        spec = types[ref.removeprefix("#/types/")]
    if "oneOf" in spec:
        return sorted(json.dumps(shape(s, types, depth + 1), sort_keys=True) for s in spec["oneOf"])
    if "const" in spec:
        return {"const": spec["const"]}
    if "enum" in spec:
        return {"enum": sorted({e["value"] for e in spec["enum"]})}  # eks lists AL2023 twice (two names)
    if "properties" in spec:
        return {
            "properties": {k: shape(v, types, depth + 1) for k, v in sorted(spec["properties"].items())},
            "required": sorted(spec.get("required", [])),
        }
    if spec.get("type") == "array":
        return [shape(spec.get("items", ps.ANY), types, depth + 1)]
    if spec.get("type") == "object":
        return {"map": shape(spec.get("additionalProperties", ps.ANY), types, depth + 1)}
    return spec.get("type", "any")


def same(ours: Any, theirs: Any) -> bool:
    """Shapes equal, where the shared file's opaque "any" (another package's type) matches anything."""
    if theirs == "any":
        return True
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return ours.keys() == theirs.keys() and all(same(ours[k], theirs[k]) for k in ours)
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return False
        if all(isinstance(x, str) and x.startswith(("{", "[", '"')) for x in ours + theirs):  # oneOf members
            return all(same(json.loads(a), json.loads(b)) for a, b in zip(ours, theirs, strict=True))
        return all(same(a, b) for a, b in zip(ours, theirs, strict=True))
    return bool(ours == theirs)


def test_the_sdk_rebuild_equals_the_shared_schemas_wherever_both_describe_a_type() -> None:
    """The rebuild from the pinned SDK stands in for the shared files where they are silent; on every
    resource and data source they do describe, it must say exactly what they say."""
    compared = 0
    for package in ps.PINNED:
        shared = ps.shared_schema(package)
        for token, entry in shared["resources"].items():
            rebuilt = ps.sdk_resource(package, token)
            assert rebuilt is not None, token
            ours, types = rebuilt
            theirs = {"properties": entry["inputProperties"], "required": entry.get("requiredInputs", [])}
            mine = {"properties": ours["inputProperties"], "required": ours["requiredInputs"]}
            assert same(shape(mine, types), shape(theirs, shared["types"])), token
            compared += 1
        for token, entry in shared["functions"].items():
            rebuilt_fn = ps.sdk_function(package, token)
            assert rebuilt_fn is not None, token
            assert shape(rebuilt_fn[0]["inputs"], rebuilt_fn[1]) == shape(entry["inputs"], shared["types"]), (
                token
            )
            compared += 1
    assert compared >= 25


# --- the checker finds what it is for (the plans are clean, so these prove it can fail) -----------------


def _resource(token: str, inputs: dict[str, Any], unknowns: list[str] | None = None) -> RecordedResource:
    return RecordedResource(
        urn=f"urn:pulumi:test::p::{token}::x",
        type=token,
        name="x",
        custom=True,
        parent=None,
        dependencies=[],
        property_dependencies={},
        provider=None,
        protect=False,
        retain_on_delete=False,
        inputs=inputs,
        unknowns=unknowns or [],
    )


def test_the_checker_refuses_unknown_inputs_missing_required_ones_and_bad_enums() -> None:
    _, problems, _ = check_resource(
        _resource(
            "aws:eks/fargateProfile:FargateProfile",
            {
                "clusterName": "c",
                "podExecutionRoleArn": "arn",
                "subnetIds": ["s"],
                "selectors": [{"namespace": "kube-system", "label": {"a": "b"}}, {"labels": {"a": "b"}}],
                "fargateProfileNames": "x",
            },
        )
    )
    assert problems == [
        "selectors[0].label: no such input (known: labels, namespace)",
        "selectors[1].namespace: required, missing",
        "fargateProfileNames: no such input (known: clusterName, fargateProfileName, podExecutionRoleArn, "
        "region, selectors, subnetIds, tags)",
    ]
    _, problems, _ = check_resource(
        _resource(
            "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
            {
                "clusterName": "c",
                "principalArn": "p",
                "accessScope": {"type": "namespaces", "namespaces": 3},
            },
        )
    )
    assert problems == ["policyArn: required, missing", "accessScope.namespaces: expected a list, got 3"]
    _, problems, _ = check_resource(
        _resource(
            "aws:iam/role:Role",
            {
                "assumeRolePolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Permit"}]},
            },
        )
    )
    assert len(problems) == 1 and "assumeRolePolicy" in problems[0] and "matches none" in problems[0]
    _, problems, _ = check_resource(
        _resource(
            "kubernetes:core/v1:Namespace",
            {
                "apiVersion": "v1",
                "kind": "Namespaces",
                "metadata": {"name": "a", "label": {}},
            },
        )
    )
    assert problems == [
        "kind: must be 'Namespace', is 'Namespaces'",
        "metadata.label: no such input (known: " + problems[1].split("(known: ")[1],
    ]
    how, problems, _ = check_resource(_resource("kubernetes:karpenter.sh/v1beta1:NodePool", {}))
    assert (how, problems) == (
        "custom resource",
        ["kubernetes:karpenter.sh/v1beta1:NodePool: neither the provider nor a pinned CRD knows this type"],
    )
    node_class = {"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass", "metadata": {"nam": "x"}}
    _, problems, _ = check_resource(_resource("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", node_class))
    assert problems and any("nam" in p for p in problems), problems
    _, problems, _ = check_resource(_resource("aws:eks/addons:Addons", {}))
    assert problems == ["aws:eks/addons:Addons: no such type in aws-7.51.1"]


def test_a_null_counts_as_passed_only_when_it_is_an_unknown_the_program_passes() -> None:
    inputs = {
        "addonName": "x",
        "clusterName": None,
        "podIdentityAssociations": [{"roleArn": None, "serviceAccount": None}],
    }
    _, problems, _ = check_resource(_resource("aws:eks/addon:Addon", inputs))
    assert problems == [
        "clusterName: required, missing",
        "podIdentityAssociations[0].roleArn: required, missing",
        "podIdentityAssociations[0].serviceAccount: required, missing",
    ]
    _, problems, _ = check_resource(
        _resource(
            "aws:eks/addon:Addon",
            inputs,
            unknowns=[
                "clusterName",
                "podIdentityAssociations[0].roleArn",
                "podIdentityAssociations[0].serviceAccount",
            ],
        )
    )
    assert problems == []


UNKNOWN_PROGRAM = """
import asyncio

import pulumi
import pulumi_aws as aws


def resolved(value):
    future = asyncio.get_event_loop().create_future()
    future.set_result(value)
    return future


unknown = pulumi.Output(set(), resolved("x"), resolved(False))  # what a preview has for a new output
aws.eks.Addon("known", addon_name="a", cluster_name=unknown,
              pod_identity_associations=[{"role_arn": unknown, "service_account": "s"}])
aws.eks.Addon("written", addon_name="a", cluster_name="c",
              pod_identity_associations=[{"role_arn": unknown, "service_account": None}])
"""


def test_the_plan_records_which_nulls_are_unknowns_and_only_those_count_as_passed(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text(UNKNOWN_PROGRAM)
    plan = run_program("p", "test", {}, program=tmp_path / "__main__.py")
    known, written = plan.one("aws:eks/addon:Addon", "known"), plan.one("aws:eks/addon:Addon", "written")
    assert (
        known.inputs["clusterName"] is None and known.inputs["podIdentityAssociations"][0]["roleArn"] is None
    )
    assert known.unknowns == ["clusterName", "podIdentityAssociations[0].roleArn"]
    assert check_resource(known)[1] == []
    # A None the program writes, even nested, never reaches the provider: the key is absent, so missing.
    assert written.inputs["podIdentityAssociations"] == [{"roleArn": None}]
    assert written.unknowns == ["podIdentityAssociations[0].roleArn"]
    assert check_resource(written)[1] == ["podIdentityAssociations[0].serviceAccount: required, missing"]
