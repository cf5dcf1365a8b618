"""IAM: roles, policies, instance profiles, service-linked roles, OIDC providers; the role lookups."""

from __future__ import annotations

import re
from typing import Any

from harness.fake.world import CallFailure, Registration, World, _hex


def _role(r: Registration) -> None:
    path = r.inputs.get("path") or "/"
    r.state |= {"arn": r.arn("iam", f"role{path}{r.physical}", region=False), "name": r.physical}
    r.state["uniqueId"] = "AROA" + _hex(r.name, 16).upper()
    r.rid = r.physical


def _policy(r: Registration) -> None:
    path = r.inputs.get("path") or "/"
    r.state |= {"arn": r.arn("iam", f"policy{path}{r.physical}", region=False), "name": r.physical}
    r.rid = r.state["arn"]


def _instance_profile(r: Registration) -> None:
    path = r.inputs.get("path") or "/"
    arn = r.arn("iam", f"instance-profile{path}{r.physical}", region=False)
    r.state |= {"arn": arn, "name": r.physical}
    r.rid = r.physical


def _service_linked_role(r: Registration) -> None:
    svc = r.inputs.get("awsServiceName", "")
    role = "AWSServiceRoleForEC2Spot" if svc.startswith("spot.") else "AWSServiceRoleFor" + svc
    arn = r.arn("iam", f"role/aws-service-role/{svc}/{role}", region=False)
    r.state |= {"arn": arn, "name": role}


def _oidc_provider(r: Registration) -> None:
    host = str(r.inputs.get("url", "")).removeprefix("https://")
    r.state["arn"] = r.arn("iam", f"oidc-provider/{host}", region=False)


RESOURCES = {
    "aws:iam/role:Role": _role,
    "aws:iam/policy:Policy": _policy,
    "aws:iam/instanceProfile:InstanceProfile": _instance_profile,
    "aws:iam/serviceLinkedRole:ServiceLinkedRole": _service_linked_role,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
}


def _get_roles(world: World, a: dict[str, Any]) -> dict[str, Any]:
    pattern = re.compile(str(a.get("nameRegex") or ".*"))
    prefix = str(a.get("pathPrefix") or "/")
    names = sorted(n for n, r in world.roles.items() if pattern.search(n) and r["path"].startswith(prefix))
    return {"names": names, "arns": [world.role_arn(n) for n in names], "id": world.region}


def _get_role(world: World, a: dict[str, Any]) -> dict[str, Any]:
    role_name = str(a.get("name"))
    if role_name not in world.roles:
        raise Exception(f"NoSuchEntity: The role with name {role_name} cannot be found.")
    role = world.roles[role_name]
    return {
        "name": role_name,
        "arn": world.role_arn(role_name),
        "path": role["path"],
        "description": role["description"],
        "tags": role["tags"],
        "id": role_name,
    }


def _get_instance_profile(world: World, a: dict[str, Any]) -> dict[str, Any]:
    name = str(a.get("name"))
    if name not in world.instance_profiles:
        raise CallFailure(f"NoSuchEntity: Instance Profile {name} cannot be found.")
    role = world.instance_profiles[name]
    return {
        "name": name,
        "arn": world.instance_profile_arn(name),
        "path": "/",
        "roleName": role,
        "roleArn": world.role_arn(role)
        if role in world.roles
        else f"arn:{world.partition}:iam::{world.account_id}:role/{role}",
        "roleId": "AROA" + _hex(role, 16).upper(),
        "id": name,
    }


CALLS = {
    "aws:iam/getRoles:getRoles": _get_roles,
    "aws:iam/getInstanceProfile:getInstanceProfile": _get_instance_profile,
    "aws:iam/getRole:getRole": _get_role,
}
