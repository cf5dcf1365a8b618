"""The storage add-ons (EBS gp3, EFS, S3 Mountpoint): documents exactly, against upstream where upstream
publishes something, over the recorded plan (credentials, Fargate, order), and the config rules."""

from __future__ import annotations

import copy
import fnmatch
import inspect
import json
import re
import sys
import typing
from pathlib import Path
from typing import Any

import pulumi_aws
import pulumi_kubernetes
import pytest
import yaml
from policy_sentry.querying.all import get_all_actions
from pulumi import RunError

from components.documents import storage as docs
from config.base import ConfigError
from harness.fake.world import World
from harness.plan import Plan, RecordedResource
from harness.stack_files import ROOT, flatten_config
from harness.synth import iam_documents, kubernetes_objects, world_for
from tests.support.plan import destroy_order
from tests.support.render import PROJECT, render, run, stack_values
from tests.support.stacks import ALL_STACKS, EXAMPLE_STACKS, stack_plan

SHARED = ROOT.parent / "shared"
KMS = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def shared(relative: str) -> Path:
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"reference data {path} is absent (../shared is not next to this checkout)")
    return path


@pytest.fixture(scope="module")
def everything(everything_plan: Plan) -> Plan:
    """tests/stacks/Pulumi.everything.yaml: every storage add-on with every option."""
    return everything_plan


# --- pure documents --------------------------------------------------------------------------------------


def test_gp3_class_exactly() -> None:
    assert docs.gp3_storage_class(
        default=True, iops=6000, throughput=500, kms_key_arn=KMS, reclaim_policy="Delete"
    ) == {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "ebs.csi.aws.com",
        "parameters": {
            "type": "gp3",
            "encrypted": "true",
            "csi.storage.k8s.io/fstype": "ext4",
            "iops": "6000",
            "throughput": "500",
            "kmsKeyId": KMS,
        },
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def test_gp3_class_sets_no_tag_the_driver_reserves_and_v2_needs_the_drivers_own_tag() -> None:
    """AmazonEBSCSIDriverPolicyV2 (and upstream's example policy) allow CreateVolume/DeleteVolume on volumes
    tagged `ebs.csi.aws.com/cluster`; the driver sets that tag on every volume itself and refuses it (and
    CSIVolumeName) in a class's tagSpecification_N, so the class must carry no tag specification of them."""
    example = json.loads(shared("aws-ebs-csi-driver/v1.64.0/example-iam-policy.json").read_text())
    conditioned = json.dumps([s.get("Condition", {}) for s in example["Statement"]])
    assert "aws:RequestTag/ebs.csi.aws.com/cluster" in conditioned
    assert "ec2:ResourceTag/ebs.csi.aws.com/cluster" in conditioned
    params = docs.gp3_storage_class(
        default=True, iops=None, throughput=None, kms_key_arn=None, reclaim_policy="Delete"
    )["parameters"]
    tags = [v.split("=", 1)[0] for k, v in params.items() if k.lower().startswith("tagspecification")]
    assert not set(tags) & set(docs.EBS_DRIVER_RESERVED_TAG_KEYS)
    assert params["encrypted"] == "true"


def test_gp2_patch_only_flips_the_annotation() -> None:
    assert docs.gp2_not_default_patch() == {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": "gp2",
            "annotations": {
                "storageclass.kubernetes.io/is-default-class": "false",
                "pulumi.com/patchForce": "true",
            },
        },
    }


def test_efs_class_exactly() -> None:
    assert docs.efs_storage_class(
        file_system_id="fs-0123456789abcdef0",
        default=False,
        base_path="/dynamic_provisioning",
        directory_perms="700",
    ) == {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "efs", "annotations": {"storageclass.kubernetes.io/is-default-class": "false"}},
        "provisioner": "efs.csi.aws.com",
        "parameters": {
            "provisioningMode": "efs-ap",
            "fileSystemId": "fs-0123456789abcdef0",
            "directoryPerms": "700",
            "basePath": "/dynamic_provisioning",
            "ensureUniqueDirectory": "true",
        },
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }


def test_efs_class_parameters_are_the_charts_documented_ones() -> None:
    """The EFS chart's values.yaml documents the class parameters (storageClasses example)."""
    text = shared("aws-efs-csi-driver/v3.4.1/chart-values.yaml").read_text()
    params = docs.efs_storage_class(
        file_system_id="fs-01234567", default=False, base_path="/d", directory_perms="700"
    )
    for key in params["parameters"]:
        assert f"#     {key}:" in text, key


def test_irsa_trust_names_exactly_the_service_accounts() -> None:
    provider = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
    trust = docs.irsa_trust_policy(
        oidc_provider_arn=provider,
        oidc_issuer="https://oidc.eks.eu-west-1.amazonaws.com/id/ABC",
        namespace="kube-system",
        service_accounts=["efs-csi-controller-sa", "efs-csi-node-sa"],
    )
    assert trust == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub": [
                            "system:serviceaccount:kube-system:efs-csi-controller-sa",
                            "system:serviceaccount:kube-system:efs-csi-node-sa",
                        ],
                        "oidc.eks.eu-west-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def test_pod_identity_trust_is_limited_to_the_service_account_of_the_cluster() -> None:
    assert docs.pod_identity_trust_policy(
        cluster_arn="arn:aws:eks:us-east-1:123456789012:cluster/prod-main",
        namespace="kube-system",
        service_account="s3-csi-driver-sa",
    ) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/eks-cluster-arn": (
                            "arn:aws:eks:us-east-1:123456789012:cluster/prod-main"
                        ),
                        "aws:RequestTag/kubernetes-namespace": "kube-system",
                        "aws:RequestTag/kubernetes-service-account": "s3-csi-driver-sa",
                    },
                },
            }
        ],
    }


