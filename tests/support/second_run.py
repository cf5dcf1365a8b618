"""The second run of a migration, offline: from the state `pulumi import --file` records (the live values
of each imported resource) to the converged stack, through the diff engine the reviewers use."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from harness.diff.engine import diff_plans
from harness.diff.model import Diff
from harness.diff.rules import Rules
from harness.plan import Plan
from ops.migrate.imports import ImportFile, expected_urn
from tests.support.migrate_scenarios import DATA

NODES_USE = (
    "aws:iam/role:Role",
    "aws:iam/instanceProfile:InstanceProfile",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:eks/accessEntry:AccessEntry",
    "kubernetes:karpenter.sh/v1:NodePool",
    "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
)
"""What running nodes use: never replaced or deleted, and the Karpenter objects never drift a node."""
KARPENTER_KINDS = {
    "kubernetes:karpenter.sh/v1:NodePool": "nodepools.karpenter.sh",
    "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass": "ec2nodeclasses.karpenter.k8s.aws",
}

LiveObjects = Mapping[tuple[str, str], Mapping[str, Any]]
"""(resource, name) -> the object as `kubectl get -o json` returns it."""


def recorded_objects(scenario: str) -> dict[tuple[str, str], Mapping[str, Any]]:
    """The scenario's recorded NodePools and EC2NodeClasses."""
    out: dict[tuple[str, str], Mapping[str, Any]] = {}
    for resource in KARPENTER_KINDS.values():
        for item in json.loads((DATA / scenario / f"{resource}.json").read_text())["items"]:
            out[(resource, item["metadata"]["name"])] = item
    return out


def _as_imported(entry: Mapping[str, Any], inputs: Mapping[str, Any], live: LiveObjects) -> dict[str, Any]:
    """The state `pulumi import` records: the live resource's own values where they decide a replacement."""
    typ, id_ = str(entry["type"]), str(entry["id"])
    state = {k: v for k, v in inputs.items() if k != "namePrefix"}
    if typ in ("aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile"):
        state["name"] = id_
    elif typ == "aws:sqs/queue:Queue":
        state["name"] = id_.rsplit("/", 1)[-1]
    elif typ == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
        state["role"], state["policyArn"] = id_.split("/", 1)
    elif typ in KARPENTER_KINDS:
        item = live[(KARPENTER_KINDS[typ], id_)]
        state = {
            "apiVersion": item["apiVersion"],
            "kind": item["kind"],
            "metadata": {"name": id_},
            "spec": item["spec"],
        }
    return state


def second_run(plan: Plan, imports: ImportFile, stack: str, live: LiveObjects, rules: Rules) -> Diff:
    """The diff of the next `pulumi up` after the import: imported resources as they are live, what the
    program adds on top absent from the state."""
    converged = plan.as_json()
    entries = {expected_urn(e, stack): e for e in imports.document()["resources"]}
    imported = []
    for r in converged["resources"]:
        entry = entries.get(r["urn"].replace("::pulumi:pulumi:Stack$", "::"))
        if not r["custom"] or r["type"].startswith("pulumi:providers:"):
            imported.append(r)
        elif entry is not None:
            imported.append({**r, "inputs": _as_imported(entry, r["inputs"], live)})
    imported += _not_in_program(converged, entries, stack)
    return diff_plans({**converged, "resources": imported}, converged, rules)


def _not_in_program(
    converged: Mapping[str, Any], entries: Mapping[str, Mapping[str, Any]], stack: str
) -> list[dict[str, Any]]:
    """Imported resources the program never registers (the controller's hand-made policies): in the
    state after the import, so the next run deletes them."""
    urns = {r["urn"].replace("::pulumi:pulumi:Stack$", "::") for r in converged["resources"]}
    provider = next(r["urn"] for r in converged["resources"] if r["type"] == "pulumi:providers:aws")
    out = []
    for urn, entry in entries.items():
        if urn in urns or entry.get("component"):
            continue
        parent = next(
            r["urn"]
            for r in converged["resources"]
            if r["urn"].endswith(f"::{entry['parent'].removeprefix('component:')}")
        )
        out.append(
            {
                "urn": urn,
                "type": entry["type"],
                "name": entry["logicalName"],
                "custom": True,
                "parent": parent,
                "provider": f"{provider}::{entry['logicalName']}-provider-id",
                "inputs": {"id": entry["id"]},
            }
        )
    return out


def harm_to_nodes(diff: Diff) -> list[tuple[str, str, str | None]]:
    """Changes of what nodes use that replace or delete it, or drift nodes: (op, label, consequence)."""
    return [
        (c.op, c.label, c.consequence)
        for c in diff.changes
        if c.resource.type in NODES_USE
        and "ControllerRole$" not in c.resource.urn
        and (c.op in ("replace", "delete") or c.disrupts)
    ]
