"""The cluster side of discovery: the controller, its Helm release, NodePools, EC2NodeClasses and CRDs.

Every read is a `kubectl get` of a list (a field selector instead of a name), so an absent object is an
empty list rather than an error; an error is a note, never an exception out of discovery.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from ops.migrate.model import (
    AwsAuthMapping,
    Controller,
    Crd,
    HelmRelease,
    Json,
    LegacyObject,
    NodeClass,
    NodePool,
    ServiceAccount,
)
from ops.migrate.source import KubeGet, Notebook, items, json_list, str_map

KARPENTER_GROUPS = ("karpenter.sh", "karpenter.k8s.aws")
NAME_LABEL = "app.kubernetes.io/name"
IMAGE = re.compile(r"/karpenter/controller(?::(?P<tag>[^@]+))?(?:@|$)")
# Resources that only exist before v1 (v1alpha5 / v1alpha1), by CRD name.
PRE_V1_RESOURCES = {
    "provisioners.karpenter.sh": "Provisioner",
    "machines.karpenter.sh": "Machine",
    "awsnodetemplates.karpenter.k8s.aws": "AWSNodeTemplate",
}
NODE_POOL_TEMPLATE_KNOWN = {
    "nodeClassRef",
    "requirements",
    "taints",
    "startupTaints",
    "expireAfter",
    "terminationGracePeriod",
}
NODE_CLASS_KNOWN = {
    "role",
    "instanceProfile",
    "amiFamily",
    "amiSelectorTerms",
    "subnetSelectorTerms",
    "securityGroupSelectorTerms",
    "tags",
    "blockDeviceMappings",
    "metadataOptions",
    "kubelet",
    "userData",
}


def read_list(kube: KubeGet, args: list[str], notes: Notebook, what: str) -> list[Json]:
    try:
        return items(kube.get_json(args))
    except Exception as exc:  # any client failure is something we could not read, not a crash
        notes.unreadable(what, exc)
        return []


# ---------------------------------------------------------------------------------------------------------
# The controller


def is_karpenter(deployment: Json) -> bool:
    """By what it is: the chart's name label, or a container running Karpenter's controller image."""
    labels = str_map(deployment.get("metadata", {}).get("labels"))
    return labels.get(NAME_LABEL) == "karpenter" or _controller_container(deployment) is not None


def _containers(deployment: Json) -> list[Json]:
    spec = deployment.get("spec", {}).get("template", {}).get("spec", {})
    return list(json_list(spec.get("containers")))


def _controller_container(deployment: Json) -> Json | None:
    for container in _containers(deployment):
        if IMAGE.search(str(container.get("image", ""))):
            return container
    return None


def _settings(container: Json, notes: Notebook, subject: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    for env in json_list(container.get("env")):
        name = str(env.get("name", ""))
        if "value" in env:
            settings[name] = str(env["value"])
        elif any(ref in env.get("valueFrom", {}) for ref in ("secretKeyRef", "configMapKeyRef")):
            # The chart's own fieldRef/resourceFieldRef variables are not settings; these are.
            notes.unsupported(subject, f"setting {name} is read from a Secret or ConfigMap")
    return settings


def controller_from(deployment: Json, notes: Notebook) -> Controller:
    meta = deployment.get("metadata", {})
    pod = deployment.get("spec", {}).get("template", {})
    pod_spec = pod.get("spec", {})
    subject = f"Deployment {meta.get('namespace')}/{meta.get('name')}"
    container = _controller_container(deployment) or (_containers(deployment) or [{}])[0]
    image = str(container.get("image", ""))
    match = IMAGE.search(image)
    return Controller(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        service_account=str(pod_spec.get("serviceAccountName") or "default"),
        image=image,
        version=(match.group("tag") or None) if match else None,
        replicas=int(deployment.get("spec", {}).get("replicas", 1)),
        settings=_settings(container, notes, subject),
        pod_labels=str_map(pod.get("metadata", {}).get("labels")),
        node_selector=str_map(pod_spec.get("nodeSelector")),
        tolerations=json_list(pod_spec.get("tolerations")),
        labels=str_map(meta.get("labels")),
        annotations=str_map(meta.get("annotations")),
    )


def find_controller(kube: KubeGet, notes: Notebook) -> Controller | None:
    found = [
        d
        for d in read_list(kube, ["deployments", "--all-namespaces"], notes, "Deployments")
        if is_karpenter(d)
    ]
    if len(found) > 1:
        where = ", ".join(f"{d['metadata'].get('namespace')}/{d['metadata'].get('name')}" for d in found)
        notes.unsupported(
            "Karpenter controller", f"more than one Deployment runs it ({where}); the first is used"
        )
    return controller_from(found[0], notes) if found else None


def find_service_account(kube: KubeGet, controller: Controller, notes: Notebook) -> ServiceAccount | None:
    args = [
        "serviceaccounts",
        "--namespace",
        controller.namespace,
        "--field-selector",
        f"metadata.name={controller.service_account}",
    ]
    for sa in read_list(
        kube, args, notes, f"ServiceAccount {controller.namespace}/{controller.service_account}"
    ):
        meta = sa.get("metadata", {})
        return ServiceAccount(
            str(meta.get("namespace")), str(meta.get("name")), str_map(meta.get("annotations"))
        )
    return None


# ---------------------------------------------------------------------------------------------------------
# Helm


def decode_release(data: str) -> Json:
    """A Helm 3 release from a Secret's `data.release`: base64 (Kubernetes) of base64 of gzipped JSON."""
    raw = base64.b64decode(base64.b64decode(data))
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    doc = json.loads(raw)
    if not isinstance(doc, Mapping):
        raise ValueError("the release is not a JSON object")
    return doc


