"""The modelled time of `pulumi up` on an empty stack: `python -m harness.timing --stack dev`.

Renders the stack offline (harness.synth, the shared mocks) and schedules every resource the program
registers over the recorded dependency graph, as the Pulumi engine would run a first `pulumi up`:

- a resource starts when everything it waits for has finished: its `dependencies`, every
  `propertyDependencies` entry and its provider (a resource cannot be created before its provider is
  configured, and the Kubernetes provider's kubeconfig comes from the cluster);
- a component finishes when its last child finishes (a component with no recorded children, such as
  pulumi-eks's `eks:index:Cluster` whose children its own provider creates, takes its table duration);
- resources run in parallel without limit (`pulumi up --parallel` "defaults to unbounded", the CLI's
  help); the AWS and Kubernetes APIs' own rate limits are not modelled;
- what AWS serialises is serialised: EKS creates a cluster's Fargate profiles one at a time ("only one
  Fargate profile can be in a CREATING state at a time", aws/aws-cdk#6084; terraform-aws-eks#866), so
  profiles of one cluster share one lane, first ready first served.

Each type takes its `DURATIONS` entry (with its basis: a source, or "estimate"), else `UNKNOWN_TYPE`.

The output: the total modelled time, the critical path (what the total waits for, in order), the time
at which Karpenter can launch nodes (the last of the `karpenter` controller release, the EC2NodeClasses
and the NodePools) and, when the stack enables add-ons, when they finish. With add-ons enabled the
stack is also rendered with `addons` removed, to show that Karpenter is ready exactly as early.
`--addons all` enables every add-on the config model has (on top of the stack's own `addons` values).
"""

from __future__ import annotations

import argparse
import heapq
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.durations import (
    DURATIONS,
    HELM_RELEASE,
    NO_TIME,
    PULUMI_EKS_WAITS,
    UNKNOWN_TYPE,
    Estimate,
)
from harness.durations import (
    FARGATE_PROFILE as FARGATE_PROFILE,  # re-exported: the model's names in one place for its users
)
from harness.plan import Plan, RecordedResource
from harness.runner import run_program
from harness.stack_files import EXAMPLE_STACKS, ROOT, StackFileError, load_stack_file

STACK_TYPE = "pulumi:pulumi:Stack"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
KARPENTER_CHART = "karpenter"  # the controller chart (oci://public.ecr.aws/karpenter/karpenter)


def estimate_for(resource: RecordedResource, durations: Mapping[str, Estimate] = DURATIONS) -> Estimate:
    if resource.type == "eks:index:Cluster" and resource.type in durations:
        base, waits = (
            durations[resource.type],
            [w for k, w in PULUMI_EKS_WAITS.items() if resource.inputs.get(k)],
        )
        return (
            Estimate(base.seconds + sum(w.seconds for w in waits), base.basis, base.lane) if waits else base
        )
    if resource.type in durations:
        return durations[resource.type]
    if resource.type.startswith("pulumi:providers:") or not resource.custom:
        return NO_TIME
    return UNKNOWN_TYPE


def lane_of(resource: RecordedResource, estimate: Estimate) -> str | None:
    """The lane of a resource (one at a time per lane): Fargate profiles per cluster."""
    if estimate.lane is None:
        return None
    cluster = resource.inputs.get("clusterName")
    return f"{estimate.lane}:{cluster}" if isinstance(cluster, str) else estimate.lane


# ---------------------------------------------------------------------------------------------------------
# The schedule


@dataclass(frozen=True)
class Step:
    urn: str
    type: str
    name: str
    start: float
    finish: float
    via: str | None
    """What this step waited for last: the prerequisite (or lane predecessor) that set its start."""
    lane_wait: float = 0.0
    """Seconds spent ready but waiting for its lane."""


@dataclass
class Timeline:
    steps: dict[str, Step]
    unknown_types: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return max((s.finish for s in self.steps.values()), default=0.0)

    def last(self, urns: Iterable[str] | None = None) -> Step | None:
        chosen = [self.steps[u] for u in (self.steps if urns is None else urns) if u in self.steps]
        return max(chosen, key=lambda s: (s.finish, s.start, s.urn), default=None)

    def path_to(self, urn: str) -> list[Step]:
        """The critical path ending at `urn`, first step first."""
        path: list[Step] = []
        current: str | None = urn
        while current is not None:
            step = self.steps[current]
            path.append(step)
            current = step.via
        return path[::-1]

    def critical_path(self) -> list[Step]:
        last = self.last()
        return self.path_to(last.urn) if last else []


def _prerequisites(resource: RecordedResource, known: set[str]) -> set[str]:
    waits = set(resource.dependencies)
    for urns in resource.property_dependencies.values():
        waits.update(urns)
    if resource.provider:
        waits.add(resource.provider.rsplit("::", 1)[0])  # a provider reference is `urn::id`
    waits.discard(resource.urn)
    return waits & known


