"""Validate a rendered object against a CustomResourceDefinition the way the API server does on create.

1. apiVersion and kind must name a served version of the CRD.
2. Structural defaults of the schema are applied (the API server defaults before it validates).
3. The version's openAPIV3Schema, made strict, validates the object with jsonschema: unknown fields are
   refused (`additionalProperties: false` wherever an object lists properties and does not preserve
   unknown fields), int-or-string and nullable become JSON-schema types, set-lists must be unique.
   `metadata` is checked as the ObjectMeta of a cluster-scoped object.
4. Every `x-kubernetes-validations` CEL rule is evaluated with cel-python at the node it is attached to,
   for every node present in the object; transition rules (they mention `oldSelf`) do not apply on
   create and are skipped. Kubernetes' CEL libraries are not part of cel-python: the functions the
   Karpenter CRDs use (and the rest of the string library) are in `K8S_CEL_FUNCTIONS`.

`validate_against_crd` returns the problems (empty: valid); `check_against_crd` also counts the rules
evaluated, so a test can prove CEL really ran.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import lark
import yaml
from celpy import celtypes
from celpy.evaluation import CELEvalError, base_functions

# --------------------------------------------------------------------------------------------------
# Kubernetes CEL libraries (https://kubernetes.io/docs/reference/using-api/cel/): strings, regex
# --------------------------------------------------------------------------------------------------


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"no such overload: {name} on {type(value).__name__}")
    return str(value)


def _find(target: Any, pattern: Any) -> celtypes.StringType:
    """`s.find(regex)`: the first match, or "" (Kubernetes regex library)."""
    match = re.search(_str(pattern, "find"), _str(target, "find"))
    return celtypes.StringType(match.group(0) if match else "")


def _find_all(target: Any, pattern: Any, limit: Any = -1) -> celtypes.ListType:
    matches = [m.group(0) for m in re.finditer(_str(pattern, "findAll"), _str(target, "findAll"))]
    if int(limit) >= 0:
        matches = matches[: int(limit)]
    return celtypes.ListType([celtypes.StringType(m) for m in matches])


def _split(target: Any, separator: Any, limit: Any = -1) -> celtypes.ListType:
    """`s.split(sep[, n])` with Go's strings.SplitN semantics (n < 0: all, n == 0: none)."""
    text, sep, n = _str(target, "split"), _str(separator, "split"), int(limit)
    if n == 0:
        return celtypes.ListType([])
    if sep == "":
        parts = list(text)
        if 0 < n < len(parts):
            parts = [*parts[: n - 1], text[n - 1 :]]
    else:
        parts = text.split(sep) if n < 0 else text.split(sep, n - 1)
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def _join(target: Any, separator: Any = "") -> celtypes.StringType:
    if not isinstance(target, list):
        raise TypeError("no such overload: join")
    return celtypes.StringType(_str(separator, "join").join(_str(v, "join") for v in target))


def _lower_ascii(target: Any) -> celtypes.StringType:
    return celtypes.StringType("".join(c.lower() if c.isascii() else c for c in _str(target, "lowerAscii")))


def _upper_ascii(target: Any) -> celtypes.StringType:
    return celtypes.StringType("".join(c.upper() if c.isascii() else c for c in _str(target, "upperAscii")))


def _trim(target: Any) -> celtypes.StringType:
    return celtypes.StringType(_str(target, "trim").strip())


def _replace(target: Any, old: Any, new: Any, limit: Any = -1) -> celtypes.StringType:
    text = _str(target, "replace")
    return celtypes.StringType(text.replace(_str(old, "replace"), _str(new, "replace"), int(limit)))


def _substring(target: Any, start: Any, end: Any = None) -> celtypes.StringType:
    text = _str(target, "substring")
    stop = len(text) if end is None else int(end)
    if not 0 <= int(start) <= stop <= len(text):
        raise ValueError("substring index out of range")
    return celtypes.StringType(text[int(start) : stop])


def _char_at(target: Any, index: Any) -> celtypes.StringType:
    text = _str(target, "charAt")
    if not 0 <= int(index) <= len(text):
        raise ValueError("charAt index out of range")
    return celtypes.StringType(text[int(index) : int(index) + 1])


