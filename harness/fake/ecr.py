"""ECR and ECR Public: the registry tokens Helm logs in with, new on every run (as AWS issues them)."""

from __future__ import annotations

from typing import Any

from harness.fake.world import World


def _public_token(world: World, a: dict[str, Any]) -> dict[str, Any]:
    return {
        "authorizationToken": "QVdTOmZha2UtdG9rZW4=",
        "userName": "AWS",
        "password": f"fake-public-ecr-token-{world.run}",
        "expiresAt": f"2026-11-22T{world.run % 24:02}:00:00Z",
        "id": "us-east-1",
    }


def _token(world: World, a: dict[str, Any]) -> dict[str, Any]:
    registry = f"{a.get('registryId') or world.account_id}.dkr.ecr.{world.region}.amazonaws.com"
    return {
        "authorizationToken": "QVdTOmZha2UtdG9rZW4=",
        "userName": "AWS",
        "password": f"fake-ecr-token-{world.run}",
        "proxyEndpoint": f"https://{registry}",
        "expiresAt": f"2026-11-22T{world.run % 24:02}:00:00Z",
        "id": world.region,
    }


CALLS = {
    "aws:ecrpublic/getAuthorizationToken:getAuthorizationToken": _public_token,
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": _token,
}
