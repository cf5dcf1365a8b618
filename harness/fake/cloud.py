"""`FakeCloud`: the Pulumi mocks that answer each registration and data-source call from the handler of
its service (one module per service in this package), deterministically."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

from pulumi.runtime import mocks as pulumi_mocks

from harness.fake import cloudwatch, ec2, ecr, efs, eks, iam, kubernetes, s3, sqs, sts
from harness.fake.world import CallFailure, Registration, World, _hex
from harness.plan import to_json_value

ResourceHandler = Callable[[Registration], None]
CallHandler = Callable[[World, dict[str, Any]], dict[str, Any]]

RESOURCES: Mapping[str, ResourceHandler] = {
    **iam.RESOURCES,
    **sqs.RESOURCES,
    **cloudwatch.RESOURCES,
    **ec2.RESOURCES,
    **eks.RESOURCES,
    **efs.RESOURCES,
    **s3.RESOURCES,
    **kubernetes.RESOURCES,
}
"""Type token -> the handler that adds the provider's outputs; any other type keeps its inputs."""

CALLS: Mapping[str, CallHandler] = {
    **sts.CALLS,
    **eks.CALLS,
    **ec2.CALLS,
    **iam.CALLS,
    **sqs.CALLS,
    **ecr.CALLS,
}
"""Data-source token -> its answer; a call without one is a gap in the fake cloud, so it fails loudly."""
RUNS = itertools.count(1)
"""Renders so far in this process: each `FakeCloud` sets `World.run` from it."""


class FakeCloud(pulumi_mocks.Mocks):
    """Answers resource registrations and calls like AWS and Kubernetes would, deterministically."""

    def __init__(self, world: World) -> None:
        self.world = world
        world.run = next(RUNS)
        self.invokes: list[tuple[str, str | None]] = []
        """Every data-source call: (token, provider reference)."""
        self.invoke_args: list[tuple[str, Any]] = []
        """Every data-source call: (token, its arguments as plain JSON), in the same order."""

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        inputs = dict(args.inputs)
        typ, name = args.typ, args.name
        # An explicit name, or the provider's name for a prefix: the prefix and a 26-character suffix.
        prefix = inputs.get("namePrefix")
        physical = inputs.get("name") or (
            f"{prefix}{20251122000000000000000000 + int(_hex(name, 6), 16)}" if prefix else name
        )
        registration = Registration(
            self.world, typ, name, inputs, physical, state=dict(inputs), rid=f"{name}-{_hex(typ + name, 8)}"
        )
        if not typ.startswith("pulumi:providers:"):
            handler = RESOURCES.get(typ)
            if handler is not None:
                handler(registration)
        return registration.rid, registration.state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        self.invokes.append((args.token, args.provider or None))
        self.invoke_args.append((args.token, to_json_value(dict(args.args))))
        try:
            return self._answer(args.token, dict(args.args)), []
        except CallFailure as failure:
            # As the engine reports a provider's error: the invoke fails with the reason, and the program
            # may handle it (a plain exception here would escape the program, unlike a real failure).
            return {}, [("", str(failure))]

    def _answer(self, tok: str, a: dict[str, Any]) -> dict[str, Any]:
        if tok in self.world.denied:
            raise CallFailure(f"AccessDeniedException: the caller is not authorized to call {tok}")
        handler = CALLS.get(tok)
        if handler is None:
            raise NotImplementedError(f"FakeCloud has no answer for the call {tok}; add one in harness/fake/")
        return handler(self.world, a)
