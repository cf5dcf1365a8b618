"""The import file for `pulumi import --file`: every live resource the written stack will manage.

Why a file and not the `import` resource option: an `import` option makes `pulumi up` fail unless the
program's inputs equal the live resource, so the first run would need a second, import-exact config
(inline policies, live selectors, ...) and a config edit after it. `pulumi import --file` records each
resource as it is in the stack's state without changing it; the next `pulumi up` then converges in place,
and its preview is the reviewer's list of changes. The file names component parents of the same file
(`component: true`, Pulumi 3.94.0: pulumi/pulumi#14467, #14524; `logicalName` needs 3.98.0) and the
explicit providers by URN (`nameTable`; they must be in the state before the import), so every URN is
the one the program registers.

Entries: `name` is the file's own handle (unique, what `parent` refers to), `logicalName` the
resource's name in the program.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ops.migrate.model import Install
from ops.migrate.stack_file import NODE_POLICY_NAMES, PROJECT, Written

KARPENTER_RELEASE = "karpenter"
CRD_RELEASE = "karpenter-crd"
CRD_RELEASE_NAMESPACE = "kube-system"
"""The namespace of the program's `karpenter-crd` release (components/karpenter/release.py CRD_NAMESPACE;
ops never imports components, so a test checks the two agree)."""
KARPENTER_CRDS = ("ec2nodeclasses.karpenter.k8s.aws", "nodeclaims.karpenter.sh", "nodepools.karpenter.sh")
# The program's components (type token, logical name), as components/compose.py registers them.
COMPONENTS = {
    "nodes": "karpenter-eks:iam:NodeIdentity",
    "controller": "karpenter-eks:iam:ControllerRole",
    "interruption": "karpenter-eks:interruption:InterruptionQueue",
    "karpenter": "karpenter-eks:karpenter:KarpenterRelease",
    "capacity": "karpenter-eks:karpenter:NodePools",
}
PROVIDERS = {"aws": "aws", "kubernetes": "kubernetes"}


@dataclass
class ImportFile:
    resources: list[dict[str, Any]] = field(default_factory=list)
    name_table: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    """Live resources not imported, each with why (the stack creates its own, or never touches it)."""

    def add(self, type_: str, logical: str, id_: str, parent: str, provider: str) -> None:
        self.resources.append(
            {
                "type": type_,
                "name": logical,
                "logicalName": logical,
                "id": id_,
                "parent": f"component:{parent}",
                "provider": provider,
            }
        )

    def document(self) -> dict[str, Any]:
        used = sorted({str(r["parent"]).removeprefix("component:") for r in self.resources})
        components = [
            {"type": COMPONENTS[c], "name": f"component:{c}", "logicalName": c, "component": True}
            for c in used
        ]
        return {"nameTable": dict(self.name_table), "resources": components + self.resources}


def provider_urn(stack: str, package: str, project: str = PROJECT) -> str:
    return f"urn:pulumi:{stack}::{project}::pulumi:providers:{package}::{PROVIDERS[package]}"


def _node_identity(install: Install, cfg: Mapping[str, Any], out: ImportFile) -> None:
    iam = cfg.get("iam") or {}
    role = next((r for r in install.node_roles if r.name == iam.get("nodeRoleName")), None)
    if role is None:
        return
    out.add("aws:iam/role:Role", "nodes-role", role.name, "nodes", "aws")
    attached = {p.arn for p in (role.role.managed_policies if role.role else ()) if p.arn}
    wanted = [a for a in attached if a.rsplit("/", 1)[-1] in NODE_POLICY_NAMES]
    wanted += list(iam.get("extraNodePolicyArns") or [])
    for arn in sorted(wanted):
        out.add(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            f"nodes-{arn.rsplit('/', 1)[-1]}",
            f"{role.name}/{arn}",
            "nodes",
            "aws",
        )
    profile = iam.get("nodeInstanceProfileName")
    if profile:
        out.add("aws:iam/instanceProfile:InstanceProfile", "nodes-profile", profile, "nodes", "aws")
    entry = role.access_entry
    if entry is not None and entry.type == "EC2_LINUX":
        out.add(
            "aws:eks/accessEntry:AccessEntry",
            "nodes-access",
            f"{install.cluster}:{entry.principal_arn}",
            "nodes",
            "aws",
        )
    elif entry is not None:
        # An entry's type cannot change in place, and two entries of one principal cannot exist: the
        # STANDARD one has to go before the stack's EC2_LINUX one is created. Nodes keep joining in
        # between only through an aws-auth mapping of the role.
        path = (
            f"the aws-auth mapping of the role keeps nodes joining meanwhile: delete this entry (`aws eks "
            f"delete-access-entry --cluster-name {install.cluster} --principal-arn {entry.principal_arn}`), "
            "then run this tool again"
            if role.aws_auth
            else "no aws-auth mapping of the role was found to keep nodes joining meanwhile: add one "
            "(mapRoles: the role, username system:node:{{EC2PrivateDNSName}}, groups system:bootstrappers "
            "and system:nodes), then delete this entry and run this tool again"
        )
        out.skipped.append(
            f"access entry of {role.name}: type {entry.type}; the program's is EC2_LINUX (EKS grants nodes "
            "their permissions through that type; a type change replaces the entry): not imported, resolve "
            f"before the first run: {path}"
        )
    else:
        out.skipped.append(
            f"access entry of {role.name}: none read; the stack creates an EC2_LINUX entry (an aws-auth "
            "mapping stays beside it). If EKS access entries could not be read (see the notes) and the role "
            "has one, that creation fails: run this again where they can be read"
        )


HANDMADE = "controller-handmade-"
"""Logical name prefix of the controller role's hand-made policies: imported, never in the program."""


