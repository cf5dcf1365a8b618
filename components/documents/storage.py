"""The storage add-ons' IAM documents, add-on configuration values and Kubernetes manifests, as pure data.

Facts taken from upstream (each checked against the pinned copies in ../shared and cited where used):
- service account names: the charts' `values.yaml` (`controller.serviceAccount.name`,
  `node.serviceAccount.name`) of aws-ebs-csi-driver v1.64.0, aws-efs-csi-driver v3.4.1 and
  mountpoint-s3-csi-driver v2.7.0; the EKS add-ons install into `kube-system`.
- pod labels (what a Fargate profile selects): the charts' templates label the controller pods
  `app: ebs-csi-controller` (also the chart's own anti-affinity in values.yaml), `app: efs-csi-controller`
  (templates/controller-deployment.yaml) and `app: s3-csi-controller` (templates/controller.yaml); the node
  DaemonSets' pods are `app: ebs-csi-node`, `app: efs-csi-node`, `app: s3-csi-node`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.blocks.arns import aws_managed_policy_arn
from components.documents import iam as iam_documents

POLICY_VERSION = "2012-10-17"
ADDON_NAMESPACE = "kube-system"


@dataclass(frozen=True)
class Workload:
    """One Deployment or DaemonSet of an add-on: its service account, its pods' labels, where it runs."""

    service_account: str
    pod_labels: dict[str, str]
    runs_on: str  # "fargate" or "ec2"


EBS_CONTROLLER = Workload("ebs-csi-controller-sa", {"app": "ebs-csi-controller"}, "fargate")
EBS_NODE = Workload("ebs-csi-node-sa", {"app": "ebs-csi-node"}, "ec2")
EFS_CONTROLLER = Workload("efs-csi-controller-sa", {"app": "efs-csi-controller"}, "fargate")
EFS_NODE = Workload("efs-csi-node-sa", {"app": "efs-csi-node"}, "ec2")
S3_CONTROLLER = Workload("s3-csi-driver-controller-sa", {"app": "s3-csi-controller"}, "fargate")
S3_NODE = Workload("s3-csi-driver-sa", {"app": "s3-csi-node"}, "ec2")

WORKLOADS: tuple[Workload, ...] = (EBS_CONTROLLER, EBS_NODE, EFS_CONTROLLER, EFS_NODE, S3_CONTROLLER, S3_NODE)

EBS_ADDON = "aws-ebs-csi-driver"
EFS_ADDON = "aws-efs-csi-driver"
S3_ADDON = "aws-mountpoint-s3-csi-driver"

EBS_PROVISIONER = "ebs.csi.aws.com"
EFS_PROVISIONER = "efs.csi.aws.com"
S3_DRIVER = "s3.csi.aws.com"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"

EBS_DRIVER_RESERVED_TAG_KEYS = ("CSIVolumeName", "CSIVolumeSnapshotName", "ebs.csi.aws.com/cluster")
"""Tag keys the EBS driver sets itself and refuses in a StorageClass's `tagSpecification_N` ("Tag key ... is
reserved", pkg/driver/validation.go). The driver tags every volume and snapshot `ebs.csi.aws.com/cluster:
true` (docs/tagging.md), which is exactly the tag AmazonEBSCSIDriverPolicyV2's conditions require; so the
class must not (and cannot) set it."""


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


# --- IAM ---------------------------------------------------------------------------------------------------


def managed_policy_arn(partition: str, name: str) -> str:
    """`AmazonEBSCSIDriverPolicyV2` is at `policy/`, `AmazonEFSCSIDriverPolicy` at `policy/service-role/`."""
    paths = {"AmazonEBSCSIDriverPolicyV2": "/", "AmazonEFSCSIDriverPolicy": "/service-role/"}
    return aws_managed_policy_arn(partition, name, paths[name])


irsa_trust_policy = iam_documents.irsa_trust_policy
"""IRSA trust for exactly the add-on's service accounts (the same document as the Karpenter controller's)."""


