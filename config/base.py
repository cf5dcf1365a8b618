"""The base every config model derives from, and the one place config errors are collected and formatted.

Stack config keys are camelCase (as `pulumi config set --path` writes them); Python attributes are
snake_case. Unknown keys are rejected everywhere, types are strict (a boolean is never a number, a
string never a number), models are immutable once validated.

Every problem at once: pydantic runs a model's `mode="after"` validators only when every field is valid,
so a cross-field rule written that way hides behind any other mistake. Here every rule that involves
more than one value is a `rule` (on a model) or a `list_rule` (on a list): `collect_problems` runs the
ordinary validation, notes which keys failed, and then runs each rule whose own keys are valid, on the
raw input (the same values the model would hold: types are strict, so nothing was converted), merging
its problems with the ordinary ones into one `ValidationError`. One mechanism, used everywhere.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pulumi import RunError
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

Loc = tuple[int | str, ...]


@dataclass(frozen=True)
class Problem:
    """One broken rule: where (relative to the model or list the rule belongs to), what, and the value
    to show (none, or `show=False`: the message names it already)."""

    loc: Loc
    message: str
    value: Any = None
    show: bool = True


RuleFn = Callable[[Mapping[str, Any], Callable[..., bool]], Iterable[Problem]]


def rule(*needs: str) -> Callable[[RuleFn], Any]:
    """Mark a function in a model's body as a cross-field rule over the fields `needs` (Python names).

    It gets the model's raw values by Python name (defaults filled in) and `valid(*loc)` (whether no
    error lies at or under a key path relative to the model, by camelCase key), and runs whenever those
    fields are valid, whatever else is wrong; it yields `Problem`s."""

    def mark(fn: RuleFn) -> Any:
        fn.__rule_needs__ = needs  # type: ignore[attr-defined]
        return staticmethod(fn)

    return mark


class Model(BaseModel):
    """Base of every stack-config model: camelCase keys, unknown keys refused, strict types, frozen."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        strict=True,
        validate_default=True,
        use_attribute_docstrings=False,
    )

    __rules__: ClassVar[list[tuple[tuple[str, ...], RuleFn]]] = []

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        rules = []
        for klass in reversed(cls.__mro__):
            for attr in vars(klass).values():
                fn = getattr(attr, "__func__", attr)
                needs = getattr(fn, "__rule_needs__", None)
                if needs is not None:
                    rules.append((needs, fn))
        cls.__rules__ = rules

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if not cls.__rules__ or not isinstance(data, Mapping):
            return handler(data)
        return collect_problems(data, handler, cls._check_rules)

    @classmethod
    def _check_rules(cls, data: Any, valid: Callable[..., bool]) -> Iterable[Problem]:
        values = cls._raw_values(data)
        for needs, fn in cls.__rules__:
            aliases = [cls.model_fields[n].alias or n for n in needs]
            if all(valid(a) for a in aliases):
                yield from fn(values, valid)

    @classmethod
    def _raw_values(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """The input by Python field name, each missing key replaced by its default (as raw data)."""
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            alias = field.alias or name
            if alias in data:
                values[name] = data[alias]
            elif name in data:
                values[name] = data[name]
            elif not field.is_required():
                values[name] = _as_raw(field.get_default(call_default_factory=True))
        return values


def _as_raw(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True)
    if isinstance(value, list):
        return [_as_raw(v) for v in value]
    return value


def collect_problems(
    data: Any,
    handler: Callable[[Any], Any],
    check: Callable[[Any, Callable[..., bool]], Iterable[Problem]],
) -> Any:
    """Validate `data` with `handler`, then run `check(data, valid)`, where `valid(*loc)` says whether no
    error lies at `loc` or under it; raise every problem of both in one `ValidationError`."""
    try:
        result = handler(data)
        errors: list[dict[str, Any]] = []
    except ValidationError as exc:
        result = None
        errors = [dict(e) for e in exc.errors(include_url=False)]
    bad = [tuple(e["loc"]) for e in errors]

    def valid(*loc: int | str) -> bool:
        return not any(b[: len(loc)] == loc or loc[: len(b)] == b for b in bad)

    found = list(check(data, valid))
    if not found:
        if errors:
            raise ValidationError.from_exception_data("config", [_reraised(e) for e in errors])
        return result
    details = [_reraised(e) for e in errors] + [
        InitErrorDetails(
            type=PydanticCustomError("config_rule", p.message, {"show": p.show and p.value is not None}),
            loc=p.loc,
            input=p.value,
        )
        for p in found
    ]
    details.sort(key=lambda d: _sort_key(d["loc"]))
    raise ValidationError.from_exception_data("config", details)


def _sort_key(loc: Sequence[int | str]) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, p) if isinstance(p, int) else (1, p) for p in loc)


