"""harness/diff: the engine's rules on small synthetic plans, its use of harness/diff/replacements.json, the
lifecycle options plan.json records, and the command line (git base, absent rules)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from harness import diff as diff_tool
from harness.diff import (
    Change,
    DiffError,
    Rules,
    delete_first,
    diff_plans,
    matches,
    render_ref,
    to_markdown,
)
from harness.plan import Plan
from harness.stack_files import ROOT

STACK = "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev"
AWS = "urn:pulumi:dev::p::pulumi:pulumi:Stack$pulumi:providers:aws::aws"
K8S = "urn:pulumi:dev::p::pulumi:pulumi:Stack$pulumi:providers:kubernetes::kubernetes"


@pytest.fixture(scope="module")
def rules() -> Rules:
    return Rules.load()  # the project's own copy: never absent


def res(typ: str, name: str, inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    provider = K8S if typ.startswith("kubernetes:") else AWS
    return {
        "urn": f"urn:pulumi:dev::p::pulumi:pulumi:Stack${typ}::{name}",
        "type": typ,
        "name": name,
        "custom": True,
        "parent": STACK,
        "provider": None if typ.startswith("pulumi:providers:") else f"{provider}::id",
        "inputs": inputs,
        "propertyDependencies": {},
        **extra,
    }


def plan(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resources": list(resources)}


def urn(typ: str, name: str) -> str:
    return f"urn:pulumi:dev::p::pulumi:pulumi:Stack${typ}::{name}"


ROLE = "aws:iam/role:Role"
ENTRY = "aws:eks/accessEntry:AccessEntry"
NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
PROVIDER = "pulumi:providers:kubernetes"


def test_every_rule_of_the_shared_table_is_understood(rules: Rules) -> None:
    assert len(rules.types) >= 50
    for token, rule in rules.types.items():
        if rule.grouping_only:
            continue
        # Raises on a deleteBeforeReplace rule the engine does not know: nothing is guessed.
        old = new = diff_tool.Res.of(res(token, "x", {"name": "n", "metadata": {"name": "n"}}))
        assert isinstance(delete_first(rule, old, new), bool), token


def test_unknown_delete_before_replace_rules_are_refused() -> None:
    rule = diff_tool.TypeRule("t", ("a",), (), None, "sometimes, maybe", False, False)
    r = diff_tool.Res.of(res("t", "x", {}))
    with pytest.raises(ValueError, match="unknown deleteBeforeReplace rule"):
        delete_first(rule, r, r)


@pytest.mark.parametrize(
    ("rule", "path", "hit"),
    [
        ("selectors", ("selectors", 0, "labels", "a"), True),
        ("selectors[].labels", ("selectors", 1, "labels"), True),
        ("selectors[].labels", ("selectors", 1, "namespace"), False),
        ("accessScope.type", ("accessScope",), True),  # the whole block was added or removed
        ("metadata.name", ("metadata", "labels"), False),
        ('tags["team"]', ("tags", "team"), True),
        ("spec.template", ("spec", "limits", "cpu"), False),
    ],
)
def test_rule_paths(rule: str, path: tuple[str | int, ...], hit: bool) -> None:
    assert matches(rule, path) is hit


def test_force_new_input_replaces_and_named_resources_delete_first(rules: Rules) -> None:
    old = plan(res(ROLE, "r", {"name": "KarpenterNodeRole-x", "path": "/"}))
    new = copy.deepcopy(old)
    new["resources"][0]["inputs"]["path"] = "/k/"
    [change] = diff_plans(old, new, rules).changes
    assert (change.op, change.forced_by, change.delete_first) == ("replace", ["path"], True)
    assert change.breaking and change.consequence and "node role" in change.consequence
    # Auto-named (no `name`): the bridge creates the new role first.
    del old["resources"][0]["inputs"]["name"], new["resources"][0]["inputs"]["name"]
    [change] = diff_plans(old, new, rules).changes
    assert change.op == "replace" and not change.delete_first


def test_in_place_inputs_update(rules: Rules) -> None:
    old = plan(res(ROLE, "r", {"name": "n", "description": "a"}))
    new = copy.deepcopy(old)
    new["resources"][0]["inputs"]["description"] = "b"
    [change] = diff_plans(old, new, rules).changes
    assert (change.op, change.paths) == ("update", ["description"])


def test_unknown_force_new_input_cascades(rules: Rules) -> None:
    """The entry's principalArn is the ARN of a role being replaced: unknown at preview, so it replaces,
    even where the (fake) ARN value itself did not change."""
    role = res(ROLE, "r", {"name": "n", "path": "/"})
    entry = res(
        ENTRY,
        "e",
        {"clusterName": "c", "principalArn": "arn:aws:iam::1:role/n", "type": "EC2_LINUX"},
        propertyDependencies={"principalArn": [urn(ROLE, "r")], "clusterName": []},
    )
    old = plan(role, entry)
    new = copy.deepcopy(old)
    new["resources"][0]["inputs"]["path"] = "/k/"
    result = diff_plans(old, new, rules)
    assert result.labels("replace") == ["AccessEntry:e", "Role:r"]
    entry_change = next(c for c in result.changes if c.label == "AccessEntry:e")
    assert entry_change.forced_by[0].startswith("principalArn (unknown at preview")
    assert "nodes still running with the old principal lose API access" in str(entry_change.consequence)
    # Without the dependency edge nothing cascades: the edge, not the value, decides.
    for p in (old, new):
        p["resources"][1]["propertyDependencies"] = {}
    assert diff_plans(old, new, rules).labels("replace") == ["Role:r"]


def _provider(digest: str, **inputs: Any) -> dict[str, Any]:
    return res(
        PROVIDER,
        "kubernetes",
        {"kubeconfig": "[secret]", **inputs},
        secretDigests={"kubeconfig": "sha256:" + digest, "kubeconfig.activeCluster": "sha256:c-" + digest},
        propertyDependencies={"kubeconfig": [urn("eks:index:Cluster", "eks")]},
    )


def _eks(name: str) -> dict[str, Any]:
    return res("eks:index:Cluster", "eks", {"name": name}, custom=False)


def test_kubernetes_provider_rules(rules: Rules) -> None:
    pool = res(NODEPOOL, "pool", {"metadata": {"name": "a"}, "spec": {}})
    old = plan(_eks("c"), _provider("1"), pool)
    # The cluster it points at is replaced: the kubeconfig is unknown, the provider and all it manages go.
    renamed = plan(_eks("c2"), _provider("2"), pool)
    result = diff_plans(old, renamed, rules)
    assert result.labels("replace") == ["Cluster:eks", "NodePool:pool", "kubernetes-provider:kubernetes"]
    provider = next(c for c in result.changes if c.resource.type == PROVIDER)
    assert "NodePool:pool" in str(provider.consequence)
    pool_change = next(c for c in result.changes if c.label == "NodePool:pool")
    assert pool_change.forced_by == ["its provider is replaced"] and pool_change.delete_first
    # Same cluster, another active cluster entry (a new CA, say): replaced.
    result = diff_plans(old, plan(_eks("c"), _provider("3"), pool), rules)
    assert result.labels("replace") == ["NodePool:pool", "kubernetes-provider:kubernetes"]
    # A clusterIdentifier set and unchanged keeps it, whatever the kubeconfig does.
    pinned_old = plan(_eks("c"), _provider("1", clusterIdentifier="arn:c"), pool)
    pinned_new = plan(_eks("c"), _provider("3", clusterIdentifier="arn:c"), pool)
    result = diff_plans(pinned_old, pinned_new, rules)
    assert result.labels("replace") == [] and result.labels("update") == ["kubernetes-provider:kubernetes"]
    pinned_new["resources"][1]["inputs"]["clusterIdentifier"] = "arn:other"
    assert "kubernetes-provider:kubernetes" in diff_plans(pinned_old, pinned_new, rules).labels("replace")


def test_lifecycle_options_are_honoured(rules: Rules) -> None:
    old = plan(res(ROLE, "r", {"description": "a", "tags": {"t": "1"}, "path": "/"}))
    new = copy.deepcopy(old)
    new["resources"][0]["inputs"]["description"] = "b"
    new["resources"][0]["replaceOnChanges"] = ["description"]
    [change] = diff_plans(old, new, rules).changes
    assert change.op == "replace" and change.forced_by == ["description (replaceOnChanges)"]
    assert not change.delete_first
    new["resources"][0]["deleteBeforeReplace"] = True
    assert diff_plans(old, new, rules).changes[0].delete_first
    ignored = copy.deepcopy(old)
    ignored["resources"][0]["inputs"]["path"] = "/k/"
    ignored["resources"][0]["ignoreChanges"] = ["path"]
    assert diff_plans(old, ignored, rules).changes == []


def test_aliases_keep_a_renamed_resource(rules: Rules) -> None:
    old = plan(res(ROLE, "old-name", {"name": "n"}))
    new = plan(res(ROLE, "new-name", {"name": "n"}, aliases=[{"name": "old-name"}]))
    assert diff_plans(old, new, rules).changes == []
    assert diff_plans(old, plan(res(ROLE, "new-name", {"name": "n"})), rules).labels("delete") == [
        "Role:old-name"
    ]


def test_region_change_replaces_regional_resources(rules: Rules) -> None:
    provider = res("pulumi:providers:aws", "aws", {"region": "eu-west-1"})
    queue = res("aws:sqs/queue:Queue", "q", {"name": "q"})
    role = res(ROLE, "r", {"name": "r"})
    old = plan(provider, queue, role)
    new = copy.deepcopy(old)
    new["resources"][0]["inputs"]["region"] = "eu-central-1"
    result = diff_plans(old, new, rules)
    assert result.labels("replace") == ["Queue:q"]  # IAM is global
    assert result.labels("update") == ["aws-provider:aws"]


def test_nodepool_template_changes_drift_and_name_the_budget(rules: Rules) -> None:
    spec = {
        "template": {"spec": {"requirements": [], "nodeClassRef": {"name": "default"}}},
        "limits": {"cpu": 10},
        "disruption": {"budgets": [{"nodes": "0", "schedule": "@daily", "duration": "1h"}, {"nodes": "3"}]},
    }
    old = plan(res(NODEPOOL, "p", {"metadata": {"name": "p"}, "spec": spec}))
    drift = copy.deepcopy(old)
    drift["resources"][0]["inputs"]["spec"]["template"]["spec"]["nodeClassRef"]["name"] = "other"
    [change] = diff_plans(old, drift, rules).changes
    assert change.disrupts and not change.breaking
    assert change.consequence == (
        "every node of NodePool p drifts and is replaced (`spec.template.spec.nodeClassRef.name`: part of "
        "the template's hash), under its Drifted budget: "
        "none from `@daily` (UTC) for 1h; at most 3 of its nodes at a time"
    )
    narrowed = copy.deepcopy(old)
    narrowed["resources"][0]["inputs"]["spec"]["template"]["spec"]["requirements"] = [
        {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["eu-west-1a"]}
    ]
    [change] = diff_plans(old, narrowed, rules).changes
    assert change.disrupts
    assert str(change.consequence).startswith(
        "the nodes of NodePool p with zone other than eu-west-1a drift and are replaced"
    )
    limits = copy.deepcopy(old)
    limits["resources"][0]["inputs"]["spec"]["limits"]["cpu"] = 20
    [change] = diff_plans(old, limits, rules).changes
    assert not change.disrupts and "no node is replaced" in str(change.consequence)


def test_conditional_rules_are_reported_not_decided(rules: Rules) -> None:
    old = plan(res("eks:index:Cluster", "eks", {"name": "c", "createOidcProvider": True}, custom=False))
    new = copy.deepcopy(old)
    new["resources"][0]["inputs"]["createOidcProvider"] = False
    [change] = diff_plans(old, new, rules).changes
    assert change.op == "update"
    assert change.may_replace == [
        "createOidcProvider: true->false deletes the OIDC provider (IRSA trust breaks), "
        "false->true creates it"
    ]


def test_types_without_rules_are_flagged(rules: Rules) -> None:
    old = plan(res("aws:iam/serviceLinkedRole:ServiceLinkedRole", "slr", {"description": "a"}))
    new = copy.deepcopy(old)
    new["resources"][0]["inputs"]["description"] = "b"
    [change] = diff_plans(old, new, rules).changes
    assert change.unclassified
    assert "no replacement rule for this type" in to_markdown(diff_plans(old, new, rules), "dev", "base")


def test_without_rules_nothing_is_classified() -> None:
    old = plan(res(ROLE, "r", {"path": "/"}), res(ROLE, "gone", {}))
    new = plan(res(ROLE, "r", {"path": "/k/"}), res(ROLE, "added", {}))
    result = diff_plans(old, new, None)
    assert result.labels("replace") == [] and result.labels("update") == ["Role:r"]
    assert result.labels("create") == ["Role:added"] and result.labels("delete") == ["Role:gone"]
    text = to_markdown(result, "dev", "base")
    assert "Replacements cannot be classified here" in text
    assert "#### Changed (update or replacement: unknown) (1)" in text


def test_cli_without_rules_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dev_plan: Plan
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(dev_plan.as_json()))
    code = diff_tool.main(
        [
            "--stack",
            "dev",
            "--base-plan",
            str(path),
            "--plan",
            str(path),
            "--replacements",
            str(tmp_path / "none"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 3
    assert "does not guess" in captured.err
    assert "No change." in captured.out


def test_cli_fail_on_breaking(tmp_path: Path, capsys: pytest.CaptureFixture[str], rules: Rules) -> None:
    old = plan(res(ROLE, "r", {"name": "KarpenterNodeRole-x", "path": "/"}))
    new = copy.deepcopy(old)
    new["resources"][0]["inputs"]["path"] = "/k/"
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    args = ["--stack", "dev", "--base-plan", str(tmp_path / "old.json"), "--plan", str(tmp_path / "new.json")]
    assert diff_tool.main(args) == 0
    assert diff_tool.main([*args, "--fail-on-breaking", "--out", str(tmp_path / "d.md")]) == 1
    out = capsys.readouterr().out
    assert "`Role:r` (delete first): forced by `path`" in out
    assert "**BREAKS**: node role between the delete and the create" in (tmp_path / "d.md").read_text()


def test_base_is_rendered_by_its_own_code() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    base = render_ref("HEAD", "dev")
    assert base is not None and base["stack"] == "dev" and base["resources"]
    assert render_ref("HEAD", "no-such-stack") is None
    with pytest.raises(DiffError, match="git archive"):
        render_ref("no-such-ref-xyz", "dev")


def test_plan_records_lifecycle_options(dev_plan: Plan) -> None:
    by_type = {r.type: r for r in dev_plan.resources}
    node_class = by_type["kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"]
    assert node_class.custom_timeouts == {"delete": "45m"}
    assert node_class.delete_before_replace is None and node_class.replace_on_changes == []
    provider = by_type[PROVIDER].as_json()
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    assert set(provider["secretDigests"]) == {"kubeconfig", "kubeconfig.activeCluster"}
    assert all(d.startswith("sha256:") and len(d) == 23 for d in provider["secretDigests"].values())
    assert "eks.amazonaws.com" not in json.dumps(provider)


def test_children_inherit_their_parents_aliases(rules: Rules) -> None:
    """A component renamed with an alias keeps its children (the engine's inheritedChildAlias)."""
    comp = "karpenter-eks:iam:NodeIdentity"
    old_parent = f"urn:pulumi:dev::p::pulumi:pulumi:Stack${comp}::nodes"
    old = plan(
        {**res(comp, "nodes", {}, custom=False)},
        {
            **res(ROLE, "nodes-role", {"name": "n"}),
            "parent": old_parent,
            "urn": f"{old_parent.rsplit('::', 1)[0]}${ROLE}::nodes-role",
        },
    )
    new_parent = f"urn:pulumi:dev::p::pulumi:pulumi:Stack${comp}::node-identity"
    new = plan(
        {**res(comp, "node-identity", {}, custom=False), "aliases": [{"spec": {"name": "nodes"}}]},
        {
            **res(ROLE, "node-identity-role", {"name": "n"}),
            "parent": new_parent,
            "urn": f"{new_parent.rsplit('::', 1)[0]}${ROLE}::node-identity-role",
        },
    )
    assert old["resources"][1]["urn"] == f"urn:pulumi:dev::p::pulumi:pulumi:Stack${comp}${ROLE}::nodes-role"
    assert diff_plans(old, new, rules).changes == []
    del new["resources"][0]["aliases"]
    result = diff_plans(old, new, rules)
    assert result.labels("create") == ["Role:node-identity-role"] and result.labels("delete") == [
        "Role:nodes-role"
    ]


def test_updates_show_old_and_new_values_and_mask_secrets(rules: Rules) -> None:
    release = "kubernetes:helm.sh/v3:Release"
    old = plan(
        res(
            release, "lbc", {"chart": "aws-load-balancer-controller", "version": "3.5.0", "values": {"a": 1}}
        ),
        res(release, "portainer", {"chart": "portainer", "version": "239.4.0", "repositoryOpts": "[secret]"}),
    )
    old["resources"][1]["secretDigests"] = {"repositoryOpts": "aaaa"}
    new = copy.deepcopy(old)
    new["resources"][0]["inputs"]["version"] = "3.5.1"
    new["resources"][0]["inputs"]["values"] = {"a": 2, "policy": "x" * 100}
    new["resources"][1]["secretDigests"] = {"repositoryOpts": "bbbb"}
    text = to_markdown(diff_plans(old, new, rules), "dev", "base")
    assert "`values.a`: `1` → `2`" in text
    assert "`values.policy`, `version`" in text  # too long to show: the path only
    assert "`version`: `3.5.0` → `3.5.1`" in text
    assert "`repositoryOpts` (secret)" in text
    assert "aaaa" not in text and "bbbb" not in text


def test_ec2nodeclass_lines_name_the_nodes_that_drift(rules: Rules) -> None:
    nodeclass = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
    spec = {"subnetSelectorTerms": [{"tags": {"a": "b"}}], "ipPrefixCount": 1, "userData": "x"}
    old = plan(res(nodeclass, "c", {"metadata": {"name": "default"}, "spec": spec}))

    def changed(key: str, value: Any) -> Change:
        new = copy.deepcopy(old)
        new["resources"][0]["inputs"]["spec"][key] = value
        [change] = diff_plans(old, new, rules).changes
        return change

    subnets = changed("subnetSelectorTerms", [{"tags": {"a": "c"}}])
    assert subnets.disrupts and str(subnets.consequence).startswith(
        "the nodes in a subnet the new terms no longer select (EC2NodeClass default) drift"
    )
    user_data = changed("userData", "y")
    assert user_data.disrupts and str(user_data.consequence).startswith("every node of EC2NodeClass default")
    prefixes = changed("ipPrefixCount", 2)
    assert not prefixes.disrupts and prefixes.consequence is None


def test_a_release_whose_login_alone_changes_restarts_nothing(rules: Rules) -> None:
    chart = "oci://public.ecr.aws/karpenter/karpenter"
    old = plan(res("kubernetes:helm.sh/v3:Release", "karpenter-controller", {"chart": chart, "version": "1"}))
    old["resources"][0]["inputs"]["repositoryOpts"] = "[secret]"
    old["resources"][0]["secretDigests"] = {"repositoryOpts": "aaaa"}
    new = copy.deepcopy(old)
    del new["resources"][0]["inputs"]["repositoryOpts"]
    new["resources"][0]["secretDigests"] = {}
    [change] = diff_plans(old, new, rules).changes
    assert change.paths == ["repositoryOpts"] and not change.disrupts
    assert "nothing restarts" in str(change.consequence)
    bumped = copy.deepcopy(new)
    bumped["resources"][0]["inputs"]["version"] = "2"
    [change] = diff_plans(new, bumped, rules).changes
    assert change.disrupts


def test_a_pinned_cluster_addon_is_an_in_place_update(rules: Rules) -> None:
    old = plan(res("eks:index:Cluster", "eks", {"name": "c", "version": "1.34"}, custom=False))
    new = copy.deepcopy(old)
    new["resources"][0]["inputs"]["vpcCniOptions"] = {"addonVersion": "v1.20.4-eksbuild.2"}
    [change] = diff_plans(old, new, rules).changes
    assert change.op == "update" and not change.disrupts and not change.breaking
    assert str(change.consequence).startswith("add-on vpc-cni: updated in place")
