"""EC2 and VPC: the network resources, zones, subnets, and the instance types a region offers (from the
EC2 catalogue extracts in harness/catalogue/)."""

from __future__ import annotations

import fnmatch
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.families import FAMILY_PATTERN, family_architecture
from harness.fake.world import CallFailure, Registration, World, _hex, filter_values

CATALOGUE = Path(__file__).resolve().parent.parent / "catalogue"
"""EC2 catalogue extracts (tools/generate/ec2_catalogue.py, from moto's bundled AWS data): per region,
its zones and the instance families offered there with their architectures, sizes and each size's
properties the pools' instance filters read (`specs`)."""


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
    naming rule (config/nodepools.py), as if offered everywhere."""
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


@functools.cache
def type_specs(region: str) -> dict[str, list[Any]]:
    """Instance type -> its catalogue `specs` entry (vcpus, memoryMiB, hypervisor, localNvmeGiB,
    networkBandwidthMbps): the region's catalogue, or (no catalogue) every catalogued region's."""
    entry = catalogue(region)
    paths = (
        [CATALOGUE / f"{region}.json"] if entry and entry["families"] else sorted(CATALOGUE.glob("*.json"))
    )
    specs: dict[str, list[Any]] = {}
    for path in paths:
        for family, info in json.loads(path.read_text())["families"].items():
            for size, values in info.get("specs", {}).items():
                specs.setdefault(f"{family}.{size}", values)
    return specs


# -- resources ---------------------------------------------------------------------------------------
def _vpc(r: Registration) -> None:
    r.rid = f"vpc-{_hex(r.name)}"
    r.state |= {"arn": r.arn("ec2", f"vpc/{r.rid}"), "defaultSecurityGroupId": f"sg-{_hex(r.rid)}"}


def _subnet(r: Registration) -> None:
    r.rid = f"subnet-{_hex(r.name)}"
    r.state["arn"] = r.arn("ec2", f"subnet/{r.rid}")


def _prefixed_id(prefix: str) -> Callable[[Registration], None]:
    """A resource whose provider ID is `prefix-<hex>` and which adds no outputs."""

    def handler(r: Registration) -> None:
        r.rid = f"{prefix}-{_hex(r.name)}"

    return handler


def _eip(r: Registration) -> None:
    r.rid = f"eipalloc-{_hex(r.name)}"
    r.state["allocationId"] = r.rid
    r.state["publicIp"] = "203.0.113." + str(int(_hex(r.name, 2), 16) % 250 + 1)


def _security_group(r: Registration) -> None:
    r.rid = f"sg-{_hex(r.name)}"
    r.state |= {
        "arn": r.arn("ec2", f"security-group/{r.rid}"),
        "name": r.inputs.get("name") or f"{r.name}-{_hex(r.name, 7)}",
    }


def _ingress_rule(r: Registration) -> None:
    r.rid = f"sgr-{_hex(r.name)}"
    r.state |= {"arn": r.arn("ec2", f"security-group-rule/{r.rid}"), "securityGroupRuleId": r.rid}


RESOURCES = {
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _subnet,
    "aws:ec2/internetGateway:InternetGateway": _prefixed_id("igw"),
    "aws:ec2/natGateway:NatGateway": _prefixed_id("nat"),
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/routeTable:RouteTable": _prefixed_id("rtb"),
    "aws:ec2/securityGroup:SecurityGroup": _security_group,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _ingress_rule,
}


# -- data sources ------------------------------------------------------------------------------------
def _availability_zones(world: World, a: dict[str, Any]) -> dict[str, Any]:
    region = world.region
    if region not in known_regions():
        # What the AWS provider answers for a region its SDK does not know.
        raise CallFailure(f"invalid AWS Region: {region}")
    entry = catalogue(region)
    # Without a catalogue: moto's default for regions it does not list (zones a to c).
    zones = entry["zones"] if entry else [f"{region}{letter}" for letter in "abc"]
    return {"names": zones, "zoneIds": [f"{z}-id" for z in zones], "groupNames": [region], "id": region}


def _instance_type_offerings(world: World, a: dict[str, Any]) -> dict[str, Any]:
    patterns = filter_values(a, "instance-type") or ["*"]
    names = sorted(t for t in offered_types(world.region) if any(fnmatch.fnmatchcase(t, p) for p in patterns))
    return {
        "instanceTypes": names,
        "locations": [world.region] * len(names),
        "locationTypes": ["region"] * len(names),
        "id": world.region,
    }


def _instance_types(world: World, a: dict[str, Any]) -> dict[str, Any]:
    patterns = filter_values(a, "instance-type") or ["*"]
    archs = filter_values(a, "processor-info.supported-architecture")
    nvme = filter_values(a, "instance-storage-info.nvme-support")
    specs = type_specs(world.region)
    names = sorted(
        t
        for t, supported in offered_types(world.region).items()
        if any(fnmatch.fnmatchcase(t, p) for p in patterns)
        and (archs is None or set(archs) & set(supported))
        # The catalogue keeps the NVMe size only; a type with some has NVMe "supported" or "required".
        and (nvme is None or (set(nvme) & {"supported", "required"} and specs.get(t, [0] * 5)[3] > 0))
    )
    return {"instanceTypes": names, "id": world.region}


def _instance_type(world: World, a: dict[str, Any]) -> dict[str, Any]:
    """aws.ec2.get_instance_type: the fields preflight reads (pulumi_aws ec2/get_instance_type.py)."""
    name = str(a.get("instanceType"))
    offered = offered_types(world.region)
    if name not in offered or name not in type_specs(world.region):
        raise CallFailure(
            f"InvalidInstanceType: The following supplied instance types do not exist: [{name}]"
        )
    vcpus, memory, hypervisor, nvme, bandwidth = type_specs(world.region)[name]
    return {
        "id": name,
        "instanceType": name,
        "defaultVcpus": vcpus,
        "memorySize": memory,
        "hypervisor": hypervisor,
        "totalInstanceStorage": nvme,
        "supportedArchitectures": offered[name],
        "networkCards": [
            {"index": 0, "baselineBandwidth": bandwidth / 1000, "peakBandwidth": bandwidth / 1000}
        ],
    }


def _subnet_lookup(world: World, a: dict[str, Any]) -> dict[str, Any]:
    subnet = str(a.get("id"))
    zone = world.subnet_zones.get(subnet) or f"{world.region}{'abc'[int(_hex(subnet, 4), 16) % 3]}"
    return {"id": subnet, "availabilityZone": zone, "vpcId": f"vpc-{_hex(world.region + 'vpc')}"}


def _subnets(world: World, a: dict[str, Any]) -> dict[str, Any]:
    filters = {f["name"]: f["values"] for f in a.get("filters", [])}
    seed = json.dumps(filters, sort_keys=True)
    return {"ids": [f"subnet-{_hex(seed + str(i))}" for i in range(3)], "id": world.region}


def _matches(world: World, instance: dict[str, Any], name: str, values: list[str]) -> bool:
    """One DescribeInstances filter (its values ORed), for the filter names the program uses."""
    tags = instance["tags"]
    if name == "tag-key":
        return bool(set(values) & set(tags))
    if name.startswith("tag:"):
        return tags.get(name.removeprefix("tag:")) in values
    if name == "instance-state-name":
        return instance["state"] in values
    if name == "iam-instance-profile.arn":
        return bool(instance["profile"]) and world.instance_profile_arn(instance["profile"]) in values
    raise NotImplementedError(f"FakeCloud: no DescribeInstances filter {name}; add it in harness/fake/ec2.py")


def _instances(world: World, a: dict[str, Any]) -> dict[str, Any]:
    """aws.ec2.get_instances: the IDs of the instances matching every filter, in the listed states
    (default `running`, as terraform's aws_instances); an empty list when none match."""
    states = list(a.get("instanceStateNames") or ["running"])
    wanted = [("instance-state-name", states)]
    wanted += [(f"tag:{k}", [v]) for k, v in (a.get("instanceTags") or {}).items()]
    wanted += [(f["name"], list(f.get("values") or [])) for f in a.get("filters") or []]
    ids = sorted(
        i for i, inst in world.instances.items() if all(_matches(world, inst, n, v) for n, v in wanted)
    )
    return {"ids": ids, "privateIps": [], "publicIps": [], "ipv6Addresses": [], "id": world.region}


def _instance(world: World, a: dict[str, Any]) -> dict[str, Any]:
    """aws.ec2.get_instance by ID: the fields the pre-flight reads (`iamInstanceProfile` is the profile's
    name, as terraform's aws_instance sets it)."""
    instance_id = str(a.get("instanceId"))
    if instance_id not in world.instances:
        raise CallFailure("Your query returned no results. Please change your search criteria and try again.")
    instance = world.instances[instance_id]
    return {
        "id": instance_id,
        "instanceState": instance["state"],
        "tags": dict(instance["tags"]),
        "iamInstanceProfile": instance["profile"],
    }


CALLS = {
    "aws:ec2/getInstances:getInstances": _instances,
    "aws:ec2/getInstance:getInstance": _instance,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": _instance_type_offerings,
    "aws:ec2/getInstanceTypes:getInstanceTypes": _instance_types,
    "aws:ec2/getInstanceType:getInstanceType": _instance_type,
    "aws:ec2/getSubnet:getSubnet": _subnet_lookup,
    "aws:ec2/getSubnets:getSubnets": _subnets,
}
