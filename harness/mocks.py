"""One Pulumi mocks implementation, shared by `harness.synth` and the tests.

`FakeCloud` answers resource registrations and data-source calls with realistic fake values (ARNs that
carry the partition, region and account; queue URLs; an OIDC issuer; a kubeconfig). `RecordingMonitor`
keeps every registration request exactly as the engine would receive it, so the plan shows the real
dependency edges (explicit `depends_on` and those implied by Outputs). `run_program` runs `__main__.py`
in-process under both and returns a `Plan`.
"""

from __future__ import annotations

import asyncio
import contextvars
import fnmatch
import functools
import hashlib
import json
import logging
import os
import re
import runpy
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.cluster.cluster import kubeconfig as cluster_kubeconfig
from config.families import FAMILY_PATTERN, family_architecture
from config.patterns import region_partition

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_ID = "123456789012"
UNKNOWN = rpc.UNKNOWN
SECRET = "[secret]"


def partition_of(region: str) -> tuple[str, str]:
    """(partition, DNS suffix) of a region, as AWS's getPartition answers."""
    partition = region_partition(region)
    return partition, "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"


CATALOGUE = ROOT / "harness" / "catalogue"
"""EC2 catalogue extracts (tools/generate/ec2_catalogue.py, from moto's bundled AWS data): per region,
its zones and the instance families offered there with their architectures and sizes."""


@functools.cache
def catalogue(region: str) -> dict[str, Any] | None:
    path = CATALOGUE / f"{region}.json"
    return json.loads(path.read_text()) if path.exists() else None


@functools.cache
def known_regions() -> frozenset[str]:
    """The regions the pinned AWS SDK knows (pulumi_aws.Region); any other, the provider refuses."""
    import pulumi_aws

    return frozenset(r.value for r in pulumi_aws.Region)


_ARCH = {"arm64": "arm64", "amd64": "x86_64"}


def offered_types(region: str) -> dict[str, list[str]]:
    """Instance type -> EC2 architectures offered in `region`: from its catalogue; for a region without
    one, the offline fallback: the families of every catalogued region, architecture by the family
    naming rule (config/families.py), as if offered everywhere."""
    entry = catalogue(region)
    if entry and entry["families"]:
        return {
            f"{family}.{size}": info["architectures"]
            for family, info in entry["families"].items()
            for size in info["sizes"]
        }
    types: dict[str, list[str]] = {}
    for path in sorted(CATALOGUE.glob("*.json")):
        for family, info in json.loads(path.read_text())["families"].items():
            if FAMILY_PATTERN.match(family) is None:
                continue
            arch = _ARCH[family_architecture(family)]
            for size in info["sizes"]:
                types[f"{family}.{size}"] = [arch]
    return types


def _filter_values(args: Mapping[str, Any], name: str) -> list[str] | None:
    for f in args.get("filters") or []:
        if f.get("name") == name:
            return list(f.get("values") or [])
    return None


def _hex(seed: str, n: int = 17) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


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
    subnet_zones: dict[str, str] = field(default_factory=dict)
    """Availability zone of a subnet (getSubnet); unset: a zone a to c derived from the subnet ID."""
    denied: set[str] = field(default_factory=set)
    """Data-source tokens the caller may not call (an SCP, a missing permission): they fail like
    AccessDenied."""

    def add_role(
        self, name: str, *, path: str = "/", description: str = "", tags: dict[str, str] | None = None
    ) -> None:
        """An IAM role made outside this stack (by hand, by a guide's CloudFormation, by AWS)."""
        self.roles[name] = {"path": path, "description": description, "tags": dict(tags or {})}

    def role_arn(self, name: str) -> str:
        return (
            f"arn:{partition_of(self.region)[0]}:iam::{self.account_id}:role{self.roles[name]['path']}{name}"
        )

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


class CallFailure(Exception):
    """A data-source call the provider answers with an error (as for a region that does not exist)."""


