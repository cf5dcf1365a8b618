"""Validate a rendered built-in Kubernetes object (Namespace, StorageClass, PersistentVolume, Secret,
Ingress, ...) against the official schema of its kind, strictly, the way the API server decodes it.

Schemas: the JSON-schema form of Kubernetes' published OpenAPI definitions that the PyPI package
`kubernetes-validate` ships (requirements-dev.txt pins it), one folder per minor version; the
`v<minor>.0-local-strict` folders set `additionalProperties: false` on every object that declares its
properties, so an unknown or misspelled field is refused (the API server's strict field validation,
`kubectl apply --validate=strict`). On top of the published schemas:

1. apiVersion/kind must name exactly the group, version and kind the schema is for
   (`x-kubernetes-group-version-kind`): the package names its files without the group's domain.
2. `null` is taken out of every type (the conversion made every field nullable). The plan holds None
   only where the program's value is unknown at render (harness/plan.py `to_json_value`). Such a key is
   KEPT, so a misspelled field is refused whatever its value; only the type of the unknown value goes
   unchecked, and it is returned in `Result.unknown` (never silently passed).
3. A `[secret]` placeholder (the plan never holds a secret) is replaced, before validation, by the shape
   of the secret's plaintext that the mocks record in memory (`RecordedResource.secret_shapes`: the same
   keys and JSON types, stand-in values): `stringData: "[secret]"` is validated as the map of strings it
   really is, not as a string (which would fail) nor skipped (which would prove nothing). Only the
   values of the secret's strings are not checked (the schemas constrain none beyond their type).
4. A Patch resource (`StorageClassPatch`, ...) is a server-side-apply partial object: every `required`
   is dropped (SSA apply configurations make every field optional), except the keys of list-map items
   (`x-kubernetes-list-map-keys`: SSA needs them to merge) and `metadata.name` (pulumi-kubernetes: "The
   name of the resource must be specified, but all other properties are optional", docstring of every
   `*Patch` class of the SDK). Unknown fields are still refused.
5. int32/int64 formats are range-checked. Other formats (byte, date-time) are not asserted.
6. What the API server checks that these schemas leave out, for the fields the program renders
   (`API_SERVER_ENUMS`, `metadata_problems`): the values of the enum fields (k8s.io/api's `+enum` types,
   narrowed where kubernetes/pkg/apis/*/validation supports fewer) and the syntax of names, namespaces,
   label and annotation keys (k8s.io/apimachinery/pkg/util/validation). Other server-side rules (a PV's
   capacity, immutable fields, ...) are not modelled.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
import re
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from referencing import Registry, Resource

from harness.plan import SECRET, Plan, RecordedResource

SCHEMAS = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"
CRD_GROUPS = frozenset({"karpenter.sh", "karpenter.k8s.aws"})
"""Kinds of these groups are custom resources, validated against their CRDs
(tests/support/crd_validation.py)."""
NOT_OBJECTS = frozenset({"kubernetes:helm.sh/v3:Release", "kubernetes:yaml/v2:ConfigFile"})
"""Registrations of the kubernetes provider that are not one object (a Helm release, a remote YAML file)."""

Path = tuple[str | int, ...]


def shipped_versions() -> list[tuple[int, int]]:
    """The Kubernetes minor versions the package has strict schemas of, oldest first."""
    found = set()
    for entry in SCHEMAS.iterdir():
        match = re.fullmatch(r"v(\d+)\.(\d+)\.0-local-strict", entry.name)
        if match:
            found.add((int(match[1]), int(match[2])))
    return sorted(found)


def schema_version(cluster_version: str) -> str:
    """The schemas for a cluster version "1.34": that minor version's, else the newest older one shipped
    (a newer schema could accept a field the cluster does not know). Refuses a version newer than any."""
    major, minor = (int(p) for p in cluster_version.split(".")[:2])
    older = [v for v in shipped_versions() if v <= (major, minor)]
    if not older or (major, minor) > shipped_versions()[-1]:
        raise LookupError(f"kubernetes-validate ships no schemas for Kubernetes {cluster_version}")
    return f"{older[-1][0]}.{older[-1][1]}"


def _load(version: str, name: str) -> Any:
    return json.loads((SCHEMAS / f"v{version}.0-local-strict" / name).read_text())


def _not_null(node: Any) -> Any:
    """Every `type: [T, "null"]` made `type: T`."""
    if isinstance(node, dict):
        out = {k: _not_null(v) for k, v in node.items()}
        types = out.get("type")
        if isinstance(types, list) and "null" in types:
            rest = [t for t in types if t != "null"]
            out["type"] = rest[0] if len(rest) == 1 else rest
        return out
    if isinstance(node, list):
        return [_not_null(v) for v in node]
    return node


def _relaxed(node: Any) -> Any:
    """A schema for server-side-apply patches: no `required`, but list-map items keep their keys."""
    if isinstance(node, dict):
        out = {k: _relaxed(v) for k, v in node.items() if k != "required"}
        keys = node.get("x-kubernetes-list-map-keys")
        if keys and "items" in out:
            out["items"] = {"allOf": [out["items"], {"required": list(keys)}]}
        # "properties" of a schema named "required" would be a field, not the keyword: keep it.
        if isinstance(node.get("properties"), dict) and "required" in node["properties"]:
            out["properties"]["required"] = _relaxed(node["properties"]["required"])
        return out
    if isinstance(node, list):
        return [_relaxed(v) for v in node]
    return node


ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]
VOLUME_MODES = ["Block", "Filesystem"]
API_SERVER_ENUMS: dict[str, dict[str, list[str]]] = {
    # k8s.io/api core/v1 types.go (+enum) and kubernetes pkg/apis/core/validation supportedAccessModes,
    # supportedReclaimPolicy, supportedVolumeModes.
    "io.k8s.api.core.v1.PersistentVolumeSpec": {
        "accessModes": ACCESS_MODES,
        "persistentVolumeReclaimPolicy": ["Delete", "Recycle", "Retain"],
        "volumeMode": VOLUME_MODES,
    },
    "io.k8s.api.core.v1.PersistentVolumeClaimSpec": {"accessModes": ACCESS_MODES, "volumeMode": VOLUME_MODES},
    # pkg/apis/storage/validation: a class supports Delete and Retain only; storage/v1 VolumeBindingMode.
    "io.k8s.api.storage.v1.StorageClass": {
        "reclaimPolicy": ["Delete", "Retain"],
        "volumeBindingMode": ["Immediate", "WaitForFirstConsumer"],
    },
    # k8s.io/api networking/v1 types.go PathType.
    "io.k8s.api.networking.v1.HTTPIngressPath": {"pathType": ["Exact", "Prefix", "ImplementationSpecific"]},
}


def _with_enums(schema: dict[str, Any], enums: dict[str, list[str]]) -> None:
    for name, allowed in enums.items():
        prop = schema["properties"][name]
        (prop["items"] if prop.get("type") == "array" else prop)["enum"] = allowed


def _file_name(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    return f"{kind.lower()}-{group.split('.')[0] + '-' if group else ''}{version}.json"


class _Formats(jsonschema.FormatChecker):
    def __init__(self) -> None:
        super().__init__(formats=())
        for fmt, bits in (("int32", 32), ("int64", 64)):
            self.checks(fmt)(functools.partial(_in_range, bits=bits))


def _in_range(value: object, bits: int) -> bool:
    return not isinstance(value, int) or -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)


@functools.cache
def validator(version: str, api_version: str, kind: str, patch: bool) -> jsonschema.Draft202012Validator:
    """The validator of one kind (a LookupError when the package has no schema of it)."""
    try:
        schema = _load(version, _file_name(api_version, kind))
    except FileNotFoundError as exc:
        raise LookupError(f"no schema for {api_version} {kind} in Kubernetes {version}") from exc
    group, _, ver = api_version.rpartition("/")
    if {"group": group, "version": ver, "kind": kind} not in schema.get(
        "x-kubernetes-group-version-kind", []
    ):
        raise LookupError(
            f"the schema {_file_name(api_version, kind)} is not the one of {api_version} {kind}"
        )
    definitions = _not_null(_load(version, "_definitions.json"))
    schema = _not_null(schema)
    for name, enums in API_SERVER_ENUMS.items():
        _with_enums(definitions["$defs"][name], enums)
        gvk = "x-kubernetes-group-version-kind"
        if definitions["$defs"][name].get(gvk) == schema[gvk]:
            _with_enums(schema, enums)  # the kind's own file repeats its definition
    if patch:
        definitions, schema = _relaxed(definitions), _relaxed(schema)
        schema["required"] = ["metadata"]
        schema["properties"]["metadata"] = {
            "allOf": [schema["properties"]["metadata"], {"required": ["name"]}]
        }
    registry: Registry = Registry().with_resources(
        [(d["$id"], Resource.from_contents(d)) for d in (schema, definitions)]
    )
    return jsonschema.Draft202012Validator(schema, registry=registry, format_checker=_Formats())


def _path(parts: Any) -> str:
    text = ""
    for p in parts:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else str(p))
    return text or "(object)"


def _get(doc: Any, path: Path) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _set(doc: Any, path: Path, value: Any) -> None:
    _get(doc, path[:-1])[path[-1]] = value


DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(rf"{DNS1123_LABEL.pattern}(\.{DNS1123_LABEL.pattern})*")
QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
LABEL_VALUE = re.compile(rf"({QUALIFIED_NAME.pattern})?")
LABEL_NAMES = frozenset({"Namespace"})
"""Kinds whose names are DNS-1123 labels (apimachinery ValidateNamespaceName); the other kinds rendered
(PersistentVolume, PersistentVolumeClaim, StorageClass, Secret, Ingress) take DNS-1123 subdomains."""


def _qualified_name_problem(key: str) -> str | None:
    """apimachinery IsQualifiedName: `[prefix/]name`, prefix a DNS-1123 subdomain, name <= 63 characters."""
    prefix, _, name = key.rpartition("/")
    if "/" in prefix or (prefix and not (DNS1123_SUBDOMAIN.fullmatch(prefix) and len(prefix) <= 253)):
        return "its prefix must be a DNS-1123 subdomain"
    if not QUALIFIED_NAME.fullmatch(name) or len(name) > 63:
        return (
            "its name must be 63 characters or less, alphanumeric, '-', '_' or '.', alphanumeric at both ends"
        )
    return None


def metadata_problems(doc: dict[str, Any]) -> list[str]:
    """What the API server checks of names, namespaces, labels and annotations (apimachinery
    pkg/util/validation IsDNS1123Label/IsDNS1123Subdomain/IsQualifiedName/IsValidLabelValue)."""
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        return []
    problems = []
    name, namespace = meta.get("name"), meta.get("namespace")
    if isinstance(name, str):
        label = doc.get("kind") in LABEL_NAMES
        ok = DNS1123_LABEL.fullmatch(name) and len(name) <= 63 if label else DNS1123_SUBDOMAIN.fullmatch(name)
        if not ok or len(name) > 253:
            problems.append(f"metadata.name: {name!r} is not a DNS-1123 {'label' if label else 'subdomain'}")
    if isinstance(namespace, str) and not (DNS1123_LABEL.fullmatch(namespace) and len(namespace) <= 63):
        problems.append(f"metadata.namespace: {namespace!r} is not a DNS-1123 label")
    for section in ("labels", "annotations"):
        for key, value in (meta.get(section) or {}).items():
            why = _qualified_name_problem(key if section == "labels" else key.lower())
            if why:
                problems.append(f"metadata.{section}: key {key!r}: {why}")
            if (
                section == "labels"
                and isinstance(value, str)
                and not (LABEL_VALUE.fullmatch(value) and len(value) <= 63)
            ):
                problems.append(f"metadata.labels: the value {value!r} of {key!r} is not a valid label value")
    return problems


@dataclass
class Result:
    problems: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    """Paths whose value is unknown at render: the key was checked, the value's type could not be."""
    secrets: list[str] = field(default_factory=list)
    """Paths of `[secret]` placeholders, validated through the shape of the secret's plaintext."""
    version: str = ""


