"""The plan model: what a render records of every registration (`RecordedResource`) and of the whole
program (`Plan`), and how deserialized property values become plain JSON (unknowns as null, secrets as
"[secret]" with a digest and a shape of their plaintext, never the plaintext)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc

UNKNOWN = rpc.UNKNOWN
SECRET = "[secret]"


@dataclass
class RecordedResource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str | None
    protect: bool
    retain_on_delete: bool
    inputs: dict[str, Any]
    delete_before_replace: bool | None = None
    """The `delete_before_replace` option: None when the program left it unset (the provider decides)."""
    replace_on_changes: list[str] = field(default_factory=list)
    ignore_changes: list[str] = field(default_factory=list)
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    aliases: list[dict[str, Any]] = field(default_factory=list)
    secret_digests: dict[str, str] = field(default_factory=dict)
    """Top-level inputs holding a secret -> a short digest of the plaintext, so a diff of two plans sees
    that a secret changed without the plan holding it."""
    secret_shapes: dict[tuple[str | int, ...], Any] = field(default_factory=dict, repr=False)
    """Path of each `[secret]` placeholder in `inputs` -> the shape of its plaintext (`secret_shape`): the
    keys and JSON types the provider gets, none of the values. In memory only (not in `as_json`), so a
    schema test can check a secret's structure without the plan holding it."""
    unknowns: list[str] = field(default_factory=list)
    """Paths (`key`, `key.sub`, `key[0].sub`) of the inputs unknown at render time, which `inputs` records
    as null: the program passes them. Any other null in `inputs` is a None the program wrote itself."""

    def as_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies,
            "provider": self.provider,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "deleteBeforeReplace": self.delete_before_replace,
            "replaceOnChanges": self.replace_on_changes,
            "ignoreChanges": self.ignore_changes,
            "customTimeouts": self.custom_timeouts,
            "aliases": self.aliases,
            "secretDigests": self.secret_digests,
            "inputs": self.inputs,
        }


def _is_unknown(value: Any) -> bool:
    # Deserialized with keep_unknowns, an unknown is pulumi.output.UNKNOWN (an `Unknown`), not rpc's string.
    return value is UNKNOWN or isinstance(value, pulumi.Output | pulumi.output.Unknown)


def to_json_value(value: Any) -> Any:
    """Deserialized property values as plain JSON: unknowns become null, secrets "[secret]" (as
    `pulumi preview` shows them)."""
    if _is_unknown(value):
        return None
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return SECRET
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, pulumi.Resource):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire format has only doubles; the program wrote an integer
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return repr(value)
    return value


def unknown_paths(value: Any, path: str = "") -> list[str]:
    """The paths of a deserialized value's unknowns (the ones to_json_value records as null)."""
    if _is_unknown(value):
        return [path]
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return unknown_paths(value.get("value"), path)
        return [p for k, v in value.items() for p in unknown_paths(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in unknown_paths(v, f"{path}[{i}]")]
    return []


def _has_secret(value: Any) -> bool:
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return True
        return any(_has_secret(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_secret(v) for v in value)
    return False


def _plain(value: Any) -> Any:
    """A deserialized value with its secrets unwrapped (only ever digested, never written)."""
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return _plain(value.get("value"))
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return to_json_value(value)


def secret_shape(plain: Any) -> Any:
    """A plaintext with every scalar replaced by a stand-in of its JSON type ("[secret]", 0, false)."""
    if isinstance(plain, dict):
        return {k: secret_shape(v) for k, v in plain.items()}
    if isinstance(plain, list):
        return [secret_shape(v) for v in plain]
    if isinstance(plain, bool):
        return False
    if isinstance(plain, int | float):
        return 0
    return None if plain is None else SECRET


def secret_shapes(value: Any, path: tuple[str | int, ...] = ()) -> dict[tuple[str | int, ...], Any]:
    """Where `to_json_value(value)` has a `[secret]` placeholder -> the shape of the secret's plaintext."""
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return {path: secret_shape(_plain(value.get("value")))}
        items: list[tuple[str | int, Any]] = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list | tuple):
        items = list(enumerate(value))
    else:
        return {}
    return {p: shape for key, item in items for p, shape in secret_shapes(item, (*path, key)).items()}


def secret_digest(urn: str, key: str, value: Any) -> str:
    """A digest of a secret input, salted with the URN and key (so equal secrets of two resources do
    not look alike); 16 hex digits: enough to see a change, useless to guess the value."""
    text = json.dumps(_plain(value), sort_keys=True)
    return "sha256:" + hashlib.sha256(f"{urn}\0{key}\0{text}".encode()).hexdigest()[:16]


def secret_digests(urn: str, inputs: Mapping[str, Any]) -> dict[str, str]:
    digests = {k: secret_digest(urn, k, v) for k, v in sorted(inputs.items()) if _has_secret(v)}
    if "kubeconfig" in digests:
        # pulumi-kubernetes replaces its provider only when the kubeconfig's ACTIVE cluster entry changes
        # (provider.go DiffConfig, getActiveClusterFromConfig): digest that entry on its own too.
        active = active_cluster(_plain(inputs["kubeconfig"]))
        if active is not None:
            digests["kubeconfig.activeCluster"] = secret_digest(urn, "kubeconfig.activeCluster", active)
    return digests


def active_cluster(kubeconfig: Any) -> Any:
    """The cluster entry of a kubeconfig's current context (JSON or YAML text, or a parsed document)."""
    import yaml

    doc = kubeconfig
    if isinstance(doc, str):
        try:
            doc = yaml.safe_load(doc)
        except yaml.YAMLError:
            return None
    if not isinstance(doc, Mapping):
        return None
    contexts = {c.get("name"): c.get("context") or {} for c in doc.get("contexts") or []}
    cluster_name = contexts.get(doc.get("current-context"), {}).get("cluster")
    return next((c.get("cluster") for c in doc.get("clusters") or [] if c.get("name") == cluster_name), None)


@dataclass
class Plan:
    project: str
    stack: str
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    secret_outputs: list[str]
    invokes: list[tuple[str, str | None]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What the program logged with pulumi.log.warn (`pulumi preview` shows these)."""
    invoke_args: list[tuple[str, Any]] = field(default_factory=list)
    """Every data-source call's token and arguments (plain JSON, camelCase keys), in call order."""

    def as_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "resources": [r.as_json() for r in self.resources],
            "outputs": self.outputs,
        }

    # Helpers the tests use to ask questions of the plan.
    def by_type(self, typ: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str, name_suffix: str = "") -> RecordedResource:
        found = [r for r in self.by_type(typ) if r.name.endswith(name_suffix)]
        if len(found) != 1:
            names = [r.name for r in self.by_type(typ)]
            raise AssertionError(f"expected one {typ} named *{name_suffix}, found {len(found)}: {names}")
        return found[0]

    def urn_index(self) -> dict[str, RecordedResource]:
        return {r.urn: r for r in self.resources}

    def depends_on(self, resource: RecordedResource, target: RecordedResource) -> bool:
        """True when `resource` waits for `target` (directly or transitively, through dependencies,
        property dependencies or the parent chain of components whose children depend on it)."""
        index = self.urn_index()
        seen: set[str] = set()
        todo = [resource.urn]
        while todo:
            urn = todo.pop()
            if urn in seen:
                continue
            seen.add(urn)
            if urn == target.urn:
                return urn != resource.urn
            r = index.get(urn)
            if r is None:
                continue
            todo.extend(r.dependencies)
            for urns in r.property_dependencies.values():
                todo.extend(urns)
        return False
