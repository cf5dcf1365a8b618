"""The kubectl side of the migration scenarios, written to tests/data/migrate/ by
`venv/bin/python -m tests.support.migrate_fixtures` (a test checks the files are what this writes).

Each scenario folder holds what `kubectl get <resource> --all-namespaces -o json` returns for the
resources discovery reads, in kubectl's List shape, one file per resource (`<resource>.json`). They are
written here, not recorded from a live cluster: each object carries the fields the guides' installs set
(trimmed of status, managedFields and the CRDs' schemas), and the Helm release secret is encoded the way
Helm 3 stores it (JSON, gzipped, base64; base64 again as Secret data).
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1] / "data" / "migrate"
ACCOUNT = "123456789012"
DIGEST = "@sha256:" + "0" * 64


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def listing(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": objs, "metadata": {"resourceVersion": ""}}


def meta(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, **extra}
    if namespace:
        out["namespace"] = namespace
    return out


def chart_labels(version: str, helm: bool) -> tuple[dict[str, str], dict[str, str]]:
    labels = {
        "app.kubernetes.io/name": "karpenter",
        "app.kubernetes.io/instance": "karpenter",
        "app.kubernetes.io/version": version,
        "app.kubernetes.io/managed-by": "Helm",
        "helm.sh/chart": f"karpenter-{version}",
    }
    return labels, ({"meta.helm.sh/release-name": "karpenter"} if helm else {})


def deployment(
    ns: str, version: str, env: dict[str, str], pod_labels: dict[str, str], helm: bool = True
) -> Any:
    labels, annotations = chart_labels(version, helm)
    if helm:
        annotations["meta.helm.sh/release-namespace"] = ns
    selector = {"app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": "karpenter"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta("karpenter", ns, labels=labels, annotations=annotations),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**selector, **pod_labels}},
                "spec": {
                    "serviceAccountName": "karpenter",
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
                    "containers": [
                        {
                            "name": "controller",
                            "image": f"public.ecr.aws/karpenter/controller:{version}{DIGEST}",
                            "env": [{"name": k, "value": v} for k, v in env.items()]
                            + [
                                {
                                    "name": "POD_NAME",
                                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                                }
                            ],
                        }
                    ],
                },
            },
        },
    }


def other_deployment() -> Any:
    """Something that is not Karpenter, so detection has something to pass over."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta("coredns", "kube-system", labels={"k8s-app": "kube-dns"}),
        "spec": {
            "replicas": 2,
            "template": {
                "metadata": {"labels": {"k8s-app": "kube-dns"}},
                "spec": {"containers": [{"name": "coredns", "image": "coredns/coredns:v1.11.4"}]},
            },
        },
    }


def service_account(ns: str, role: str | None) -> Any:
    annotations = {"eks.amazonaws.com/role-arn": role_arn(role)} if role else {}
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta("karpenter", ns, annotations=annotations),
    }


def release_secret(ns: str, version: str, revision: int, values: dict[str, Any], status: str) -> Any:
    release = {
        "name": "karpenter",
        "namespace": ns,
        "version": revision,
        "info": {"status": status},
        "chart": {"metadata": {"name": "karpenter", "version": version, "appVersion": version}},
        "config": values,
    }
    helm = base64.b64encode(gzip.compress(json.dumps(release).encode(), mtime=0))
    labels = {"owner": "helm", "name": "karpenter", "status": status, "version": str(revision)}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": meta(f"sh.helm.release.v1.karpenter.v{revision}", ns, labels=labels),
        "data": {"release": base64.b64encode(helm).decode()},
    }


def crd(
    name: str, versions: list[str], stored: list[str], helm_release: tuple[str, str] | None = None
) -> Any:
    plural, group = name.split(".", 1)
    labels = {"app.kubernetes.io/managed-by": "Helm"} if helm_release else {}
    annotations = (
        {"meta.helm.sh/release-name": helm_release[0], "meta.helm.sh/release-namespace": helm_release[1]}
        if helm_release
        else {}
    )
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": meta(name, labels=labels, annotations=annotations),
        "spec": {
            "group": group,
            "names": {"plural": plural},
            "versions": [{"name": v, "served": True, "storage": v == stored[-1]} for v in versions],
        },
        "status": {"storedVersions": stored},
    }


def v1_crds(helm_release: tuple[str, str] | None = None) -> list[Any]:
    names = ["ec2nodeclasses.karpenter.k8s.aws", "nodeclaims.karpenter.sh", "nodepools.karpenter.sh"]
    others = [crd("certificates.cert-manager.io", ["v1"], ["v1"])]
    return [crd(n, ["v1"], ["v1"], helm_release) for n in names] + others