def _index_of(target: Any, needle: Any, start: Any = 0) -> celtypes.IntType:
    return celtypes.IntType(_str(target, "indexOf").find(_str(needle, "indexOf"), int(start)))


def _last_index_of(target: Any, needle: Any) -> celtypes.IntType:
    return celtypes.IntType(_str(target, "lastIndexOf").rfind(_str(needle, "lastIndexOf")))


K8S_CEL_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "find": _find,
    "findAll": _find_all,
    "split": _split,
    "join": _join,
    "lowerAscii": _lower_ascii,
    "upperAscii": _upper_ascii,
    "trim": _trim,
    "replace": _replace,
    "substring": _substring,
    "charAt": _char_at,
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
}

CEL_MACROS = frozenset({"has", "all", "exists", "exists_one", "map", "filter", "dyn"})

SUPPORTED_CEL_FUNCTIONS = frozenset(base_functions) | frozenset(K8S_CEL_FUNCTIONS) | CEL_MACROS

_ENV = celpy.Environment()


@functools.cache
def _program(rule: str) -> celpy.Runner:
    return _ENV.program(_ENV.compile(rule), functions=K8S_CEL_FUNCTIONS)


def cel_functions_used(rule: str) -> set[str]:
    """Every function, method and macro name a CEL rule calls."""
    names: set[str] = set()
    for node in _ENV.compile(rule).iter_subtrees():
        if node.data in ("member_dot_arg", "ident_arg", "dot_ident_arg"):
            token = next(c for c in node.children if isinstance(c, lark.Token))
            names.add(str(token.value))
    return names


# Outcomes by rule and value (as JSON text, which keeps 1, 1.0 and true apart): the interpreter is slow,
# and the tests check many manifests that differ in a field or two, so most subtrees repeat.
_OUTCOMES: dict[tuple[str, str], tuple[bool, str | None]] = {}


def evaluate_rule(rule: str, value: Any) -> tuple[bool, str | None]:
    """(passed, error): evaluate one rule with `self` bound to `value`. An evaluation error fails the
    rule, as it fails the request in the API server."""
    try:
        key = (rule, json.dumps(value))
    except (TypeError, ValueError):
        return _evaluate_rule(rule, value)  # not plain JSON data: evaluate it every time
    if key not in _OUTCOMES:
        _OUTCOMES[key] = _evaluate_rule(rule, value)
    return _OUTCOMES[key]


def _evaluate_rule(rule: str, value: Any) -> tuple[bool, str | None]:
    try:
        result = _program(rule).evaluate({"self": celpy.json_to_cel(value)})
    except (CELEvalError, TypeError, ValueError, KeyError) as error:
        return False, f"evaluation error: {error}"
    if isinstance(result, CELEvalError):
        return False, f"evaluation error: {result.args[0] if result.args else result}"
    if not isinstance(result, celtypes.BoolType):
        return False, f"rule returned {type(result).__name__}, not a bool"
    return bool(result), None


# --------------------------------------------------------------------------------------------------
# The CRD and its schema
# --------------------------------------------------------------------------------------------------

OBJECT_META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {
            "type": "string",
            "maxLength": 253,
            "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        },
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}


@functools.cache
def load_crd(path: Path) -> dict[str, Any]:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    crds = [d for d in documents if d.get("kind") == "CustomResourceDefinition"]
    if len(crds) != 1:
        raise ValueError(f"{path} holds {len(crds)} CustomResourceDefinitions, expected 1")
    crd: dict[str, Any] = crds[0]
    return crd


def version_schema(crd: dict[str, Any], api_version: str) -> dict[str, Any] | None:
    group = crd["spec"]["group"]
    for version in crd["spec"]["versions"]:
        if f"{group}/{version['name']}" == api_version and version.get("served", False):
            schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
            return schema
    return None