UPSTREAM_MOUNTPOINT_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "MountpointFullBucketAccess",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET"],
        },
        {
            "Sid": "MountpointFullObjectAccess",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"],
            "Resource": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
        },
    ],
}
"""awslabs/mountpoint-s3 doc/CONFIGURATION.md, "IAM permissions" (full access to one bucket)."""


def test_mountpoint_policy_for_a_writable_bucket_is_upstreams() -> None:
    assert docs.mountpoint_policy(partition="aws", buckets=[("DOC-EXAMPLE-BUCKET", False)]) == (
        UPSTREAM_MOUNTPOINT_POLICY
    )


def test_mountpoint_policy_is_scoped_to_the_buckets_and_read_only_ones_get_no_writes() -> None:
    assert docs.mountpoint_policy(partition="aws-cn", buckets=[("b-rw", False), ("a-ro", True)]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "MountpointFullBucketAccess",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": ["arn:aws-cn:s3:::a-ro", "arn:aws-cn:s3:::b-rw"],
            },
            {
                "Sid": "MountpointFullObjectAccess",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"],
                "Resource": ["arn:aws-cn:s3:::b-rw/*"],
            },
            {
                "Sid": "MountpointReadOnlyObjectAccess",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": ["arn:aws-cn:s3:::a-ro/*"],
            },
        ],
    }
    read_only = docs.mountpoint_policy(partition="aws", buckets=[("a-ro", True)])
    assert [s["Sid"] for s in read_only["Statement"]] == [
        "MountpointFullBucketAccess",
        "MountpointReadOnlyObjectAccess",
    ]


def test_every_action_exists_and_none_is_a_wildcard() -> None:
    known = {a.lower() for a in get_all_actions()}
    documents = [
        docs.kms_key_policy(KMS),
        docs.mountpoint_policy(partition="aws", buckets=[("a", False)]),
    ]
    for document in documents:
        for statement in document["Statement"]:
            for action in statement["Action"]:
                assert action != "*" and not action.endswith(":*")
                if "*" not in action:
                    assert action.lower() in known, action


def test_bucket_policy_refuses_plain_http() -> None:
    policy = docs.tls_only_bucket_policy(bucket_arn="arn:aws:s3:::b")
    [statement] = policy["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Resource"] == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# --- add-on configuration values and pod labels against the charts ---------------------------------------


def _has_path(values: dict[str, Any], path: list[str]) -> bool:
    node: Any = values
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _leaf_paths(values: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[list[str]]:
    out: list[list[str]] = []
    for key, value in values.items():
        if isinstance(value, dict) and value:
            out += _leaf_paths(value, (*prefix, key))
        else:
            out.append([*prefix, key])
    return out


@pytest.mark.parametrize(
    ("chart", "values"),
    [
        (
            "aws-ebs-csi-driver/v1.64.0",
            docs.ebs_configuration_values(node_host_network=True, region="eu-west-1"),
        ),
        ("aws-efs-csi-driver/v3.4.1", docs.efs_configuration_values()),
    ],
)
def test_configuration_keys_exist_in_the_chart(chart: str, values: dict[str, Any]) -> None:
    """EKS add-on configuration values follow the chart's values.yaml; an unknown key is refused by EKS."""
    chart_values = yaml.safe_load(shared(f"{chart}/chart-values.yaml").read_text())
    for path in _leaf_paths(values):
        assert _has_path(chart_values, path), f"{'.'.join(path)} is not a key of {chart}'s values.yaml"


def test_service_accounts_are_the_charts() -> None:
    for chart, controller, node in (
        ("aws-ebs-csi-driver/v1.64.0", docs.EBS_CONTROLLER, docs.EBS_NODE),
        ("aws-efs-csi-driver/v3.4.1", docs.EFS_CONTROLLER, docs.EFS_NODE),
        ("mountpoint-s3-csi-driver/v2.7.0", docs.S3_CONTROLLER, docs.S3_NODE),
    ):
        values = yaml.safe_load(shared(f"{chart}/chart-values.yaml").read_text())
        assert values["controller"]["serviceAccount"]["name"] == controller.service_account
        assert values["node"]["serviceAccount"]["name"] == node.service_account


def test_ebs_controller_label_is_the_one_the_chart_uses() -> None:
    """The chart's own anti-affinity selects the controller pods by `app: ebs-csi-controller`; the EFS chart
    names its controller `efs-csi-controller` (its template labels the pods `app: <that name>`)."""
    ebs = yaml.safe_load(shared("aws-ebs-csi-driver/v1.64.0/chart-values.yaml").read_text())
    term = ebs["controller"]["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ][0]
    [expression] = term["podAffinityTerm"]["labelSelector"]["matchExpressions"]
    assert {expression["key"]: expression["values"][0]} == docs.EBS_CONTROLLER.pod_labels
    efs = yaml.safe_load(shared("aws-efs-csi-driver/v3.4.1/chart-values.yaml").read_text())
    assert {"app": efs["controller"]["name"]} == docs.EFS_CONTROLLER.pod_labels


def test_node_daemonsets_never_run_on_fargate_and_controllers_may() -> None:
    """The charts pin the node DaemonSets away from Fargate (required node affinity), while the EBS
    controller only prefers EC2 (so it runs on its Fargate profile)."""
    for chart in (
        "aws-ebs-csi-driver/v1.64.0",
        "aws-efs-csi-driver/v3.4.1",
        "mountpoint-s3-csi-driver/v2.7.0",
    ):
        values = yaml.safe_load(shared(f"{chart}/chart-values.yaml").read_text())
        terms = values["node"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        [expression] = terms["nodeSelectorTerms"][0]["matchExpressions"]
        assert expression["key"] == "eks.amazonaws.com/compute-type" and "fargate" in expression["values"]
    ebs = yaml.safe_load(shared("aws-ebs-csi-driver/v1.64.0/chart-values.yaml").read_text())
    assert (
        "requiredDuringSchedulingIgnoredDuringExecution" not in ebs["controller"]["affinity"]["nodeAffinity"]
    )


# --- the plan ---------------------------------------------------------------------------------------------


def _one(plan: Plan, typ: str, name: str) -> RecordedResource:
    found = [r for r in plan.by_type(typ) if r.name == name]
    assert len(found) == 1, (typ, name, [r.name for r in plan.by_type(typ)])
    return found[0]


def _matches(selector: dict[str, Any], namespace: str, labels: dict[str, str]) -> bool:
    """EKS's matching: the namespace and every label of the selector, with `*` and `?` wildcards."""
    return fnmatch.fnmatchcase(namespace, selector["namespace"]) and all(
        any(fnmatch.fnmatchcase(k, sk) and fnmatch.fnmatchcase(v, sv) for k, v in labels.items())
        for sk, sv in (selector.get("labels") or {}).items()
    )


def test_no_pod_identity_association_for_a_pod_on_fargate(everything: Plan) -> None:
    """Every association's service account belongs only to pods no Fargate profile selects; every
    controller that runs on Fargate is selected by a profile (so the table of pod labels is the plan's)."""
    selectors = [
        s for p in everything.by_type("aws:eks/fargateProfile:FargateProfile") for s in p.inputs["selectors"]
    ]
    associations = everything.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert associations, "the everything stack enables Mountpoint, whose node component uses Pod Identity"
    for association in associations:
        namespace, account = association.inputs["namespace"], association.inputs["serviceAccount"]
        pods = [w for w in docs.WORKLOADS if w.service_account == account]
        assert pods, f"no known workload uses {namespace}/{account}"
        for workload in pods:
            assert workload.runs_on == "ec2"
            assert not any(_matches(s, namespace, workload.pod_labels) for s in selectors), account
    karpenter_sa = "karpenter"
    assert all(a.inputs["serviceAccount"] != karpenter_sa for a in associations)
    for workload in (docs.EBS_CONTROLLER, docs.EFS_CONTROLLER, docs.S3_CONTROLLER):
        assert any(_matches(s, "kube-system", workload.pod_labels) for s in selectors), workload
    for workload in (docs.EBS_NODE, docs.EFS_NODE, docs.S3_NODE):
        assert not any(_matches(s, "kube-system", workload.pod_labels) for s in selectors), workload


def test_roles_and_credentials(everything: Plan) -> None:
    ebs = _one(everything, "aws:eks/addon:Addon", "ebs-addon")
    efs = _one(everything, "aws:eks/addon:Addon", "efs-addon")
    s3 = _one(everything, "aws:eks/addon:Addon", "s3-addon")
    # Name prefixes (the provider adds a 26-character unique suffix): replacements create first.
    assert re.search(r":role/EbsCsiDriver-karpenter-dev-\d{26}$", ebs.inputs["serviceAccountRoleArn"])
    assert re.search(r":role/EfsCsiDriver-karpenter-dev-\d{26}$", efs.inputs["serviceAccountRoleArn"])
    assert "serviceAccountRoleArn" not in s3.inputs and "podIdentityAssociations" not in s3.inputs
    assert (ebs.inputs["addonVersion"], efs.inputs["addonVersion"], s3.inputs["addonVersion"]) == (
        "v1.64.0-eksbuild.1",
        "v3.4.1-eksbuild.1",
        "v2.7.0-eksbuild.1",
    )
    attachments = {
        r.name: r.inputs["policyArn"]
        for r in everything.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.name.startswith(("ebs-", "efs-")) and ":aws:policy/" in r.inputs["policyArn"]  # AWS managed
    }
    assert attachments == {
        "ebs-AmazonEBSCSIDriverPolicyV2-8a5edab2": "arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2",
        "efs-AmazonEFSCSIDriverPolicy-8a5edab2": (
            "arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"
        ),
    }
    files = iam_documents(everything)
    trust = files["trust-ebs-role.json"]["Statement"][0]["Condition"]["StringEquals"]
    assert [v for k, v in trust.items() if k.endswith(":sub")] == [
        "system:serviceaccount:kube-system:ebs-csi-controller-sa"
    ]
    assert files["policy-ebs-kms.json"] == docs.kms_key_policy(KMS)
    assert "policy-efs-kms.json" not in files  # EFS encrypts itself; the driver needs no key
    assert files["policy-s3-buckets.json"] == docs.mountpoint_policy(
        partition="aws", buckets=[("karpenter-dev-scratch", False), ("shared.datasets.example", True)]
    )
    assert files["trust-s3-role.json"]["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}


def test_efs_network_and_file_system(everything: Plan) -> None:
    fs = _one(everything, "aws:efs/fileSystem:FileSystem", "efs-fs")
    assert fs.inputs["encrypted"] is True and fs.inputs["kmsKeyId"] == KMS
    assert fs.protect is True
    targets = sorted(everything.by_type("aws:efs/mountTarget:MountTarget"), key=lambda r: r.name)
    assert [t.name for t in targets] == [
        "efs-mount-eu-west-1a",
        "efs-mount-eu-west-1b",
        "efs-mount-eu-west-1c",
    ]
    subnets = {r.name: r for r in everything.by_type("aws:ec2/subnet:Subnet")}
    for target in targets:
        zone = target.name.removeprefix("efs-mount-")
        assert everything.depends_on(target, subnets[f"network-private-{zone}"])
    rule = _one(
        everything, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "efs-nfs-from-cluster"
    )
    assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["ipProtocol"]) == (2049, 2049, "tcp")
    assert rule.inputs["referencedSecurityGroupId"].startswith("sg-")
    assert "cidrIpv4" not in rule.inputs


def test_efs_existing_file_system_creates_no_file_system() -> None:
    values = stack_values("dev")
    values["addons"]["efs"] = {
        "enabled": True,
        "version": "v3.4.1-eksbuild.1",
        "fileSystemId": "fs-0123456789abcdef0",
    }
    plan = render(values)
    assert plan.by_type("aws:efs/fileSystem:FileSystem") == []
    assert plan.by_type("aws:efs/mountTarget:MountTarget") == []
    efs_class = _one(plan, "kubernetes:storage.k8s.io/v1:StorageClass", "efs-class")
    assert efs_class.inputs["parameters"]["fileSystemId"] == "fs-0123456789abcdef0"


def test_created_bucket_is_private_encrypted_and_tls_only(everything: Plan) -> None:
    [bucket] = everything.by_type("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == "karpenter-dev-scratch"  # the other bucket exists already
    block = _one(
        everything, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "s3-karpenter-dev-scratch"
    )
    assert all(
        block.inputs[k] is True
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    sse = _one(
        everything,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "s3-karpenter-dev-scratch",
    )
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    policy = iam_documents(everything)["bucket-policy-s3-karpenter-dev-scratch.json"]
    assert policy == docs.tls_only_bucket_policy(bucket_arn="arn:aws:s3:::karpenter-dev-scratch")


def test_gp2_is_patched_in_adopt_mode_and_never_deleted(prod_plan: Plan, dev_plan: Plan) -> None:
    patch = _one(prod_plan, "kubernetes:storage.k8s.io/v1:StorageClassPatch", "ebs-gp2-not-default")
    assert patch.inputs["metadata"] == docs.gp2_not_default_patch()["metadata"]
    # dev creates a 1.34 cluster: EKS 1.30+ does not mark gp2 default, so nothing to patch.
    assert dev_plan.by_type("kubernetes:storage.k8s.io/v1:StorageClassPatch") == []
    for plan in (prod_plan, dev_plan):
        assert not [
            r
            for r in plan.by_type("kubernetes:storage.k8s.io/v1:StorageClass")
            if r.inputs["metadata"]["name"] == "gp2"
        ]


def test_addons_never_use_the_drivers_own_default_class(everything: Plan) -> None:
    ebs = _one(everything, "aws:eks/addon:Addon", "ebs-addon")
    config = json.loads(ebs.inputs["configurationValues"])
    assert config == {
        "defaultStorageClass": {"enabled": False},
        # Fargate has no instance metadata: the controller's region is set, not found.
        "controller": {"region": "eu-west-1"},
        "node": {"hostNetwork": True},
    }
    efs = _one(everything, "aws:eks/addon:Addon", "efs-addon")
    assert json.loads(efs.inputs["configurationValues"])["controller"]["containerSecurityContext"] == {
        "privileged": False
    }


# --- Kubernetes objects valid for their kinds (against the pinned SDK's typed inputs) --------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _args_class(ref: str, module: str) -> type:
    """`'_core.v1.ObjectMetaArgs'` or `'CSIPersistentVolumeSourceArgs'` -> the SDK class."""
    *path, cls = ref.split(".")
    if path:
        mod: Any = pulumi_kubernetes
        for part in path:
            mod = getattr(mod, part.lstrip("_"))
    else:
        mod = __import__(module, fromlist=[cls])
    return typing.cast(type, getattr(mod, cls))


def _check(obj: Any, cls: type, where: str, errors: list[str]) -> None:
    init = cls.__init__  # type: ignore[misc]
    params = {n: p for n, p in inspect.signature(init).parameters.items() if n != "__self__"}
    for name, param in params.items():
        if param.default is inspect.Parameter.empty and _camel(name) not in obj:
            errors.append(f"{where}: required {_camel(name)} is missing")
    for key, value in obj.items():
        snake = _snake(key)
        if snake not in params:
            errors.append(f"{where}.{key}: not a field of {cls.__name__}")
            continue
        text = str(params[snake].annotation)
        ref = re.search(r"ForwardRef\('([\w.]+Args)'\)", text)
        if ref is None or "Mapping[str" in text.split("ForwardRef")[0]:
            continue
        child = _args_class(ref.group(1), cls.__module__)
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if isinstance(item, dict):
                _check(item, child, f"{where}.{key}" + (f"[{i}]" if isinstance(value, list) else ""), errors)


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p.title() for p in rest)


RESOURCE_ARGS = {
    "kubernetes:storage.k8s.io/v1:StorageClass": pulumi_kubernetes.storage.v1.StorageClassArgs,
    "kubernetes:storage.k8s.io/v1:StorageClassPatch": pulumi_kubernetes.storage.v1.StorageClassPatchArgs,
    "kubernetes:core/v1:PersistentVolume": pulumi_kubernetes.core.v1.PersistentVolumeArgs,
    "kubernetes:core/v1:PersistentVolumeClaim": pulumi_kubernetes.core.v1.PersistentVolumeClaimArgs,
    "kubernetes:core/v1:Namespace": pulumi_kubernetes.core.v1.NamespaceArgs,
}


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_storage_objects_are_valid_for_their_kinds(stack: str) -> None:
    objects = [r for r in stack_plan(stack).resources if r.type in RESOURCE_ARGS]
    if stack in (*EXAMPLE_STACKS, "everything"):  # each enables a storage add-on; a user's stack may not
        assert any(r.type.endswith(":StorageClass") for r in objects)
    errors: list[str] = []
    for r in objects:
        _check(r.inputs, RESOURCE_ARGS[r.type], f"{r.type.rsplit(':', 1)[1]}/{r.name}", errors)
    assert errors == []


def test_the_validator_catches_a_misspelt_field() -> None:
    errors: list[str] = []
    bad = copy.deepcopy(
        docs.s3_volume(volume_name="v", namespace="n", bucket="b", region="eu-west-1", read_only=False)
    )
    bad["spec"]["csi"]["volumeHandel"] = "x"
    del bad["spec"]["csi"]["driver"]
    _check(bad, pulumi_kubernetes.core.v1.PersistentVolumeArgs, "pv", errors)
    assert errors == [
        "pv.spec.csi: required driver is missing",
        "pv.spec.csi.volumeHandel: not a field of CSIPersistentVolumeSourceArgs",
    ]


def test_s3_volume_and_claim_bind_statically(everything: Plan) -> None:
    objects = kubernetes_objects(everything)
    pv = objects["persistentvolume-s3-shared-datasets-example.yaml"]
    pvc = objects["persistentvolumeclaim-s3-shared-datasets-example.yaml"]
    assert pv["spec"]["csi"] == {
        "driver": "s3.csi.aws.com",
        "volumeHandle": "s3-csi-s3-shared-datasets-example",
        "volumeAttributes": {"bucketName": "shared.datasets.example"},
    }
    assert pv["spec"]["mountOptions"] == ["read-only", "region eu-west-1"]
    assert pv["spec"]["accessModes"] == pvc["spec"]["accessModes"] == ["ReadOnlyMany"]
    assert pvc["spec"]["volumeName"] == pv["metadata"]["name"] and pvc["metadata"]["namespace"] == "data"
    assert pv["spec"]["storageClassName"] == pvc["spec"]["storageClassName"] == ""
    assert pv["spec"]["claimRef"] == {"namespace": "data", "name": "s3-shared-datasets-example"}


def test_aws_inputs_exist_in_the_pinned_sdk(everything: Plan) -> None:
    """Mocks accept anything: every input of the storage resources is an argument of pulumi-aws 7.51.1."""
    for r in everything.resources:
        if not r.custom or not r.type.startswith("aws:") or not r.urn.count("karpenter-eks:addons:"):
            continue
        module, cls = r.type.split(":")[1].split("/")[0], r.type.rsplit(":", 1)[1]
        resource = getattr(getattr(pulumi_aws, module), cls)  # its module, not a same-named nested type
        module_of = sys.modules[resource.__module__]
        # The SDK names it <Type>InitArgs where <Type>Args is taken by a nested input type.
        args = getattr(module_of, f"{cls}InitArgs", None) or getattr(module_of, f"{cls}Args")
        params = set(inspect.signature(args.__init__).parameters)
        for key in r.inputs:
            assert _snake(key) in params, f"{r.type} {r.name}: {key}"


# --- order ------------------------------------------------------------------------------------------------


def test_up_order(everything: Plan) -> None:
    (profile,) = everything.by_type("aws:eks/fargateProfile:FargateProfile")
    addon = lambda n: _one(everything, "aws:eks/addon:Addon", n)  # noqa: E731
    for name in ("ebs", "efs", "s3"):
        assert everything.depends_on(addon(f"{name}-addon"), profile)
    efs = addon("efs-addon")
    fs = _one(everything, "aws:efs/fileSystem:FileSystem", "efs-fs")
    for target in everything.by_type("aws:efs/mountTarget:MountTarget"):
        assert everything.depends_on(efs, target) and everything.depends_on(target, fs)
    assert everything.depends_on(
        addon("s3-addon"), everything.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    )
    for cls in everything.by_type("kubernetes:storage.k8s.io/v1:StorageClass"):
        assert everything.depends_on(cls, addon(f"{cls.name.split('-')[0]}-addon"))
    for kind in ("PersistentVolume", "PersistentVolumeClaim"):
        for r in everything.by_type(f"kubernetes:core/v1:{kind}"):
            if r.name.startswith("s3-"):  # Portainer's static EFS volume is not the S3 driver's
                assert everything.depends_on(r, addon("s3-addon"))
    bucket = everything.one("aws:s3/bucket:Bucket")
    assert everything.depends_on(
        _one(everything, "kubernetes:core/v1:PersistentVolume", "s3-pv-karpenter-dev-scratch"), bucket
    )


def test_karpenter_waits_only_for_the_drivers_and_the_claims(everything: Plan) -> None:
    """The controller waits for no add-on; the node classes wait directly for the storage add-ons and
    the S3 claims only (destroy drains the nodes while the drivers run, then deletes the claims)."""
    index = everything.urn_index()
    addon_parts = {r.urn for r in everything.resources if "karpenter-eks:addons:" in r.urn and r.custom}
    controller = everything.one("kubernetes:helm.sh/v3:Release", "karpenter-controller")
    assert not any(everything.depends_on(controller, index[p]) for p in addon_parts)
    expected = {
        *(_one(everything, "aws:eks/addon:Addon", f"{n}-addon").urn for n in ("ebs", "efs", "s3")),
        *(
            r.urn
            for r in everything.by_type("kubernetes:core/v1:PersistentVolumeClaim")
            if r.name.startswith("s3-")
        ),
    }
    classes = everything.by_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
    assert classes
    for node_class in classes:
        assert set(node_class.dependencies) & addon_parts == expected, node_class.name
    for pool in everything.by_type("kubernetes:karpenter.sh/v1:NodePool"):
        assert not set(pool.dependencies) & addon_parts, pool.name


def test_destroy_order(everything: Plan) -> None:
    order = destroy_order(everything)
    index = everything.urn_index()
    position = {index[u].name: i for i, u in enumerate(order)}

    def before(first: str, then: str) -> None:
        assert position[first] < position[then], f"destroy deletes {then} before {first}"

    for bucket in ("karpenter-dev-scratch", "shared.datasets.example"):
        before(f"s3-pvc-{bucket}", f"s3-pv-{bucket}")
        before(f"s3-pv-{bucket}", "s3-addon")
    before("s3-pv-karpenter-dev-scratch", "s3-karpenter-dev-scratch")  # volumes before a created bucket
    before("s3-addon", "s3-node-identity")
    for name in ("ebs", "efs", "s3"):
        before(f"{name}-addon", "fargate-pods")
        before(f"{name}-addon", f"{name}-role")
    before("ebs-gp3", "ebs-addon")
    before("efs-class", "efs-addon")
    for zone in ("eu-west-1a", "eu-west-1b", "eu-west-1c"):
        before("efs-addon", f"efs-mount-{zone}")
        before(f"efs-mount-{zone}", "efs-fs")
        before(f"efs-mount-{zone}", "efs-nfs")
        before(f"efs-mount-{zone}", f"network-private-{zone}")
    # Controllers on Fargate keep their way to AWS APIs (NAT, private routes) until they are gone.
    for nat in everything.by_type("aws:ec2/natGateway:NatGateway"):
        before("fargate-pods", nat.name)


# --- config rules -----------------------------------------------------------------------------------------


def _with(mutations: dict[str, Any]) -> dict[str, Any]:
    values = copy.deepcopy(stack_values("dev"))
    for path, value in mutations.items():
        node = values
        *head, last = path.split(".")
        for part in head:
            node = node.setdefault(part, {})
        node[last] = value
    return values


EBS = {"enabled": True, "version": "v1.64.0-eksbuild.1"}
S3 = {"enabled": True, "version": "v2.7.0-eksbuild.1", "buckets": [{"name": "my-bucket"}]}

BAD: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "two default classes",
        {"addons.efs.defaultClass": True},
        "addons",
        "more than one default StorageClass",
    ),
    (
        "gp2 left default in adopt mode",
        {
            "cluster": {"mode": "adopt", "name": "prod-main"},
            "addons.efs": {"enabled": False},
            "addons.ebs.demoteGp2": False,
        },
        "addons",
        "gp2 (may be the cluster's default",
    ),
    ("gp3 iops too low", {"addons.ebs.iops": 2000}, "addons.ebs", "outside gp3's 3000 to 80000"),
    ("gp3 iops too high", {"addons.ebs.iops": 90000}, "addons.ebs", "outside gp3's 3000 to 80000"),
    (
        "gp3 throughput too high",
        {"addons.ebs.throughput": 2500, "addons.ebs.iops": 16000},
        "addons.ebs",
        "125 to 2000",
    ),
    ("gp3 throughput over iops/4", {"addons.ebs.throughput": 1000}, "addons.ebs", "needs at least 4000 IOPS"),
    (
        "KMS key of another region",
        {"addons.ebs.kmsKeyArn": KMS.replace("eu-west-1", "us-east-1")},
        "addons.ebs.kmsKeyArn",
        "the key is in us-east-1",
    ),
    (
        "KMS key of another partition",
        {"addons.efs.kmsKeyArn": KMS.replace("arn:aws:", "arn:aws-cn:")},
        "addons.efs.kmsKeyArn",
        "(aws-cn)",
    ),
    (
        "KMS alias instead of a key",
        {"addons.ebs.kmsKeyArn": "alias/ebs"},
        "addons.ebs.kmsKeyArn",
        "not an alias",
    ),
    (
        "EFS create and an existing id",
        {"addons.efs.create": True, "addons.efs.fileSystemId": "fs-0123456789abcdef0"},
        "addons.efs",
        "exclude each other",
    ),
    ("EFS create false without an id", {"addons.efs.create": False}, "addons.efs", "needs `fileSystemId`"),
    (
        "bucket with capitals",
        {"addons.s3": {**S3, "buckets": [{"name": "My-Bucket"}]}},
        "addons.s3.buckets[0].name",
        "lowercase",
    ),
    (
        "bucket like an IP",
        {"addons.s3": {**S3, "buckets": [{"name": "192.168.5.4"}]}},
        "addons.s3.buckets[0].name",
        "IP address",
    ),
    (
        "bucket with adjacent dots",
        {"addons.s3": {**S3, "buckets": [{"name": "a..b"}]}},
        "addons.s3.buckets[0].name",
        "adjacent",
    ),
    (
        "bucket with a reserved suffix",
        {"addons.s3": {**S3, "buckets": [{"name": "data-s3alias"}]}},
        "addons.s3.buckets[0].name",
        "-s3alias",
    ),
    (
        "bucket too short",
        {"addons.s3": {**S3, "buckets": [{"name": "ab"}]}},
        "addons.s3.buckets[0].name",
        "3 to 63",
    ),
    (
        "bucket twice",
        {"addons.s3": {**S3, "buckets": [{"name": "my-bucket"}, {"name": "my-bucket"}]}},
        "addons.s3.buckets",
        "repeated: my-bucket",
    ),
    (
        "Mountpoint on Kubernetes 1.29",
        {"addons.s3": S3, "cluster.kubernetesVersion": "1.29"},
        "addons.s3.enabled",
        "1.30 or later",
    ),
    (
        "Pod Identity in China",
        {"addons.s3": S3, "region": "cn-north-1", "addons.ebs": {}, "addons.efs": {}},
        "addons.s3.enabled",
        "aws-cn",
    ),
    (
        "S3 claims in Karpenter's namespace",
        {"addons.s3": {**S3, "namespace": "karpenter"}},
        "addons.s3.namespace",
        "Karpenter's",
    ),
    (
        "S3 claims in kube-system",
        {"addons.s3": {**S3, "namespace": "kube-system"}},
        "addons.s3.namespace",
        "system namespace",
    ),
    ("unpinned EBS add-on", {"addons.ebs": {"enabled": True}}, "addons.ebs", "`version` is required"),
    ("unpinned S3 add-on", {"addons.s3": {"enabled": True}}, "addons.s3", "allowLatestVersion"),
    (
        "default efs class in adopt mode without the gp2 patch",
        {
            "cluster": {"mode": "adopt", "name": "prod-main"},
            "addons.ebs": {"enabled": False},
            "addons.efs.defaultClass": True,
        },
        "addons",
        "gp2 (may be the cluster's default",
    ),
    (
        "gp2 kept default on a created 1.29 cluster",
        {"cluster.kubernetesVersion": "1.29", "addons.ebs.demoteGp2": False},
        "addons",
        "more than one default StorageClass",
    ),
    (
        "add-on version without eksbuild",
        {"addons.ebs.version": "1.64.0"},
        "addons.ebs.version",
        "v1.64.0-eksbuild.1",
    ),
]


@pytest.mark.parametrize(("case", "mutations", "key", "hint"), BAD, ids=[b[0] for b in BAD])
def test_bad_storage_config_is_refused_by_key(
    case: str, mutations: dict[str, Any], key: str, hint: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        render(_with(mutations))
    message = refused.value.message
    assert any(line.strip().startswith(f"- {key}:") for line in message.splitlines()), message
    assert hint in message, message
    assert {r.type for r in refused.value.registered} <= {"pulumi:pulumi:Stack", "pulumi:providers:aws"}  # type: ignore[attr-defined]


def test_unpinned_is_accepted_when_allowed() -> None:
    plan = render(_with({"addons.ebs": {"enabled": True, "allowLatestVersion": True}}))
    assert "addonVersion" not in _one(plan, "aws:eks/addon:Addon", "ebs-addon").inputs


# --- what a config change replaces (../shared/pulumi-replacements/replacements.json) ----------------------


def test_replacements_are_handled(everything: Plan) -> None:
    rules = json.loads(shared("pulumi-replacements/replacements.json").read_text())["types"]
    storage_class = rules["kubernetes:storage.k8s.io/v1:StorageClass"]
    # A change of gp3's iops/throughput/KMS key (parameters) replaces the class; the API refuses updates of
    # reclaimPolicy and volumeBindingMode, which Pulumi would plan as updates: those replace it too.
    assert "parameters" in storage_class["replaceOn"]
    assert "reclaimPolicy" in storage_class["notes"] and "volumeBindingMode" in storage_class["notes"]
    for cls in everything.by_type("kubernetes:storage.k8s.io/v1:StorageClass"):
        assert cls.replace_on_changes == ["reclaimPolicy", "volumeBindingMode"], cls.name
        assert cls.delete_before_replace, cls.name  # the name is fixed: delete first, then create
    # A created file system is replaced (its data lost) by a change of KMS key or encryption: protected.
    assert {"kmsKeyId", "encrypted"} <= set(rules["aws:efs/fileSystem:FileSystem"]["replaceOn"])
    assert _one(everything, "aws:efs/fileSystem:FileSystem", "efs-fs").protect
    assert rules["aws:efs/mountTarget:MountTarget"]["deleteBeforeReplace"].startswith("always")
    # The gp2 patch replaces only on a rename, which it never has.
    assert rules["kubernetes:storage.k8s.io/v1:StorageClassPatch"]["replaceOn"] == ["metadata.name"]


def test_efs_protection_can_be_turned_off() -> None:
    plan = render(stack_values("dev"))  # dev opts out (protect: false)
    assert not _one(plan, "aws:efs/fileSystem:FileSystem", "efs-fs").protect


def test_adopted_cluster_too_old_for_mountpoint_is_refused_before_anything() -> None:
    values = stack_values("prod")
    world = World(region="us-east-1")
    world.add_cluster("prod-main")
    world.existing_clusters["prod-main"]["version"] = "1.29"
    with pytest.raises(RunError) as refused:
        render(values, world=world)
    assert "addons.s3 (Mountpoint for S3 CSI driver v2) needs 1.30 or later" in str(refused.value)
    registered = {r.type for r in refused.value.registered}  # type: ignore[attr-defined]
    assert registered <= {"pulumi:pulumi:Stack", "pulumi:providers:aws", "karpenter-eks:cluster:Cluster"}
    values["addons"]["s3"]["enabled"] = False
    render(values, world=world)  # without Mountpoint, 1.29 is fine


def test_keep_drivers_until_nodes_drain_is_refused_with_the_reason() -> None:
    """The node classes always wait for the drivers now (tests/test_destroy_batches.py): the old opt-in
    is refused with why, not silently ignored."""
    values = yaml.safe_load((ROOT / "tests" / "stacks" / "Pulumi.everything.yaml").read_text())["config"]
    values["karpenter-eks:addons"]["keepDriversUntilNodesDrain"] = True
    values["karpenter-eks:addons"]["portainer"]["adminPassword"] = "correct-horse-battery"
    config = flatten_config({k.split(":", 1)[1]: v for k, v in values.items()}, PROJECT)
    with pytest.raises(RunError) as refused:
        run(PROJECT, "everything", config, world=world_for(PROJECT, config))
    message = str(refused.value)
    assert "addons.keepDriversUntilNodesDrain" in message and "no longer supported" in message


def test_adopted_efs_takes_one_subnet_per_zone_and_admits_the_fargate_group() -> None:
    """An adopted VPC with two listed private subnets in one zone: EFS takes one mount target per zone
    (a second one fails with MountTargetConflict). With `existing.securityGroupId`, Fargate pods still
    carry the cluster security group EKS created: NFS admits it too."""
    values = stack_values("prod")
    subnets = values["cluster"]["existing"]["privateSubnetIds"]
    values["cluster"]["existing"]["securityGroupId"] = "sg-0123456789abcdef0"
    values["addons"]["efs"] = {"enabled": True, "version": "v3.4.1-eksbuild.1"}
    config = flatten_config(values, PROJECT)
    world = world_for(PROJECT, config)
    world.subnet_zones = {subnets[0]: "us-east-1a", subnets[1]: "us-east-1a", subnets[2]: "us-east-1b"}
    plan = render(values, world)
    targets = {r.name: r.inputs["subnetId"] for r in plan.by_type("aws:efs/mountTarget:MountTarget")}
    assert targets == {"efs-mount-us-east-1a": subnets[0], "efs-mount-us-east-1b": subnets[2]}
    rules = {
        r.name: r.inputs["referencedSecurityGroupId"]
        for r in plan.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    }
    eks_group = world.existing_clusters["prod-main"]["vpcConfig"]["clusterSecurityGroupId"]
    assert rules == {"efs-nfs-from-cluster": "sg-0123456789abcdef0", "efs-nfs-from-fargate": eks_group}


def test_the_s3_claims_are_a_stack_output(everything: Plan) -> None:
    claims = {
        r.inputs["metadata"]["name"] for r in everything.by_type("kubernetes:core/v1:PersistentVolumeClaim")
    }
    output = everything.outputs["s3Claims"]
    assert set(output) == {"karpenter-dev-scratch", "shared.datasets.example"}
    for ref in output.values():
        namespace, name = ref.split("/")
        assert namespace == "data" and name in claims


def test_the_preview_says_which_check_the_configuration_passed() -> None:
    assert docs.configuration_check_note(docs.EBS_ADDON, "v1.64.0-eksbuild.1") == (
        "aws-ebs-csi-driver: configurationValues checked offline against the chart values of v1.64.0 only "
        "(pulumi-aws has no DescribeAddonConfiguration data source); EKS checks them against the add-on "
        "version's own schema when it applies them"
    )
    other = docs.configuration_check_note(docs.EFS_ADDON, "v3.5.0-eksbuild.1")
    assert other.endswith("The pinned version v3.5.0-eksbuild.1 is not v3.4.1: check its schema first")
    assert docs.configuration_check_note(docs.EFS_ADDON, None).endswith(
        "(EKS default) is not v3.4.1: check its schema first"
    )