STORED_METADATA_OPTIONS = {
    "httpEndpoint": "enabled",
    "httpProtocolIPv6": "disabled",
    "httpPutResponseHopLimit": 1,
    "httpTokens": "required",
}
"""What the API server stores for an EC2NodeClass applied without `metadataOptions`: the CRD's default
(`spec.metadataOptions.default` in karpenter.k8s.aws_ec2nodeclasses.yaml, v1): `kubectl get` shows it."""
STORED_BUDGETS = [{"nodes": "10%"}]
"""Likewise for a NodePool without budgets (`spec.disruption.budgets.default`, in
karpenter.sh_nodepools.yaml)."""


def node_class(name: str, role: str, cluster: str, ami: list[dict[str, str]], **extra: Any) -> Any:
    discovery = [{"tags": {"karpenter.sh/discovery": cluster}}]
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": meta(name),
        "spec": {
            "role": role,
            "amiSelectorTerms": ami,
            "subnetSelectorTerms": discovery,
            "securityGroupSelectorTerms": discovery,
            "metadataOptions": dict(STORED_METADATA_OPTIONS),
            **extra,
        },
    }


def req(key: str, values: list[str], op: str = "In") -> dict[str, Any]:
    return {"key": key, "operator": op, "values": values}


def node_pool(name: str, requirements: list[Any], weight: int | None = None, **spec: Any) -> Any:
    out: dict[str, Any] = {
        "template": {
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                "requirements": requirements,
                "expireAfter": "720h",
            }
        },
        "limits": {"cpu": "1000"},
        "disruption": {
            "consolidationPolicy": "WhenEmptyOrUnderutilized",
            "consolidateAfter": "1m",
            "budgets": STORED_BUDGETS,
        },
        **spec,
    }
    if weight is not None:
        out["weight"] = weight
    return {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": meta(name), "spec": out}


def aws_auth(*roles: str) -> Any:
    entries = "".join(
        f"- rolearn: {role_arn(r)}\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n"
        "  groups:\n  - system:bootstrappers\n  - system:nodes\n"
        for r in roles
    )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta("aws-auth", "kube-system"),
        "data": {"mapRoles": entries},
    }


def fargate_irsa() -> dict[str, list[Any]]:
    cluster, suffix, ns = "fg-dev", "fgdev", "karpenter"
    values = {
        "settings": {"clusterName": cluster},
        "podLabels": {"fargate": "enabled"},
        "serviceAccount": {
            "annotations": {"eks.amazonaws.com/role-arn": role_arn(f"KarpenterIRSA-{suffix}")}
        },
    }
    arm = [
        req("kubernetes.io/arch", ["arm64"]),
        req("karpenter.k8s.aws/instance-family", ["m8g", "c7g", "r7g"]),
        req("karpenter.sh/capacity-type", ["spot", "on-demand"]),
    ]
    amd = [
        req("kubernetes.io/arch", ["amd64"]),
        req("karpenter.k8s.aws/instance-family", ["m7i", "c7i", "r7i"]),
        req("karpenter.sh/capacity-type", ["spot", "on-demand"]),
    ]
    budgets = {
        "consolidationPolicy": "WhenEmptyOrUnderutilized",
        "consolidateAfter": "5m",
        "budgets": [{"nodes": "10%"}],
    }
    return {
        "deployments": [
            deployment(
                ns, "1.9.0", {"CLUSTER_NAME": cluster, "BATCH_MAX_DURATION": "10s"}, {"fargate": "enabled"}
            ),
            other_deployment(),
        ],
        "serviceaccounts": [service_account(ns, f"KarpenterIRSA-{suffix}")],
        "secrets": [
            release_secret(ns, "1.8.1", 1, values, "superseded"),
            release_secret(ns, "1.9.0", 2, values, "deployed"),
        ],
        "configmaps": [aws_auth(f"KarpenterNodeInstanceRole-{suffix}")],
        "customresourcedefinitions": v1_crds(),
        "ec2nodeclasses.karpenter.k8s.aws": [
            node_class(
                "default",
                f"KarpenterNodeInstanceRole-{suffix}",
                cluster,
                [{"alias": "al2023@v20251120"}],
                tags={"team": "platform"},
                blockDeviceMappings=[
                    {
                        "deviceName": "/dev/xvda",
                        "rootVolume": True,
                        "ebs": {"volumeSize": "50Gi", "volumeType": "gp3"},
                    }
                ],
            )
        ],
        "nodepools.karpenter.sh": [
            node_pool("graviton", arm, 100, disruption=budgets),
            node_pool("intel", amd, 50, disruption=budgets),
        ],
    }