class FakeCloud(pulumi_mocks.Mocks):
    """Answers resource registrations and calls like AWS and Kubernetes would, deterministically."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.invokes: list[tuple[str, str | None]] = []
        """Every data-source call: (token, provider reference)."""
        self.invoke_args: list[tuple[str, Any]] = []
        """Every data-source call: (token, its arguments as plain JSON), in the same order."""

    # -- helpers -------------------------------------------------------------------------------------
    @property
    def _partition(self) -> str:
        return partition_of(self.world.region)[0]

    def _arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        reg = self.world.region if region else ""
        acct = self.world.account_id if account else ""
        return f"arn:{self._partition}:{service}:{reg}:{acct}:{resource}"

    # -- resources -----------------------------------------------------------------------------------
    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        inputs = dict(args.inputs)
        typ, name = args.typ, args.name
        # An explicit name, or the provider's name for a prefix: the prefix and a 26-character suffix.
        prefix = inputs.get("namePrefix")
        physical = inputs.get("name") or (
            f"{prefix}{20251122000000000000000000 + int(_hex(name, 6), 16)}" if prefix else name
        )
        state: dict[str, Any] = dict(inputs)
        rid = f"{name}-{_hex(typ + name, 8)}"

        if typ.startswith("pulumi:providers:"):
            return rid, state
        if typ == "aws:iam/role:Role":
            path = inputs.get("path") or "/"
            state |= {"arn": self._arn("iam", f"role{path}{physical}", region=False), "name": physical}
            state["uniqueId"] = "AROA" + _hex(name, 16).upper()
            rid = physical
        elif typ == "aws:iam/policy:Policy":
            path = inputs.get("path") or "/"
            state |= {"arn": self._arn("iam", f"policy{path}{physical}", region=False), "name": physical}
            rid = state["arn"]
        elif typ == "aws:iam/instanceProfile:InstanceProfile":
            path = inputs.get("path") or "/"
            arn = self._arn("iam", f"instance-profile{path}{physical}", region=False)
            state |= {"arn": arn, "name": physical}
            rid = physical
        elif typ == "aws:iam/serviceLinkedRole:ServiceLinkedRole":
            svc = inputs.get("awsServiceName", "")
            role = "AWSServiceRoleForEC2Spot" if svc.startswith("spot.") else "AWSServiceRoleFor" + svc
            arn = self._arn("iam", f"role/aws-service-role/{svc}/{role}", region=False)
            state |= {"arn": arn, "name": role}
        elif typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            host = str(inputs.get("url", "")).removeprefix("https://")
            state["arn"] = self._arn("iam", f"oidc-provider/{host}", region=False)
        elif typ == "aws:sqs/queue:Queue":
            qname = physical
            state |= {
                "arn": self._arn("sqs", qname),
                "url": f"https://sqs.{self.world.region}.amazonaws.com/{self.world.account_id}/{qname}",
                "name": qname,
            }
            rid = state["url"]
        elif typ == "aws:cloudwatch/eventRule:EventRule":
            state |= {"arn": self._arn("events", f"rule/{physical}"), "name": physical}
            rid = physical
        elif typ == "aws:ec2/vpc:Vpc":
            rid = f"vpc-{_hex(name)}"
            state |= {"arn": self._arn("ec2", f"vpc/{rid}"), "defaultSecurityGroupId": f"sg-{_hex(rid)}"}
        elif typ == "aws:ec2/subnet:Subnet":
            rid = f"subnet-{_hex(name)}"
            state["arn"] = self._arn("ec2", f"subnet/{rid}")
        elif typ == "aws:ec2/internetGateway:InternetGateway":
            rid = f"igw-{_hex(name)}"
        elif typ == "aws:ec2/natGateway:NatGateway":
            rid = f"nat-{_hex(name)}"
        elif typ == "aws:ec2/eip:Eip":
            rid = f"eipalloc-{_hex(name)}"
            state["allocationId"] = rid
            state["publicIp"] = "203.0.113." + str(int(_hex(name, 2), 16) % 250 + 1)
        elif typ == "aws:ec2/routeTable:RouteTable":
            rid = f"rtb-{_hex(name)}"
        elif typ == "aws:eks/fargateProfile:FargateProfile":
            cluster = inputs.get("clusterName", "")
            profile = inputs.get("fargateProfileName", name)
            state |= {"arn": self._arn("eks", f"fargateprofile/{cluster}/{profile}/{_hex(name, 8)}")}
            state["status"] = "ACTIVE"
            rid = f"{cluster}:{profile}"
        elif typ == "aws:eks/accessEntry:AccessEntry":
            state["accessEntryArn"] = self._arn(
                "eks", f"access-entry/{inputs.get('clusterName')}/{_hex(name)}"
            )
        elif typ == "aws:eks/addon:Addon":
            state |= {"arn": self._arn("eks", f"addon/{inputs.get('clusterName')}/{inputs.get('addonName')}")}
            state.setdefault("addonVersion", "v1.12.4-eksbuild.1")
        elif typ == "aws:eks/podIdentityAssociation:PodIdentityAssociation":
            aid = f"a-{_hex(name, 17)}"
            cluster = inputs.get("clusterName")
            state |= {
                "associationId": aid,
                "associationArn": self._arn("eks", f"podidentityassociation/{cluster}/{aid}"),
            }
            rid = f"{cluster},{aid}"
        elif typ == "aws:ec2/securityGroup:SecurityGroup":
            rid = f"sg-{_hex(name)}"
            state |= {
                "arn": self._arn("ec2", f"security-group/{rid}"),
                "name": inputs.get("name") or f"{name}-{_hex(name, 7)}",
            }
        elif typ == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
            rid = f"sgr-{_hex(name)}"
            state |= {"arn": self._arn("ec2", f"security-group-rule/{rid}"), "securityGroupRuleId": rid}
        elif typ == "aws:efs/fileSystem:FileSystem":
            rid = f"fs-{_hex(name)}"
            state |= {
                "arn": self._arn("elasticfilesystem", f"file-system/{rid}"),
                "dnsName": f"{rid}.efs.{self.world.region}.amazonaws.com",
                "creationToken": inputs.get("creationToken") or f"{name}-{_hex(name, 7)}",
            }
        elif typ == "aws:efs/mountTarget:MountTarget":
            rid = f"fsmt-{_hex(name)}"
            state |= {"ipAddress": "10.0." + str(int(_hex(name, 2), 16) % 250) + ".10"}
        elif typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or f"{name}-{_hex(name, 7)}"
            state |= {"arn": f"arn:{self._partition}:s3:::{bucket}", "bucket": bucket}
            rid = bucket
        elif typ == "eks:index:Cluster":
            state |= self._eks_cluster(str(inputs.get("name") or name))
        elif typ == "kubernetes:helm.sh/v3:Release":
            state["status"] = {"status": "deployed", "version": 1, "namespace": inputs.get("namespace")}
        return rid, state

    def _eks_cluster(self, cluster: str) -> dict[str, Any]:
        region = self.world.region
        issuer_host = f"oidc.eks.{region}.amazonaws.com/id/{_hex(cluster, 32).upper()}"
        endpoint = f"https://{_hex(cluster + 'ep', 32).upper()}.gr7.{region}.eks.amazonaws.com"
        kubeconfig = json.loads(cluster_kubeconfig(cluster, endpoint, "LS0tLS1CRUdJTg==", region))
        return {
            "kubeconfig": kubeconfig,
            "kubeconfigJson": json.dumps(kubeconfig),
            "oidcIssuer": issuer_host,
            "oidcProviderUrl": f"https://{issuer_host}",
            "oidcProviderArn": self._arn("iam", f"oidc-provider/{issuer_host}", region=False),
            "clusterSecurityGroupId": f"sg-{_hex(cluster + 'sg')}",
            "core": {"endpoint": endpoint},
        }

    # -- data sources --------------------------------------------------------------------------------
    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        self.invokes.append((args.token, args.provider or None))
        self.invoke_args.append((args.token, to_json_value(dict(args.args))))
        try:
            return self._answer(args.token, dict(args.args)), []
        except CallFailure as failure:
            # As the engine reports a provider's error: the invoke fails with the reason, and the program
            # may handle it (a plain exception here would escape the program, unlike a real failure).
            return {}, [("", str(failure))]

    def _answer(self, tok: str, a: dict[str, Any]) -> dict[str, Any]:
        partition, dns = partition_of(self.world.region)
        if tok in self.world.denied:
            raise CallFailure(f"AccessDeniedException: the caller is not authorized to call {tok}")
        if tok == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.world.account_id,
                "arn": self.world.caller_arn or f"arn:{partition}:iam::{self.world.account_id}:user/synth",
                "userId": "AIDASYNTH",
                "id": self.world.account_id,
            }
        if tok == "aws:index/getPartition:getPartition":
            return {
                "partition": partition,
                "dnsSuffix": dns,
                "id": partition,
                "reverseDnsPrefix": "com.amazonaws",
            }
        if tok == "aws:index/getRegion:getRegion":
            return {"name": self.world.region, "region": self.world.region, "id": self.world.region}
        if tok == "aws:eks/getCluster:getCluster":
            found = self.world.existing_clusters.get(str(a.get("name")))
            if found is None:
                raise Exception(f"ResourceNotFoundException: No cluster found for name: {a.get('name')}.")
            return dict(found) | {"id": found["name"]}
        if tok == "aws:eks/getClusters:getClusters":
            return {"names": sorted(self.world.existing_clusters), "id": self.world.region}
        if tok == "aws:index/getAvailabilityZones:getAvailabilityZones":
            region = self.world.region
            if region not in known_regions():
                # What the AWS provider answers for a region its SDK does not know.
                raise CallFailure(f"invalid AWS Region: {region}")
            entry = catalogue(region)
            # Without a catalogue: moto's default for regions it does not list (zones a to c).
            zones = entry["zones"] if entry else [f"{region}{letter}" for letter in "abc"]
            return {
                "names": zones,
                "zoneIds": [f"{z}-id" for z in zones],
                "groupNames": [region],
                "id": region,
            }
        if tok == "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
            patterns = _filter_values(a, "instance-type") or ["*"]
            names = sorted(
                t
                for t in offered_types(self.world.region)
                if any(fnmatch.fnmatchcase(t, p) for p in patterns)
            )
            return {
                "instanceTypes": names,
                "locations": [self.world.region] * len(names),
                "locationTypes": ["region"] * len(names),
                "id": self.world.region,
            }
        if tok == "aws:ec2/getInstanceTypes:getInstanceTypes":
            patterns = _filter_values(a, "instance-type") or ["*"]
            archs = _filter_values(a, "processor-info.supported-architecture")
            names = sorted(
                t
                for t, supported in offered_types(self.world.region).items()
                if any(fnmatch.fnmatchcase(t, p) for p in patterns)
                and (archs is None or set(archs) & set(supported))
            )
            return {"instanceTypes": names, "id": self.world.region}
        if tok == "aws:ec2/getSubnet:getSubnet":
            subnet = str(a.get("id"))
            zone = (
                self.world.subnet_zones.get(subnet)
                or f"{self.world.region}{'abc'[int(_hex(subnet, 4), 16) % 3]}"
            )
            return {"id": subnet, "availabilityZone": zone, "vpcId": f"vpc-{_hex(self.world.region + 'vpc')}"}
        if tok == "aws:ec2/getSubnets:getSubnets":
            filters = {f["name"]: f["values"] for f in a.get("filters", [])}
            seed = json.dumps(filters, sort_keys=True)
            return {"ids": [f"subnet-{_hex(seed + str(i))}" for i in range(3)], "id": self.world.region}
        if tok == "aws:iam/getRoles:getRoles":
            pattern = re.compile(str(a.get("nameRegex") or ".*"))
            prefix = str(a.get("pathPrefix") or "/")
            names = sorted(
                n for n, r in self.world.roles.items() if pattern.search(n) and r["path"].startswith(prefix)
            )
            return {"names": names, "arns": [self.world.role_arn(n) for n in names], "id": self.world.region}
        if tok == "aws:iam/getRole:getRole":
            role_name = str(a.get("name"))
            if role_name not in self.world.roles:
                raise Exception(f"NoSuchEntity: The role with name {role_name} cannot be found.")
            role = self.world.roles[role_name]
            return {
                "name": role_name,
                "arn": self.world.role_arn(role_name),
                "path": role["path"],
                "description": role["description"],
                "tags": role["tags"],
                "id": role_name,
            }
        if tok == "aws:sqs/getQueues:getQueues":
            prefix = str(a.get("queueNamePrefix") or "")
            urls = [
                f"https://sqs.{self.world.region}.amazonaws.com/{self.world.account_id}/{q}"
                for q in sorted(self.world.queues)
                if q.startswith(prefix)
            ]
            return {"queueUrls": urls, "id": self.world.region}
        if tok == "aws:sqs/getQueue:getQueue":
            qname = str(a.get("name"))
            if qname not in self.world.queues:
                raise Exception(f"AWS.SimpleQueueService.NonExistentQueue: {qname}")
            return {
                "name": qname,
                "arn": self._arn("sqs", qname),
                "url": f"https://sqs.{self.world.region}.amazonaws.com/{self.world.account_id}/{qname}",
                "tags": self.world.queues[qname],
                "id": qname,
            }
        if tok == "aws:ecrpublic/getAuthorizationToken:getAuthorizationToken":
            return {
                "authorizationToken": "QVdTOmZha2UtdG9rZW4=",
                "userName": "AWS",
                "password": "fake-public-ecr-token",
                "expiresAt": "2026-11-22T12:00:00Z",
                "id": "us-east-1",
            }
        if tok == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            registry = (
                f"{a.get('registryId') or self.world.account_id}.dkr.ecr.{self.world.region}.amazonaws.com"
            )
            return {
                "authorizationToken": "QVdTOmZha2UtdG9rZW4=",
                "userName": "AWS",
                "password": "fake-ecr-token",
                "proxyEndpoint": f"https://{registry}",
                "expiresAt": "2026-11-22T12:00:00Z",
                "id": self.world.region,
            }
        raise NotImplementedError(f"FakeCloud has no answer for the call {tok}; add one in harness/mocks.py")


@dataclass
class RecordedResource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str | None
    protect: bool
    retain_on_delete: bool
    inputs: dict[str, Any]
    delete_before_replace: bool | None = None
    """The `delete_before_replace` option: None when the program left it unset (the provider decides)."""
    replace_on_changes: list[str] = field(default_factory=list)
    ignore_changes: list[str] = field(default_factory=list)
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    aliases: list[dict[str, Any]] = field(default_factory=list)
    secret_digests: dict[str, str] = field(default_factory=dict)
    """Top-level inputs holding a secret -> a short digest of the plaintext, so a diff of two plans sees
    that a secret changed without the plan holding it."""
    secret_shapes: dict[tuple[str | int, ...], Any] = field(default_factory=dict, repr=False)
    """Path of each `[secret]` placeholder in `inputs` -> the shape of its plaintext (`secret_shape`): the
    keys and JSON types the provider gets, none of the values. In memory only (not in `as_json`), so a
    schema test can check a secret's structure without the plan holding it."""
    unknowns: list[str] = field(default_factory=list)
    """Paths (`key`, `key.sub`, `key[0].sub`) of the inputs unknown at render time, which `inputs` records
    as null: the program passes them. Any other null in `inputs` is a None the program wrote itself."""

    def as_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies,
            "provider": self.provider,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "deleteBeforeReplace": self.delete_before_replace,
            "replaceOnChanges": self.replace_on_changes,
            "ignoreChanges": self.ignore_changes,
            "customTimeouts": self.custom_timeouts,
            "aliases": self.aliases,
            "secretDigests": self.secret_digests,
            "inputs": self.inputs,
        }


