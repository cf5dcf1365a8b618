"""The diff in Markdown, for a pull request: counts, then every replacement, delete, create and update
with its consequence line."""

from __future__ import annotations

import json
from typing import Any

from harness.diff.model import Change, Diff
from harness.diff.paths import parse, value_at

OPS = ("create", "update", "replace", "delete")
ORDER = ("replace", "delete", "create", "update")
"""Sections in the order a reviewer needs them: what is lost first."""
SECRET = "[secret]"
"""How plan.json writes a secret (harness/plan.py; the diff reads plan files without the renderer)."""
LONGEST_VALUE = 60
"""Values longer than this (a policy document, a kubeconfig) are left out of the update line."""


def _shown(value: Any) -> str | None:
    """A value as the update line shows it; None when it is too long (or a secret) to show."""
    if value is None:
        return "unset"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if SECRET in text or len(text) > LONGEST_VALUE:
        return None
    return text


def _with_values(c: Change, path: str) -> str:
    """`path`, with `old → new` when both are short enough to read; a secret only says it changed."""
    bare = path.split(" (")[0]
    key = parse(bare)
    if not key or c.old is None or "unknown at preview" in path:
        return f"`{path}`"
    if any(str(key[0]) == k.split(".")[0] for k in (*c.old.secret_digests, *c.resource.secret_digests)):
        return f"`{path}` (secret)"
    old, new = _shown(value_at(c.old.inputs, key)), _shown(value_at(c.resource.inputs, key))
    if old is None or new is None or old == new:
        return f"`{path}`"
    return f"`{path}`: `{old}` → `{new}`"


def _header(diff: Diff, stack: str, base_label: str, now_label: str) -> list[str]:
    counts = {op: len(diff.of(op)) for op in OPS}
    lines = [f"### Offline diff of `{stack}`: {base_label} -> {now_label}", ""]
    if diff.rules_missing:
        lines += [
            "> **Replacements cannot be classified here**: the replacement rules "
            "(`harness/diff/replacements.json`) are absent, so a changed resource may be "
            "updated in place or replaced. Rely on `pulumi preview` for that.",
            "",
        ]
        summary = f"{counts['create']} to create, {counts['update']} changed, {counts['delete']} to delete"
    else:
        summary = ", ".join(f"{n} to {op}" for op, n in counts.items())
    lines.append(f"**{summary}**, {diff.unchanged} unchanged.")
    if diff.breaking:
        lines.append(f"**{len(diff.breaking)} change(s) break the running environment** (marked BREAKS).")
    lines.append("")
    return lines


def _head(c: Change) -> str:
    """The change's first line: what it is, and what forces a replacement or changes in an update."""
    head = f"- `{c.label}`"
    if c.op == "replace":
        order = "delete first" if c.delete_first else "create first"
        head += f" ({order}): forced by " + ", ".join(f"`{f}`" for f in c.forced_by)
        forced = {f.split(" (")[0] for f in c.forced_by}
        rest = [p for p in c.paths if p.split(" (")[0] not in forced]
        if rest:
            head += "; also " + ", ".join(f"`{p}`" for p in rest)
    elif c.op == "update":
        head += ": " + ", ".join(_with_values(c, p) for p in c.paths)
    return head


def _entry(c: Change, diff: Diff) -> list[str]:
    lines = [_head(c)]
    if c.consequence:
        mark = "BREAKS" if c.breaking else ("DISRUPTS" if c.disrupts else "note")
        lines.append(f"  - **{mark}**: {c.consequence}")
    lines += [f"  - may replace: {m}" for m in c.may_replace]
    if c.unclassified and not diff.rules_missing:
        lines.append("  - no replacement rule for this type: it may be replaced")
    return lines


def to_markdown(diff: Diff, stack: str, base_label: str, now_label: str = "working tree") -> str:
    lines = _header(diff, stack, base_label, now_label)
    titles = {
        "replace": "Replaced",
        "delete": "Deleted",
        "create": "Created",
        "update": "Changed (update or replacement: unknown)" if diff.rules_missing else "Updated in place",
    }
    for op in ORDER:
        changes = sorted(diff.of(op), key=lambda c: c.label)
        if not changes:
            continue
        lines.append(f"#### {titles[op]} ({len(changes)})")
        for c in changes:
            lines += _entry(c, diff)
        lines.append("")
    if not diff.changes:
        lines += ["No change.", ""]
    return "\n".join(lines).rstrip() + "\n"
