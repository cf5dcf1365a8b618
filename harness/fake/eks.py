"""EKS: the cluster (pulumi-eks's component), Fargate profiles, access entries, add-ons, Pod Identity
associations; the cluster lookups an adopt-mode stack makes."""

from __future__ import annotations

import json
from typing import Any

from components.cluster.cluster import kubeconfig as cluster_kubeconfig
from harness.fake.world import CallFailure, Registration, World, _hex


def _fargate_profile(r: Registration) -> None:
    cluster = r.inputs.get("clusterName", "")
    profile = r.inputs.get("fargateProfileName", r.name)
    r.state |= {"arn": r.arn("eks", f"fargateprofile/{cluster}/{profile}/{_hex(r.name, 8)}")}
    r.state["status"] = "ACTIVE"
    r.rid = f"{cluster}:{profile}"


def _access_entry(r: Registration) -> None:
    r.state["accessEntryArn"] = r.arn("eks", f"access-entry/{r.inputs.get('clusterName')}/{_hex(r.name)}")


def _addon(r: Registration) -> None:
    r.state |= {"arn": r.arn("eks", f"addon/{r.inputs.get('clusterName')}/{r.inputs.get('addonName')}")}
    r.state.setdefault("addonVersion", "v1.12.4-eksbuild.1")


def _pod_identity_association(r: Registration) -> None:
    aid = f"a-{_hex(r.name, 17)}"
    cluster = r.inputs.get("clusterName")
    r.state |= {
        "associationId": aid,
        "associationArn": r.arn("eks", f"podidentityassociation/{cluster}/{aid}"),
    }
    r.rid = f"{cluster},{aid}"


def _get_addon_version(world: World, a: dict[str, Any]) -> dict[str, Any]:
    """getAddonVersion: the storage add-ons' newest versions as the world lists them (an add-on it does not
    list is not offered); pulumi-eks's vpc-cni and kube-proxy with a default version, or with `mostRecent`
    the newest, which AWS raises now and then: here on every run."""
    kubernetes = str(a.get("kubernetesVersion") or "1.34")
    name = str(a.get("addonName"))
    build = 1 + world.run if a.get("mostRecent") else 1
    if name == "kube-proxy":
        version = f"v{kubernetes}.0-eksbuild.{build}"
    elif name == "vpc-cni":
        version = f"v1.20.0-eksbuild.{build}"
    elif name in world.newest_addon_versions:
        version = world.newest_addon_versions[name]
    else:
        raise CallFailure(f"no add-on version of {name} found for Kubernetes {kubernetes}")
    return {"addonName": name, "kubernetesVersion": kubernetes, "version": version, "id": name}


def _managed_addon_versions(r: Registration) -> dict[str, str]:
    """The versions pulumi-eks gives the add-ons it manages: the pinned one, else the newest it looks up
    on every run (`getAddonVersionOutput({mostRecent: true})`, nodejs/eks/cluster/cluster.ts)."""
    kubernetes = str(r.inputs.get("version") or "1.34")
    wanted = {
        "vpc-cni": (r.inputs.get("vpcCniOptions") or {}).get("addonVersion"),
        "kube-proxy": (r.inputs.get("kubeProxyAddonOptions") or {}).get("version"),
    }
    latest = {"kubernetesVersion": kubernetes, "mostRecent": True}
    return {
        name: version or _get_addon_version(r.world, {"addonName": name, **latest})["version"]
        for name, version in wanted.items()
    }


def _cluster(r: Registration) -> None:
    """pulumi-eks's Cluster component, with the outputs the program reads of it."""
    cluster = str(r.inputs.get("name") or r.name)
    region = r.world.region
    issuer_host = f"oidc.eks.{region}.amazonaws.com/id/{_hex(cluster, 32).upper()}"
    endpoint = f"https://{_hex(cluster + 'ep', 32).upper()}.gr7.{region}.eks.amazonaws.com"
    kubeconfig = json.loads(cluster_kubeconfig(cluster, endpoint, "LS0tLS1CRUdJTg==", region))
    r.state |= {
        "kubeconfig": kubeconfig,
        "kubeconfigJson": json.dumps(kubeconfig),
        "oidcIssuer": issuer_host,
        "oidcProviderUrl": f"https://{issuer_host}",
        "oidcProviderArn": r.arn("iam", f"oidc-provider/{issuer_host}", region=False),
        "clusterSecurityGroupId": f"sg-{_hex(cluster + 'sg')}",
        "core": {"endpoint": endpoint},
        "managedAddonVersions": _managed_addon_versions(r),
    }


RESOURCES = {
    "aws:eks/fargateProfile:FargateProfile": _fargate_profile,
    "aws:eks/accessEntry:AccessEntry": _access_entry,
    "aws:eks/addon:Addon": _addon,
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": _pod_identity_association,
    "eks:index:Cluster": _cluster,
}


def _get_cluster(world: World, a: dict[str, Any]) -> dict[str, Any]:
    found = world.existing_clusters.get(str(a.get("name")))
    if found is None:
        raise Exception(f"ResourceNotFoundException: No cluster found for name: {a.get('name')}.")
    return dict(found) | {"id": found["name"]}


def _get_clusters(world: World, a: dict[str, Any]) -> dict[str, Any]:
    return {"names": sorted(world.existing_clusters), "id": world.region}


def _get_addon(world: World, a: dict[str, Any]) -> dict[str, Any]:
    cluster, name = str(a.get("clusterName")), str(a.get("addonName"))
    if cluster not in world.existing_clusters or name in world.absent_addons:
        raise CallFailure(f"ResourceNotFoundException: No addon: {name} found in cluster: {cluster}")
    return {
        "addonName": name,
        "clusterName": cluster,
        "addonVersion": world.newest_addon_versions.get(name, "v1.3.8-eksbuild.2"),
        "arn": world.arn("eks", f"addon/{cluster}/{name}/{_hex(cluster + name, 8)}"),
        "configurationValues": "",
        "id": f"{cluster}:{name}",
    }


CALLS = {
    "aws:eks/getCluster:getCluster": _get_cluster,
    "aws:eks/getAddonVersion:getAddonVersion": _get_addon_version,
    "aws:eks/getAddon:getAddon": _get_addon,
    "aws:eks/getClusters:getClusters": _get_clusters,
}