@dataclass
class _Graph:
    """What each resource waits for (dependencies, provider, a component's children), and who waits."""

    resources: dict[str, RecordedResource]
    order: dict[str, int]
    children: dict[str, set[str]]
    blockers: dict[str, set[str]]
    dependents: dict[str, list[str]]

    @classmethod
    def of(cls, plan_resources: Sequence[RecordedResource]) -> _Graph:
        resources = {r.urn: r for r in plan_resources if r.type != STACK_TYPE}
        # Ties are broken by URN, not by registration order (which the asyncio program does not fix).
        order = {urn: i for i, urn in enumerate(sorted(resources))}
        known = set(resources)
        waits = {urn: _prerequisites(r, known) for urn, r in resources.items()}
        children: dict[str, set[str]] = {urn: set() for urn in resources}
        for urn, r in resources.items():
            if r.parent in children:
                children[r.parent].add(urn)
        blockers = {urn: waits[urn] | children[urn] for urn in resources}
        dependents: dict[str, list[str]] = {urn: [] for urn in resources}
        for urn, before in blockers.items():
            for b in before:
                dependents[b].append(urn)
        return cls(resources, order, children, blockers, dependents)

    def ready_time(self, urn: str, steps: Mapping[str, Step]) -> tuple[float, str | None]:
        """When the last of what `urn` waits for finishes, and which one that is."""
        best: tuple[float, str | None] = (0.0, None)
        for b in sorted(self.blockers[urn], key=self.order.__getitem__):
            if steps[b].finish > best[0]:
                best = (steps[b].finish, b)
        return best


def _timed_step(
    r: RecordedResource, at: float, via: str | None, est: Estimate, lanes: dict[str, tuple[float, str]]
) -> Step:
    """The step of a resource ready at `at`, once its lane (if it has one) is free."""
    start, wait = at, 0.0
    lane = lane_of(r, est)
    if lane is not None and lane in lanes and lanes[lane][0] > at:
        start, wait, via = lanes[lane][0], lanes[lane][0] - at, lanes[lane][1]
    if lane is not None:
        lanes[lane] = (start + est.seconds, r.urn)
    return Step(r.urn, r.type, r.name, start, start + est.seconds, via, wait)


def schedule(
    plan_resources: Sequence[RecordedResource], durations: Mapping[str, Estimate] = DURATIONS
) -> Timeline:
    """Every resource's modelled start and finish (seconds from the start of `pulumi up`)."""
    graph = _Graph.of(plan_resources)
    resources = graph.resources
    missing = {urn: len(before) for urn, before in graph.blockers.items()}
    steps: dict[str, Step] = {}
    lanes: dict[str, tuple[float, str]] = {}  # lane -> (free at, last urn)
    ready = sorted((0.0, graph.order[urn], urn) for urn, count in missing.items() if count == 0)
    unknown: set[str] = set()
    while ready:
        at, _, urn = heapq.heappop(ready)
        r = resources[urn]
        _, via = graph.ready_time(urn, steps)
        if graph.children[urn] and (r.type not in durations):
            # A component: done when its children (and what it waits for) are.
            steps[urn] = Step(urn, r.type, r.name, at, at, via)
        else:
            est = estimate_for(r, durations)
            if est is UNKNOWN_TYPE:
                unknown.add(r.type)
            steps[urn] = _timed_step(r, at, via, est, lanes)
        for d in graph.dependents[urn]:
            missing[d] -= 1
            if missing[d] == 0:
                heapq.heappush(ready, (graph.ready_time(d, steps)[0], graph.order[d], d))
    if len(steps) != len(resources):
        stuck = sorted(resources[u].name for u in resources if u not in steps)
        raise ValueError(f"dependency cycle among: {', '.join(stuck)}")
    return Timeline(steps, sorted(unknown))


# ---------------------------------------------------------------------------------------------------------
# What the numbers mean for this project


def karpenter_ready_urns(plan_resources: Sequence[RecordedResource]) -> list[str]:
    """The controller release, the EC2NodeClasses and the NodePools: Karpenter launches nodes once all
    of them exist."""
    urns = []
    for r in plan_resources:
        chart = str(r.inputs.get("chart") or "")
        controller = r.type == HELM_RELEASE and chart.rsplit("/", 1)[-1] == KARPENTER_CHART
        if controller or r.type in (NODE_CLASS, NODE_POOL):
            urns.append(r.urn)
    return urns


