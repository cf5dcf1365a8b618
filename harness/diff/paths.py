"""Input paths: ("selectors", 0, "labels") is shown `selectors[0].labels` and matched as
`selectors[].labels`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Path_ = tuple[str | int, ...]


def show(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def rule_tokens(rule_path: str) -> tuple[str, ...]:
    """`selectors[].labels` -> ("selectors", "[]", "labels"); also reads Pulumi's ignoreChanges syntax
    (`tags["k"]`, `items[0]`, `*`)."""
    tokens: list[str] = []
    for part in rule_path.replace('"]', "").replace('["', ".").split("."):
        while "[" in part:
            head, _, rest = part.partition("[")
            if head:
                tokens.append(head)
            tokens.append("[]")
            part = rest.partition("]")[2]
        if part:
            tokens.append(part)
    return tuple(tokens)


def _tokens(path: Path_) -> tuple[str, ...]:
    return tuple("[]" if isinstance(p, int) else p for p in path)


def matches(rule_path: str, path: Path_) -> bool:
    """A rule path names the changed path, one of its parents (anything under it), or one of its
    children (a whole object that changed, was added or removed)."""
    rule = rule_tokens(rule_path)
    changed = _tokens(path)
    n = min(len(rule), len(changed))
    return all(r in (c, "*") or (r == "[]" and c == "[]") for r, c in zip(rule[:n], changed[:n], strict=True))


def changed_paths(old: Any, new: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            if old.get(key) is None and new.get(key) is None:
                continue
            if key not in old or key not in new:
                yield (*prefix, key)
            else:
                yield from changed_paths(old[key], new[key], (*prefix, key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (o, n) in enumerate(zip(old, new, strict=True)):
            yield from changed_paths(o, n, (*prefix, i))
    elif old != new:
        yield prefix


def get_path(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(part)
    return doc


def parse(shown: str) -> Path_:
    """The inverse of `show`: `selectors[0].labels` -> ("selectors", 0, "labels")."""
    path: list[str | int] = []
    for part in shown.split("."):
        head, *indexes = part.split("[")
        if head:
            path.append(head)
        path += [int(i.rstrip("]")) for i in indexes if i.rstrip("]").isdigit()]
    return tuple(path)


def value_at(doc: Any, path: Path_) -> Any:
    """The value at `path`, or None where the path does not exist."""
    for part in path:
        if isinstance(part, int):
            if not isinstance(doc, list) or part >= len(doc):
                return None
        elif not isinstance(doc, Mapping):
            return None
        doc = doc[part] if isinstance(part, int) else doc.get(part)
    return doc
