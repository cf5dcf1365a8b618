"""Every built-in Kubernetes object the stacks render (Namespace, StorageClass and its patch,
PersistentVolume, PersistentVolumeClaim, Secret, Ingress) validated strictly against the official schema
of its kind for the cluster's Kubernetes version (tests/support/kubernetes_validation.py says how); the mocks
accept anything.
Karpenter's NodePool/EC2NodeClass are custom resources, validated against their CRDs elsewhere."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from config.cluster import ClusterConfig
from harness.plan import SECRET, Plan
from harness.stack_files import load_stack_file
from harness.synth import kubernetes_objects, world_for
from tests.support.kubernetes_validation import (
    CRD_GROUPS,
    builtin_objects,
    schema_version,
    shipped_versions,
    validate_object,
    validate_plan,
)
from tests.support.stacks import ALL_STACKS, EXAMPLE_STACKS, stack_dir, stack_plan

STACKS = {stack: stack_dir(stack) for stack in ALL_STACKS}
"""Every stack of the project (the example stacks and any a user added) and tests/stacks/everything."""

EXPECTED_UNKNOWN: dict[str, list[str]] = {}
"""`<stack> <kind>/<name>` -> paths whose value is unknown at render (their type goes unchecked). None today:
every value of every object is known, so every value's type is checked. List one here only deliberately."""


def cluster_version(stack: str) -> str:
    """The Kubernetes version of the stack's cluster: `cluster.kubernetesVersion` of a created one (or the
    model's default), the version the account reports for an adopted one (as the render saw it)."""
    project, config = load_stack_file(stack, STACKS[stack])
    cluster = json.loads(config[f"{project}:cluster"])
    if cluster.get("mode") == "adopt":
        return str(world_for(project, config).existing_clusters[cluster["name"]]["version"])
    return str(cluster.get("kubernetesVersion") or ClusterConfig.model_fields["kubernetes_version"].default)


@pytest.fixture
def plans() -> dict[str, Plan]:
    return {stack: stack_plan(stack) for stack in STACKS}


def test_the_package_ships_the_schemas_of_the_stacks_versions() -> None:
    assert cluster_version("dev") == cluster_version("everything") == "1.34"
    assert cluster_version("prod") == "1.33"  # the adopted cluster of the fake account (harness/fake/)
    assert (1, 34) in shipped_versions() and (1, 33) in shipped_versions()
    assert schema_version("1.34") == "1.34" and schema_version("1.33") == "1.33"
    # A version between two shipped ones takes the older schemas; one newer than all is refused.
    newest = shipped_versions()[-1]
    with pytest.raises(LookupError):
        schema_version(f"{newest[0]}.{newest[1] + 1}")


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_every_builtin_object_of_the_stack_is_valid_for_its_cluster_version(
    stack: str, plans: dict[str, Plan]
) -> None:
    # The cluster's version; 1.34 too (the model's default) for the adopted prod cluster.
    checked = [c for v in sorted({cluster_version(stack), "1.34"}) for c in validate_plan(plans[stack], v)]
    problems = [
        f"{c.kind}/{c.resource.name}: {p} (Kubernetes {c.result.version})"
        for c in checked
        for p in c.result.problems
    ]
    assert not problems, "\n".join(problems)
    unknown = {f"{stack} {c.kind}/{c.resource.name}": c.result.unknown for c in checked if c.result.unknown}
    assert unknown == {k: v for k, v in EXPECTED_UNKNOWN.items() if k.startswith(f"{stack} ")}


def test_each_kind_the_program_renders_is_validated(plans: dict[str, Plan]) -> None:
    """Counts per kind, so the test above cannot pass by validating nothing (the everything stack renders
    each kind the add-ons make)."""
    counts = {
        stack: dict(Counter(c.kind for c in validate_plan(plans[stack], cluster_version(stack))))
        for stack in (*EXAMPLE_STACKS, "everything")  # what these are documented to render
    }
    assert counts == {
        "dev": {"Namespace": 1, "StorageClass": 2},
        "prod": {"Namespace": 2, "StorageClass": 1, "StorageClassPatch": 1, "PersistentVolume": 2,
                 "PersistentVolumeClaim": 2},
        "everything": {"Namespace": 3, "StorageClass": 2, "StorageClassPatch": 1, "PersistentVolume": 3,
                       "PersistentVolumeClaim": 3, "Secret": 1, "Ingress": 1},
    }  # fmt: skip


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_every_manifest_synth_writes_is_validated_here_or_against_a_crd(
    stack: str, plans: dict[str, Plan]
) -> None:
    """harness/synth.py writes one manifest per Kubernetes object: each is a built-in object validated here,
    or a custom resource of a group whose CRDs tests/support/crd_validation.py checks; none escapes both."""
    plan = plans[stack]
    docs = [d for f, d in kubernetes_objects(plan).items() if not f.startswith(("helm-", "addon-"))]
    builtin = [r.inputs for r in builtin_objects(plan)]
    custom = [d for d in docs if d not in builtin]
    assert len(docs) == len(builtin) + len(custom)
    assert {str(d["apiVersion"]).rpartition("/")[0] for d in custom} <= CRD_GROUPS