def _is_unknown(value: Any) -> bool:
    # Deserialized with keep_unknowns, an unknown is pulumi.output.UNKNOWN (an `Unknown`), not rpc's string.
    return value is UNKNOWN or isinstance(value, pulumi.Output | pulumi.output.Unknown)


def to_json_value(value: Any) -> Any:
    """Deserialized property values as plain JSON: unknowns become null, secrets "[secret]" (as
    `pulumi preview` shows them)."""
    if _is_unknown(value):
        return None
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return SECRET
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, pulumi.Resource):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire format has only doubles; the program wrote an integer
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return repr(value)
    return value


def unknown_paths(value: Any, path: str = "") -> list[str]:
    """The paths of a deserialized value's unknowns (the ones to_json_value records as null)."""
    if _is_unknown(value):
        return [path]
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return unknown_paths(value.get("value"), path)
        return [p for k, v in value.items() for p in unknown_paths(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in unknown_paths(v, f"{path}[{i}]")]
    return []


def _has_secret(value: Any) -> bool:
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return True
        return any(_has_secret(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_secret(v) for v in value)
    return False


def _plain(value: Any) -> Any:
    """A deserialized value with its secrets unwrapped (only ever digested, never written)."""
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return _plain(value.get("value"))
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return to_json_value(value)


def secret_shape(plain: Any) -> Any:
    """A plaintext with every scalar replaced by a stand-in of its JSON type ("[secret]", 0, false)."""
    if isinstance(plain, dict):
        return {k: secret_shape(v) for k, v in plain.items()}
    if isinstance(plain, list):
        return [secret_shape(v) for v in plain]
    if isinstance(plain, bool):
        return False
    if isinstance(plain, int | float):
        return 0
    return None if plain is None else SECRET


def secret_shapes(value: Any, path: tuple[str | int, ...] = ()) -> dict[tuple[str | int, ...], Any]:
    """Where `to_json_value(value)` has a `[secret]` placeholder -> the shape of the secret's plaintext."""
    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return {path: secret_shape(_plain(value.get("value")))}
        items: list[tuple[str | int, Any]] = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list | tuple):
        items = list(enumerate(value))
    else:
        return {}
    return {p: shape for key, item in items for p, shape in secret_shapes(item, (*path, key)).items()}


def secret_digest(urn: str, key: str, value: Any) -> str:
    """A digest of a secret input, salted with the URN and key (so equal secrets of two resources do
    not look alike); 16 hex digits: enough to see a change, useless to guess the value."""
    text = json.dumps(_plain(value), sort_keys=True)
    return "sha256:" + hashlib.sha256(f"{urn}\0{key}\0{text}".encode()).hexdigest()[:16]


def lifecycle_options(request: Any, urn: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The resource options of a RegisterResourceRequest (pulumi/runtime/proto/resource_pb2.pyi) that decide
    how the engine updates, replaces and deletes the resource."""
    from google.protobuf.json_format import MessageToDict

    timeouts = request.customTimeouts
    return {
        "delete_before_replace": bool(request.deleteBeforeReplace)
        if request.deleteBeforeReplaceDefined
        else None,
        "replace_on_changes": sorted(request.replaceOnChanges),
        "ignore_changes": sorted(request.ignoreChanges),
        "custom_timeouts": {
            k: v
            for k, v in (
                ("create", timeouts.create),
                ("update", timeouts.update),
                ("delete", timeouts.delete),
            )
            if v
        },
        "aliases": [MessageToDict(a) for a in request.aliases] + [{"urn": u} for u in request.aliasURNs],
        "secret_digests": secret_digests(urn, inputs),
    }


def secret_digests(urn: str, inputs: Mapping[str, Any]) -> dict[str, str]:
    digests = {k: secret_digest(urn, k, v) for k, v in sorted(inputs.items()) if _has_secret(v)}
    if "kubeconfig" in digests:
        # pulumi-kubernetes replaces its provider only when the kubeconfig's ACTIVE cluster entry changes
        # (provider.go DiffConfig, getActiveClusterFromConfig): digest that entry on its own too.
        active = active_cluster(_plain(inputs["kubeconfig"]))
        if active is not None:
            digests["kubeconfig.activeCluster"] = secret_digest(urn, "kubeconfig.activeCluster", active)
    return digests


def active_cluster(kubeconfig: Any) -> Any:
    """The cluster entry of a kubeconfig's current context (JSON or YAML text, or a parsed document)."""
    import yaml

    doc = kubeconfig
    if isinstance(doc, str):
        try:
            doc = yaml.safe_load(doc)
        except yaml.YAMLError:
            return None
    if not isinstance(doc, Mapping):
        return None
    contexts = {c.get("name"): c.get("context") or {} for c in doc.get("contexts") or []}
    cluster_name = contexts.get(doc.get("current-context"), {}).get("cluster")
    return next((c.get("cluster") for c in doc.get("clusters") or [] if c.get("name") == cluster_name), None)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that keeps each registration request, in the order the engine would get them."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []

    def _apply_ignore_changes(self, urn: str, request: Any) -> None:
        """What the engine does with `ignoreChanges` on an update (pulumi/pulumi processIgnoreChanges): an
        ignored input keeps its value from the last deployment, or is dropped when it had none. So the
        fake cloud computes outputs (an ARN carrying an IAM path, ...) from what AWS would really hold.
        Top-level inputs only: the program ignores no nested path."""
        prior = getattr(self.mocks, "world", None)
        old = prior.prior.get(urn) if prior is not None else None
        if old is None or not request.ignoreChanges:
            return
        for path in request.ignoreChanges:
            if any(c in path for c in ".[]"):
                raise NotImplementedError(f"ignoreChanges on a nested path ({path}) is not modelled")
            if path in old and old[path] is not None:
                request.object[path] = old[path]
            elif path in request.object:
                del request.object[path]

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if any(r.urn == urn for r in self.recorded):
            # The engine refuses a second registration of a URN; so must the offline render.
            raise RuntimeError(f"Duplicate resource URN '{urn}'; try giving it a unique name")
        self._apply_ignore_changes(urn, request)
        response = super().RegisterResource(request)
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        self.recorded.append(
            RecordedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent or None,
                dependencies=sorted(request.dependencies),
                property_dependencies={
                    k: sorted(v.urns) for k, v in sorted(request.propertyDependencies.items())
                },
                provider=request.provider or None,
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                inputs=to_json_value(inputs),
                unknowns=sorted(unknown_paths(inputs)),
                **lifecycle_options(request, response.urn, inputs),
                secret_shapes=secret_shapes(inputs),
            )
        )
        return response


@dataclass
class Plan:
    project: str
    stack: str
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    secret_outputs: list[str]
    invokes: list[tuple[str, str | None]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What the program logged with pulumi.log.warn (`pulumi preview` shows these)."""
    invoke_args: list[tuple[str, Any]] = field(default_factory=list)
    """Every data-source call's token and arguments (plain JSON, camelCase keys), in call order."""

    def as_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "resources": [r.as_json() for r in self.resources],
            "outputs": self.outputs,
        }

    # Helpers the tests use to ask questions of the plan.
    def by_type(self, typ: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str, name_suffix: str = "") -> RecordedResource:
        found = [r for r in self.by_type(typ) if r.name.endswith(name_suffix)]
        if len(found) != 1:
            names = [r.name for r in self.by_type(typ)]
            raise AssertionError(f"expected one {typ} named *{name_suffix}, found {len(found)}: {names}")
        return found[0]

    def urn_index(self) -> dict[str, RecordedResource]:
        return {r.urn: r for r in self.resources}

    def depends_on(self, resource: RecordedResource, target: RecordedResource) -> bool:
        """True when `resource` waits for `target` (directly or transitively, through dependencies,
        property dependencies or the parent chain of components whose children depend on it)."""
        index = self.urn_index()
        seen: set[str] = set()
        todo = [resource.urn]
        while todo:
            urn = todo.pop()
            if urn in seen:
                continue
            seen.add(urn)
            if urn == target.urn:
                return urn != resource.urn
            r = index.get(urn)
            if r is None:
                continue
            todo.extend(r.dependencies)
            for urns in r.property_dependencies.values():
                todo.extend(urns)
        return False


def load_stack_file(stack: str, root: Path = ROOT) -> tuple[str, dict[str, str]]:
    """The project name, and the stack's config as Pulumi passes it to a program: `project:key` ->
    string (structured values as JSON), secure values replaced by placeholders."""
    import yaml

    project_file = root / "Pulumi.yaml" if (root / "Pulumi.yaml").exists() else ROOT / "Pulumi.yaml"
    project_doc = yaml.safe_load(project_file.read_text())
    project = project_doc["name"]
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name} in {root}")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path.name} is not valid YAML: {exc}") from None
    values = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(values, dict):
        raise StackFileError(f"{path.name}: expected a `config:` mapping of `namespace:key: value` entries")
    bare = sorted(k for k in values if ":" not in str(k))
    if bare:
        # The Pulumi CLI refuses stack config keys without a namespace; say so before it does.
        raise StackFileError(
            f"{path.name}: config keys need their namespace: write "
            + ", ".join(f"{project}:{k}" for k in bare)
        )
    config = flatten_config(values, project)
    # As the Pulumi CLI does: a project-level default applies where the stack sets no value.
    defaults = {k: d["default"] for k, d in (project_doc.get("config") or {}).items() if "default" in d}
    for key, value in flatten_config(defaults, project).items():
        config.setdefault(key, value)
    return project, config