def _revision(secret: Json) -> int:
    try:
        return int(str_map(secret.get("metadata", {}).get("labels")).get("version", "0"))
    except ValueError:
        return 0


def release_from(secret: Json) -> HelmRelease:
    doc = decode_release(str(secret.get("data", {}).get("release", "")))
    meta = doc.get("chart", {}).get("metadata", {})
    return HelmRelease(
        name=str(doc.get("name")),
        namespace=str(doc.get("namespace")),
        revision=int(doc.get("version", _revision(secret))),
        status=str(doc.get("info", {}).get("status", "")),
        chart=str(meta.get("name", "")),
        chart_version=str(meta.get("version", "")),
        app_version=meta.get("appVersion"),
        values=doc.get("config") or {},
        secret=str(secret.get("metadata", {}).get("name")),
    )


def find_release(kube: KubeGet, controller: Controller, notes: Notebook) -> HelmRelease | None:
    name = controller.helm_release_name
    if not name:
        notes.unsupported(
            "Helm release", "the controller carries no Helm release name: not installed by Helm"
        )
        return None
    namespace = controller.annotations.get("meta.helm.sh/release-namespace", controller.namespace)
    args = ["secrets", "--namespace", namespace, "--selector", f"owner=helm,name={name}"]
    secrets = read_list(kube, args, notes, f"Helm release secrets of {namespace}/{name}")
    deployed = [
        s for s in secrets if str_map(s.get("metadata", {}).get("labels")).get("status") == "deployed"
    ]
    chosen = max(deployed or secrets, key=_revision, default=None)
    if chosen is None:
        notes.unsupported("Helm release", f"no release secret sh.helm.release.v1.{name}.* in {namespace}")
        return None
    try:
        return release_from(chosen)
    except (ValueError, TypeError, OSError) as exc:
        notes.unreadable(f"Helm release secret {chosen.get('metadata', {}).get('name')}", exc)
        return None


# ---------------------------------------------------------------------------------------------------------
# CRDs and the objects they define


def crd_from(doc: Json) -> Crd:
    meta = doc.get("metadata", {})
    versions = json_list(doc.get("spec", {}).get("versions"))
    return Crd(
        name=str(meta.get("name")),
        group=str(doc.get("spec", {}).get("group")),
        served_versions=tuple(str(v.get("name")) for v in versions if v.get("served", True)),
        stored_versions=tuple(str(v) for v in doc.get("status", {}).get("storedVersions") or ()),
        labels=str_map(meta.get("labels")),
        annotations=str_map(meta.get("annotations")),
    )


def find_crds(kube: KubeGet, notes: Notebook) -> tuple[Crd, ...]:
    docs = read_list(kube, ["customresourcedefinitions"], notes, "CustomResourceDefinitions")
    crds = (crd_from(d) for d in docs if d.get("spec", {}).get("group") in KARPENTER_GROUPS)
    return tuple(sorted(crds, key=lambda c: c.name))


