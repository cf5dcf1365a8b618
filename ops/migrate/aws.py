"""The account side of discovery, read with boto3: roles and their policies, the interruption queue and
its rules, instance profiles, access entries, Pod Identity associations and Fargate profiles.

Every call that fails (no permission, an API the endpoint lacks, a throttle) becomes a "could not read"
note, so one missing right never hides the rest of the install.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, TypeVar
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError

from ops.migrate.model import (
    AccessEntry,
    Controller,
    ControllerIdentity,
    FargateProfile,
    InstanceProfile,
    Json,
    NoteKind,
    Policy,
    Queue,
    Role,
    Rule,
)
from ops.migrate.source import Notebook, json_list, str_map

T = TypeVar("T")


def attempt(notes: Notebook, what: str, call: Callable[[], T]) -> T | None:
    """`call()`, or None with a note when AWS refuses or the endpoint does not know the call."""
    try:
        return call()
    except ClientError as exc:
        notes.add(NoteKind.UNREADABLE, what, client_error(exc))
        return None
    except BotoCoreError as exc:
        notes.unreadable(what, exc)
        return None


def client_error(exc: ClientError) -> str:
    """`Operation: Code message`, without the HTML page an endpoint that lacks the API answers with."""
    error = exc.response.get("Error", {})
    message = str(error.get("Message", ""))
    if message.lstrip().startswith("<"):
        message = "the endpoint does not implement this API"
    return f"{exc.operation_name}: {error.get('Code', '?')} {message}".strip()


def role_name(arn: str) -> str:
    """The name of a role from its ARN (`arn:aws:iam::1:role/some/path/Name` -> `Name`)."""
    return arn.rsplit("/", 1)[-1]


def _document(doc: Any) -> Json:
    """A policy document as boto3 returns it: already a dict, or URL-encoded JSON text."""
    if isinstance(doc, Mapping):
        return doc
    parsed = json.loads(unquote(str(doc)))
    return parsed if isinstance(parsed, Mapping) else {}


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    out: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        out.extend(page.get(key) or ())
    return out


class Aws:
    """The clients of one region, and the reads discovery makes with them."""

    def __init__(self, session: Any, cluster: str, notes: Notebook) -> None:
        self.session = session
        self.cluster = cluster
        self.notes = notes
        self._access_entries: list[str] | None = None

    # Clients are made when first used: each loads its service model, which takes a while.
    @cached_property
    def iam(self) -> Any:
        return self.session.client("iam")

    @cached_property
    def eks(self) -> Any:
        return self.session.client("eks")

    @cached_property
    def sqs(self) -> Any:
        return self.session.client("sqs")

    @cached_property
    def events(self) -> Any:
        return self.session.client("events")

    @cached_property
    def sts(self) -> Any:
        return self.session.client("sts")

    @cached_property
    def cloudformation(self) -> Any:
        return self.session.client("cloudformation")

    def stack_of(self, physical_id: str) -> str | None:
        """The CloudFormation stack that owns a resource (`DescribeStackResources` by physical id: a role
        or instance profile name, a queue URL), None when no stack does (AWS answers ValidationError)."""
        try:
            found = self.cloudformation.describe_stack_resources(PhysicalResourceId=physical_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ValidationError":
                self.notes.add(
                    NoteKind.UNREADABLE, f"CloudFormation owner of {physical_id}", client_error(exc)
                )
            return None
        except BotoCoreError as exc:
            self.notes.unreadable(f"CloudFormation owner of {physical_id}", exc)
            return None
        resources = found.get("StackResources") or []
        return str(resources[0]["StackName"]) if resources else None

    def account(self) -> str | None:
        ident = attempt(self.notes, "the caller identity (sts)", self.sts.get_caller_identity)
        return str(ident["Account"]) if ident else None

    # -- IAM -------------------------------------------------------------------------------------------

    def _inline(self, name: str) -> tuple[Policy, ...]:
        names = _pages(self.iam, "list_role_policies", "PolicyNames", RoleName=name)
        return tuple(
            Policy(
                p, None, _document(self.iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"])
            )
            for p in names
        )

    def _managed(self, name: str) -> tuple[Policy, ...]:
        out = []
        for attached in _pages(self.iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name):
            arn = attached["PolicyArn"]
            doc: Json = {}
            if ":iam::aws:policy/" not in arn:  # AWS's own are known by ARN; read only the account's
                version = self.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
                got = self.iam.get_policy_version(PolicyArn=arn, VersionId=version)
                doc = _document(got["PolicyVersion"]["Document"])
            out.append(Policy(attached["PolicyName"], arn, doc))
        return tuple(out)

    def role(self, name: str) -> Role | None:
        def read() -> Role:
            got = self.iam.get_role(RoleName=name)["Role"]
            return Role(
                name=got["RoleName"],
                arn=got["Arn"],
                path=got.get("Path", "/"),
                trust=_document(got.get("AssumeRolePolicyDocument") or {}),
                inline_policies=self._inline(name),
                managed_policies=self._managed(name),
                tags={t["Key"]: t["Value"] for t in got.get("Tags") or ()},
            )

        return attempt(self.notes, f"IAM role {name}", read)

    def _profile(self, got: Json) -> InstanceProfile:
        return InstanceProfile(
            name=got["InstanceProfileName"],
            arn=got["Arn"],
            path=got.get("Path", "/"),
            roles=tuple(r["RoleName"] for r in got.get("Roles") or ()),
            tags={t["Key"]: t["Value"] for t in got.get("Tags") or ()},
        )

    def instance_profiles_of(self, role: str) -> tuple[InstanceProfile, ...]:
        found = attempt(
            self.notes,
            f"instance profiles of role {role}",
            lambda: _pages(self.iam, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=role),
        )
        return tuple(self._profile(p) for p in found or ())

    def instance_profile(self, name: str) -> InstanceProfile | None:
        got = attempt(
            self.notes,
            f"instance profile {name}",
            lambda: self.iam.get_instance_profile(InstanceProfileName=name),
        )
        return self._profile(got["InstanceProfile"]) if got else None

    # -- the controller's identity -----------------------------------------------------------------------

    def pod_identity(self, controller: Controller) -> tuple[str, str] | None:
        """(association id, role ARN) of the Pod Identity association of the controller's service account."""

        def read() -> tuple[str, str] | None:
            found = self.eks.list_pod_identity_associations(
                clusterName=self.cluster,
                namespace=controller.namespace,
                serviceAccount=controller.service_account,
            ).get("associations", [])
            if not found:
                return None
            assoc_id = found[0]["associationId"]
            got = self.eks.describe_pod_identity_association(clusterName=self.cluster, associationId=assoc_id)
            return assoc_id, got["association"]["roleArn"]

        return attempt(self.notes, "EKS Pod Identity associations", read)

    def identity(self, controller: Controller, irsa_arn: str | None) -> ControllerIdentity | None:
        if irsa_arn:
            return ControllerIdentity("irsa", irsa_arn, self.role(role_name(irsa_arn)))
        found = self.pod_identity(controller)
        if found is None:
            return None
        assoc_id, arn = found
        return ControllerIdentity("pod-identity", arn, self.role(role_name(arn)), assoc_id)

    # -- the interruption queue ------------------------------------------------------------------------

    def _rule(self, name: str, queue_arn: str) -> Rule:
        got = self.events.describe_rule(Name=name)
        targets = self.events.list_targets_by_rule(Rule=name).get("Targets", [])
        target = next((t["Id"] for t in targets if t.get("Arn") == queue_arn), "")
        pattern = got.get("EventPattern")
        return Rule(
            name=name,
            arn=got["Arn"],
            state=got.get("State", ""),
            event_pattern=json.loads(pattern) if pattern else {},
            target_id=target,
        )

    def queue(self, name: str) -> Queue | None:
        def read() -> Queue:
            url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
            attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            arn = attrs["QueueArn"]
            rules = _pages(self.events, "list_rule_names_by_target", "RuleNames", TargetArn=arn)
            return Queue(name, url, arn, str_map(attrs), tuple(self._rule(r, arn) for r in sorted(rules)))

        return attempt(self.notes, f"interruption queue {name} and its EventBridge rules", read)

    # -- what lets nodes join --------------------------------------------------------------------------

    def _entry_arns(self) -> list[str]:
        if self._access_entries is None:
            found = attempt(
                self.notes,
                "EKS access entries",
                lambda: _pages(self.eks, "list_access_entries", "accessEntries", clusterName=self.cluster),
            )
            self._access_entries = [str(a) for a in found or ()]
        return self._access_entries

    def access_entry(self, role: str) -> AccessEntry | None:
        arn = next((a for a in self._entry_arns() if role_name(a) == role), None)
        if arn is None:
            return None

        def read() -> AccessEntry:
            got = self.eks.describe_access_entry(clusterName=self.cluster, principalArn=arn)["accessEntry"]
            policies = _pages(
                self.eks, "list_associated_access_policies", "associatedAccessPolicies",
                clusterName=self.cluster, principalArn=arn,
            )  # fmt: skip
            return AccessEntry(
                principal_arn=arn,
                type=str(got.get("type", "")),
                username=got.get("username"),
                kubernetes_groups=tuple(got.get("kubernetesGroups") or ()),
                access_policies=tuple((p["policyArn"], p.get("accessScope") or {}) for p in policies),
            )

        return attempt(self.notes, f"access entry of {arn}", read)

    # -- Fargate ---------------------------------------------------------------------------------------

    def fargate_profiles(self, controller: Controller | None) -> tuple[FargateProfile, ...]:
        def read() -> list[Json]:
            names = _pages(self.eks, "list_fargate_profiles", "fargateProfileNames", clusterName=self.cluster)
            return [
                self.eks.describe_fargate_profile(clusterName=self.cluster, fargateProfileName=n)[
                    "fargateProfile"
                ]
                for n in names
            ]

        found = attempt(self.notes, "EKS Fargate profiles", read) or []
        return tuple(
            FargateProfile(
                name=p["fargateProfileName"],
                arn=p["fargateProfileArn"],
                pod_execution_role_arn=p.get("podExecutionRoleArn", ""),
                subnets=tuple(p.get("subnets") or ()),
                selectors=json_list(p.get("selectors")),
                status=p.get("status", ""),
                runs_controller=controller is not None and selects(json_list(p.get("selectors")), controller),
            )
            for p in found
        )


def selects(selectors: tuple[Json, ...], controller: Controller) -> bool:
    """Whether a Fargate profile's selectors match the controller's pods (namespace, and every label)."""
    for sel in selectors:
        labels = str_map(sel.get("labels"))
        in_namespace = sel.get("namespace") == controller.namespace
        if in_namespace and all(controller.pod_labels.get(k) == v for k, v in labels.items()):
            return True
    return False
