"""Reading a recorded plan the way the Pulumi engine would."""

from __future__ import annotations

from harness.plan import Plan


def destroy_order(plan: Plan) -> list[str]:
    """URNs in the order `pulumi destroy` deletes them: dependents before their dependencies."""
    index = plan.urn_index()
    order: list[str] = []
    done: set[str] = set()

    def visit(urn: str) -> None:  # post-order over the reversed graph
        if urn in done:
            return
        done.add(urn)
        for r in plan.resources:
            deps = set(r.dependencies) | {u for us in r.property_dependencies.values() for u in us}
            if urn in deps:
                visit(r.urn)
        order.append(urn)

    for r in plan.resources:
        if r.custom:
            visit(r.urn)
    return [u for u in order if index[u].custom]


def _waits_for(plan: Plan) -> dict[str, set[str]]:
    """What each resource depends on, as the engine's dependency graph reads a snapshot (pulumi/pulumi
    `pkg/resource/graph/dependency_graph.go`): its `dependencies`, every `propertyDependencies` entry,
    its parent and its provider (`urn::id`)."""
    known = {r.urn for r in plan.resources}
    waits: dict[str, set[str]] = {}
    for r in plan.resources:
        deps = set(r.dependencies) | {u for us in r.property_dependencies.values() for u in us}
        if r.parent:
            deps.add(r.parent)
        if r.provider:
            deps.add(r.provider.rsplit("::", 1)[0])
        waits[r.urn] = (deps & known) - {r.urn}
    return waits


def delete_batches(plan: Plan) -> list[list[str]]:
    """The batches `pulumi destroy` deletes in, as pulumi/pulumi schedules deletes
    (`pkg/resource/deploy/step_generator.go` `ScheduleDeletes`, run batch after batch by
    `deployment_executor.go`): each batch is the antichain of resources nothing left depends on, deleted
    in parallel; the next batch starts when the previous one has finished. Sorted URNs in each batch."""
    waits = _waits_for(plan)
    dependents: dict[str, set[str]] = {urn: set() for urn in waits}
    for urn, deps in waits.items():
        for d in deps:
            dependents[d].add(urn)
    left = set(waits)
    batches: list[list[str]] = []
    while left:
        batch = sorted(u for u in left if not dependents[u] & left)
        if not batch:
            raise ValueError(f"dependency cycle among {sorted(left)}")
        batches.append(batch)
        left -= set(batch)
    return batches


def delete_batch_of(plan: Plan) -> dict[str, int]:
    """URN -> the index of its delete batch (see `delete_batches`)."""
    return {urn: i for i, batch in enumerate(delete_batches(plan)) for urn in batch}
