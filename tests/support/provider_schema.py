"""Check recorded resource inputs and data-source arguments against the pinned providers' schemas.

The mocks accept any input, so a misspelt argument, a missing required input or a bad enum value would pass
every other test and fail only at `pulumi up`. This module holds the checker; tests/test_provider_schemas.py
runs it over the rendered plans.

Where a schema comes from, per type token (`schema_for` / `function_schema_for`):
1. `../shared/pulumi-schemas/<pkg>-<version>.json.gz` (schema.json's shape): `resources[token]`, `functions[
   token].inputs`, the `provider` section for `pulumi:providers:<pkg>`. These files are subset to what the
   program used when they were made, so
2. for a token they do not detail (but list in `allResources` / `allFunctions`), the same shape is rebuilt
   from the installed SDK of exactly the pinned version (the way shared/ rebuilt the aws and kubernetes
   files): the resource's `<Class>Args` input type gives the inputs (`pulumi.getter` names), the types
   (`pulumi._types.input_type_types`, the SDK's own serializer metadata), enums (`str` Enum classes) and the
   required inputs (the `__init__` parameters without a default); a data source's module gives its
   arguments (`__args__['camelName'] = snake_name`) and their annotations. tests/test_provider_schemas.py
   checks the rebuild equals the shared file on every token both cover, so the rebuild is itself tested.

What a value is checked for (`check_value`): objects against their `$ref`'d `#/types/...` (unknown keys,
required keys, recursively), enums and `const`s, arrays and maps item by item, scalar JSON types, `oneOf`
(any member). `x-jsonEncoded` inputs (provider configuration) arrive as JSON text and are decoded first.

Nulls: the plan records an input unknown at render time as null and lists its path in `unknowns`; such a
value is passed by the program (an Output) and counts as present, with nothing more to check. Any other null
is a None the program wrote into a nested object: the provider sees the key unset, so it does NOT count as
present. (A top-level None never reaches the plan: the SDK drops it, as the engine would see it.)
"""

from __future__ import annotations

import collections.abc
import enum
import functools
import gzip
import importlib
import inspect
import json
import re
import types
import typing
from pathlib import Path
from typing import Any

import pulumi
from pulumi import _types

SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "pulumi-schemas"
PINNED = {"aws": "aws-7.51.1", "kubernetes": "kubernetes-4.34.2", "eks": "eks-4.4.0"}
SDK = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes", "eks": "pulumi_eks"}
SECRET = "[secret]"
ANY: dict[str, Any] = {"$ref": "pulumi.json#/Any"}


