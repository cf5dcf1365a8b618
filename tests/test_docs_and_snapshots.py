"""What reviewers read must match what the program does: snapshots, the config reference, stack keys."""

from __future__ import annotations

from pathlib import Path

import yaml

from config.stack import StackConfig
from harness.snapshots import checked_stacks, stacks, stale
from harness.stack_files import EXAMPLE_STACKS, ROOT
from tools.generate.config_reference import section


def test_snapshots_are_fresh() -> None:
    # The example stacks always; a stack a user adds once its snapshot is committed.
    assert set(EXAMPLE_STACKS) <= set(checked_stacks()) <= set(stacks())
    for stack in checked_stacks():
        diffs = stale(stack)
        assert not diffs, (
            "snapshots are stale; run `python3 tools/dev.py snapshots`:\n" + "\n".join(diffs)[:4000]
        )


def test_a_stack_a_user_adds_is_snapshotted_but_checked_only_once_its_snapshot_is_committed(
    tmp_path: Path,
) -> None:
    for stack in (*EXAMPLE_STACKS, "staging"):
        (tmp_path / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    assert stacks(tmp_path) == ["dev", "prod", "staging"]  # `python -m harness.snapshots` writes all three
    assert "staging" not in checked_stacks(tmp_path) and set(EXAMPLE_STACKS) <= set(checked_stacks(tmp_path))


def test_readme_config_reference_is_generated_from_the_models() -> None:
    readme = (ROOT / "README.md").read_text()
    assert section() in readme, (
        "README's config reference is stale: venv/bin/python -m tools.generate.config_reference --write"
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


def test_pulumi_yaml_declares_every_key_as_the_models_do() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    declared = project["config"]
    keys = {field.alias or name: field for name, field in StackConfig.model_fields.items()}
    assert set(declared) == set(keys)
    for key, field in keys.items():
        assert declared[key]["description"] == field.description, key
        # Required in the models <=> no project default, so the Pulumi CLI asks for the key too.
        assert ("default" not in declared[key]) == field.is_required(), key
        if "default" in declared[key]:
            assert declared[key]["default"] == {}  # the real defaults live in the models
    assert declared["region"]["type"] == "string"