def pod_identity_trust_policy(*, cluster_arn: str, namespace: str, service_account: str) -> dict[str, Any]:
    """EKS Pod Identity trust (`pods.eks.amazonaws.com`, AssumeRole and TagSession), limited with the
    session tags Pod Identity sets to this cluster's `namespace/service_account`: the EKS user guide's
    "Create IAM role with trust policy required by EKS Pod Identity" (pod-id-role), whose conditions are
    `aws:RequestTag/kubernetes-namespace` and `.../kubernetes-service-account`, and the `eks-cluster-arn`
    session tag of "Enable or disable session tags" (pod-id-abac). No `aws:SourceArn`: the guide documents
    none for this trust, and Mountpoint credentials broke with one (mountpoint-s3-csi-driver #781)."""
    return _document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringEquals": {
                    "aws:RequestTag/eks-cluster-arn": cluster_arn,
                    "aws:RequestTag/kubernetes-namespace": namespace,
                    "aws:RequestTag/kubernetes-service-account": service_account,
                },
            },
        }
    )


def kms_key_policy(key_arn: str) -> dict[str, Any]:
    """What a CSI driver needs on a customer managed key (the EKS user guide's EBS CSI KMS policy): grants
    only for AWS resources, and the data-key operations."""
    return _document(
        {
            "Effect": "Allow",
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": [key_arn],
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
        {
            "Effect": "Allow",
            "Action": [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:DescribeKey",
            ],
            "Resource": [key_arn],
        },
    )


def mountpoint_policy(*, partition: str, buckets: list[tuple[str, bool]]) -> dict[str, Any]:
    """Mountpoint's documented least privilege (mountpoint-s3 doc/CONFIGURATION.md, "IAM permissions":
    MountpointFullBucketAccess and MountpointFullObjectAccess), scoped to (bucket, read_only) pairs. With
    only writable buckets it is upstream's policy statement for statement; read-only buckets get object
    reads only (ListBucket + GetObject is what a read-only mount needs, same document)."""
    names = sorted(name for name, _ in buckets)
    writable = sorted(name for name, read_only in buckets if not read_only)
    read_only = sorted(name for name, ro in buckets if ro)
    statements = [
        {
            "Sid": "MountpointFullBucketAccess",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [f"arn:{partition}:s3:::{n}" for n in names],
        }
    ]
    if writable:
        statements.append(
            {
                "Sid": "MountpointFullObjectAccess",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"],
                "Resource": [f"arn:{partition}:s3:::{n}/*" for n in writable],
            }
        )
    if read_only:
        statements.append(
            {
                "Sid": "MountpointReadOnlyObjectAccess",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:{partition}:s3:::{n}/*" for n in read_only],
            }
        )
    return _document(*statements)


def tls_only_bucket_policy(*, bucket_arn: str) -> dict[str, Any]:
    """Refuse every request to the bucket that does not use TLS."""
    return _document(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


# --- add-on configuration values (keys checked against the charts' values.yaml in tests) -----------------


CONFIGURATION_CHECKED_AGAINST = {EBS_ADDON: "v1.64.0", EFS_ADDON: "v3.4.1", S3_ADDON: "v2.7.0"}
"""The driver release whose chart values the add-on configuration keys are tested against (../shared);
no EKS configuration schema of any add-on version is available to this program (README, "The EKS add-ons'
configuration and versions")."""


def configuration_check_note(addon_name: str, version: str | None) -> str:
    """What the add-on's configuration was checked against, for the preview's log."""
    checked = CONFIGURATION_CHECKED_AGAINST[addon_name]
    pinned = version.split("-")[0] if version else None
    note = (
        f"{addon_name}: configurationValues checked offline against the chart values of {checked} only "
        f"(pulumi-aws has no DescribeAddonConfiguration data source); EKS checks them against the add-on "
        f"version's own schema when it applies them"
    )
    if pinned != checked:
        note += f". The pinned version {version or '(EKS default)'} is not {checked}: check its schema first"
    return note


def ebs_configuration_values(*, node_host_network: bool, region: str) -> dict[str, Any]:
    """`node.hostNetwork`: the node pods reach IMDS with hop limit 1, so they read the instance's real ENI
    and attachment count and report correct volume attach limits (aws-ebs-csi-driver #2262; the EKS add-on
    accepts `node.hostNetwork`, containers-roadmap #2661). The add-on's own `defaultStorageClass` stays off:
    it is unencrypted and would fight the gp3 class. The controller runs on Fargate (it only prefers EC2 in
    the chart's affinity; aws-efs-csi-driver #1100 notes it runs there), where there is no instance
    metadata to read the region from: `controller.region` (chart values.yaml: "AWS region to use. If not
    specified then the region will be looked up via the AWS EC2 metadata service", rendered as the
    controller's AWS_REGION) sets it, rather than relying on the IRSA webhook's injected AWS_REGION."""
    values: dict[str, Any] = {"defaultStorageClass": {"enabled": False}, "controller": {"region": region}}
    if node_host_network:
        values["node"] = {"hostNetwork": True}
    return values


def efs_configuration_values() -> dict[str, Any]:
    """Fargate refuses privileged containers ("Pod not supported on Fargate: invalid SecurityContext fields:
    Privileged", aws-efs-csi-driver #1329/#1100, where the add-on override is shown); the controller needs
    privilege only for `controller.deleteAccessPointRootDir`, which is off by default and left so."""
    return {"controller": {"containerSecurityContext": {"privileged": False}}}


# --- Kubernetes manifests ----------------------------------------------------------------------------------


def gp3_storage_class(
    *, default: bool, iops: int | None, throughput: int | None, kms_key_arn: str | None, reclaim_policy: str
) -> dict[str, Any]:
    """The gp3 class: encrypted, WaitForFirstConsumer (the volume is made in the pod's AZ), expandable."""
    parameters = {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"}
    if iops is not None:
        parameters["iops"] = str(iops)
    if throughput is not None:
        parameters["throughput"] = str(throughput)
    if kms_key_arn is not None:
        parameters["kmsKeyId"] = kms_key_arn
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "gp3", "annotations": {DEFAULT_CLASS_ANNOTATION: str(default).lower()}},
        "provisioner": EBS_PROVISIONER,
        "parameters": parameters,
        "reclaimPolicy": reclaim_policy,
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def gp2_not_default_patch() -> dict[str, Any]:
    """A server-side patch of gp2's default-class annotation (the class and its volumes stay). EKS (or
    kubectl) manages that annotation already, so the patch takes it over with `pulumi.com/patchForce`
    (pulumi-kubernetes patch resources otherwise stop at the field-manager conflict)."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": "gp2",
            "annotations": {DEFAULT_CLASS_ANNOTATION: "false", "pulumi.com/patchForce": "true"},
        },
    }


def efs_storage_class(
    *, file_system_id: str, default: bool, base_path: str, directory_perms: str
) -> dict[str, Any]:
    """Dynamic provisioning with one access point per claim (`provisioningMode: efs-ap`). The access points
    are made by the controller and mounted by the node DaemonSet, so these claims serve pods on EC2 nodes;
    pods on Fargate mount EFS only through a static PersistentVolume (Fargate runs no CSI node plugin)."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "efs", "annotations": {DEFAULT_CLASS_ANNOTATION: str(default).lower()}},
        "provisioner": EFS_PROVISIONER,
        "parameters": {
            "provisioningMode": "efs-ap",
            "fileSystemId": file_system_id,
            "directoryPerms": directory_perms,
            "basePath": base_path,
            "ensureUniqueDirectory": "true",
        },
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }


def s3_volume(
    *, volume_name: str, namespace: str, bucket: str, region: str, read_only: bool
) -> dict[str, Any]:
    """A static PersistentVolume for one bucket, as Mountpoint's static-provisioning example writes it
    (examples/kubernetes/static_provisioning: empty storageClassName, capacity required by Kubernetes and
    ignored by the driver), reserved for its claim with `claimRef` so no other claim can bind it."""
    mount_options = ["allow-delete", f"region {region}"]
    if read_only:
        mount_options = ["read-only", f"region {region}"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": volume_name},
        "spec": {
            "capacity": {"storage": "1200Gi"},
            "accessModes": ["ReadOnlyMany" if read_only else "ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "claimRef": {"namespace": namespace, "name": volume_name},
            "mountOptions": mount_options,
            "csi": {
                "driver": S3_DRIVER,
                "volumeHandle": f"s3-csi-{volume_name}",
                "volumeAttributes": {"bucketName": bucket},
            },
        },
    }


def s3_claim(*, volume_name: str, namespace: str, read_only: bool) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": volume_name, "namespace": namespace},
        "spec": {
            "accessModes": ["ReadOnlyMany" if read_only else "ReadWriteMany"],
            "storageClassName": "",
            "resources": {"requests": {"storage": "1200Gi"}},
            "volumeName": volume_name,
        },
    }
