"""Run the Pulumi program in-process under the fake cloud (`run_program`). `RecordingMonitor` keeps every
registration request exactly as the engine would receive it, so the plan shows the real dependency
edges (explicit `depends_on` and those implied by Outputs)."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import runpy
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from harness.fake.cloud import FakeCloud
from harness.fake.world import World
from harness.plan import (
    SECRET,
    Plan,
    RecordedResource,
    secret_digests,
    secret_shapes,
    to_json_value,
    unknown_paths,
)
from harness.stack_files import ROOT

FAKE_TOOLS = Path(__file__).resolve().parent / "bin"
"""Stand-ins for the programs a deployment needs beside Pulumi (`aws`): first on PATH while a program runs,
so the program's own check that they are installed passes offline. They never run."""


def lifecycle_options(request: Any, urn: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The resource options of a RegisterResourceRequest (pulumi/runtime/proto/resource_pb2.pyi) that decide
    how the engine updates, replaces and deletes the resource."""
    from google.protobuf.json_format import MessageToDict

    timeouts = request.customTimeouts
    return {
        "delete_before_replace": bool(request.deleteBeforeReplace)
        if request.deleteBeforeReplaceDefined
        else None,
        "replace_on_changes": sorted(request.replaceOnChanges),
        "ignore_changes": sorted(request.ignoreChanges),
        "custom_timeouts": {
            k: v
            for k, v in (
                ("create", timeouts.create),
                ("update", timeouts.update),
                ("delete", timeouts.delete),
            )
            if v
        },
        "aliases": [MessageToDict(a) for a in request.aliases] + [{"urn": u} for u in request.aliasURNs],
        "secret_digests": secret_digests(urn, inputs),
    }


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that keeps each registration request, in the order the engine would get them."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []

    def _apply_ignore_changes(self, urn: str, request: Any) -> None:
        """What the engine does with `ignoreChanges` on an update (pulumi/pulumi processIgnoreChanges): an
        ignored input keeps its value from the last deployment, or is dropped when it had none. So the
        fake cloud computes outputs (an ARN carrying an IAM path, ...) from what AWS would really hold.
        Top-level inputs only: the program ignores no nested path."""
        prior = getattr(self.mocks, "world", None)
        old = prior.prior.get(urn) if prior is not None else None
        if old is None or not request.ignoreChanges:
            return
        for path in request.ignoreChanges:
            if any(c in path for c in ".[]"):
                raise NotImplementedError(f"ignoreChanges on a nested path ({path}) is not modelled")
            if path in old and old[path] is not None:
                request.object[path] = old[path]
            elif path in request.object:
                del request.object[path]

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if any(r.urn == urn for r in self.recorded):
            # The engine refuses a second registration of a URN; so must the offline render.
            raise RuntimeError(f"Duplicate resource URN '{urn}'; try giving it a unique name")
        self._apply_ignore_changes(urn, request)
        response = super().RegisterResource(request)
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        self.recorded.append(
            RecordedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent or None,
                dependencies=sorted(request.dependencies),
                property_dependencies={
                    k: sorted(v.urns) for k, v in sorted(request.propertyDependencies.items())
                },
                provider=request.provider or None,
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                inputs=to_json_value(inputs),
                unknowns=sorted(unknown_paths(inputs)),
                **lifecycle_options(request, response.urn, inputs),
                secret_shapes=secret_shapes(inputs),
            )
        )
        return response


def run_program(
    project: str,
    stack: str,
    config: Mapping[str, str],
    world: World | None = None,
    program: Path = ROOT / "__main__.py",
    tools: Path | None = FAKE_TOOLS,
) -> Plan:
    """Run the Pulumi program in-process under the fake cloud and return what it registered.

    Each run gets a fresh context, so several programs can run in one process (as the tests do). `tools`
    is put first on PATH for the run (None: the PATH as it is)."""
    world = world or World(region=_region_of(config, project))
    return contextvars.Context().run(_run, project, stack, dict(config), world, program, tools)


def _region_of(config: Mapping[str, str], project: str) -> str:
    return str(config.get(f"{project}:region") or config.get("aws:region") or "eu-west-1")


def _run(
    project: str, stack: str, config: dict[str, str], world: World, program: Path, tools: Path | None
) -> Plan:
    # A fresh event loop per run: tasks a failed run left behind must not fail the next one.
    loop = asyncio.new_event_loop()
    # A failed run's error is raised by run_pulumi_func; its abandoned futures need not be logged again.
    loop.set_exception_handler(lambda _loop, _context: None)
    asyncio.set_event_loop(loop)
    cloud = FakeCloud(world)
    monitor = RecordingMonitor(cloud)
    warnings = _WarningRecorder()
    logger = logging.getLogger(f"karpenter-eks.mocks.{id(warnings)}")
    logger.propagate = False
    logger.addHandler(warnings)
    pulumi.runtime.set_all_config(config)
    pulumi_mocks.set_mocks(cloud, project=project, stack=stack, preview=False, monitor=monitor, logger=logger)
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    root = str(program.parent)
    added = root not in sys.path
    if added:
        sys.path.insert(0, root)
    old_cwd = os.getcwd()
    os.chdir(root)
    old_path = os.environ.get("PATH")
    if tools is not None:
        os.environ["PATH"] = os.pathsep.join([str(tools), *([old_path] if old_path else [])])
    try:

        def program_main() -> None:
            runpy.run_path(str(program), run_name="__main__")

        try:
            _sync_await(run_pulumi_func(program_main))
        except Exception as exc:
            # What had been registered when the program failed: tests check a refusal comes first.
            exc.registered = list(monitor.recorded)  # type: ignore[attr-defined]
            raise
        stack_resource = pulumi.runtime.settings.get_root_resource()
        raw: dict[str, Any] = dict(getattr(stack_resource, "outputs", {}) or {})
        outputs: dict[str, Any] = {}
        secrets: list[str] = []
        for key, value in raw.items():
            out = pulumi.Output.from_input(value)
            if _sync_await(out.is_secret()):
                secrets.append(key)
                outputs[key] = SECRET
            else:
                outputs[key] = to_json_value(_sync_await(out.future()))
    finally:
        leftovers = asyncio.all_tasks(loop)
        for task in leftovers:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        # Data-source calls run in executor threads, each with an event loop of its own: join the threads
        # now, so those loops are closed with them and not at interpreter exit.
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(None)
        os.chdir(old_cwd)
        if old_path is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old_path
        if added:
            sys.path.remove(root)
    return Plan(
        project,
        stack,
        monitor.recorded,
        outputs,
        secrets,
        cloud.invokes,
        warnings.messages,
        invoke_args=cloud.invoke_args,
    )


class _WarningRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