def _reraised(error: Mapping[str, Any]) -> InitErrorDetails:
    ctx = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, str | int | float | bool)}
    return InitErrorDetails(
        type=PydanticCustomError(error["type"], error["msg"], ctx or None),
        loc=tuple(error["loc"]),
        input=error.get("input"),
    )


def raise_problems(problems: Sequence[Problem]) -> None:
    """Raise several problems from a validator at once (each its own line, located under the value)."""
    if problems:
        raise ValidationError.from_exception_data(
            "config",
            [
                InitErrorDetails(
                    type=PydanticCustomError(
                        "config_rule", p.message, {"show": p.show and p.value is not None}
                    ),
                    loc=p.loc,
                    input=p.value,
                )
                for p in problems
            ],
        )


def unique(values: list[Any]) -> list[Any]:
    """Raise when items repeat (for lists whose items are all valid)."""
    dupes = repeated(values)
    if dupes:
        raise ValueError(f"must not repeat values; repeated: {', '.join(dupes)}")
    return values


def repeated(values: Iterable[Any]) -> list[str]:
    items = [v for v in values if isinstance(v, str | int | float | bool)]
    return sorted({str(v) for v in items if items.count(v) > 1})


def repeats(items: Sequence[tuple[Loc, Any]], what: str = "") -> Iterator[Problem]:
    """A problem at each repeat of a value (its own key path), naming where the value came first; the
    first occurrence and every other item stay valid, so rules on them still run."""
    first: dict[Any, Loc] = {}
    for loc, value in items:
        if not isinstance(value, str | int | float | bool):
            continue
        if value in first:
            where = key_path(first[value])
            yield Problem(
                loc, f"repeats {what}{value!r}, first listed at {where}; list each once", show=False
            )
        else:
            first[value] = loc


