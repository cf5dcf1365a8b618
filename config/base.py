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


def unique(values: list[Any]) -> list[Any]:
    """An AfterValidator for lists whose items must not repeat."""
    dupes = sorted({str(v) for v in values if values.count(v) > 1})
    if dupes:
        raise ValueError(f"must not repeat values; repeated: {', '.join(dupes)}")
    return values


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

PATTERN_HINTS: dict[str, str] = {}
"""Plain-language descriptions of the regular expressions the models use, shown instead of the regex."""


def hinted(pattern: str, hint: str) -> str:
    """Register what a pattern means to a person (`a version such as 1.14.1`); returns the pattern."""
    PATTERN_HINTS[pattern] = hint
    return pattern


def _explain(kind: str, msg: str, ctx: dict[str, Any], value: Any) -> str:
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERN_HINTS:
        return f"must be {PATTERN_HINTS[ctx['pattern']]}"
    if kind == "model_type" or kind == "dict_type":
        return "must be a mapping of keys (see the config reference in README.md)"
    if kind == "list_type" and isinstance(value, str):
        return f"must be a list; write [{value}]"
    if kind == "float_parsing" and isinstance(value, str):
        return "must be a plain number without units or %"
    if kind == "int_parsing" and isinstance(value, str):
        return "must be a whole number (an integer)"
    if kind == "string_type" and isinstance(value, float):
        return "must be text; YAML read this as a number, so put it in quotes"
    return _lower_first(msg)


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
            value = err.get("input")
            text = _explain(kind, msg, dict(err.get("ctx") or {}), value)
            # A cross-field rule on a section explains itself; echoing the whole section would bury it.
            got = "" if kind == "value_error" and isinstance(value, dict | list) else f", got {_short(value)}"
            lines.append(f"{path}: {text}{got}")
    return lines


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
