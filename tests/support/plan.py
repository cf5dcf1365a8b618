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