_SCHEMA_LISTS = ("anyOf", "allOf", "oneOf")


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema that refuses what the API server refuses (see the module doc)."""
    out = {k: v for k, v in schema.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if "properties" in schema:
        out["properties"] = {k: strict_schema(v) for k, v in schema["properties"].items()}
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = strict_schema(schema["additionalProperties"])
    if "items" in schema:
        out["items"] = strict_schema(schema["items"])
    for key in _SCHEMA_LISTS:
        if key in schema:
            out[key] = [strict_schema(s) for s in schema[key]]
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = schema.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in schema and "additionalProperties" not in schema and not preserve:
        out["additionalProperties"] = False
    if schema.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    return out


def apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    """The object with the schema's structural defaults filled in, as the API server stores it."""
    if isinstance(value, dict):
        out = dict(value)
        properties = schema.get("properties", {})
        for key, sub in properties.items():
            if key not in out and "default" in sub:
                out[key] = copy.deepcopy(sub["default"])
        for key, item in out.items():
            if key in properties:
                out[key] = apply_defaults(properties[key], item)
            elif isinstance(schema.get("additionalProperties"), dict):
                out[key] = apply_defaults(schema["additionalProperties"], item)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(schema["items"], item) for item in value]
    return value


@dataclass(frozen=True)
class Rule:
    path: str
    rule: str
    message: str


def crd_rules(crd_path: Path) -> Iterator[Rule]:
    """Every CEL rule of every version of a CRD, with the schema path it is attached to."""

    def walk(schema: dict[str, Any], path: str) -> Iterator[Rule]:
        for entry in schema.get("x-kubernetes-validations", []):
            yield Rule(path, entry["rule"], entry.get("message", entry["rule"]))
        for key, sub in schema.get("properties", {}).items():
            yield from walk(sub, f"{path}.{key}" if path else key)
        if isinstance(schema.get("additionalProperties"), dict):
            yield from walk(schema["additionalProperties"], f"{path}[*]")
        if isinstance(schema.get("items"), dict):
            yield from walk(schema["items"], f"{path}[]")

    for version in load_crd(crd_path)["spec"]["versions"]:
        yield from walk(version["schema"]["openAPIV3Schema"], "")


def is_transition_rule(rule: str) -> bool:
    return re.search(r"\boldSelf\b", rule) is not None


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


@dataclass
class CrdReport:
    errors: list[str] = field(default_factory=list)
    rules_evaluated: int = 0
    transition_rules_skipped: int = 0

    @property
    def valid(self) -> bool:
        return not self.errors


def _path(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(root)"


def _evaluate_rules(schema: dict[str, Any], value: Any, path: list[str | int], report: CrdReport) -> None:
    for entry in schema.get("x-kubernetes-validations", []):
        rule = entry["rule"]
        if is_transition_rule(rule):
            report.transition_rules_skipped += 1
            continue
        report.rules_evaluated += 1
        passed, error = evaluate_rule(rule, value)
        if not passed:
            message = entry.get("message", f"failed rule: {rule}")
            report.errors.append(f"{_path(path)}: {message}" + (f" ({error})" if error else ""))
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                _evaluate_rules(properties[key], item, [*path, key], report)
            elif isinstance(extra, dict):
                _evaluate_rules(extra, item, [*path, key], report)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            _evaluate_rules(schema["items"], item, [*path, index], report)


def check_against_crd(manifest: dict[str, Any], crd_path: Path) -> CrdReport:
    """Validate `manifest` (a create request) against the CRD in `crd_path`; see the module doc."""
    report = CrdReport()
    crd = load_crd(crd_path)
    kind = crd["spec"]["names"]["kind"]
    if manifest.get("kind") != kind:
        report.errors.append(f"kind: {manifest.get('kind')!r} is not {kind!r}")
        return report
    schema = version_schema(crd, str(manifest.get("apiVersion")))
    if schema is None:
        served = [f"{crd['spec']['group']}/{v['name']}" for v in crd["spec"]["versions"] if v.get("served")]
        report.errors.append(f"apiVersion: {manifest.get('apiVersion')!r} is not served; served: {served}")
        return report
    obj = apply_defaults(schema, manifest)
    strict = strict_schema(schema)
    strict["properties"]["metadata"] = OBJECT_META_SCHEMA
    strict["required"] = sorted({*strict.get("required", []), "apiVersion", "kind", "metadata"})
    validator = jsonschema.Draft202012Validator(strict)
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
        report.errors.append(f"{_path(list(error.absolute_path))}: {error.message}")
    _evaluate_rules(schema, obj, [], report)
    return report


def validate_against_crd(manifest: dict[str, Any], crd_path: Path) -> list[str]:
    """The problems the API server would report creating `manifest`; empty when it is valid."""
    return check_against_crd(manifest, crd_path).errors