@dataclass
class Measurement:
    stack: str
    timeline: Timeline
    karpenter_ready: float | None
    karpenter_urns: list[str]
    addon_urns: list[str]
    baseline_karpenter_ready: float | None = None
    """Karpenter-ready time of the same stack rendered with `addons` removed (None: not rendered)."""

    @property
    def addons_finish(self) -> float | None:
        last = self.timeline.last(self.addon_urns)
        return last.finish if last else None


def measure(plan: Plan, baseline: Plan | None = None) -> Measurement:
    """The timeline of `plan`; the add-ons are the resources `baseline` (addons removed) lacks."""
    timeline = schedule(plan.resources)
    ready_urns = karpenter_ready_urns(plan.resources)
    last = timeline.last(ready_urns)
    m = Measurement(plan.stack, timeline, last.finish if last else None, ready_urns, [])
    if baseline is not None:
        base_urns = {r.urn for r in baseline.resources}
        m.addon_urns = [r.urn for r in plan.resources if r.urn not in base_urns and r.type != STACK_TYPE]
        base_last = schedule(baseline.resources).last(karpenter_ready_urns(baseline.resources))
        m.baseline_karpenter_ready = base_last.finish if base_last else None
    return m


# ---------------------------------------------------------------------------------------------------------
# Rendering the stack with its add-ons as asked


def addon_keys() -> list[str]:
    """The camelCase keys of the `addons` sections that have an `enabled` flag (read from the model, so
    add-ons added later are included)."""
    from pydantic import BaseModel

    from config.addons import AddonsConfig

    keys = []
    for name, info in AddonsConfig.model_fields.items():
        annotation = info.annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        if model is not None and "enabled" in model.model_fields:
            keys.append(info.alias or name)
    return keys


def with_addons(config: Mapping[str, str], project: str, mode: str) -> dict[str, str]:
    """The stack's config with its `addons` as they are (`stack`), removed (`none`), or every add-on
    enabled on top of the stack's own add-on values (`all`)."""
    key = f"{project}:addons"
    out = dict(config)
    if mode == "none":
        out.pop(key, None)
    elif mode == "all":
        addons: dict[str, Any] = json.loads(out.get(key) or "{}")
        for section in addon_keys():
            current = addons.get(section)
            addons[section] = {**(current if isinstance(current, dict) else {}), "enabled": True}
        out[key] = json.dumps(addons)
    elif mode != "stack":
        raise ValueError(f"addons mode must be stack, none or all, not {mode!r}")
    return out


EVERYTHING_DIR = ROOT / "tests" / "stacks"
"""Where `Pulumi.everything.yaml` lives: the dev cluster with every add-on and option enabled."""


def render(stack: str, addons: str = "stack", root: Path = ROOT) -> Plan:
    from harness.synth import world_for

    project, config = load_stack_file(stack, root)
    config = with_addons(config, project, addons)
    return run_program(project, stack, config, world=world_for(project, config))


def measure_stack(stack: str, addons: str = "stack", root: Path = ROOT) -> Measurement:
    plan = render(stack, addons, root)
    baseline = render(stack, "none", root)
    return measure(plan, baseline)


# ---------------------------------------------------------------------------------------------------------
# Output


def minutes(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 60}:{s % 60:02d}"


def format_measurement(m: Measurement, durations: Mapping[str, Estimate] = DURATIONS) -> str:
    t = m.timeline
    lines = [f"stack {m.stack}: modelled `pulumi up` from empty, unbounded parallelism"]
    lines.append(f"  total:                          {minutes(t.total)} (m:ss)")
    if m.karpenter_ready is not None:
        kinds = sorted({t.steps[u].type.rsplit(":", 1)[-1] for u in m.karpenter_urns})
        lines.append(
            f"  Karpenter ready to launch nodes: {minutes(m.karpenter_ready)} "
            f"(last of {len(m.karpenter_urns)}: {', '.join(kinds)})"
        )
    else:
        lines.append("  Karpenter ready to launch nodes: n/a (no controller release or NodePool)")
    if m.baseline_karpenter_ready is not None:
        same = "same" if m.baseline_karpenter_ready == m.karpenter_ready else "DIFFERENT"
        lines.append(f"    without add-ons:              {minutes(m.baseline_karpenter_ready)} ({same})")
    finish = m.addons_finish
    if finish is None:
        lines.append("  add-ons finish:                 n/a (no add-on enabled)")
    else:
        after = finish - (m.karpenter_ready or 0.0)
        lines.append(
            f"  add-ons finish:                 {minutes(finish)} ({len(m.addon_urns)} resources; "
            f"{minutes(max(after, 0))} after Karpenter is ready)"
        )
    lines += ["", "critical path (start - finish, type, name):"]
    for step in t.critical_path():
        if step.finish == step.start and not step.type.startswith(("eks:", "aws:", "kubernetes:")):
            continue  # components and providers: no time of their own
        wait = f"  (waited {minutes(step.lane_wait)} for its lane)" if step.lane_wait else ""
        lines.append(
            f"  {minutes(step.start):>6} - {minutes(step.finish):>6}  {step.type}  {step.name}{wait}"
        )
    last = t.last(m.karpenter_urns)
    if last is not None and t.total > last.finish:
        lines += ["", "path to Karpenter ready:"]
        lines += [
            f"  {minutes(s.start):>6} - {minutes(s.finish):>6}  {s.type}  {s.name}"
            for s in t.path_to(last.urn)
            if s.finish > s.start
        ]
    if t.unknown_types:
        lines += [
            "",
            f"no duration estimate (assumed {UNKNOWN_TYPE.seconds:g} s): {', '.join(t.unknown_types)}",
        ]
    return "\n".join(lines)


