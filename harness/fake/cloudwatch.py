"""EventBridge (the aws:cloudwatch module): the rules that feed the interruption queue."""

from __future__ import annotations

from harness.fake.world import Registration


def _event_rule(r: Registration) -> None:
    r.state |= {"arn": r.arn("events", f"rule/{r.physical}"), "name": r.physical}
    r.rid = r.physical


RESOURCES = {"aws:cloudwatch/eventRule:EventRule": _event_rule}