def kube_system() -> dict[str, list[Any]]:
    cluster, ns = "ks-prod", "kube-system"
    reqs = [
        req("kubernetes.io/arch", ["amd64"]),
        req("kubernetes.io/os", ["linux"]),
        req("karpenter.sh/capacity-type", ["on-demand"]),
        req("karpenter.k8s.aws/instance-category", ["c", "m", "r"]),
        req("karpenter.k8s.aws/instance-generation", ["2"], "Gt"),
    ]
    ami = [{"id": "ami-0abcdef1234567890"}]
    return {
        # Rendered with `helm template` and applied with kubectl: chart labels, no release annotations.
        "deployments": [
            other_deployment(),
            deployment(ns, "1.8.1", {"CLUSTER_NAME": cluster}, {}, helm=False),
        ],
        "serviceaccounts": [service_account(ns, f"KarpenterControllerRole-{cluster}")],
        "secrets": [],
        "configmaps": [],
        "customresourcedefinitions": v1_crds(),
        "ec2nodeclasses.karpenter.k8s.aws": [
            node_class("default", f"KarpenterNodeRole-{cluster}", cluster, ami, amiFamily="AL2023")
        ],
        "nodepools.karpenter.sh": [node_pool("default", reqs)],
    }


def getting_started() -> dict[str, list[Any]]:
    cluster, ns = "gs-demo", "kube-system"
    values = {"settings": {"clusterName": cluster, "interruptionQueue": cluster}, "replicas": 2}
    reqs = [
        req("kubernetes.io/arch", ["amd64"]),
        req("kubernetes.io/os", ["linux"]),
        req("karpenter.sh/capacity-type", ["on-demand"]),
        req("karpenter.k8s.aws/instance-category", ["c", "m", "r"]),
        req("karpenter.k8s.aws/instance-generation", ["2"], "Gt"),
    ]
    return {
        "deployments": [
            other_deployment(),
            deployment(ns, "1.12.0", {"CLUSTER_NAME": cluster, "INTERRUPTION_QUEUE": cluster}, {}),
        ],
        # eksctl's podIdentityAssociations: the service account carries no role annotation.
        "serviceaccounts": [service_account(ns, None)],
        "secrets": [release_secret(ns, "1.12.0", 1, values, "deployed")],
        "configmaps": [],
        "customresourcedefinitions": v1_crds(("karpenter-crd", ns)),
        "ec2nodeclasses.karpenter.k8s.aws": [
            node_class("default", f"KarpenterNodeRole-{cluster}", cluster, [{"alias": "al2023@v20251120"}])
        ],
        "nodepools.karpenter.sh": [node_pool("default", reqs)],
    }


def pre_v1() -> dict[str, list[Any]]:
    ns = "karpenter"
    provisioner = {
        "apiVersion": "karpenter.sh/v1alpha5",
        "kind": "Provisioner",
        "metadata": meta("default"),
        "spec": {
            "requirements": [req("karpenter.sh/capacity-type", ["spot"])],
            "providerRef": {"name": "default"},
        },
    }
    template = {
        "apiVersion": "karpenter.k8s.aws/v1alpha1",
        "kind": "AWSNodeTemplate",
        "metadata": meta("default"),
        "spec": {"subnetSelector": {"karpenter.sh/discovery": "old"}},
    }
    crds = [
        crd("provisioners.karpenter.sh", ["v1alpha5"], ["v1alpha5"]),
        crd("machines.karpenter.sh", ["v1alpha5"], ["v1alpha5"]),
        crd("awsnodetemplates.karpenter.k8s.aws", ["v1alpha1"], ["v1alpha1"]),
    ]
    return {
        # v0.31: settings in the karpenter-global-settings ConfigMap, not in the container's env.
        "deployments": [deployment(ns, "v0.31.4", {}, {})],
        "serviceaccounts": [service_account(ns, "old-karpenter")],
        "secrets": [
            release_secret(ns, "v0.31.4", 1, {"settings": {"aws": {"clusterName": "old"}}}, "deployed")
        ],
        "configmaps": [aws_auth("KarpenterNodeRole-old")],
        "customresourcedefinitions": crds,
        "provisioners.karpenter.sh": [provisioner],
        "awsnodetemplates.karpenter.k8s.aws": [template],
        "machines.karpenter.sh": [],
    }


SCENARIOS = {
    "fargate-irsa": fargate_irsa,
    "kube-system": kube_system,
    "getting-started": getting_started,
    "pre-v1": pre_v1,
}


def files() -> dict[Path, str]:
    """Every fixture file and its text."""
    return {
        HERE / name / f"{resource}.json": json.dumps(listing(objs), indent=2, sort_keys=True) + "\n"
        for name, build in SCENARIOS.items()
        for resource, objs in build().items()
    }


def main() -> None:
    for path, text in files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


if __name__ == "__main__":
    main()
