"""`pulumi destroy` of the everything stack in the engine's delete batches, computed from the plan: the
nodes are drained while the storage drivers run, the S3 claims and volumes outlive the drain, the drivers
outlive the volumes, and the Ingresses go while the load balancer controller still runs."""

from __future__ import annotations

import pytest

from harness.plan import Plan, RecordedResource
from harness.stack_files import ROOT
from harness.synth import synth
from tests.support.plan import delete_batch_of, delete_batches

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
ADDON = "aws:eks/addon:Addon"


@pytest.fixture(scope="module")
def everything() -> Plan:
    return synth("everything", root=ROOT / "tests" / "stacks")


def _s3(plan: Plan, kind: str) -> list[RecordedResource]:
    return [r for r in plan.by_type(f"kubernetes:core/v1:{kind}") if r.name.startswith("s3-")]


def test_batches_are_the_engines_antichains() -> None:
    """A chain a <- b <- c (c depends on b, b on a) and a leaf d: c and d first, then b, then a."""

    def res(urn: str, deps: list[str], props: dict[str, list[str]]) -> RecordedResource:
        return RecordedResource(urn, "t:x", urn, True, None, deps, props, None, False, False, {})

    plan = Plan(
        "p",
        "s",
        [res("a", [], {}), res("b", ["a"], {}), res("c", [], {"x": ["b"]}), res("d", [], {})],
        {},
        [],
    )
    assert delete_batches(plan) == [["c", "d"], ["b"], ["a"]]


def test_claims_outlive_the_drain_and_drivers_outlive_the_volumes(everything: Plan) -> None:
    batch = delete_batch_of(everything)
    pools, classes = everything.by_type(NODE_POOL), everything.by_type(NODE_CLASS)
    claims, volumes = _s3(everything, "PersistentVolumeClaim"), _s3(everything, "PersistentVolume")
    drivers = [everything.one(ADDON, f"{n}-addon") for n in ("ebs", "efs", "s3")]
    assert pools and classes and len(claims) == len(volumes) == 2
    last_drain = max(batch[r.urn] for r in (*pools, *classes))
    # The drain (the NodePools' and EC2NodeClasses' deletion waits until Karpenter has terminated their
    # nodes) finishes before any claim is deleted: no claim stays Terminating under pvc-protection.
    assert all(batch[c.urn] > last_drain for c in claims)
    # A NodePool goes before the EC2NodeClass it uses (the everything stack has several classes).
    class_of = {c.inputs["metadata"]["name"]: c for c in classes}
    uses = {p.urn: p.inputs["spec"]["template"]["spec"]["nodeClassRef"]["name"] for p in pools}
    assert all(batch[p.urn] < batch[class_of[uses[p.urn]].urn] for p in pools)
    # Claims before their volumes, volumes before the driver; every driver after the drain.
    assert max(batch[c.urn] for c in claims) < min(batch[v.urn] for v in volumes)
    s3 = everything.one(ADDON, "s3-addon")
    assert max(batch[v.urn] for v in volumes) < batch[s3.urn]
    assert all(batch[d.urn] > last_drain for d in drivers)


def test_ingresses_go_before_the_load_balancer_controller(everything: Plan) -> None:
    batch = delete_batch_of(everything)
    ingresses = everything.by_type("kubernetes:networking.k8s.io/v1:Ingress")
    controller = everything.one("kubernetes:helm.sh/v3:Release", "lbc-release")
    assert ingresses
    assert all(batch[i.urn] < batch[controller.urn] for i in ingresses)
    # And the controller's AWS access (its role's policy attachment) outlives them too.
    attachments = [
        r for r in everything.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if "lbc" in r.name
    ]
    assert attachments and all(batch[i.urn] < batch[a.urn] for i in ingresses for a in attachments)