# --- secrets ------------------------------------------------------------------------------------------------


def test_the_secret_is_validated_through_the_shape_of_its_plaintext(everything_plan: Plan) -> None:
    """pulumi-kubernetes makes Secret's whole `stringData` a secret (core/v1/Secret.py wraps it in
    Output.secret), so the plan holds `stringData: "[secret]"`: validated as is, it would fail (a string is
    no map); skipped, it would prove nothing. The mocks record its shape (same keys, same JSON types)."""
    (secret,) = [r for r in builtin_objects(everything_plan) if r.inputs["kind"] == "Secret"]
    assert secret.inputs["stringData"] == SECRET
    assert secret.secret_shapes == {("stringData",): {"password": SECRET}}
    # Never written: not in the plan's JSON, not even in a repr.
    assert "secret_shapes" not in repr(secret) and not any("hape" in k for k in secret.as_json())
    result = validate_object(secret.inputs, "1.34", secret_shapes=secret.secret_shapes)
    assert (result.problems, result.secrets) == ([], ["stringData"])
    # Without the shape, the placeholder breaks the validation; a wrong shape is refused, not faked.
    assert validate_object(secret.inputs, "1.34").problems == [
        "stringData: '[secret]' is not of type 'object'"
    ]
    wrong = validate_object(secret.inputs, "1.34", secret_shapes={("stringData",): {"password": 0}})
    assert wrong.problems == ["stringData.password: 0 is not of type 'string'"]
    misplaced = validate_object(secret.inputs, "1.34", secret_shapes={("type",): "x"})
    assert misplaced.problems == [
        "type: the recorded secret is not where the plan has `[secret]`",
        "stringData: '[secret]' is not of type 'object'",
    ]


# --- the validation refuses what the API server refuses ---------------------------------------------------


def storage_class(**fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "gp3"},
        "provisioner": "ebs.csi.aws.com",
    } | fields


def test_a_valid_object_passes_and_unknown_or_mistyped_fields_are_refused() -> None:
    assert validate_object(storage_class(reclaimPolicy="Retain"), "1.34").problems == []
    assert validate_object(storage_class(reclaimPolicys="Retain"), "1.34").problems == [
        "(object): Additional properties are not allowed ('reclaimPolicys' was unexpected)"
    ]
    assert validate_object(storage_class(allowVolumeExpansion="true"), "1.34").problems == [
        "allowVolumeExpansion: 'true' is not of type 'boolean'"
    ]
    assert validate_object(storage_class(metadata={"name": "gp3", "label": {}}), "1.34").problems == [
        "metadata: Additional properties are not allowed ('label' was unexpected)"
    ]
    no_provisioner = storage_class()
    del no_provisioner["provisioner"]
    assert validate_object(no_provisioner, "1.34").problems == [
        "(object): 'provisioner' is a required property"
    ]


def test_nested_fields_of_volumes_and_ingresses_are_checked() -> None:
    volume = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "v"},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "csi": {"driver": "efs.csi.aws.com", "volumeHandel": "fs-1"},
        },
    }
    assert validate_object(volume, "1.34").problems == [
        "spec.csi: 'volumeHandle' is a required property",
        "spec.csi: Additional properties are not allowed ('volumeHandel' was unexpected)",
    ]
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "i", "namespace": "n"},
        "spec": {"defaultBackend": {"service": {"name": "s", "port": {"number": 2**31}}}},
    }
    assert validate_object(ingress, "1.34").problems == [
        "spec.defaultBackend.service.port.number: 2147483648 is not a 'int32'"
    ]


def test_api_version_and_kind_must_name_the_schema_exactly() -> None:
    assert validate_object(storage_class(apiVersion="storage.example.com/v1"), "1.34").problems == [
        "the schema storageclass-storage-v1.json is not the one of storage.example.com/v1 StorageClass"
    ]
    assert validate_object(storage_class(kind="StorageClas"), "1.34").problems == [
        "no schema for storage.k8s.io/v1 StorageClas in Kubernetes 1.34"
    ]


