"""What reviewers read must match what the program does: snapshots, the config reference, stack keys."""

from __future__ import annotations

import yaml

from config.models import StackConfig
from tools.config_reference import section
from tools.mocks import ROOT
from tools.snapshots import stacks, stale


def test_snapshots_are_fresh() -> None:
    assert stacks() == ["dev", "prod"]
    for stack in stacks():
        diffs = stale(stack)
        assert not diffs, (
            "snapshots are stale; run `python3 tools/dev.py snapshots`:\n" + "\n".join(diffs)[:4000]
        )


def test_readme_config_reference_is_generated_from_the_models() -> None:
    readme = (ROOT / "README.md").read_text()
    assert section() in readme, (
        "README's config reference is stale: venv/bin/python -m tools.config_reference --write"
    )


def test_every_model_key_is_in_the_reference() -> None:
    reference = section()
    for key in (
        "nodePools[].spotRatio",
        "cluster.existing.privateSubnetIds",
        "karpenter.identity",
        "iam.path",
    ):
        assert f"`{key}`" in reference
    for name, field in StackConfig.model_fields.items():
        assert f"`{field.alias or name}`" in reference


def test_pulumi_yaml_declares_the_scalar_keys_and_the_virtualenv() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    declared = project["config"]
    assert declared["region"]["type"] == "string" and declared["region"]["description"]
    # Pulumi's project config schema types only strings, integers, booleans and arrays of those; the
    # structured keys are documented by the generated reference instead.
    for name, field in StackConfig.model_fields.items():
        if field.annotation is str or name == "region":
            assert (field.alias or name) in declared