def format_durations(durations: Mapping[str, Estimate] = DURATIONS) -> str:
    rows = [f"| `{typ}` | {est.seconds:g} | {est.basis} |" for typ, est in sorted(durations.items())]
    rows += [
        f"| `eks:index:Cluster` + `{k}: true` | +{w.seconds:g} | {w.basis} |"
        for k, w in PULUMI_EKS_WAITS.items()
    ]
    return "\n".join(["| type | seconds | basis |", "| --- | --- | --- |", *rows])


BEGIN = "<!-- timing:begin (generated by python -m harness.timing --write-readme) -->"
END = "<!-- timing:end -->"


def _arrow_path(steps: Sequence[Step]) -> str:
    shown = [s for s in steps if s.finish > s.start]
    return " → ".join(
        f"{s.type.rsplit(':', 1)[-1]} {s.name} ({minutes(s.start)}-{minutes(s.finish)})" for s in shown
    )


def readme_section(stacks: Sequence[str] | None = None) -> str:
    """The README's timing block: the example stacks and tests/stacks/everything as configured, the dev path,
    and the duration table (a stack a user adds is measured by `--stack`, never written here)."""
    names = list(stacks) if stacks is not None else [*EXAMPLE_STACKS, "everything"]
    rows = [
        "| stack | total | Karpenter ready to launch nodes | same stack without add-ons | add-ons finish |",
        "| --- | --- | --- | --- | --- |",
    ]
    paths = []
    for name in names:
        m = measure_stack(name, root=EVERYTHING_DIR if name == "everything" else ROOT)
        finish = m.addons_finish
        ready = minutes(m.karpenter_ready) if m.karpenter_ready is not None else "n/a"
        base = minutes(m.baseline_karpenter_ready) if m.baseline_karpenter_ready is not None else "n/a"
        added = (
            f"{minutes(finish)} (+{minutes(max(finish - (m.karpenter_ready or 0), 0))})"
            if finish is not None
            else "no add-on enabled"
        )
        rows.append(f"| `{name}` | {minutes(m.timeline.total)} | {ready} | {base} | {added} |")
        last = m.timeline.last(m.karpenter_urns)
        if last is not None:
            paths.append(f"- `{name}`, to Karpenter ready: {_arrow_path(m.timeline.path_to(last.urn))}")
        if last is None or m.timeline.total > last.finish:
            paths.append(f"- `{name}`, to the end: {_arrow_path(m.timeline.critical_path())}")
    table = format_durations()
    return "\n".join(
        [
            BEGIN,
            *rows,
            "",
            "Critical paths (m:ss):",
            "",
            *paths,
            "",
            "<details><summary>The duration of each resource type the model uses, and its basis</summary>",
            "",
            table,
            "",
            "</details>",
            END,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.timing", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument(
        "--addons",
        choices=("stack", "none", "all"),
        default="stack",
        help="the stack's add-ons as configured (default), none, or every add-on enabled",
    )
    parser.add_argument(
        "--config-dir", type=Path, default=ROOT, help="folder of Pulumi.<stack>.yaml (default: the project)"
    )
    parser.add_argument("--durations", action="store_true", help="print the duration table and exit")
    parser.add_argument(
        "--write-readme", action="store_true", help="rewrite README.md's timing block (the example stacks)"
    )
    args = parser.parse_args(argv)
    if args.durations:
        print(format_durations())
        return 0
    if args.write_readme:
        readme = ROOT / "README.md"
        text = readme.read_text()
        start, end = text.index(BEGIN), text.index(END) + len(END)
        readme.write_text(text[:start] + readme_section() + text[end:])
        return 0

    from pulumi import RunError

    from config.base import ConfigError

    try:
        m = measure_stack(args.stack, args.addons, args.config_dir)
    except (FileNotFoundError, StackFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ConfigError, RunError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(format_measurement(m))
    return 0


if __name__ == "__main__":
    sys.exit(main())
