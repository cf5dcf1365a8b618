"""Knowledge the program and its tools need at run time lives in the project, derived from upstream by a
committed generator: a clone with no `../shared` beside it works. Each committed file is checked against
the upstream reference when that folder is there (the checks skip, saying so, when it is not)."""

from __future__ import annotations

import json

import pytest

from harness.diff import DEFAULT_RULES, Rules
from tools.generate import replacements


def test_the_diff_reads_its_replacement_rules_from_the_project() -> None:
    assert DEFAULT_RULES == replacements.OUT
    assert DEFAULT_RULES.is_relative_to(replacements.ROOT) and "shared" not in DEFAULT_RULES.parts
    rules = Rules.load()
    assert rules.types["aws:iam/role:Role"].replace_on and rules.types["eks:index:Cluster"].regional_child
    assert json.loads(DEFAULT_RULES.read_text())["source"].startswith(
        "derived by tools/generate/replacements.py"
    )


def test_the_committed_replacement_rules_are_what_the_reference_says() -> None:
    if not replacements.SOURCE.is_file():
        pytest.skip(
            f"reference data {replacements.SOURCE} is absent (../shared is not next to this checkout)"
        )
    reference = json.loads(replacements.SOURCE.read_text())
    assert DEFAULT_RULES.read_text() == replacements.render(replacements.derive(reference)), (
        "stale: venv/bin/python -m tools.generate.replacements --write"
    )
    # Every type of the reference is kept, each with exactly the fields the engine reads.
    committed = json.loads(DEFAULT_RULES.read_text())["types"]
    assert set(committed) == set(reference["types"])
    assert {tuple(entry) for entry in committed.values()} == {replacements.FIELDS}