def unique_items(data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A WrapValidator for lists whose items must not repeat: each repeat among the valid items is a
    problem at its own index, reported together with the invalid items' own problems."""
    if not isinstance(data, list):
        return handler(data)

    def check(items: list[Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        return repeats([((i,), v) for i, v in enumerate(items) if valid(i)])

    return collect_problems(data, handler, check)


class ConfigError(RunError):
    """Every problem of a stack config at once, one line per problem, each named by its key path.

    A `RunError`: `pulumi up` prints its message alone, without a Python traceback."""

    def __init__(
        self, problems: Sequence[str], raw: Mapping[str, Any] | None = None, bad: Sequence[Loc] = ()
    ) -> None:
        self.problems = list(problems)
        self.raw = raw
        """The config as given, when the problems are the models' (the account checks use its valid parts)."""
        self.bad = list(bad)
        """Where the models' problems are (key paths as tuples)."""
        super().__init__(self.message)

    def valid(self, *loc: int | str) -> bool:
        """No problem of the models at `loc` or under it, nor at a key above it."""
        return not any(b[: len(loc)] == loc or loc[: len(b)] == b for b in self.bad)

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


def short(value: Any) -> str:
    """A value as the user wrote it in YAML terms (true, null), cut at 80 characters."""
    if value is True or value is False:
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")

PATTERN_HINTS: dict[str, str] = {}
"""Plain-language descriptions of the regular expressions the models use, shown instead of the regex."""


def hinted(pattern: str, hint: str) -> str:
    """Register what a pattern means to a person (`a version such as 1.14.1`); returns the pattern."""
    PATTERN_HINTS[pattern] = hint
    return pattern


_NUMBER_WORD = {
    "int_type": "a whole number (an integer)",
    "int_parsing": "a whole number (an integer)",
    "int_from_float": "a whole number (an integer)",
    "float_type": "a number",
    "float_parsing": "a number",
}


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _pattern_text(kind: str, msg: str, ctx: Mapping[str, Any], value: Any) -> str:
    # Never a raw regular expression: every pattern of the models has a hint.
    return f"must be {PATTERN_HINTS.get(ctx.get('pattern', ''), 'in the format the config reference shows')}"


def _mapping_text(kind: str, msg: str, ctx: Mapping[str, Any], value: Any) -> str:
    return "must be a mapping of keys (see the config reference in README.md)"


def _list_text(kind: str, msg: str, ctx: Mapping[str, Any], value: Any) -> str:
    # Pulumi passes a top-level `key: null` (or an empty `key:`) of the stack file as the text "null".
    if value is None or value in ("null", "~", ""):
        return "must be a list with at least one entry, not null (see the config reference in README.md)"
    if isinstance(value, str | int | float):
        return f"must be a list; write [{value}]"
    return "must be a list"


def _number_text(kind: str, msg: str, ctx: Mapping[str, Any], value: Any) -> str:
    what = _NUMBER_WORD[kind]
    if isinstance(value, bool):
        return f"must be {what}; true and false are not numbers here"
    if isinstance(value, str) and _numeric(value):
        flag = "float" if kind.startswith("float") else "int"
        return (
            f"must be {what}, written without quotes (`pulumi config set --path` stores numbers other "
            f"than integers as text unless given `--type {flag}`)"
        )
    if isinstance(value, str):
        return f"must be {what}, without units or %"
    return f"must be {what}"


def _bool_text(kind: str, msg: str, ctx: Mapping[str, Any], value: Any) -> str:
    return "must be true or false (without quotes)"


def _string_text(kind: str, msg: str, ctx: Mapping[str, Any], value: Any) -> str:
    if isinstance(value, bool):
        return "must be text; YAML read this as true/false, so put it in quotes"
    if isinstance(value, int | float):
        return "must be text; YAML read this as a number, so put it in quotes"
    return "must be text"


def _own_text(kind: str, msg: str, ctx: Mapping[str, Any], value: Any) -> str:
    return msg  # the project's own sentences: their case is meaningful (AmazonEKSWorkerNodePolicy)


_EXPLAINERS: dict[str, Callable[[str, str, Mapping[str, Any], Any], str]] = {
    "string_pattern_mismatch": _pattern_text,
    "model_type": _mapping_text,
    "dict_type": _mapping_text,
    "model_attributes_type": _mapping_text,
    "list_type": _list_text,
    **dict.fromkeys(_NUMBER_WORD, _number_text),
    "bool_type": _bool_text,
    "string_type": _string_text,
    "value_error": _own_text,
    "config_rule": _own_text,
    "assertion_error": _own_text,
}
"""How each kind of pydantic error is said to a person; any other kind gets pydantic's own message
(`input should be` turned into `must be`)."""


def _explain(kind: str, msg: str, ctx: Mapping[str, Any], value: Any) -> str:
    explainer = _EXPLAINERS.get(kind)
    if explainer is not None:
        return explainer(kind, msg, ctx, value)
    return _lower_first(msg).replace("input should be", "must be")


def problems_of(error: ValidationError, prefix: str = "") -> list[str]:
    """One human line per pydantic error: `path: what is wrong, got <value>`."""
    lines = []
    for err in error.errors(include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        msg = err["msg"]
        if loc and loc[-1] == "[key]":
            # A map's key is wrong: name the map, and say it is about the key (which the value shows).
            loc = loc[:-2]
            msg = f"key: {_lower_first(msg)}"
        path = key_path(loc, prefix)
        for p in _PYDANTIC_PREFIXES:
            if msg.startswith(p):
                msg = msg[len(p) :]
        kind = err["type"]
        ctx = dict(err.get("ctx") or {})
        if kind == "extra_forbidden":
            lines.append(f"{path}: unknown key (check the spelling; see the config reference in README.md)")
        elif kind == "missing":
            lines.append(f"{path}: required key is missing")
        else:
            value = err.get("input")
            text = _explain(kind, msg, ctx, value)
            # A rule on a section explains itself; echoing the whole section would bury it.
            section = isinstance(value, dict | list) and len(repr(value)) > 40
            hide = (kind in ("value_error", "config_rule") and section) or (
                kind == "config_rule" and not ctx.get("show", True)
            )
            lines.append(f"{path}: {text}" if hide else f"{path}: {text}, got {short(value)}")
    return lines


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _network(value: Any) -> ipaddress.IPv4Network:
    """Text in CIDR notation only (no integers, no host bits), with a message saying what to write."""
    if isinstance(value, ipaddress.IPv4Network):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an IPv4 network in CIDR notation such as 10.0.0.0/16")
    try:
        return ipaddress.IPv4Network(value)
    except ValueError:
        pass
    try:
        network = ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        raise ValueError("must be an IPv4 network in CIDR notation such as 10.0.0.0/16") from None
    raise ValueError(f"has host bits set; write the network address {network}")


Network = Annotated[ipaddress.IPv4Network, BeforeValidator(_network)]