def validate_object(
    doc: dict[str, Any],
    cluster_version: str,
    *,
    patch: bool = False,
    secret_shapes: dict[Path, Any] | None = None,
) -> Result:
    result = Result(version=schema_version(cluster_version))
    doc = copy.deepcopy(doc)
    for path, shape in sorted((secret_shapes or {}).items(), key=lambda kv: [str(p) for p in kv[0]]):
        if not path or _get(doc, path) != SECRET:
            result.problems.append(f"{_path(path)}: the recorded secret is not where the plan has `[secret]`")
            continue
        _set(doc, path, shape)
        result.secrets.append(_path(path))
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        result.problems.append("apiVersion and kind must be known strings")
        return result
    try:
        check = validator(result.version, api_version, kind, patch)
    except LookupError as exc:
        result.problems.append(str(exc))
        return result
    result.problems += metadata_problems(doc)
    for error in sorted(check.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]):
        where = _path(error.absolute_path)
        if error.instance is None and error.validator in ("type", "oneOf", "enum"):
            if where not in result.unknown:  # a type and an enum error at one path
                result.unknown.append(where)
        else:
            result.problems.append(f"{where}: {error.message}")
    return result


@dataclass
class Checked:
    resource: RecordedResource
    patch: bool
    result: Result

    @property
    def kind(self) -> str:
        return str(self.resource.inputs.get("kind")) + ("Patch" if self.patch else "")


def builtin_objects(plan: Plan) -> list[RecordedResource]:
    """Every registration of a Kubernetes object that is not a custom resource of `CRD_GROUPS`."""
    found = []
    for r in plan.resources:
        if not r.custom or not r.type.startswith("kubernetes:") or r.type in NOT_OBJECTS:
            continue
        group = str(r.inputs.get("apiVersion", "")).rpartition("/")[0]
        if group not in CRD_GROUPS:
            found.append(r)
    return found


def validate_plan(plan: Plan, cluster_version: str) -> list[Checked]:
    return [
        Checked(
            r,
            r.type.endswith("Patch"),
            validate_object(
                r.inputs, cluster_version, patch=r.type.endswith("Patch"), secret_shapes=r.secret_shapes
            ),
        )
        for r in builtin_objects(plan)
    ]
