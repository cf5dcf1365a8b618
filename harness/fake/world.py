"""What the fake AWS account holds, and the small helpers every service handler shares."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from config.patterns import region_partition

ACCOUNT_ID = "123456789012"


def partition_of(region: str) -> tuple[str, str]:
    """(partition, DNS suffix) of a region, as AWS's getPartition answers."""
    partition = region_partition(region)
    return partition, "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"


def _hex(seed: str, n: int = 17) -> str:
    """A deterministic fake identifier: the same seed gives the same ID in every render."""
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def filter_values(args: Mapping[str, Any], name: str) -> list[str] | None:
    """The values of a data source's `filters` entry called `name` (None when it has none)."""
    for f in args.get("filters") or []:
        if f.get("name") == name:
            return list(f.get("values") or [])
    return None


class CallFailure(Exception):
    """A data-source call the provider answers with an error (as for a region that does not exist)."""


@dataclass
class World:
    """What the fake AWS account looks like. Tests change it to exercise adopt mode and its failures."""

    region: str = "eu-west-1"
    account_id: str = ACCOUNT_ID
    existing_clusters: dict[str, dict[str, Any]] = field(default_factory=dict)
    caller_arn: str | None = None
    """Who runs `pulumi up` (getCallerIdentity's Arn). Unset: the IAM user `synth` of the account."""
    prior: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The inputs each resource (by URN) had in the stack's last deployment, from an earlier plan: the
    engine applies `ignoreChanges` against them before the provider sees the inputs (see
    `RecordingMonitor.RegisterResource`). Empty: a first `pulumi up`."""
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    """IAM roles that exist already, by name: {"path": "/", "description": "", "tags": {}}."""
    queues: dict[str, dict[str, str]] = field(default_factory=dict)
    """SQS queues that exist already in the region, by name: their tags."""
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    """EC2 instances in the region, by ID: {"state": "running", "tags": {}, "profile": name or ""}.
    Empty by default: the account runs no node the pre-flight would look at."""
    instance_profiles: dict[str, str] = field(default_factory=dict)
    """IAM instance profiles made outside this stack, by name: the role each holds."""
    subnet_zones: dict[str, str] = field(default_factory=dict)
    """Availability zone of a subnet (getSubnet); unset: a zone a to c derived from the subnet ID."""
    newest_addon_versions: dict[str, str] = field(
        default_factory=lambda: {
            "aws-ebs-csi-driver": "v1.64.0-eksbuild.1",
            "aws-efs-csi-driver": "v3.4.1-eksbuild.1",
            "aws-mountpoint-s3-csi-driver": "v2.7.0-eksbuild.1",
        }
    )
    """The newest version of each EKS add-on (getAddonVersion with mostRecent), for every Kubernetes
    version; an add-on not listed is not offered at all."""
    absent_addons: set[str] = field(default_factory=set)
    """EKS add-ons the existing clusters do not run (getAddon fails like ResourceNotFoundException); every
    other add-on is found installed."""
    denied: set[str] = field(default_factory=set)
    """Data-source tokens the caller may not call (an SCP, a missing permission): they fail like
    AccessDenied."""
    run: int = field(default=0, repr=False, compare=False)
    """Which render this is (`FakeCloud` counts them): what AWS answers anew each time (registry tokens,
    the newest add-on version) changes with it, so a test can see that nothing the program registers
    depends on such an answer."""

    @property
    def partition(self) -> str:
        return partition_of(self.region)[0]

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        """An ARN of this account and region (IAM and S3 ARNs leave out the region, S3 the account)."""
        reg = self.region if region else ""
        acct = self.account_id if account else ""
        return f"arn:{self.partition}:{service}:{reg}:{acct}:{resource}"

    def add_role(
        self, name: str, *, path: str = "/", description: str = "", tags: dict[str, str] | None = None
    ) -> None:
        """An IAM role made outside this stack (by hand, by a guide's CloudFormation, by AWS)."""
        self.roles[name] = {"path": path, "description": description, "tags": dict(tags or {})}

    def role_arn(self, name: str) -> str:
        return (
            f"arn:{partition_of(self.region)[0]}:iam::{self.account_id}:role{self.roles[name]['path']}{name}"
        )

    def add_karpenter_node(
        self, cluster: str, node_pool: str, *, profile: str, role: str, state: str = "running"
    ) -> str:
        """An instance a Karpenter launched for `cluster`, tagged as Karpenter 1.14.1 tags its instances
        (pkg/utils/utils.go `GetTags`), with the instance profile `profile` of `role`. Returns its ID."""
        instance_id = f"i-{_hex(f'{cluster}/{node_pool}/{len(self.instances)}')}"
        self.instances[instance_id] = {
            "state": state,
            "tags": {
                f"kubernetes.io/cluster/{cluster}": "owned",
                "karpenter.sh/nodepool": node_pool,
                "eks:eks-cluster-name": cluster,
                "karpenter.k8s.aws/ec2nodeclass": "default",
            },
            "profile": profile,
        }
        self.instance_profiles[profile] = role
        return instance_id

    def instance_profile_arn(self, name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:instance-profile/{name}"

    def add_cluster(self, name: str, *, authentication_mode: str = "API_AND_CONFIG_MAP") -> None:
        """An existing EKS cluster, as `aws eks describe-cluster` would show it."""
        oidc_id = _hex(name, 32).upper()
        self.existing_clusters[name] = {
            "name": name,
            "arn": f"arn:{partition_of(self.region)[0]}:eks:{self.region}:{self.account_id}:cluster/{name}",
            "endpoint": f"https://{_hex(name + 'ep', 32).upper()}.gr7.{self.region}.eks.amazonaws.com",
            "version": "1.33",
            "certificateAuthorities": [{"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="}],
            "identities": [
                {"oidcs": [{"issuer": f"https://oidc.eks.{self.region}.amazonaws.com/id/{oidc_id}"}]}
            ],
            "vpcConfig": {
                "vpcId": f"vpc-{_hex(name + 'vpc')}",
                "clusterSecurityGroupId": f"sg-{_hex(name + 'sg')}",
                "subnetIds": [f"subnet-{_hex(name + str(i))}" for i in range(3)],
                "securityGroupIds": [],
                "endpointPrivateAccess": True,
                "endpointPublicAccess": True,
                "publicAccessCidrs": ["0.0.0.0/0"],
            },
            "accessConfigs": [
                {"authenticationMode": authentication_mode, "bootstrapClusterCreatorAdminPermissions": False}
            ],
            "status": "ACTIVE",
            "tags": {},
        }


@dataclass
class Registration:
    """One resource registration a handler answers: it sets the provider ID (`rid`) and adds the
    outputs the provider computes to `state` (which starts as the inputs)."""

    world: World
    typ: str
    name: str
    inputs: dict[str, Any]
    physical: str
    """The resource's physical name: its `name` input, or the provider's name for a `namePrefix`."""
    state: dict[str, Any]
    rid: str

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return self.world.arn(service, resource, region=region, account=account)
