"""What a change to the program or a stack file creates, updates, REPLACES and deletes, offline.

    python3 tools/dev.py diff --stack dev [--base GITREF] [--fail-on-breaking]
    venv/bin/python -m harness.diff --stack dev --base-plan old/plan.json --plan new/plan.json

Renders the stack twice under the mocks (harness/fake/): at the base (a `git archive` of GITREF unpacked
in a temporary folder and rendered by the BASE's own code, in a subprocess using this venv) and now (the
working tree), matches resources by URN (and by the aliases the program declares), and prints, in
Markdown, every resource created, updated (with the changed inputs), replaced (with the input that forces
it, and whether the old one is deleted first) or deleted, with a one-line consequence for the changes a
reviewer must not miss.

Which input changes replace a resource comes ONLY from `harness/diff/replacements.json` (derived by
tools/generate/replacements.py from the upstream table read from the pinned providers' sources), combined
with the lifecycle options plan.json records (`replaceOnChanges`, `deleteBeforeReplace`, `ignoreChanges`).
Without that file (or the one `--replacements` names) the tool says so and exits 3: it never guesses.

Where things are: rules.py (replacements.json), paths.py (input paths and how rules match them), model.py
(plan resources, aliases, changes), engine.py (create, update, replace or delete, and the cascade),
consequences.py (the consequence line, by resource type), report.py (Markdown), cli.py (rendering both
sides, the command line).
"""

from harness.diff.cli import DiffError, main, prior_inputs, render_now, render_ref
from harness.diff.consequences import CONSEQUENCES, annotate
from harness.diff.engine import delete_first, diff_plans
from harness.diff.model import Change, Diff, Res, alias_urns, resources
from harness.diff.paths import changed_paths, get_path, matches, rule_tokens, show
from harness.diff.report import to_markdown
from harness.diff.rules import DEFAULT_RULES, RULES_ENV, Rules, RulesMissing, TypeRule

__all__ = [
    "CONSEQUENCES",
    "DEFAULT_RULES",
    "RULES_ENV",
    "Change",
    "Diff",
    "DiffError",
    "Res",
    "Rules",
    "RulesMissing",
    "TypeRule",
    "alias_urns",
    "annotate",
    "changed_paths",
    "delete_first",
    "diff_plans",
    "get_path",
    "main",
    "matches",
    "prior_inputs",
    "render_now",
    "render_ref",
    "resources",
    "rule_tokens",
    "show",
    "to_markdown",
]