def test_an_unknown_value_keeps_its_key_so_a_wrong_field_is_still_refused() -> None:
    """None in the plan is a value unknown at render: its key is validated, its type reported unchecked."""
    known_key = validate_object(
        storage_class(provisioner=None, parameters={"type": None}, reclaimPolicy=None), "1.34"
    )
    assert (known_key.problems, known_key.unknown) == (
        [],
        ["parameters.type", "provisioner", "reclaimPolicy"],
    )
    wrong_key = validate_object(storage_class(provisionr=None), "1.34")
    assert wrong_key.problems == [
        "(object): Additional properties are not allowed ('provisionr' was unexpected)"
    ]


def test_a_patch_needs_only_its_name_and_still_refuses_unknown_fields() -> None:
    patch = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "gp2", "annotations": {"storageclass.kubernetes.io/is-default-class": "false"}},
    }
    assert validate_object(patch, "1.34", patch=True).problems == []
    assert validate_object(patch, "1.34").problems == ["(object): 'provisioner' is a required property"]
    assert validate_object(patch | {"metadata": {"labels": {}}}, "1.34", patch=True).problems == [
        "metadata: 'name' is a required property"
    ]
    assert validate_object(patch | {"mountOption": []}, "1.34", patch=True).problems == [
        "(object): Additional properties are not allowed ('mountOption' was unexpected)"
    ]
    # An item of a list-map keeps its key: server-side apply merges the items by it.
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"image": "x"}]},
    }
    assert validate_object(pod, "1.34", patch=True).problems == [
        "spec.containers[0]: 'name' is a required property"
    ]


def test_enum_fields_take_only_the_values_the_api_server_supports() -> None:
    """The published schemas type these fields as strings; the API server takes a fixed set of values."""
    assert validate_object(storage_class(reclaimPolicy="Recycle"), "1.34").problems == [
        "reclaimPolicy: 'Recycle' is not one of ['Delete', 'Retain']"
    ]
    assert validate_object(storage_class(volumeBindingMode="WaitForFirstconsumer"), "1.34").problems == [
        "volumeBindingMode: 'WaitForFirstconsumer' is not one of ['Immediate', 'WaitForFirstConsumer']"
    ]
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "c", "namespace": "n"},
        "spec": {"accessModes": ["ReadWriteOnse"], "volumeMode": "Filesystem"},
    }
    assert validate_object(claim, "1.34").problems == [
        "spec.accessModes[0]: 'ReadWriteOnse' is not one of "
        "['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod']"
    ]
    path = {"path": "/", "pathType": "prefix", "backend": {"service": {"name": "s", "port": {"number": 80}}}}
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "i", "namespace": "n"},
        "spec": {"rules": [{"http": {"paths": [path]}}]},
    }
    assert validate_object(ingress, "1.34").problems == [
        "spec.rules[0].http.paths[0].pathType: 'prefix' is not one of "
        "['Exact', 'Prefix', 'ImplementationSpecific']"
    ]


BAD_NAME = "its name must be 63 characters or less, alphanumeric, '-', '_' or '.', alphanumeric at both ends"


def test_names_namespaces_labels_and_annotations_are_checked_like_the_api_server_does() -> None:
    assert validate_object(storage_class(metadata={"name": "shared.datasets-1"}), "1.34").problems == []
    assert validate_object(storage_class(metadata={"name": "GP3"}), "1.34").problems == [
        "metadata.name: 'GP3' is not a DNS-1123 subdomain"
    ]
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team.data"}}
    assert validate_object(namespace, "1.34").problems == [
        "metadata.name: 'team.data' is not a DNS-1123 label"
    ]
    meta = {
        "name": "gp3",
        "namespace": "Data",
        "labels": {"app.kubernetes.io/name": "x" * 64, "-bad": "ok"},
        "annotations": {"example.com/fine": "{}", "Example.com/Upper-Is-Fine": "", "bad key": ""},
    }
    assert validate_object(storage_class(metadata=meta), "1.34").problems == [
        "metadata.namespace: 'Data' is not a DNS-1123 label",
        f"metadata.labels: the value '{'x' * 64}' of 'app.kubernetes.io/name' is not a valid label value",
        f"metadata.labels: key '-bad': {BAD_NAME}",
        f"metadata.annotations: key 'bad key': {BAD_NAME}",
    ]
