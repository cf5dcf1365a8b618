"""The duration table of the timing model (harness/timing.py): resource type -> modelled create time, each
with its basis (a source, or "estimate")."""

from __future__ import annotations

from dataclasses import dataclass

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
FARGATE_PROFILE = "aws:eks/fargateProfile:FargateProfile"


@dataclass(frozen=True)
class Estimate:
    seconds: float
    basis: str
    lane: str | None = None
    """Resources of this type whose lane key is equal run one at a time (see `lane_of`)."""


_FARGATE_POD = (
    "a pod on Fargate takes about 1 min to be scheduled, get its micro-VM, pull and start (estimate)"
)
_API_CALL = "estimate: one API call, no wait for a state"

# One table: resource type -> modelled create time. Providers and components take no time of their own.
DURATIONS: dict[str, Estimate] = {
    # EKS
    "eks:index:Cluster": Estimate(
        660,
        "EKS control plane ~10 min (AWS CreateCluster: 'several minutes'; aws/containers-roadmap#1227 "
        "reported a 15 min average before the improvements it tracks) + ~1 min for what pulumi-eks "
        "creates after it: the OIDC provider and the vpc-cni and kube-proxy add-ons (estimate)",
    ),
    "aws:eks/cluster:Cluster": Estimate(600, "EKS control plane ~10 min (as eks:index:Cluster, estimate)"),
    FARGATE_PROFILE: Estimate(
        180,
        "2-4 min: aws/containers-roadmap#2392 measured 5-6 min in 2024 and 26 s in 2025 (estimate 3 min); "
        "one profile CREATING per cluster (aws/aws-cdk#6084), so one lane per cluster",
        lane="fargate-profiles",
    ),
    "aws:eks/addon:Addon": Estimate(
        90, f"1-2 min: EKS reports ACTIVE once the add-on's workloads run; {_FARGATE_POD}"
    ),
    "aws:eks/accessEntry:AccessEntry": Estimate(5, _API_CALL),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": Estimate(5, _API_CALL),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": Estimate(5, _API_CALL),
    # Network
    "aws:ec2/vpc:Vpc": Estimate(5, "estimate: seconds (the provider waits for `available`)"),
    "aws:ec2/subnet:Subnet": Estimate(5, "estimate: seconds (the provider waits for `available`)"),
    "aws:ec2/internetGateway:InternetGateway": Estimate(5, _API_CALL),
    "aws:ec2/eip:Eip": Estimate(5, _API_CALL),
    "aws:ec2/natGateway:NatGateway": Estimate(
        120,
        "1-2 min, sometimes more: the provider waits for `available` (kubernetes/kops#944: 'can take "
        "up to 10 min' in 2016); estimate 2 min",
    ),
    "aws:ec2/routeTable:RouteTable": Estimate(3, _API_CALL),
    "aws:ec2/route:Route": Estimate(3, _API_CALL),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": Estimate(3, _API_CALL),
    "aws:ec2/tag:Tag": Estimate(2, _API_CALL),
    "aws:ec2/securityGroup:SecurityGroup": Estimate(5, _API_CALL),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": Estimate(3, _API_CALL),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": Estimate(3, _API_CALL),
    # IAM: seconds, the provider retries while IAM propagates
    "aws:iam/role:Role": Estimate(
        5, "estimate: seconds (IAM is eventually consistent; the provider retries)"
    ),
    "aws:iam/policy:Policy": Estimate(5, _API_CALL),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": Estimate(3, _API_CALL),
    "aws:iam/rolePolicy:RolePolicy": Estimate(3, _API_CALL),
    "aws:iam/instanceProfile:InstanceProfile": Estimate(10, "estimate: seconds, with propagation retries"),
    "aws:iam/serviceLinkedRole:ServiceLinkedRole": Estimate(5, _API_CALL),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": Estimate(5, _API_CALL),
    # Interruption handling
    "aws:sqs/queue:Queue": Estimate(10, "estimate: seconds (the provider waits for the attributes to apply)"),
    "aws:sqs/queuePolicy:QueuePolicy": Estimate(10, "estimate: as the queue"),
    "aws:cloudwatch/eventRule:EventRule": Estimate(3, _API_CALL),
    "aws:cloudwatch/eventTarget:EventTarget": Estimate(3, _API_CALL),
    # Storage
    "aws:efs/fileSystem:FileSystem": Estimate(15, "estimate: seconds (the provider waits for `available`)"),
    "aws:efs/mountTarget:MountTarget": Estimate(
        90, "estimate: 1-2 min (the provider waits for the mount target to be `available`)"
    ),
    "aws:efs/accessPoint:AccessPoint": Estimate(5, _API_CALL),
    "aws:efs/backupPolicy:BackupPolicy": Estimate(5, _API_CALL),
    "aws:efs/fileSystemPolicy:FileSystemPolicy": Estimate(5, _API_CALL),
    "aws:s3/bucket:Bucket": Estimate(5, _API_CALL),
    "aws:s3/bucketV2:BucketV2": Estimate(5, _API_CALL),
    "aws:s3/bucketPolicy:BucketPolicy": Estimate(3, _API_CALL),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": Estimate(3, _API_CALL),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": Estimate(
        3, _API_CALL
    ),
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": Estimate(
        3, _API_CALL
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": Estimate(3, _API_CALL),
    "aws:s3/bucketVersioning:BucketVersioning": Estimate(3, _API_CALL),
    "aws:s3/bucketVersioningV2:BucketVersioningV2": Estimate(3, _API_CALL),
    # Kubernetes
    HELM_RELEASE: Estimate(
        90,
        "1-2 min: 'the provider waits until all resources are in a ready state' unless skipAwait "
        f"(helm.v3.Release docstring); {_FARGATE_POD}",
    ),
    "kubernetes:networking.k8s.io/v1:Ingress": Estimate(
        120,
        "pulumi-kubernetes waits for the backends' endpoints and for status.loadBalancer.ingress "
        "(its Ingress docstring), which the load balancer controller sets once it has created the "
        "ALB; estimate 2 min",
    ),
    "kubernetes:core/v1:Service": Estimate(
        60,
        "pulumi-kubernetes waits until no endpoint is 'not ready', plus 10 s for stragglers (its "
        f"Service docstring); {_FARGATE_POD}",
    ),
    "kubernetes:apps/v1:Deployment": Estimate(60, f"pulumi-kubernetes waits for the rollout; {_FARGATE_POD}"),
}
for _kind in (
    "core/v1:Namespace",
    "core/v1:Secret",
    "core/v1:ConfigMap",
    "core/v1:ServiceAccount",
    "core/v1:PersistentVolumeClaim",
    "core/v1:PersistentVolume",
    "storage.k8s.io/v1:StorageClass",
    "storage.k8s.io/v1:StorageClassPatch",
    "karpenter.k8s.aws/v1:EC2NodeClass",
    "karpenter.sh/v1:NodePool",
    "networking.k8s.io/v1:IngressClass",
    "elbv2.k8s.aws/v1beta1:IngressClassParams",
    "apiextensions.k8s.io/v1:CustomResource",
):
    DURATIONS.setdefault(
        f"kubernetes:{_kind}",
        Estimate(2, "estimate: one API request (pulumi-kubernetes documents no readiness wait for it)"),
    )

# What pulumi-eks (4.4.0; nodejs/eks/cluster at the newest stored HEAD) waits for inside `eks:index:Cluster`
# when the input is true: added to the component's table time.
PULUMI_EKS_WAITS: dict[str, Estimate] = {
    "createOidcProvider": Estimate(
        2,
        "the OIDC issuer's CA thumbprint before the OIDC provider (cert-thumprint.ts: a TLS handshake with "
        "https://oidc.eks.<region>.<dnsSuffix>, retried 12 x 5 s on failure, then it throws); estimate 2 s",
    ),
    "endpointPublicAccess": Estimate(
        10,
        "GET <endpoint>/healthz until it answers before the cluster's outputs resolve (cluster.ts: 1 s "
        "request timeout, up to 60 tries 5 s apart, never on preview, no failure when exhausted); "
        "estimate: the second try",
    ),
}
UNKNOWN_TYPE = Estimate(10, "no entry in DURATIONS: assumed 10 s")
NO_TIME = Estimate(0, "providers and components take no time of their own")
