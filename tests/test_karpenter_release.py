"""The Fargate profile and the two Helm releases: values, chart keys, and the on-Fargate design."""

from __future__ import annotations

import fnmatch
import json

import yaml

from components.addons import portainer
from components.cluster.fargate import MAX_SELECTORS, PORTAINER_POD_LABELS, fargate_selectors
from components.documents import storage
from components.karpenter.release import controller_values, deep_merge
from config.karpenter import KarpenterConfig
from harness.plan import Plan
from tests.support.chart import missing_from_chart
from tests.support.render import shared_file


def test_every_value_the_program_sets_exists_in_the_pinned_chart(dev_plan: Plan, prod_plan: Plan) -> None:
    chart = yaml.safe_load(shared_file("chart-values.yaml").read_text())
    for plan in (dev_plan, prod_plan):
        values = plan.one("kubernetes:helm.sh/v3:Release", "karpenter-controller").inputs["values"]
        assert missing_from_chart(values, chart) == []


def test_the_chart_key_check_catches_a_typo() -> None:
    chart = yaml.safe_load(shared_file("chart-values.yaml").read_text())
    typo = {"settings": {"interruptionQeue": "q"}, "podLabels": {"anything": "ok"}, "replica": 2}
    assert missing_from_chart(typo, chart) == ["settings.interruptionQeue", "replica"]


def test_controller_values_exactly() -> None:
    values = controller_values(
        cluster_name="c1",
        cluster_endpoint="https://EXAMPLE.gr7.eu-west-1.eks.amazonaws.com",
        queue_name="c1",
        role_arn="arn:aws:iam::123456789012:role/KarpenterController-c1",
        config=KarpenterConfig(),
    )
    assert values == {
        "settings": {
            "clusterName": "c1",
            "clusterEndpoint": "https://EXAMPLE.gr7.eu-west-1.eks.amazonaws.com",
            "interruptionQueue": "c1",
            "featureGates": {"spotToSpotConsolidation": False},
        },
        "serviceAccount": {
            "create": True,
            "name": "karpenter",
            "annotations": {
                "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/KarpenterController-c1"
            },
        },
        "podLabels": {"fargate": "enabled"},
        "podAnnotations": {
            "karpenter-eks.dev/controller-role-arn": "arn:aws:iam::123456789012:role/KarpenterController-c1"
        },
        "schedulerName": "fargate-scheduler",
        "dnsPolicy": "Default",
        "replicas": 2,
        "logLevel": "info",
        "controller": {
            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
        },
    }


def test_user_overrides_are_merged_last() -> None:
    cfg = KarpenterConfig.model_validate(
        {"helmValues": {"settings": {"batchMaxDuration": "5s"}, "replicas": 3, "podLabels": {"team": "x"}}}
    )
    values = controller_values(
        cluster_name="c", cluster_endpoint="e", queue_name="q", role_arn="r", config=cfg
    )
    assert values["settings"]["batchMaxDuration"] == "5s" and values["settings"]["clusterName"] == "c"
    assert values["replicas"] == 3
    assert values["podLabels"] == {"fargate": "enabled", "team": "x"}
    assert deep_merge({"a": {"b": 1}}, {"a": [1]}) == {"a": [1]}


def test_releases_in_the_plan(dev_plan: Plan) -> None:
    crd = dev_plan.one("kubernetes:helm.sh/v3:Release", "karpenter-crd")
    controller = dev_plan.one("kubernetes:helm.sh/v3:Release", "karpenter-controller")
    assert crd.inputs["chart"] == "oci://public.ecr.aws/karpenter/karpenter-crd"
    assert controller.inputs["chart"] == "oci://public.ecr.aws/karpenter/karpenter"
    assert crd.inputs["version"] == controller.inputs["version"] == "1.14.1"
    assert crd.inputs["namespace"] == "kube-system"  # never the configurable controller namespace
    assert controller.inputs["namespace"] == "karpenter"
    assert controller.inputs["skipCrds"] is True
    values = controller.inputs["values"]
    assert values["settings"]["interruptionQueue"] == dev_plan.outputs["interruptionQueueName"]
    assert values["settings"]["clusterEndpoint"].startswith("https://")
    role_arn = dev_plan.outputs["controllerRoleArn"]
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == role_arn
    # Both releases talk to the cluster through the explicit provider built from its kubeconfig.
    provider = dev_plan.one("pulumi:providers:kubernetes")
    assert crd.provider and crd.provider.startswith(provider.urn)
    assert controller.provider and controller.provider.startswith(provider.urn)
    assert provider.inputs["kubeconfig"] == "[secret]"  # never printed into plan.json


def test_fargate_profile(dev_plan: Plan) -> None:
    profile = dev_plan.one("aws:eks/fargateProfile:FargateProfile", "fargate-pods")
    assert profile.inputs["selectors"] == fargate_selectors()
    assert len(dev_plan.by_type("aws:eks/fargateProfile:FargateProfile")) == 1
    private = [s for s in dev_plan.by_type("aws:ec2/subnet:Subnet") if "private" in s.name]
    assert len(profile.inputs["subnetIds"]) == len(private) == 3
    role = dev_plan.one("aws:iam/role:Role", "fargate-pod-execution")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "eks-fargate-pods.amazonaws.com"}
    coredns = dev_plan.one("aws:eks/addon:Addon", "coredns")
    assert json.loads(coredns.inputs["configurationValues"]) == {"computeType": "Fargate"}


def test_fargate_selectors() -> None:
    assert fargate_selectors() == [
        {"namespace": "*", "labels": {"fargate": "enabled"}},
        {"namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
        {"namespace": "kube-system", "labels": {"app": "e?s-csi-controller"}},
        {"namespace": "kube-system", "labels": {"app": "s3-csi-controller"}},
        {
            "namespace": "*",
            "labels": {"app.kubernetes.io/name": "portainer", "app.kubernetes.io/instance": "portainer"},
        },
    ]
    assert len(fargate_selectors()) <= MAX_SELECTORS


def _selected(namespace: str, labels: dict[str, str]) -> bool:
    """EKS's matching: a selector's namespace and every one of its labels match (`*`, `?` wildcards)."""
    return any(
        fnmatch.fnmatchcase(namespace, str(s["namespace"]))
        and all(
            any(
                fnmatch.fnmatchcase(k, str(pk)) and fnmatch.fnmatchcase(v, str(pv)) for k, v in labels.items()
            )
            for pk, pv in dict(s["labels"]).items()  # type: ignore[call-overload]
        )
        for s in fargate_selectors()
    )


def test_the_profile_selects_every_fargate_pod_and_no_node_pod() -> None:
    assert PORTAINER_POD_LABELS == portainer.POD_LABELS
    for workload in storage.WORKLOADS:
        assert _selected(storage.ADDON_NAMESPACE, workload.pod_labels) == (workload.runs_on == "fargate")
    assert _selected("portainer", portainer.POD_LABELS) and _selected("apps", {"fargate": "enabled"})
    assert not _selected("apps", {"fargate": "disabled"}) and not _selected(
        "kube-system", {"app": "fsx-csi-controller"}
    )
