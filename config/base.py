"""The base every config model derives from, and the one place config errors are formatted.

Stack config keys are camelCase (as `pulumi config set --path` writes them); Python attributes are
snake_case. Unknown keys are rejected everywhere, models are immutable once validated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pulumi import RunError
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel


class Model(BaseModel):
    """Base of every stack-config model: camelCase keys, unknown keys refused, frozen."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        validate_default=True,
        use_attribute_docstrings=False,
    )


class ConfigError(RunError):
    """Every problem of a stack config at once, one line per problem, each named by its key path.

    A `RunError`: `pulumi up` prints its message alone, without a Python traceback."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        count = len(self.problems)
        head = f"invalid stack config ({count} problem{'s' if count != 1 else ''}):"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


def key_path(loc: Sequence[int | str], prefix: str = "") -> str:
    """`("nodePools", 1, "spotRatio")` -> `nodePools[1].spotRatio`."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def problems_of(error: ValidationError, prefix: str = "") -> list[str]:
    """One human line per pydantic error: `path: what is wrong, got <value>`."""
    lines = []
    for err in error.errors(include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        # Validators on a tagged union add the tag name to the path; it is not a config key.
        path = key_path(loc, prefix)
        msg = err["msg"]
        for p in _PYDANTIC_PREFIXES:
            if msg.startswith(p):
                msg = msg[len(p) :]
        kind = err["type"]
        if kind == "extra_forbidden":
            lines.append(f"{path}: unknown key (check the spelling; see the config reference in README.md)")
        elif kind == "missing":
            lines.append(f"{path}: required key is missing")
        else:
            lines.append(f"{path}: {_lower_first(msg)}, got {_short(err.get('input'))}")
    return lines


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
