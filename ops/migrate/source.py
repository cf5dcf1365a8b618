"""The two things discovery reads through, and the notebook it writes what it could not read into."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ops.migrate.model import Json, Note, NoteKind


class KubeGet(Protocol):
    """Anything that runs `kubectl get ARGS -o json` and returns the parsed document.

    `args` are what follows `get` (`["deployments", "--all-namespaces"]`); a failure raises any
    exception, whose text discovery records as "could not read".
    """

    def get_json(self, args: list[str]) -> Any: ...


class Notebook:
    """Collects the notes of one discovery, in the order found, without repeating one."""

    def __init__(self) -> None:
        self._notes: list[Note] = []

    def add(self, kind: NoteKind, subject: str, text: str) -> None:
        note = Note(kind, subject, text)
        if note not in self._notes:
            self._notes.append(note)

    def unreadable(self, subject: str, error: BaseException) -> None:
        self.add(NoteKind.UNREADABLE, subject, _first_line(str(error)) or type(error).__name__)

    def unsupported(self, subject: str, text: str) -> None:
        self.add(NoteKind.UNSUPPORTED, subject, text)

    def has(self, subject: str) -> bool:
        return any(n.subject == subject for n in self._notes)

    def freeze(self) -> tuple[Note, ...]:
        return tuple(self._notes)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""


def str_map(value: Any) -> dict[str, str]:
    """A Kubernetes string map (labels, annotations, tags) as plain str -> str, {} when absent."""
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def json_list(value: Any) -> tuple[Json, ...]:
    return tuple(v for v in value if isinstance(v, Mapping)) if isinstance(value, list) else ()


def items(doc: Any) -> list[Json]:
    """The `items` of a `kubectl get -o json` List, [] for anything else."""
    if isinstance(doc, Mapping) and isinstance(doc.get("items"), list):
        return [i for i in doc["items"] if isinstance(i, Mapping)]
    return []
