"""Bad stack configs are refused before any resource exists, with every problem named by key path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.base import ConfigError
from config.karpenter import SUPPORTED_KARPENTER_VERSIONS, chart_value_paths
from config.load import misplaced_keys, parse_stack_config, raw_stack_config
from harness.stack_files import ROOT
from harness.synth import main as synth_main
from tests.support.render import PROJECT, Mutator, render, stack_values
from tests.support.stacks import PROJECT_STACKS


def _set(path: str, value: Any) -> Mutator:
    """A mutator that sets a dotted path (list indexes as numbers) in the config."""

    def mutate(values: dict[str, Any]) -> None:
        parts = path.split(".")
        node: Any = values
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        last = parts[-1]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(path: str) -> Mutator:
    def mutate(values: dict[str, Any]) -> None:
        *head, last = path.split(".")
        node: Any = values
        for part in head:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return mutate


# (id, mutation, the key path the message must name, a fragment of the explanation)
BAD_CONFIGS: list[tuple[str, Mutator, str, str]] = [
    ("wrong type: replicas", _set("karpenter.replicas", "two"), "karpenter.replicas", "integer"),
    ("out of range: spotRatio", _set("nodePools.1.spotRatio", 1.5), "nodePools[1].spotRatio", "1.5"),
    (
        "out of range: weight",
        _set("nodePools.0.weight", 0),
        "nodePools[0].weight",
        "greater than or equal to 1",
    ),
    ("unknown key: top level", _set("karpenterr", {"replicas": 2}), "karpenterr", "unknown key"),
    ("unknown key: nested", _set("cluster.vpc.nat", "single"), "cluster.vpc.nat", "unknown key"),
    (
        "unknown enum: architecture",
        _set("nodePools.0.architecture", "x86_64"),
        "nodePools[0].architecture",
        "arm64",
    ),
    ("unknown enum: mode", _set("cluster.mode", "import"), "cluster.mode", "create"),
    ("empty list: nodePools", _set("nodePools", []), "nodePools", ""),
    ("empty list: families", _set("nodePools.0.families", []), "nodePools[0]", ""),
    (
        "too few AZs",
        _set("cluster.vpc.availabilityZones", ["a"]),
        "cluster.vpc.availabilityZones",
        "at least 2",
    ),
    (
        "conflict: existing in create mode",
        _set("cluster.existing", {"createOidcProvider": True}),
        "cluster",
        "adopt",
    ),
    (
        "conflict: pod identity on Fargate",
        _set("karpenter.identity", "podIdentity"),
        "karpenter.identity",
        "Fargate",
    ),
    ("version below 1.0", _set("karpenter.version", "0.37.0"), "karpenter.version", "v1 API"),
    ("bad region", _set("region", "europe-west1"), "region", "region code"),
    ("missing cluster name", _delete("cluster.name"), "cluster.name", "required"),
    ("bad VPC CIDR", _set("cluster.vpc.cidr", "10.0.0.0/8"), "cluster.vpc.cidr", "/16 to /20"),
    (
        "bad principal ARN",
        _set("cluster.adminAccess.0.principalArn", "platform-admins"),
        "cluster.adminAccess[0].principalArn",
        "an IAM role or user ARN",
    ),
    (
        "bad cpu quantity",
        _set("karpenter.resources.cpu", "lots"),
        "karpenter.resources.cpu",
        "CPU quantity",
    ),
    (
        "helm override of a program-owned value",
        _set("karpenter.helmValues", {"serviceAccount": {"name": "other"}}),
        "karpenter.helmValues",
        "serviceAccount.name",
    ),
    (
        "system namespace",
        _set("karpenter.namespace", "kube-system"),
        "karpenter.namespace",
        "system namespace",
    ),
    (
        "extra node policy duplicating a standard one",
        _set("iam.extraNodePolicyArns", ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]),
        "iam.extraNodePolicyArns",
        "already",
    ),
    (
        "AZ letter out of range",
        _set("cluster.vpc.availabilityZones", ["a", "h"]),
        "cluster.vpc.availabilityZones[1]",
        "one letter from a to g",
    ),
    (
        "helm override removing a program-owned value",
        _set("karpenter.helmValues", {"settings": None}),
        "karpenter.helmValues",
        "settings.interruptionQueue",
    ),
    (
        "STS session ARN as an admin",
        _set("cluster.adminAccess.0.principalArn", "arn:aws:sts::123456789012:assumed-role/admins/me"),
        "cluster.adminAccess[0].principalArn",
        "use the role's ARN",
    ),
    (
        "unquoted Kubernetes version",
        _set("cluster.kubernetesVersion", 1.3),
        "cluster.kubernetesVersion",
        "quotes",
    ),
    ("version with a leading v", _set("karpenter.version", "v1.14.1"), "karpenter.version", "no leading v"),
    ("empty section", _set("karpenter", None), "karpenter", "mapping of keys"),
    ("string instead of a list", _set("nodePools.0.families", "m8g"), "nodePools[0].families", "[m8g]"),
    (
        "ARN of another partition",
        _set("region", "cn-north-1"),
        "cluster.adminAccess[0].principalArn",
        "region cn-north-1 is in partition aws-cn",
    ),
    ("mixed pool with weight 1", _set("nodePools.1.weight", 1), "nodePools[1]", "weight 2 or more"),
    ("colliding NodePool weights", _set("nodePools.1.weight", 99), "nodePools", "weight 99"),
]


@pytest.mark.parametrize(("case", "mutate", "key", "hint"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_is_refused_naming_the_key(
    dev_values: dict[str, Any], case: str, mutate: Mutator, key: str, hint: str
) -> None:
    mutate(dev_values)
    with pytest.raises(ConfigError) as refused:
        render(dev_values)
    message = refused.value.message
    assert message.startswith("invalid stack config")
    assert any(line.strip().startswith(f"- {key}") for line in message.splitlines()), message
    assert hint in message, message
    assert "Traceback" not in message
    # Refused before any resource was registered (the AWS provider answers the account checks).
    assert {r.type for r in refused.value.registered} <= {"pulumi:pulumi:Stack", "pulumi:providers:aws"}  # type: ignore[attr-defined]


def test_every_problem_is_listed_at_once(dev_values: dict[str, Any]) -> None:
    dev_values["karpenter"]["replicas"] = 0
    dev_values["nodePools"][1]["spotRatio"] = 1.5
    dev_values["cluster"]["colour"] = "blue"
    with pytest.raises(ConfigError) as refused:
        parse_stack_config(dev_values)
    problems = refused.value.problems
    assert [p.split(":")[0] for p in problems] == [
        "cluster.colour",
        "karpenter.replicas",
        "nodePools[1].spotRatio",
    ]
    assert "nodePools[1].spotRatio: " in refused.value.message and "got 1.5" in refused.value.message


def test_only_the_project_namespace_is_read() -> None:
    raw = raw_stack_config(
        PROJECT, {f"{PROJECT}:region": "eu-west-1", "aws:region": "us-east-1", "other:x": "1"}
    )
    assert raw == {"region": "eu-west-1"}


def test_structured_values_are_decoded_as_pulumi_stores_them() -> None:
    raw = raw_stack_config(
        PROJECT, {f"{PROJECT}:karpenter": '{"replicas": 3}', f"{PROJECT}:region": "eu-west-1"}
    )
    assert raw == {"karpenter": {"replicas": 3}, "region": "eu-west-1"}


def test_defaults_come_from_the_models(dev_values: dict[str, Any]) -> None:
    cfg = parse_stack_config(dev_values)
    assert cfg.karpenter.namespace == "karpenter"
    assert cfg.karpenter.identity == "irsa"
    assert cfg.iam.karpenter_manages_instance_profiles is False
    assert cfg.iam.spot_service_linked_role == "ensure"


@pytest.mark.parametrize("stack", PROJECT_STACKS)
def test_committed_stacks_are_valid(stack: str) -> None:
    parse_stack_config(stack_values(stack))


def synth_cli(config_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`python -m harness.synth` on the stack `bad` of `config_dir`, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "harness.synth", "--stack", "bad", "--config-dir", str(config_dir), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def synth_in_process(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> subprocess.CompletedProcess[str]:
    """What synth_cli returns, from harness.synth's main run in this process: the code the CLI runs,
    without starting Python and importing the SDKs again (the next test runs the real command)."""
    argv = ["--stack", "bad", "--config-dir", str(config_dir)]
    code = synth_main(argv)
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(argv, code, out, err)


def test_synth_cli_reports_one_clear_message_and_no_traceback(tmp_path: Path) -> None:
    values = stack_values("dev")
    values["nodePools"][1]["spotRatio"] = 1.5
    values["karpenter"]["logLevel"] = "verbose"
    doc = {"config": {f"{PROJECT}:{k}": v for k, v in values.items()}}
    (tmp_path / "Pulumi.bad.yaml").write_text(yaml.safe_dump(doc))
    result = synth_cli(tmp_path, "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "karpenter.logLevel: " in result.stderr
    assert "nodePools[1].spotRatio: " in result.stderr
    assert not (tmp_path / "o" / "plan.json").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("config:\n  karpenter-eks:region: [eu-west-1\n", "is not valid YAML"),
        ("config:\n  - karpenter-eks:region\n", "expected a `config:` mapping"),
        ("config:\n  region: eu-west-1\n", "write karpenter-eks:region"),
    ],
)
def test_unreadable_stack_files_get_one_clear_line(
    tmp_path: Path, text: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Pulumi.bad.yaml").write_text(text)
    result = synth_in_process(tmp_path, capsys)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert expected in result.stderr


def test_a_key_under_the_wrong_namespace_is_pointed_out() -> None:
    values = {f"{PROJECT}:{k}": v for k, v in stack_values("dev").items()}
    values["aws:nodePools"] = values.pop(f"{PROJECT}:nodePools")
    with pytest.raises(ConfigError) as refused:
        parse_stack_config(raw_stack_config(PROJECT, values), misplaced_keys(PROJECT, values))
    assert refused.value.problems == [
        "nodePools: required key is missing (aws:nodePools is not read: set karpenter-eks:nodePools, under "
        "`config:` in Pulumi.<stack>.yaml)"
    ]


def test_every_supported_karpenter_release_has_its_chart_values() -> None:
    assert SUPPORTED_KARPENTER_VERSIONS
    assert all(chart_value_paths(v) is not None for v in SUPPORTED_KARPENTER_VERSIONS)