@functools.cache
def shared_schema(package: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(gzip.decompress((SCHEMAS / f"{PINNED[package]}.json.gz").read_bytes()))
    return data


# --- the rebuild from the installed SDK -----------------------------------------------------------------


@functools.cache
def sdk_classes(package: str) -> dict[str, tuple[str, str]]:
    """Resource token -> (Python module, class name), from the SDK's own registration table."""
    module = importlib.import_module(SDK[package])
    source = Path(module.__file__ or "").read_text()
    match = re.search(r'resource_modules="""\n(.*?)\n"""', source, re.S)
    if match is None:
        return {}
    table: dict[str, tuple[str, str]] = {}
    for entry in json.loads(match.group(1)):
        for token, cls in entry["classes"].items():
            table[token] = (entry["fqn"], cls)
    return table


PYTHON_SCALARS = {str: "string", bool: "boolean", int: "integer", float: "number"}


class SdkSchema:
    """Schema-shaped `inputProperties`/`requiredInputs` and `types` rebuilt from SDK classes."""

    def __init__(self) -> None:
        self.types: dict[str, dict[str, Any]] = {}

    def spec(self, typ: Any) -> dict[str, Any]:
        origin, args = typing.get_origin(typ), typing.get_args(typ)
        if isinstance(typ, type) and typ in PYTHON_SCALARS:
            return {"type": PYTHON_SCALARS[typ]}
        if origin is typing.Literal:
            return (
                {"type": "string", "const": args[0]}
                if len(args) == 1
                else {"enum": [{"value": a} for a in args]}
            )
        if origin in (typing.Union, types.UnionType):
            members = [a for a in args if self._is_input_member(a)]
            specs = [self.spec(a) for a in members]
            unique = [json.loads(s) for s in dict.fromkeys(json.dumps(s, sort_keys=True) for s in specs)]
            if not unique:
                return ANY
            return unique[0] if len(unique) == 1 else {"oneOf": unique}
        if origin in (list, collections.abc.Sequence) or typ in (list,):
            return {"type": "array", "items": self.spec(args[0]) if args else ANY}
        if origin in (dict, collections.abc.Mapping):
            return {"type": "object", "additionalProperties": self.spec(args[1]) if len(args) == 2 else ANY}
        if inspect.isclass(typ) and issubclass(typ, enum.Enum):
            token = self._token(typ)
            self.types.setdefault(token, {"type": "string", "enum": [{"value": m.value} for m in typ]})
            return {"$ref": f"#/types/{token}"}
        if inspect.isclass(typ) and _types.is_input_type(typ):
            token = self._token(typ)
            if token not in self.types:
                self.types[token] = {}  # a recursive type refers to itself
                properties, required = self.args_class(typ)
                self.types[token] = {"type": "object", "properties": properties, "required": required}
            return {"$ref": f"#/types/{token}"}
        return ANY  # Any, dict, Asset/Archive, ...

    @staticmethod
    def _is_input_member(typ: Any) -> bool:
        origin = typing.get_origin(typ) or typ
        if typ is type(None) or origin in (collections.abc.Awaitable, pulumi.Output):
            return False
        # Not the `...ArgsDict` twin of an Args class, nor a data source's result type.
        return not (inspect.isclass(typ) and (typing.is_typeddict(typ) or _types.is_output_type(typ)))

    @staticmethod
    def _token(cls: type) -> str:
        return f"sdk:{cls.__module__}.{cls.__qualname__}"

    def args_class(self, cls: type) -> tuple[dict[str, Any], list[str]]:
        names = _types.input_type_py_to_pulumi_names(cls)
        unwrapped = _types.input_type_types(cls)
        properties = {}
        for py_name, name in names.items():
            # The getter's own annotation: input_type_types keeps only the first member of a union
            # (pulumi-eks' storageClasses: `str | Mapping[str, StorageClassArgs]` would become `str`).
            getter = getattr(cls, py_name, None)
            try:
                hint = typing.get_type_hints(getter.fget)["return"]  # type: ignore[union-attr]
            except Exception:  # an annotation that does not resolve: the SDK's unwrapped type
                hint = unwrapped.get(name, Any)
            properties[name] = self.spec(hint)
        required = [
            names.get(p, p)
            for p, param in inspect.signature(cls).parameters.items()
            if param.default is inspect.Parameter.empty and param.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        return properties, sorted(required)


@functools.cache
def sdk_resource(package: str, token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(resource schema, its types) rebuilt from the SDK, or None when the SDK has no such class."""
    found = sdk_classes(package).get(token)
    if found is None:
        return None
    resource_cls = getattr(importlib.import_module(found[0]), found[1])
    # The Args class of the resource's own module. Codegen names it `<Class>InitArgs` when an input type of
    # the package has the name `<Class>Args` (pulumi_aws.s3's legacy Bucket block, kubernetes'
    # StorageClassArgs, ...), and that namesake is imported into the module too: prefer InitArgs.
    module = importlib.import_module(resource_cls.__module__)
    args_cls = getattr(module, f"{found[1]}InitArgs", None) or getattr(module, f"{found[1]}Args", None)
    if args_cls is None:
        return None
    sdk = SdkSchema()
    properties, required = sdk.args_class(args_cls)
    return {"inputProperties": properties, "requiredInputs": required}, sdk.types


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.cache
def sdk_function(package: str, token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(function schema, its types) rebuilt from the SDK's data-source module: `__args__['camel'] = snake`
    names the arguments; the function's annotations type them. The Python SDK makes every argument
    optional, so which ones are required is not known (as in the shared aws file)."""
    _, module_path, function = token.split(":")
    mod = module_path.split("/")[0]
    python_module = SDK[package] if mod == "index" else f"{SDK[package]}.{mod.replace('/', '.')}"
    try:
        fn = getattr(importlib.import_module(python_module), _snake(function))
    except (ImportError, AttributeError):
        return None
    arguments = dict(re.findall(r"__args__\['(\w+)'\] = (\w+)", inspect.getsource(fn)))
    hints = typing.get_type_hints(fn)
    sdk = SdkSchema()
    properties = {camel: sdk.spec(hints.get(snake, Any)) for camel, snake in arguments.items()}
    return {"inputs": {"properties": properties, "required": [], "x-requiredUnknown": True}}, sdk.types


# --- which schema a token gets ---------------------------------------------------------------------------


class Schema(typing.NamedTuple):
    source: str  # "shared", "sdk", "provider"
    spec: dict[str, Any]  # inputProperties / requiredInputs (resources), or inputs (functions)
    types: dict[str, Any]


def package_of(token: str) -> str:
    return token.split(":")[2] if token.startswith("pulumi:providers:") else token.split(":")[0]


def schema_for(token: str) -> Schema | None:
    package = package_of(token)
    if package not in PINNED:
        return None
    shared = shared_schema(package)
    if token.startswith("pulumi:providers:"):
        return Schema("provider", shared["provider"], shared["types"])
    if token in shared["resources"]:
        return Schema("shared", shared["resources"][token], shared["types"])
    if token not in shared["allResources"]:
        return None
    rebuilt = sdk_resource(package, token)
    return None if rebuilt is None else Schema("sdk", rebuilt[0], rebuilt[1])


def function_schema_for(token: str) -> Schema | None:
    package = package_of(token)
    if package not in PINNED:
        return None
    shared = shared_schema(package)
    if token in shared["functions"]:
        return Schema("shared", shared["functions"][token]["inputs"], shared["types"])
    if token not in shared["allFunctions"]:
        return None
    rebuilt = sdk_function(package, token)
    return None if rebuilt is None else Schema("sdk", rebuilt[0]["inputs"], rebuilt[1])


# --- checking a value ------------------------------------------------------------------------------------


class Checker:
    """Collects problems (`path: what`) and counts what it checked."""

    def __init__(self, types: dict[str, Any], unknowns: collections.abc.Iterable[str] = ()) -> None:
        self.types = types
        self.unknowns = set(unknowns)
        self.problems: list[str] = []
        self.checked = 0  # values compared with a schema
        self.enums = 0  # enum or const values compared

    def passed(self, value: Any, path: str) -> bool:
        """A key counts as passed when its value is not null, or is null because it is unknown."""
        return value is not None or path in self.unknowns

    def check_object(
        self, value: Any, properties: dict[str, Any], required: collections.abc.Iterable[str], path: str
    ) -> None:
        if not isinstance(value, dict):
            self.problems.append(f"{path or '.'}: expected an object, got {value!r}")
            return
        for key in sorted(required):
            sub = f"{path}.{key}" if path else key
            if key not in value or not self.passed(value[key], sub):
                self.problems.append(f"{sub}: required, missing")
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            if key not in properties:
                self.problems.append(f"{sub}: no such input (known: {', '.join(sorted(properties))})")
            else:
                self.check_value(item, properties[key], sub)

    def check_value(self, value: Any, spec: dict[str, Any], path: str) -> None:
        if value is None or value == SECRET:
            return  # unknown at render time, a None the provider reads as unset, or a secret's plaintext
        self.checked += 1
        if spec.get("x-jsonEncoded") and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                self.problems.append(f"{path}: not the JSON text this provider input takes: {value!r}")
                return
        if "oneOf" in spec:
            self._check_one_of(value, spec["oneOf"], path)
            return
        ref = spec.get("$ref")
        if ref is not None:
            target = self._follow(ref, path)
            if target is None:
                return
            spec = target
        if "const" in spec or "enum" in spec:
            self._check_choice(value, spec, path)
        else:
            self._check_typed(value, spec, path)

    def _check_one_of(self, value: Any, members: list[dict[str, Any]], path: str) -> None:
        for member in members:
            trial = Checker(self.types, self.unknowns)
            trial.check_value(value, member, path)
            if not trial.problems:
                self.checked += trial.checked
                self.enums += trial.enums
                return
        self.problems.append(f"{path}: {value!r} matches none of {json.dumps(members)}")

    def _follow(self, ref: str, path: str) -> dict[str, Any] | None:
        """The schema type a $ref names; None when there is nothing to check (or a problem was noted)."""
        if ref.startswith("pulumi.json#/"):
            return None  # Any, Asset, Archive, Json
        if not ref.startswith("#/types/"):
            self.problems.append(f"{path}: cannot follow {ref}")
            return None
        target = self.types.get(ref.removeprefix("#/types/"))
        if target is None:
            self.problems.append(f"{path}: the schema has no type {ref}")
        return target

    def _check_choice(self, value: Any, spec: dict[str, Any], path: str) -> None:
        self.enums += 1
        if "const" in spec:
            if value != spec["const"]:
                self.problems.append(f"{path}: must be {spec['const']!r}, is {value!r}")
            return
        allowed = [e["value"] for e in spec["enum"]]
        if value not in allowed:
            self.problems.append(f"{path}: {value!r} is not one of {allowed}")

    def _check_typed(self, value: Any, spec: dict[str, Any], path: str) -> None:
        kind = spec.get("type")
        if kind == "object" and "properties" in spec:
            self.check_object(value, spec["properties"], spec.get("required", []), path)
        elif kind == "object":
            if not isinstance(value, dict):
                self.problems.append(f"{path}: expected a map, got {value!r}")
                return
            item_spec = spec.get("additionalProperties", ANY)
            for key, item in value.items():
                self.check_value(item, item_spec, f"{path}.{key}")
        elif kind == "array":
            if not isinstance(value, list):
                self.problems.append(f"{path}: expected a list, got {value!r}")
                return
            for i, item in enumerate(value):
                self.check_value(item, spec.get("items", ANY), f"{path}[{i}]")
        elif kind in SCALARS and not SCALARS[kind](value):
            self.problems.append(f"{path}: expected {kind}, got {value!r}")


SCALARS: dict[str, collections.abc.Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}
