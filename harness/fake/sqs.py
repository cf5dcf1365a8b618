"""SQS: queues (the interruption queue) and the queue lookups."""

from __future__ import annotations

from typing import Any

from harness.fake.world import Registration, World


def queue_url(world: World, name: str) -> str:
    return f"https://sqs.{world.region}.amazonaws.com/{world.account_id}/{name}"


def _queue(r: Registration) -> None:
    r.state |= {"arn": r.arn("sqs", r.physical), "url": queue_url(r.world, r.physical), "name": r.physical}
    r.rid = r.state["url"]


RESOURCES = {"aws:sqs/queue:Queue": _queue}


def _get_queues(world: World, a: dict[str, Any]) -> dict[str, Any]:
    prefix = str(a.get("queueNamePrefix") or "")
    urls = [queue_url(world, q) for q in sorted(world.queues) if q.startswith(prefix)]
    return {"queueUrls": urls, "id": world.region}


def _get_queue(world: World, a: dict[str, Any]) -> dict[str, Any]:
    qname = str(a.get("name"))
    if qname not in world.queues:
        raise Exception(f"AWS.SimpleQueueService.NonExistentQueue: {qname}")
    return {
        "name": qname,
        "arn": world.arn("sqs", qname),
        "url": queue_url(world, qname),
        "tags": world.queues[qname],
        "id": qname,
    }


CALLS = {
    "aws:sqs/getQueues:getQueues": _get_queues,
    "aws:sqs/getQueue:getQueue": _get_queue,
}