def _controller(install: Install, cfg: Mapping[str, Any], out: ImportFile) -> None:
    name = (cfg.get("iam") or {}).get("controllerRoleName")
    if not name:
        return
    out.add("aws:iam/role:Role", "controller-role", name, "controller", "aws")
    ident = install.identity
    role = ident.role if ident is not None and ident.role is not None and ident.role.name == name else None
    if role is None:
        return
    # The role's hand-made policies are imported although the program never declares them: the next
    # `pulumi up` then deletes them, and deletes of resources the program no longer registers run after
    # every create and update of the run (pulumi/pulumi pkg/resource/deploy: the step generator's
    # `GenerateDeletes` covers "resources ... not registered in the new snapshot", executed once the
    # program has registered everything), so the six upstream policies are attached before these go.
    # Import ids: aws_iam_role_policy `role:policy`, aws_iam_role_policy_attachment `role/arn`.
    for policy in role.inline_policies:
        out.add(
            "aws:iam/rolePolicy:RolePolicy",
            f"{HANDMADE}{policy.name}",
            f"{name}:{policy.name}",
            "controller",
            "aws",
        )
    for policy in role.managed_policies:
        if policy.arn:
            out.add(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                f"{HANDMADE}{policy.arn.rsplit('/', 1)[-1]}",
                f"{name}/{policy.arn}",
                "controller",
                "aws",
            )


def handmade_policies(imports: ImportFile) -> list[str]:
    """The controller role's hand-made policies the import file records (and the next run removes)."""
    return [str(e["id"]) for e in imports.resources if str(e["logicalName"]).startswith(HANDMADE)]


def _queue(install: Install, cfg: Mapping[str, Any], out: ImportFile) -> None:
    queue = install.queue
    if queue is None or (cfg.get("karpenter") or {}).get("interruptionQueueName") != queue.name:
        return
    out.add("aws:sqs/queue:Queue", "interruption-queue", queue.url, "interruption", "aws")
    if queue.attributes.get("Policy"):
        out.add(
            "aws:sqs/queuePolicy:QueuePolicy", "interruption-queue-policy", queue.url, "interruption", "aws"
        )
    for rule in queue.rules:
        out.skipped.append(
            f"EventBridge rule {rule.name}: the stack creates its own five rules (name-prefixed); this one "
            "keeps sending to the same queue (duplicates are harmless) until you delete it or its stack"
        )


