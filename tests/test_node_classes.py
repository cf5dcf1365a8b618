"""EC2NodeClass keys (`nodeClass`, `nodeClasses`, a pool's `nodeClass` and `reservedCapacity`): a bad value
of each is refused by its key path with what is allowed; good ones render CRD-valid objects (CEL rules
included) with the family's defaults."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from components.documents.node_pools import node_class_manifest, node_pool_manifests
from components.karpenter.node_pools import node_class_name, node_classes
from config.base import ConfigError, problems_of
from config.kubelet import KubeletConfig, smallest_instance
from config.load import parse_stack_config
from config.nodeclass import NodeClassConfig
from tests.support.crd_validation import validate_against_crd
from tests.support.render import stack_values

CRDS = Path(__file__).resolve().parents[2] / "shared" / "karpenter" / "1.14.1" / "crds"
NODE_CLASS = TypeAdapter(NodeClassConfig)
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
AL = {"amiVersion": "v20251120"}
BR = {"amiFamily": "Bottlerocket", "amiVersion": "v1.50.0"}


def _vol(**ebs: Any) -> dict[str, Any]:
    return {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": "100Gi", **ebs}}]}


@pytest.fixture(scope="module")
def nodeclass_crd() -> Path:
    if not CRDS.is_dir():
        pytest.skip(f"reference CRD folder {CRDS} is absent")
    return CRDS / "karpenter.k8s.aws_ec2nodeclasses.yaml"


# (case, nodeClass value, key path of the problem, fragment of its line)
BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("family AL2", {**AL, "amiFamily": "AL2"}, "nodeClass.amiFamily", "'AL2023' or 'Bottlerocket'"),
    ("AL2023 version on Bottlerocket", {**BR, "amiVersion": "v20251120"}, "nodeClass.amiVersion", "v1.50.0"),
    ("Bottlerocket version on AL2023", {"amiVersion": "v1.50.0"}, "nodeClass.amiVersion", "v20251120"),
    ("latest not opted in", {**BR, "amiVersion": "latest"}, "nodeClass.amiVersion", "allowLatestAmi"),
    ("no AMI", {}, "nodeClass.amiVersion", "set exactly one of amiVersion"),
    (
        "version and terms",
        {**AL, "amiSelectorTerms": [{"id": "ami-0123456789abcdef0"}]},
        "nodeClass.amiVersion",
        "set exactly one",
    ),
    ("bad AMI id", {"amiSelectorTerms": [{"id": "image-1"}]}, "nodeClass.amiSelectorTerms[0].id", "ami-0123"),
    (
        "name without owner",
        {"amiSelectorTerms": [{"name": "my-ami"}]},
        "nodeClass.amiSelectorTerms[0].owner",
        "required with name",
    ),
    (
        "id with name",
        {"amiSelectorTerms": [{"id": "ami-0123456789abcdef0", "name": "x", "owner": "self"}]},
        "nodeClass.amiSelectorTerms[0].id",
        "mutually exclusive",
    ),
    (
        "bad owner",
        {"amiSelectorTerms": [{"name": "x", "owner": "me"}]},
        "nodeClass.amiSelectorTerms[0].owner",
        "self, amazon or aws-marketplace",
    ),
    ("empty term", {"amiSelectorTerms": [{}]}, "nodeClass.amiSelectorTerms[0]", "needs id"),
    (
        "AMI tag without value",
        {"amiSelectorTerms": [{"tags": {"team": ""}}]},
        "nodeClass.amiSelectorTerms[0].tags",
        "empty tag keys or values",
    ),
    (
        "grace period cap negative",
        {**AL, "kubelet": {"evictionMaxPodGracePeriod": -5}},
        "nodeClass.kubelet.evictionMaxPodGracePeriod",
        "0",
    ),
    ("unknown kubelet key", {**AL, "kubelet": {"maxpods": 10}}, "nodeClass.kubelet.maxpods", "unknown key"),
    ("userData not text", {**AL, "userData": 5}, "nodeClass.userData", "text"),
    ("maxPods negative", {**AL, "kubelet": {"maxPods": -1}}, "nodeClass.kubelet.maxPods", "0"),
    (
        "podsPerCore on Bottlerocket",
        {**BR, "kubelet": {"podsPerCore": 10}},
        "nodeClass.kubelet.podsPerCore",
        "ignored by Bottlerocket",
    ),
    (
        "reserved key",
        {**AL, "kubelet": {"systemReserved": {"gpu": "1"}}},
        "nodeClass.kubelet.systemReserved",
        "'cpu', 'memory', 'ephemeral-storage' or 'pid'",
    ),
    (
        "reserved negative",
        {**AL, "kubelet": {"kubeReserved": {"cpu": "-1"}}},
        "nodeClass.kubelet.kubeReserved",
        "negative resource quantity",
    ),
    (
        "reserved not a quantity",
        {**AL, "kubelet": {"kubeReserved": {"memory": "lots"}}},
        "nodeClass.kubelet.kubeReserved",
        "512Mi",
    ),
    (
        "eviction signal",
        {**AL, "kubelet": {"evictionHard": {"memory.free": "5%"}}},
        "nodeClass.kubelet.evictionHard",
        "'memory.available'",
    ),
    (
        "eviction value",
        {**AL, "kubelet": {"evictionHard": {"memory.available": "five"}}},
        "nodeClass.kubelet.evictionHard",
        "percentage such as 10%",
    ),
    (
        "evictionSoft without grace",
        {**AL, "kubelet": {"evictionSoft": {"memory.available": "500Mi"}}},
        "nodeClass.kubelet.evictionSoft.memory.available",
        "has no grace period",
    ),
    (
        "grace without evictionSoft",
        {**AL, "kubelet": {"evictionSoftGracePeriod": {"memory.available": "1m"}}},
        "nodeClass.kubelet.evictionSoftGracePeriod.memory.available",
        "has no soft threshold",
    ),
    (
        "grace not a duration",
        {
            **AL,
            "kubelet": {
                "evictionSoft": {"memory.available": "1Gi"},
                "evictionSoftGracePeriod": {"memory.available": "soon"},
            },
        },
        "nodeClass.kubelet.evictionSoftGracePeriod",
        "1m30s",
    ),
    (
        "GC thresholds reversed",
        {**AL, "kubelet": {"imageGCHighThresholdPercent": 60, "imageGCLowThresholdPercent": 80}},
        "nodeClass.kubelet.imageGCHighThresholdPercent",
        "must be greater than imageGCLowThresholdPercent",
    ),
    (
        "GC over 100",
        {**AL, "kubelet": {"imageGCLowThresholdPercent": 101}},
        "nodeClass.kubelet.imageGCLowThresholdPercent",
        "100",
    ),
    ("cpuCFSQuota text", {**AL, "kubelet": {"cpuCFSQuota": "yes"}}, "nodeClass.kubelet.cpuCFSQuota", "true"),
    (
        "clusterDNS not an IP",
        {**AL, "kubelet": {"clusterDNS": ["dns"]}},
        "nodeClass.kubelet.clusterDNS",
        "IP address",
    ),
    (
        "gp3 iops too high",
        {**AL, **_vol(iops=90000)},
        "nodeClass.blockDeviceMappings[0].ebs.iops",
        "3000 to 80000",
    ),
    (
        "iops per GiB",
        {**AL, **_vol(volumeSize="10Gi", iops=6000)},
        "nodeClass.blockDeviceMappings[0].ebs.iops",
        "500 IOPS per GiB",
    ),
    (
        "throughput range",
        {**AL, **_vol(throughput=2500, iops=16000)},
        "nodeClass.blockDeviceMappings[0].ebs.throughput",
        "125 to 2000",
    ),
    (
        "throughput over iops/4",
        {**AL, **_vol(throughput=1000)},
        "nodeClass.blockDeviceMappings[0].ebs.throughput",
        "needs at least 4000 IOPS",
    ),
    (
        "throughput on gp2",
        {**AL, **_vol(volumeType="gp2", throughput=200)},
        "nodeClass.blockDeviceMappings[0].ebs.throughput",
        "gp3 volumes only",
    ),
    (
        "io2 without iops",
        {**AL, **_vol(volumeType="io2")},
        "nodeClass.blockDeviceMappings[0].ebs.iops",
        "required for io2",
    ),
    (
        "volume size",
        {**AL, **_vol(volumeSize="100GB")},
        "nodeClass.blockDeviceMappings[0].ebs.volumeSize",
        "100Gi",
    ),
    (
        "key without encryption",
        {**AL, **_vol(encrypted=False, kmsKeyID=KEY)},
        "nodeClass.blockDeviceMappings[0].ebs.kmsKeyID",
        "encrypted: true",
    ),
    (
        "key alias",
        {**AL, **_vol(kmsKeyID="alias/ebs")},
        "nodeClass.blockDeviceMappings[0].ebs.kmsKeyID",
        "not an alias",
    ),
    (
        "device name",
        {**AL, "blockDeviceMappings": [{"deviceName": "xvda", "ebs": {"volumeSize": 20}}]},
        "nodeClass.blockDeviceMappings[0].deviceName",
        "/dev/xvda",
    ),
    (
        "device twice",
        {**AL, "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 20}}] * 2},
        "nodeClass.blockDeviceMappings[1].deviceName",
        "",
    ),
    (
        "two root volumes",
        {
            **AL,
            "blockDeviceMappings": [
                {"deviceName": "/dev/xvda", "rootVolume": True, "ebs": {"volumeSize": 20}},
                {"deviceName": "/dev/xvdb", "rootVolume": True, "ebs": {"volumeSize": 20}},
            ],
        },
        "nodeClass.blockDeviceMappings[1].rootVolume",
        "only one",
    ),
    (
        "instance store RAID1",
        {**AL, "instanceStorePolicy": "RAID1"},
        "nodeClass.instanceStorePolicy",
        "RAID0",
    ),
    (
        "hop limit 0",
        {**AL, "metadataOptions": {"httpPutResponseHopLimit": 0}},
        "nodeClass.metadataOptions.httpPutResponseHopLimit",
        "1",
    ),
    (
        "IMDSv1 typo",
        {**AL, "metadataOptions": {"httpTokens": "none"}},
        "nodeClass.metadataOptions.httpTokens",
        "'required' or 'optional'",
    ),
    ("detailedMonitoring text", {**AL, "detailedMonitoring": "on"}, "nodeClass.detailedMonitoring", "true"),
    ("public IP number", {**AL, "associatePublicIPAddress": 1}, "nodeClass.associatePublicIPAddress", "true"),
    (
        "AL2023 shell user data",
        {**AL, "userData": "#!/bin/bash\necho hi\n"},
        "nodeClass.userData",
        "MIME multi-part document or a nodeadm NodeConfig",
    ),
    (
        "Bottlerocket YAML user data",
        {**BR, "userData": "settings:\n  motd: hi\n"},
        "nodeClass.userData",
        "not valid TOML",
    ),
    (
        "Bottlerocket user data setting the cluster",
        {**BR, "userData": '[settings.kubernetes]\napi-server = "https://x"\n'},
        "nodeClass.userData",
        "sets settings.kubernetes.api-server, which Karpenter overwrites",
    ),
    (
        "reservation id with tags",
        {**AL, "capacityReservationSelectorTerms": [{"id": "cr-0123456789abcdef0", "tags": {"a": "b"}}]},
        "nodeClass.capacityReservationSelectorTerms[0].id",
        "mutually exclusive",
    ),
    (
        "reservation id",
        {**AL, "capacityReservationSelectorTerms": [{"id": "odcr-1"}]},
        "nodeClass.capacityReservationSelectorTerms[0].id",
        "cr-0123",
    ),
    (
        "reservation empty term",
        {**AL, "capacityReservationSelectorTerms": [{"ownerID": "123456789012"}]},
        "nodeClass.capacityReservationSelectorTerms[0]",
        "needs id, tags or instanceMatchCriteria",
    ),
    (
        "reservation empty tag",
        {**AL, "capacityReservationSelectorTerms": [{"tags": {"a": ""}}]},
        "nodeClass.capacityReservationSelectorTerms[0].tags",
        "empty tag keys or values",
    ),
]


@pytest.mark.parametrize(("case", "value", "key", "hint"), BAD, ids=[c[0] for c in BAD])
def test_bad_node_class_value_is_refused_by_key_path(
    case: str, value: dict[str, Any], key: str, hint: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        NODE_CLASS.validate_python(value)
    found = problems_of(refused.value, "nodeClass")
    assert any(p.startswith(f"{key}: ") and hint in p for p in found), found
    assert not any("\\d" in p or "^" in p for p in found), found  # no raw regex


def _stack_problems(changes: dict[str, Any]) -> list[str]:
    values = copy.deepcopy(stack_values("dev"))
    for key, value in changes.items():
        *path, last = key.split(".")
        node: Any = values
        for part in path:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[int(last) if last.isdigit() else last] = value
    with pytest.raises(ConfigError) as refused:
        parse_stack_config(values)
    return refused.value.problems


@pytest.mark.parametrize(
    ("changes", "key", "hint"),
    [
        ({"nodePools.0.nodeClass": "missing"}, "nodePools[0].nodeClass", "defined: bottlerocket"),
        ({"nodeClasses.gpu": {**AL}}, "nodeClasses", "default and gpu are taken"),
        ({"nodeClasses.Big": {**AL}}, "nodeClasses", "not a Kubernetes name"),
        (
            {"nodePools.1.reservedCapacity": True},
            "nodePools[1].reservedCapacity",
            "no capacityReservationSelector",
        ),
        (
            {
                "nodePools.1.reservedCapacity": True,
                "nodePools.1.spotRatio": 1,
                "nodeClasses.bottlerocket.capacityReservationSelectorTerms": [{"id": "cr-0123456789abcdef0"}],
            },
            "nodePools[1].reservedCapacity",
            "spotRatio 1 has none",
        ),
        (
            {"nodeClasses.bottlerocket.kubelet.kubeReserved": {"cpu": "2"}},
            "nodeClasses.bottlerocket.kubelet",
            "leaves nothing for pods on the smallest instance pool x86 admits (about 2 vCPU, 4 GiB)",
        ),
        (
            {"nodeClass.kubelet": {"systemReserved": {"memory": "3Gi"}}},
            "nodeClass.kubelet",
            "pool graviton admits (about 1 vCPU, 2 GiB)",
        ),
        (
            {
                "nodeClass.blockDeviceMappings": [
                    {
                        "deviceName": "/dev/xvda",
                        "ebs": {"volumeSize": 40, "kmsKeyID": KEY.replace("eu-west-1", "us-east-1")},
                    }
                ]
            },
            "nodeClass.blockDeviceMappings[0].ebs.kmsKeyID",
            "EBS and EFS encrypt only with a key of their own region",
        ),
    ],
)
def test_pools_and_classes_are_checked_together(changes: dict[str, Any], key: str, hint: str) -> None:
    problems = _stack_problems(changes)
    assert any(p.startswith(f"{key}: ") and hint in p for p in problems), problems


def test_smallest_instance_estimate() -> None:
    assert smallest_instance("arm64", ["m8g", "c7g", "r7g"], None) == (1, 2)
    assert smallest_instance("amd64", ["r7i"], None) == (2, 16)
    assert smallest_instance("amd64", None, ["m", "r"]) == (2, 8)
    assert smallest_instance("amd64", ["g6"], None) == (4, 16)


def test_family_defaults_and_every_key_render_crd_valid(nodeclass_crd: Path) -> None:
    al2023 = node_class_manifest(
        name="default", cluster_name="c", instance_profile="p", node_class=NODE_CLASS.validate_python(AL)
    )
    assert al2023["spec"]["blockDeviceMappings"] == [
        {
            "deviceName": "/dev/xvda",
            "ebs": {
                "volumeSize": "40Gi",
                "volumeType": "gp3",
                "encrypted": True,
                "deleteOnTermination": True,
            },
        }
    ]
    assert "amiFamily" not in al2023["spec"] and al2023["spec"]["amiSelectorTerms"] == [
        {"alias": "al2023@v20251120"}
    ]
    bottlerocket = node_class_manifest(
        name="br",
        cluster_name="c",
        instance_profile="p",
        node_class=NODE_CLASS.validate_python(BR),
        root_volume_gib=20,
    )
    assert [
        (m["deviceName"], m["ebs"]["volumeSize"]) for m in bottlerocket["spec"]["blockDeviceMappings"]
    ] == [
        ("/dev/xvda", "4Gi"),
        ("/dev/xvdb", "20Gi"),
    ]
    assert bottlerocket["spec"]["amiSelectorTerms"] == [{"alias": "bottlerocket@v1.50.0"}]
    explicit = node_class_manifest(
        name="x",
        cluster_name="c",
        instance_profile="p",
        node_class=NODE_CLASS.validate_python(
            {"amiFamily": "Bottlerocket", "amiSelectorTerms": [{"name": "br-*", "owner": "amazon"}]}
        ),
    )
    assert explicit["spec"]["amiFamily"] == "Bottlerocket"
    assert explicit["spec"]["amiSelectorTerms"] == [{"name": "br-*", "owner": "amazon"}]
    for manifest in (al2023, bottlerocket, explicit):
        assert validate_against_crd(manifest, nodeclass_crd) == []


def test_everything_stack_renders_every_key(nodeclass_crd: Path) -> None:
    doc = yaml.safe_load((Path(__file__).parent / "stacks" / "Pulumi.everything.yaml").read_text())["config"]
    values = {k.split(":", 1)[1]: v for k, v in doc.items()}
    values["addons"]["portainer"]["adminPassword"] = "a-test-password-only"  # a secret in the file
    cfg = parse_stack_config(values)
    classes = node_classes(cfg.node_class, cfg.node_classes, cfg.node_pools)
    assert sorted(classes) == ["bottlerocket", "default", "pinned"]
    specs = {}
    for name, (spec, size) in classes.items():
        manifest = node_class_manifest(
            name=name, cluster_name="c", instance_profile="p", node_class=spec, root_volume_gib=size
        )
        assert validate_against_crd(manifest, nodeclass_crd) == [], name
        specs[name] = manifest["spec"]
    keys = set().union(*(s.keys() for s in specs.values()))
    assert keys >= {
        "kubelet",
        "blockDeviceMappings",
        "instanceStorePolicy",
        "metadataOptions",
        "detailedMonitoring",
        "associatePublicIPAddress",
        "tags",
        "userData",
        "capacityReservationSelectorTerms",
        "amiFamily",
    }
    kubelet = specs["default"]["kubelet"]
    assert len(kubelet) == len(KubeletConfig.model_fields)  # every kubelet key used
    x86 = next(p for p in cfg.node_pools if p.name == "x86")
    assert node_class_name(x86) == "bottlerocket"
    on_demand = node_pool_manifests(x86, node_class_name="bottlerocket", spread_prefix="s.example")[1]
    capacity = on_demand["spec"]["template"]["spec"]["requirements"][2]
    assert capacity == {
        "key": "karpenter.sh/capacity-type",
        "operator": "In",
        "values": ["on-demand", "reserved"],
    }
