"""The replacement rules: which input changes replace a resource of each type, read ONLY from
`replacements.json` beside this file (derived by tools/generate/replacements.py from the upstream reference
table, which was read from the pinned providers' sources; a test keeps the two equal)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_RULES = Path(__file__).resolve().parent / "replacements.json"
RULES_ENV = "KARPENTER_EKS_REPLACEMENTS"


class RulesMissing(Exception):
    """The replacement rules are not where they should be."""


@dataclass(frozen=True)
class TypeRule:
    token: str
    replace_on: tuple[str, ...]
    conditional: tuple[tuple[str, str], ...]
    auto_named: str | None
    delete_before_replace: str
    component: bool
    regional_child: bool

    @property
    def grouping_only(self) -> bool:
        """A program component: no provider state, nothing to replace (its children are listed)."""
        return self.component and not self.replace_on and not self.conditional


@dataclass(frozen=True)
class Rules:
    types: Mapping[str, TypeRule]
    source: str

    @classmethod
    def load(cls, path: Path | None = None) -> Rules:
        path = path or Path(os.environ.get(RULES_ENV) or DEFAULT_RULES)
        if not path.is_file():
            raise RulesMissing(
                f"the replacement rules {path} are absent: "
                "without them this tool cannot tell an update from a replacement, and it does not guess"
            )
        doc = json.loads(path.read_text())
        types = {
            token: TypeRule(
                token=token,
                replace_on=tuple(t.get("replaceOn") or ()),
                conditional=tuple((c["path"], c["when"]) for c in t.get("conditional") or ()),
                auto_named=t.get("autoNamed"),
                delete_before_replace=str(t.get("deleteBeforeReplace") or "n/a"),
                component=bool(t.get("component")),
                regional_child=bool(t.get("regionalChild")),
            )
            for token, t in doc["types"].items()
        }
        return cls(types, str(path))