class StackFileError(Exception):
    """A stack file that Pulumi itself could not read."""


def flatten_config(values: Mapping[str, Any], project: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in values.items():
        full = key if ":" in key else f"{project}:{key}"
        out[full] = value if isinstance(value, str) else json.dumps(_placeholders(value))
    return out


def _placeholders(value: Any) -> Any:
    if isinstance(value, Mapping):
        if set(value) == {"secure"}:
            return "[secret placeholder]"
        return {k: _placeholders(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v) for v in value]
    return value


def run_program(
    project: str,
    stack: str,
    config: Mapping[str, str],
    world: World | None = None,
    program: Path = ROOT / "__main__.py",
) -> Plan:
    """Run the Pulumi program in-process under the fake cloud and return what it registered.

    Each run gets a fresh context, so several programs can run in one process (as the tests do)."""
    world = world or World(region=_region_of(config, project))
    return contextvars.Context().run(_run, project, stack, dict(config), world, program)


def _region_of(config: Mapping[str, str], project: str) -> str:
    return str(config.get(f"{project}:region") or config.get("aws:region") or "eu-west-1")


def _run(project: str, stack: str, config: dict[str, str], world: World, program: Path) -> Plan:
    # A fresh event loop per run: tasks a failed run left behind must not fail the next one.
    loop = asyncio.new_event_loop()
    # A failed run's error is raised by run_pulumi_func; its abandoned futures need not be logged again.
    loop.set_exception_handler(lambda _loop, _context: None)
    asyncio.set_event_loop(loop)
    cloud = FakeCloud(world)
    monitor = RecordingMonitor(cloud)
    warnings = _WarningRecorder()
    logger = logging.getLogger(f"karpenter-eks.mocks.{id(warnings)}")
    logger.propagate = False
    logger.addHandler(warnings)
    pulumi.runtime.set_all_config(config)
    pulumi_mocks.set_mocks(cloud, project=project, stack=stack, preview=False, monitor=monitor, logger=logger)
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    root = str(program.parent)
    added = root not in sys.path
    if added:
        sys.path.insert(0, root)
    old_cwd = os.getcwd()
    os.chdir(root)
    try:

        def program_main() -> None:
            runpy.run_path(str(program), run_name="__main__")

        try:
            _sync_await(run_pulumi_func(program_main))
        except Exception as exc:
            # What had been registered when the program failed: tests check a refusal comes first.
            exc.registered = list(monitor.recorded)  # type: ignore[attr-defined]
            raise
        stack_resource = pulumi.runtime.settings.get_root_resource()
        raw: dict[str, Any] = dict(getattr(stack_resource, "outputs", {}) or {})
        outputs: dict[str, Any] = {}
        secrets: list[str] = []
        for key, value in raw.items():
            out = pulumi.Output.from_input(value)
            if _sync_await(out.is_secret()):
                secrets.append(key)
                outputs[key] = SECRET
            else:
                outputs[key] = to_json_value(_sync_await(out.future()))
    finally:
        leftovers = asyncio.all_tasks(loop)
        for task in leftovers:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        # Data-source calls run in executor threads, each with an event loop of its own: join the threads
        # now, so those loops are closed with them and not at interpreter exit.
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(None)
        os.chdir(old_cwd)
        if added:
            sys.path.remove(root)
    return Plan(
        project,
        stack,
        monitor.recorded,
        outputs,
        secrets,
        cloud.invokes,
        warnings.messages,
        invoke_args=cloud.invoke_args,
    )


class _WarningRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
