"""Read-only discovery of a running Karpenter install: `discover(kube, session, cluster, region)`.

It starts from what runs (the controller Deployment, found by its image or the chart's name label in any
namespace) and follows what that references: its service account and role, its Helm release, the queue
in its settings, the EC2NodeClasses' roles and instance profiles, the profile Fargate runs it on.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ops.migrate import assess
from ops.migrate.aws import Aws, role_name
from ops.migrate.kube import (
    api_versions,
    find_aws_auth,
    find_controller,
    find_crds,
    find_objects,
    find_release,
    find_service_account,
)
from ops.migrate.model import (
    AwsAuthMapping,
    Controller,
    ControllerIdentity,
    Install,
    NodeClass,
    NodeRole,
    NoteKind,
    Queue,
    ServiceAccount,
)
from ops.migrate.source import KubeGet, Notebook


def _role_names(classes: tuple[NodeClass, ...], aws: Aws) -> dict[str, list[str]]:
    """Node role name -> the EC2NodeClasses using it (by role, or by the role in their instance profile)."""
    names: dict[str, list[str]] = {}
    for nc in classes:
        role = nc.role
        if not role and nc.instance_profile:
            profile = aws.instance_profile(nc.instance_profile)
            role = profile.roles[0] if profile and profile.roles else None
        if role:
            names.setdefault(role_name(role), []).append(nc.name)
    return names


def node_roles(
    classes: tuple[NodeClass, ...], aws: Aws, aws_auth: tuple[AwsAuthMapping, ...]
) -> tuple[NodeRole, ...]:
    return tuple(
        NodeRole(
            name=name,
            role=aws.role(name),
            instance_profiles=aws.instance_profiles_of(name),
            access_entry=aws.access_entry(name),
            aws_auth=tuple(m for m in aws_auth if role_name(m.role_arn) == name),
            used_by=tuple(used_by),
        )
        for name, used_by in sorted(_role_names(classes, aws).items())
    )


def discover(kube: KubeGet, session: Any, cluster: str, region: str) -> Install:
    """Everything found, with a note for each thing that could not be read or may not be expressible."""
    notes = Notebook()
    aws = Aws(session, cluster, notes)
    controller = find_controller(kube, notes)
    if controller is None:
        notes.add(NoteKind.INFO, "Karpenter controller", "no Deployment runs Karpenter's controller image")
    service_account = find_service_account(kube, controller, notes) if controller else None
    crds = find_crds(kube, notes)
    classes, pools, legacy = find_objects(kube, crds, notes)
    profiles = aws.fargate_profiles(controller)
    install = Install(
        cluster=cluster,
        region=region,
        account=aws.account(),
        controller=controller,
        service_account=service_account,
        helm_release=find_release(kube, controller, notes) if controller else None,
        identity=_identity(controller, service_account, aws),
        queue=_queue(controller, aws),
        node_classes=classes,
        node_pools=pools,
        node_roles=node_roles(classes, aws, find_aws_auth(kube, notes)),
        fargate_profiles=profiles,
        crds=crds,
        api_versions=api_versions(crds, classes, pools),
        legacy=legacy,
        notes=(),
    )
    _assess(install, notes)
    install = replace(install, stacks=_cloudformation_owners(install, aws))
    return replace(install, notes=notes.freeze())


def _cloudformation_owners(install: Install, aws: Aws) -> dict[str, str]:
    """Which of the resources the stack takes over a CloudFormation stack owns (the getting-started
    install is one): deleting that stack later would delete them under the running nodes."""
    found: dict[str, str] = {}
    candidates = [(f"IAM role {r.name}", r.name) for r in install.node_roles]
    candidates += [
        (f"instance profile {p.name}", p.name) for r in install.node_roles for p in r.instance_profiles
    ]
    if install.identity is not None and install.identity.role is not None:
        candidates.append((f"IAM role {install.identity.role.name}", install.identity.role.name))
    if install.queue is not None:
        candidates.append((f"SQS queue {install.queue.name}", install.queue.url))
    for label, physical_id in candidates:
        stack = aws.stack_of(physical_id)
        if stack:
            found[label] = stack
    return found


def _identity(
    controller: Controller | None, account: ServiceAccount | None, aws: Aws
) -> ControllerIdentity | None:
    """IRSA when the service account names a role, else the Pod Identity association of that account."""
    if controller is None:
        return None
    return aws.identity(controller, account.role_arn if account else None)


def _queue(controller: Controller | None, aws: Aws) -> Queue | None:
    name = controller.interruption_queue if controller else None
    return aws.queue(name) if name else None


def _assess(install: Install, notes: Notebook) -> None:
    if install.controller is not None:
        assess.controller(install.controller, install.fargate_profiles, notes)
        if install.identity is None and not notes.has("EKS Pod Identity associations"):
            notes.add(
                NoteKind.INFO,
                "controller identity",
                "neither an IRSA annotation nor a Pod Identity association",
            )
    assess.node_roles(install.node_roles, notes)
    assess.crds(install.crds, notes)
    assess.legacy(install.legacy, notes)