def _kubernetes(install: Install, cfg: Mapping[str, Any], out: ImportFile) -> None:
    karpenter = cfg.get("karpenter") or {}
    namespace = karpenter.get("namespace")
    ctl, release = install.controller, install.helm_release
    if namespace and ctl is not None and ctl.namespace == namespace:
        out.add("kubernetes:core/v1:Namespace", "karpenter-namespace", namespace, "karpenter", "kubernetes")
        if release is not None and release.name == KARPENTER_RELEASE and release.namespace == namespace:
            out.add(
                "kubernetes:helm.sh/v3:Release",
                "karpenter-controller",
                f"{namespace}/{release.name}",
                "karpenter",
                "kubernetes",
            )
    if release is not None and not any(r["logicalName"] == "karpenter-controller" for r in out.resources):
        out.skipped.append(
            f"Helm release {release.namespace}/{release.name} (revision {release.revision}): not the "
            "program's release. Scale its Deployment to 0 just before the second run (two controllers "
            "would act on the same NodePools), uninstall it once the stack's controller runs; Helm leaves "
            "CRDs and NodePools in place"
        )
    owners = {c.helm_release for c in install.crds if c.name in KARPENTER_CRDS}
    if owners == {(CRD_RELEASE, CRD_RELEASE_NAMESPACE)}:
        # A karpenter-crd release where the program keeps its own: the same release, imported.
        out.add(
            "kubernetes:helm.sh/v3:Release",
            CRD_RELEASE,
            f"{CRD_RELEASE_NAMESPACE}/{CRD_RELEASE}",
            "karpenter",
            "kubernetes",
        )
    pools = {str(p.get("nodePoolName")) for p in cfg.get("nodePools") or [] if p.get("nodePoolName")}
    for pool in install.node_pools:
        if pool.name in pools:
            out.add(
                "kubernetes:karpenter.sh/v1:NodePool",
                f"capacity-{pool.name}",
                pool.name,
                "capacity",
                "kubernetes",
            )
    for name in sorted(rendered_classes(cfg) & {nc.name for nc in install.node_classes}):
        out.add(
            "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
            f"capacity-{name}",
            name,
            "capacity",
            "kubernetes",
        )


def rendered_classes(cfg: Mapping[str, Any]) -> set[str]:
    """The EC2NodeClasses the stack renders (components/karpenter/node_pools.py `node_classes`): every
    class of `nodeClasses`, and `default` when a pool names no class (no GPU pool is written)."""
    pools = [p for p in cfg.get("nodePools") or [] if isinstance(p, Mapping)]
    named = set(cfg.get("nodeClasses") or {})
    return named | ({"default"} if any(p.get("nodeClass") is None for p in pools) else set())


def import_file(install: Install, written: Written, stack: str) -> ImportFile:
    """What to import for the stack `written` describes (its config decides what the program manages)."""
    out = ImportFile(name_table={p: provider_urn(stack, p) for p in PROVIDERS})
    cfg = written.config
    _node_identity(install, cfg, out)
    _controller(install, cfg, out)
    _queue(install, cfg, out)
    _kubernetes(install, cfg, out)
    for profile in install.fargate_profiles:
        if profile.runs_controller:
            out.skipped.append(
                f"Fargate profile {profile.name}: its pod execution role is not the stack's, so an import "
                "would be replaced; the stack creates its own profile beside it and never touches this one "
                "(delete it after the controller runs on the new profile)"
            )
    return out


def expected_urn(entry: Mapping[str, Any], stack: str, project: str = PROJECT) -> str:
    """The URN an entry of `ImportFile.document()` gets (component parents are top-level)."""
    parent = str(entry.get("parent", "")).removeprefix("component:")
    chain = f"{COMPONENTS[parent]}$" if parent else ""
    return f"urn:pulumi:{stack}::{project}::{chain}{entry['type']}::{entry['logicalName']}"