def node_class_from(doc: Json) -> NodeClass:
    spec: Json = doc.get("spec", {})
    return NodeClass(
        name=str(doc.get("metadata", {}).get("name")),
        api_version=str(doc.get("apiVersion")),
        role=spec.get("role"),
        instance_profile=spec.get("instanceProfile"),
        ami_family=spec.get("amiFamily"),
        ami_selector_terms=json_list(spec.get("amiSelectorTerms")),
        subnet_selector_terms=json_list(spec.get("subnetSelectorTerms")),
        security_group_selector_terms=json_list(spec.get("securityGroupSelectorTerms")),
        tags=str_map(spec.get("tags")),
        block_device_mappings=json_list(spec.get("blockDeviceMappings")),
        metadata_options=spec.get("metadataOptions"),
        kubelet=spec.get("kubelet"),
        user_data=spec.get("userData"),
        other={k: v for k, v in spec.items() if k not in NODE_CLASS_KNOWN},
    )


def node_pool_from(doc: Json) -> NodePool:
    spec: Json = doc.get("spec", {})
    template: Json = spec.get("template", {})
    pod_spec: Json = template.get("spec", {})
    weight = spec.get("weight")
    return NodePool(
        name=str(doc.get("metadata", {}).get("name")),
        api_version=str(doc.get("apiVersion")),
        node_class_ref=pod_spec.get("nodeClassRef") or {},
        requirements=json_list(pod_spec.get("requirements")),
        weight=int(weight) if weight is not None else None,
        limits=dict(spec.get("limits") or {}),
        disruption=spec.get("disruption") or {},
        taints=json_list(pod_spec.get("taints")),
        startup_taints=json_list(pod_spec.get("startupTaints")),
        labels=str_map(template.get("metadata", {}).get("labels")),
        expire_after=pod_spec.get("expireAfter"),
        termination_grace_period=pod_spec.get("terminationGracePeriod"),
        annotations=str_map(template.get("metadata", {}).get("annotations")),
        other={k: v for k, v in pod_spec.items() if k not in NODE_POOL_TEMPLATE_KNOWN},
    )


def _objects(kube: KubeGet, crds: tuple[Crd, ...], name: str, notes: Notebook) -> list[Json]:
    """The objects of one Karpenter CRD, [] without asking when the CRD is not installed."""
    if not any(c.name == name for c in crds):
        return []
    return read_list(kube, [name], notes, name)


def find_objects(
    kube: KubeGet, crds: tuple[Crd, ...], notes: Notebook
) -> tuple[tuple[NodeClass, ...], tuple[NodePool, ...], tuple[LegacyObject, ...]]:
    classes = tuple(
        node_class_from(d) for d in _objects(kube, crds, "ec2nodeclasses.karpenter.k8s.aws", notes)
    )
    pools = tuple(node_pool_from(d) for d in _objects(kube, crds, "nodepools.karpenter.sh", notes))
    legacy = [
        LegacyObject(kind, str(d.get("apiVersion")), str(d.get("metadata", {}).get("name")))
        for crd, kind in PRE_V1_RESOURCES.items()
        for d in _objects(kube, crds, crd, notes)
    ]
    legacy += [
        LegacyObject(kind, obj.api_version, obj.name)
        for kind, objs in (("EC2NodeClass", classes), ("NodePool", pools))
        for obj in objs
        if not obj.api_version.endswith("/v1")
    ]
    return classes, pools, tuple(legacy)


def api_versions(
    crds: tuple[Crd, ...], classes: tuple[NodeClass, ...], pools: tuple[NodePool, ...]
) -> tuple[str, ...]:
    """ "group/version Kind" of every object found, and every version a Karpenter CRD still stores."""
    found = {f"{c.api_version} EC2NodeClass" for c in classes} | {f"{p.api_version} NodePool" for p in pools}
    found |= {f"{c.group}/{v} {c.name.split('.')[0]} (stored)" for c in crds for v in c.stored_versions}
    return tuple(sorted(found))


# ---------------------------------------------------------------------------------------------------------
# aws-auth


def find_aws_auth(kube: KubeGet, notes: Notebook) -> tuple[AwsAuthMapping, ...]:
    args = ["configmaps", "--namespace", "kube-system", "--field-selector", "metadata.name=aws-auth"]
    maps = read_list(kube, args, notes, "ConfigMap kube-system/aws-auth")
    if not maps:
        return ()
    try:
        roles: Any = yaml.safe_load(str(maps[0].get("data", {}).get("mapRoles") or "[]")) or []
    except yaml.YAMLError as exc:
        notes.unreadable("ConfigMap kube-system/aws-auth mapRoles", exc)
        return ()
    return tuple(
        AwsAuthMapping(
            str(r.get("rolearn")), str(r.get("username", "")), tuple(str(g) for g in r.get("groups") or ())
        )
        for r in roles
        if isinstance(r, Mapping) and r.get("rolearn")
    )
