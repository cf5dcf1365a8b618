"""Who and where the caller is: getCallerIdentity (STS), getPartition and getRegion."""

from __future__ import annotations

from typing import Any

from harness.fake.world import World, partition_of


def _caller_identity(world: World, a: dict[str, Any]) -> dict[str, Any]:
    return {
        "accountId": world.account_id,
        "arn": world.caller_arn or f"arn:{world.partition}:iam::{world.account_id}:user/synth",
        "userId": "AIDASYNTH",
        "id": world.account_id,
    }


def _partition(world: World, a: dict[str, Any]) -> dict[str, Any]:
    partition, dns = partition_of(world.region)
    return {"partition": partition, "dnsSuffix": dns, "id": partition, "reverseDnsPrefix": "com.amazonaws"}


def _region(world: World, a: dict[str, Any]) -> dict[str, Any]:
    return {"name": world.region, "region": world.region, "id": world.region}


CALLS = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getPartition:getPartition": _partition,
    "aws:index/getRegion:getRegion": _region,
}
