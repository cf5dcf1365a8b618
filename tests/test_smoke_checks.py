"""ops/smoke/checks/ without a cluster: the objects each add-on check creates, and each check's
whole run (success, failure, cleanup) against a fake kubectl answering with recorded `kubectl -o json`
output, and a fake clock."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from ops import smoke
from ops.kubectl import Kubectl
from ops.smoke import SmokeError, cli, common
from ops.smoke import checks as smoke_checks
from ops.smoke.checks import CheckOptions, Clock

TOKEN = "5f3a9c1e"

# --- recorded kubectl output (trimmed of managedFields, as `kubectl get -o json` prints it) ------------


def pvc_json(name: str, namespace: str, cls: str, mode: str, bound: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "annotations": {"volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com"},
            "creationTimestamp": "2026-11-20T09:14:03Z",
            "finalizers": ["kubernetes.io/pvc-protection"],
            "labels": {"app": "smoke", "app.kubernetes.io/managed-by": "karpenter-eks-smoke"},
            "name": name,
            "namespace": namespace,
            "resourceVersion": "48113",
            "uid": "9d4e1c0a-59a3-4c51-9e0a-0c2b7f0f6c11",
        },
        "spec": {
            "accessModes": [mode],
            "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": cls,
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Pending"},
    }
    if bound:
        doc["metadata"]["annotations"] |= {
            "pv.kubernetes.io/bind-completed": "yes",
            "pv.kubernetes.io/bound-by-controller": "yes",
            "volume.kubernetes.io/selected-node": "ip-10-40-97-12.eu-west-1.compute.internal",
        }
        doc["spec"]["volumeName"] = "pvc-9d4e1c0a-59a3-4c51-9e0a-0c2b7f0f6c11"
        doc["status"] = {"accessModes": [mode], "capacity": {"storage": "1Gi"}, "phase": "Bound"}
    return doc


def pv_json(cls: str, driver: str, handle: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "annotations": {"pv.kubernetes.io/provisioned-by": driver},
            "name": "pvc-9d4e1c0a-59a3-4c51-9e0a-0c2b7f0f6c11",
        },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "capacity": {"storage": "1Gi"},
            "csi": {"driver": driver, "fsType": "ext4", "volumeHandle": handle},
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": cls,
        },
        "status": {"phase": "Bound"},
    }


def pod_json(name: str, namespace: str, node: str | None, running: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": "0c7d5c7e-1111-4a4a-8d8d-2b2b2b2b2b2b"},
        "spec": {"containers": [{"name": "check", "image": smoke_checks.CHECK_IMAGE}]},
        "status": {"phase": "Running" if running else "Pending", "qosClass": "Burstable"},
    }
    if node:
        doc["spec"]["nodeName"] = node
    if not running and not node:
        doc["status"]["conditions"] = [
            {
                "lastProbeTime": None,
                "lastTransitionTime": "2026-11-20T09:14:04Z",
                "message": "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
                "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
                "reason": "Unschedulable",
                "status": "False",
                "type": "PodScheduled",
            }
        ]
    return doc


def node_json(name: str, karpenter: bool = True) -> dict[str, Any]:
    labels = {
        "kubernetes.io/arch": "arm64",
        "kubernetes.io/hostname": name,
        "node.kubernetes.io/instance-type": "m8g.large",
        "topology.kubernetes.io/zone": "eu-west-1b",
    }
    if karpenter:
        labels |= {"karpenter.sh/nodepool": "graviton-spot", "karpenter.sh/capacity-type": "spot"}
    else:
        labels |= {"eks.amazonaws.com/compute-type": "fargate"}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}


def events_json(kind: str, name: str, namespace: str, *events: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [
            {
                "apiVersion": "v1",
                "count": 4,
                "firstTimestamp": "2026-11-20T09:14:03Z",
                "involvedObject": {"apiVersion": "v1", "kind": kind, "name": name, "namespace": namespace},
                "kind": "Event",
                "lastTimestamp": "2026-11-20T09:15:03Z",
                "message": message,
                "metadata": {"name": f"{name}.1879a", "namespace": namespace},
                "reason": reason,
                "source": {"component": "persistentvolume-controller"},
                "type": typ,
            }
            for typ, reason, message in events
        ],
    }


def ingress_json(namespace: str, hostname: str | None) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "finalizers": ["ingress.k8s.aws/resources"],
            "name": "smoke-alb",
            "namespace": namespace,
        },
        "spec": {"ingressClassName": "alb"},
        "status": {"loadBalancer": {"ingress": [{"hostname": hostname}]} if hostname else {}},
    }


NOT_FOUND = 'Error from server (NotFound): persistentvolumeclaims "{}" not found'
KARPENTER_NODE = "ip-10-40-97-12.eu-west-1.compute.internal"
OTHER_NODE = "ip-10-40-66-3.eu-west-1.compute.internal"


# --- a fake kubectl, a fake clock ----------------------------------------------------------------------


class FakeKubectl(Kubectl):
    """Answers `run(*args)` with the responses registered for the longest matching argument prefix, one
    per call (the last repeats); `apply` and `delete` succeed unless told otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, ...]] = []
        self.applied: list[dict[str, Any]] = []
        self.routes: dict[tuple[str, ...], list[Any]] = {}

    def on(self, *prefix: str, answers: list[Any]) -> FakeKubectl:
        self.routes[prefix] = list(answers)
        return self

    def run(self, argv: Sequence[str], *, stdin: str | None = None, timeout: float = 120) -> str:
        args = tuple(argv)
        self.calls.append(args)
        matches = [p for p in self.routes if args[: len(p)] == p]
        if matches:
            answers = self.routes[max(matches, key=len)]
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            if isinstance(answer, BaseException):
                raise answer
            return answer if isinstance(answer, str) else json.dumps(answer)
        if args[:1] == ("apply",):
            assert stdin is not None
            self.applied.append(json.loads(stdin))
            return "created"
        if args[:1] == ("delete",):
            return "deleted"
        raise AssertionError(f"unexpected kubectl {' '.join(args)}")

    def deletes(self) -> list[str]:
        """`kind/name` of each delete, in order."""
        return [f"{c[1]}/{c[2]}" for c in self.calls if c[0] == "delete"]


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def clock(self) -> Clock:
        def sleep(seconds: float) -> None:
            assert seconds >= 0
            self.t += max(seconds, 0.001)

        return Clock(now=lambda: self.t, sleep=sleep)


def opts(**kw: Any) -> CheckOptions:
    return CheckOptions(token=TOKEN, timeout=60, interval=10, **kw)


LOG: list[str] = []


def log(line: str) -> None:
    LOG.append(line)


def not_found(name: str) -> SmokeError:
    return SmokeError(f"kubectl get pvc {name} failed: " + NOT_FOUND.format(name))


# --- manifests -----------------------------------------------------------------------------------------


def test_claim_and_pod_manifests() -> None:
    claim = smoke_checks.claim_manifest("c", "ns", "fast-gp3", "ReadWriteOnce", "gp3")
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "fast-gp3",
        "resources": {"requests": {"storage": "1Gi"}},
    }
    pod = smoke_checks.pod_manifest("p", "ns", "efs", script="true", claim="c", spread_from={"k": "v"})
    spec = pod["spec"]
    [term] = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert term == {"matchExpressions": [{"key": "karpenter.sh/nodepool", "operator": "Exists"}]}
    [preferred] = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert spec["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "c"}}]
    [container] = spec["containers"]
    assert container["image"] == "public.ecr.aws/docker/library/busybox:1.36"
    assert container["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False}
    assert "runAsUser" not in spec["securityContext"]
    as_user = smoke_checks.pod_manifest("p", "ns", "s3", script="true", claim="c", run_as_user=1000)
    assert as_user["spec"]["securityContext"]["runAsUser"] == 1000


def test_alb_manifests_target_pod_ips_through_the_named_class() -> None:
    deployment, service, ingress = smoke_checks.web_manifests("ns", "my-alb", "internal", TOKEN)
    meta = ingress["metadata"]
    assert ingress["spec"]["ingressClassName"] == "my-alb"
    assert meta["annotations"] == {
        "alb.ingress.kubernetes.io/scheme": "internal",
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/healthcheck-path": "/",
    }
    [rule] = ingress["spec"]["rules"]
    [path] = rule["http"]["paths"]
    assert path["backend"] == {"service": {"name": "smoke-alb", "port": {"number": 80}}}
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert TOKEN in container["command"][2] and "httpd -f -p 8080" in container["command"][2]
    assert container["ports"] == [{"name": "http", "containerPort": 8080}]


def test_event_reasons_and_ingress_address() -> None:
    events = events_json(
        "PersistentVolumeClaim",
        "c",
        "ns",
        ("Normal", "WaitForFirstConsumer", "waiting for first consumer to be created before binding"),
        ("Warning", "ProvisioningFailed", 'storageclass.storage.k8s.io "gp3" not found'),
    )
    assert smoke_checks.event_reasons(events) == [
        'PersistentVolumeClaim c: ProvisioningFailed storageclass.storage.k8s.io "gp3" not found',
        "PersistentVolumeClaim c: WaitForFirstConsumer "
        "waiting for first consumer to be created before binding",
    ]
    assert smoke_checks.ingress_hostname(ingress_json("ns", None)) is None
    assert (
        smoke_checks.ingress_hostname(ingress_json("ns", "k8s-x.elb.amazonaws.com"))
        == "k8s-x.elb.amazonaws.com"
    )


# --- gp3 -----------------------------------------------------------------------------------------------

GP3_NS = f"smoke-gp3-{TOKEN}"


def gp3_cluster(*, bound: bool, karpenter: bool = True) -> FakeKubectl:
    k = FakeKubectl()
    pending = pvc_json("smoke-gp3", GP3_NS, "gp3", "ReadWriteOnce", bound=False)
    k.on(
        "get",
        "pvc",
        "smoke-gp3",
        answers=[pending, pvc_json("smoke-gp3", GP3_NS, "gp3", "ReadWriteOnce", bound)],
    )
    waiting = pod_json("smoke-gp3", GP3_NS, None, running=False)
    k.on("get", "pod", "smoke-gp3", answers=[waiting, pod_json("smoke-gp3", GP3_NS, KARPENTER_NODE, bound)])
    k.on("get", "pv", answers=[pv_json("gp3", "ebs.csi.aws.com", "vol-0a1b2c3d4e5f60718")])
    k.on("get", "node", KARPENTER_NODE, answers=[node_json(KARPENTER_NODE, karpenter)])
    k.on("exec", "--namespace", GP3_NS, "smoke-gp3", answers=[TOKEN + "\n"])
    k.on(
        "get",
        "events",
        answers=[
            events_json(
                "PersistentVolumeClaim",
                "smoke-gp3",
                GP3_NS,
                ("Warning", "ProvisioningFailed", 'storageclass.storage.k8s.io "gp3" not found'),
            )
        ],
    )
    return k


def test_gp3_claim_bound_on_a_karpenter_node_and_cleaned_up() -> None:
    k = gp3_cluster(bound=True)
    result = smoke_checks.check_gp3(k, opts(), FakeClock().clock(), log)
    assert result.ok, result.format()
    assert result.found == [
        "claim smoke-gp3 Bound to pvc-9d4e1c0a-59a3-4c51-9e0a-0c2b7f0f6c11 "
        "(class gp3, ebs.csi.aws.com vol-0a1b2c3d4e5f60718)",
        f"pod smoke-gp3 Running on node {KARPENTER_NODE} "
        "(NodePool graviton-spot; spot, m8g.large, eu-west-1b)",
        "wrote and read back /data/smoke",
    ]
    assert [(m["kind"], m["metadata"]["name"]) for m in k.applied] == [
        ("Namespace", GP3_NS),
        ("PersistentVolumeClaim", "smoke-gp3"),
        ("Pod", "smoke-gp3"),
    ]
    assert k.applied[1]["spec"]["storageClassName"] == "gp3"
    # Reverse order: the pod, then its claim (so the volume is deleted), then the namespace.
    assert k.deletes() == ["pod/smoke-gp3", "persistentvolumeclaim/smoke-gp3", f"namespace/{GP3_NS}"]
    assert result.cleanup_problems == []


def test_gp3_claim_stays_pending_reports_the_events_and_still_cleans_up() -> None:
    k = gp3_cluster(bound=False)
    clock = FakeClock()
    result = smoke_checks.check_gp3(k, opts(gp3_class="gp3"), clock.clock(), log)
    assert not result.ok
    assert clock.t >= 60
    assert result.problems[:2] == [
        "claim smoke-gp3 is Pending after 60s",
        '  PersistentVolumeClaim smoke-gp3: ProvisioningFailed storageclass.storage.k8s.io "gp3" not found',
    ]
    assert "pod smoke-gp3 is Pending" in result.problems
    assert any("unbound immediate PersistentVolumeClaims" in p for p in result.problems)
    assert k.deletes() == ["pod/smoke-gp3", "persistentvolumeclaim/smoke-gp3", f"namespace/{GP3_NS}"]
    assert "[gp3] FAILED" in result.format()


def test_gp3_pod_whose_script_fails_stops_the_wait_with_its_exit_and_log() -> None:
    k = gp3_cluster(bound=True)
    failed = pod_json("smoke-gp3", GP3_NS, KARPENTER_NODE, running=False)
    failed["status"] = {
        "phase": "Failed",
        "containerStatuses": [
            {
                "name": "check",
                "ready": False,
                "restartCount": 0,
                "state": {
                    "terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-11-20T09:15:10Z"}
                },
            }
        ],
    }
    k.on("get", "pod", "smoke-gp3", answers=[failed])
    k.on("get", "events", answers=[events_json("Pod", "smoke-gp3", GP3_NS)])
    k.on("logs", answers=["sh: can't create /data/smoke: Permission denied\n"])
    clock = FakeClock()
    result = smoke_checks.check_gp3(k, opts(), clock.clock(), log)
    assert clock.t == 10  # one poll while the claim was Pending; no waiting for the ended pod
    assert result.problems == [
        "claim smoke-gp3 is Bound, but a pod stopped (its script failed)",
        "pod smoke-gp3 is Failed",
        "  container check terminated: Error, exit code 1",
        "  log: sh: can't create /data/smoke: Permission denied",
    ]
    assert k.deletes()[-1] == f"namespace/{GP3_NS}"


def test_gp3_pod_on_a_node_karpenter_did_not_launch_fails() -> None:
    k = gp3_cluster(bound=True, karpenter=False)
    result = smoke_checks.check_gp3(k, opts(), FakeClock().clock(), log)
    assert result.problems == [
        f"pod smoke-gp3 runs on {KARPENTER_NODE}, which has no karpenter.sh/nodepool label"
    ]


def test_cleanup_runs_on_ctrl_c_and_reports_what_it_could_not_delete() -> None:
    k = gp3_cluster(bound=True)
    k.on("get", "pvc", "smoke-gp3", answers=[KeyboardInterrupt()])
    k.on("delete", "persistentvolumeclaim", answers=[SmokeError("the server was unreachable")])
    with pytest.raises(KeyboardInterrupt):
        smoke_checks.check_gp3(k, opts(), FakeClock().clock(), log)
    assert k.deletes() == ["pod/smoke-gp3", "persistentvolumeclaim/smoke-gp3", f"namespace/{GP3_NS}"]


# --- efs -----------------------------------------------------------------------------------------------

EFS_NS = f"smoke-efs-{TOKEN}"


def efs_cluster(read: list[Any]) -> FakeKubectl:
    k = FakeKubectl()
    k.on("get", "pvc", "smoke-efs", answers=[pvc_json("smoke-efs", EFS_NS, "efs", "ReadWriteMany", True)])
    k.on(
        "get", "pod", "smoke-efs-writer", answers=[pod_json("smoke-efs-writer", EFS_NS, KARPENTER_NODE, True)]
    )
    k.on("get", "pod", "smoke-efs-reader", answers=[pod_json("smoke-efs-reader", EFS_NS, OTHER_NODE, True)])
    k.on(
        "get",
        "pv",
        answers=[pv_json("efs", "efs.csi.aws.com", "fs-0123456789abcdef0::fsap-0a1b2c3d4e5f6a7b8")],
    )
    k.on("get", "node", KARPENTER_NODE, answers=[node_json(KARPENTER_NODE)])
    k.on("get", "node", OTHER_NODE, answers=[node_json(OTHER_NODE)])
    k.on("exec", "--namespace", EFS_NS, "smoke-efs-reader", answers=read)
    return k


def test_efs_claim_shared_by_two_pods() -> None:
    missing = SmokeError(
        f"kubectl exec failed: cat: can't open '/data/smoke-{TOKEN}': No such file or directory"
    )
    k = efs_cluster([missing, TOKEN + "\n"])  # the writer's file shows up on the second read
    result = smoke_checks.check_efs(k, opts(), FakeClock().clock(), log)
    assert result.ok, result.format()
    assert "the pods run on different nodes" in result.found
    assert f"smoke-efs-reader read what smoke-efs-writer wrote to /data/smoke-{TOKEN}" in result.found
    claim = k.applied[1]
    assert (claim["spec"]["storageClassName"], claim["spec"]["accessModes"]) == ("efs", ["ReadWriteMany"])
    writer = k.applied[2]
    assert f"echo {TOKEN} > /data/smoke-{TOKEN}" in writer["spec"]["containers"][0]["command"][2]
    assert k.deletes() == [
        "pod/smoke-efs-reader",
        "pod/smoke-efs-writer",
        "persistentvolumeclaim/smoke-efs",
        f"namespace/{EFS_NS}",
    ]


def test_efs_reader_never_sees_the_file() -> None:
    missing = SmokeError(
        f"kubectl exec failed: cat: can't open '/data/smoke-{TOKEN}': No such file or directory"
    )
    k = efs_cluster([missing])
    result = smoke_checks.check_efs(k, opts(efs_class="shared"), FakeClock().clock(), log)
    [problem] = result.problems
    assert problem == (
        f"smoke-efs-reader does not read what smoke-efs-writer wrote to /data/smoke-{TOKEN} ({TOKEN}): "
        f"kubectl exec failed: cat: can't open '/data/smoke-{TOKEN}': No such file or directory"
    )
    assert k.applied[1]["spec"]["storageClassName"] == "shared"
    assert k.deletes()[-1] == f"namespace/{EFS_NS}"


# --- s3 ------------------------------------------------------------------------------------------------

S3_POD = f"smoke-s3-{TOKEN}"
S3_KEY = f"karpenter-eks-smoke/{TOKEN}.txt"


def s3_cluster(rm: list[Any]) -> FakeKubectl:
    k = FakeKubectl()
    bound = pvc_json("data-claim", "apps", "", "ReadWriteMany", True)
    k.on("get", "pvc", "data-claim", answers=[bound])
    k.on("get", "pod", S3_POD, answers=[pod_json(S3_POD, "apps", KARPENTER_NODE, True)])
    k.on("get", "pv", answers=[pv_json("", "s3.csi.aws.com", "s3-csi-data-bucket")])
    k.on("get", "node", KARPENTER_NODE, answers=[node_json(KARPENTER_NODE)])
    k.on("exec", "--namespace", "apps", S3_POD, "--", "sh", "-c", f"cat /data/{S3_KEY}", answers=[TOKEN])
    k.on("exec", "--namespace", "apps", S3_POD, "--", "sh", "-c", f"rm /data/{S3_KEY}", answers=rm)
    k.on("exec", "--namespace", "apps", S3_POD, answers=[""])  # the write
    return k


def test_s3_object_written_read_and_deleted_in_the_claims_namespace() -> None:
    k = s3_cluster([""])
    result = smoke_checks.check_s3(
        k, opts(s3_claim="data-claim", s3_namespace="apps"), FakeClock().clock(), log
    )
    assert result.ok and result.cleanup_problems == [], result.format()
    assert [(m["kind"], m["metadata"]["namespace"]) for m in k.applied] == [("Pod", "apps")]  # no namespace
    execs = [c[-1] for c in k.calls if c[0] == "exec"]
    assert execs == [
        f"mkdir -p /data/karpenter-eks-smoke && echo {TOKEN} > /data/{S3_KEY}",  # a new key: no overwrite
        f"cat /data/{S3_KEY}",
        f"rm /data/{S3_KEY}",  # cleanup, before the pod goes
    ]
    assert k.deletes() == [f"pod/{S3_POD}"]


def test_s3_mount_without_delete_leaves_the_object_and_says_so() -> None:
    refused = SmokeError(f"kubectl exec failed: rm: can't remove '/data/{S3_KEY}': Operation not permitted")
    k = s3_cluster([refused])
    result = smoke_checks.check_s3(
        k, opts(s3_claim="data-claim", s3_namespace="apps"), FakeClock().clock(), log
    )
    assert result.ok
    [left] = result.cleanup_problems
    assert f"object {S3_KEY} is left in the bucket" in left and "Operation not permitted" in left
    assert k.deletes() == [f"pod/{S3_POD}"]


def test_s3_missing_claim_creates_nothing() -> None:
    k = FakeKubectl().on("get", "pvc", answers=[not_found("nope")])
    result = smoke_checks.check_s3(k, opts(s3_claim="nope", s3_namespace="apps"), FakeClock().clock(), log)
    assert result.problems == ["claim nope does not exist in namespace apps"]
    assert k.applied == [] and k.deletes() == []
    assert smoke_checks.check_s3(k, opts(), FakeClock().clock(), log).problems == [
        "the s3 check needs --s3-claim and --s3-namespace (a bucket's claim)"
    ]


# --- alb -----------------------------------------------------------------------------------------------

ALB_NS = f"smoke-alb-{TOKEN}"
ALB_HOST = "k8s-smokealb-smokealb-4f1c2e9a7b-1234567890.eu-west-1.elb.amazonaws.com"


def alb_cluster(hostnames: list[str | None]) -> FakeKubectl:
    k = FakeKubectl()
    k.on("get", "ingress", "smoke-alb", answers=[ingress_json(ALB_NS, h) for h in hostnames])
    k.on(
        "get",
        "events",
        answers=[
            events_json(
                "Ingress",
                "smoke-alb",
                ALB_NS,
                ("Warning", "FailedBuildModel", "Failed build model due to couldn't auto-discover subnets"),
            )
        ],
    )
    return k


def http(answers: list[tuple[int, str]]) -> tuple[Callable[[str, float], tuple[int, str]], list[str]]:
    urls: list[str] = []

    def get(url: str, timeout: float) -> tuple[int, str]:
        urls.append(url)
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return get, urls


def test_alb_ingress_answers_and_is_deleted_first_waiting_for_the_alb() -> None:
    k = alb_cluster([None, None, ALB_HOST])
    get, urls = http(
        [
            (0, "[Errno -2] Name or service not known"),
            (503, "503 Service Temporarily Unavailable"),
            (200, TOKEN + "\n"),
        ]
    )
    result = smoke_checks.check_alb(k, opts(ingress_delete_timeout=900), FakeClock().clock(), log, get)
    assert result.ok, result.format()
    assert result.found == [
        f"Ingress smoke-alb has the address {ALB_HOST}",
        f"GET http://{ALB_HOST}/ answered 200 with the service's page",
    ]
    assert urls == [f"http://{ALB_HOST}/"] * 3
    assert [m["kind"] for m in k.applied] == ["Namespace", "Deployment", "Service", "Ingress"]
    assert k.deletes() == [
        "ingress/smoke-alb",
        "service/smoke-alb",
        "deployment/smoke-alb",
        f"namespace/{ALB_NS}",
    ]
    ingress_delete = next(c for c in k.calls if c[:2] == ("delete", "ingress"))
    assert "--wait=true" in ingress_delete and "--timeout=900s" in ingress_delete


def test_alb_ingress_without_address_reports_the_controllers_events() -> None:
    k = alb_cluster([None])
    get, urls = http([(200, TOKEN)])
    result = smoke_checks.check_alb(k, opts(), FakeClock().clock(), log, get)
    assert result.problems == [
        "Ingress smoke-alb has no load balancer address after 60s",
        "  Ingress smoke-alb: FailedBuildModel Failed build model due to couldn't auto-discover subnets",
    ]
    assert urls == []
    assert k.deletes()[0] == "ingress/smoke-alb"


def test_alb_answering_something_else_fails_with_the_pods_reasons() -> None:
    k = alb_cluster([ALB_HOST])
    web = pod_json("smoke-alb-7d9f8b6c5-x2x7q", ALB_NS, KARPENTER_NODE, running=False)
    web["status"]["containerStatuses"] = [
        {
            "image": smoke_checks.CHECK_IMAGE,
            "name": "check",
            "ready": False,
            "restartCount": 0,
            "state": {
                "waiting": {
                    "message": 'Back-off pulling image "public.ecr.aws/docker/library/busybox:1.36"',
                    "reason": "ImagePullBackOff",
                }
            },
        }
    ]
    k.on("get", "pods", "--namespace", ALB_NS, answers=[{"apiVersion": "v1", "kind": "List", "items": [web]}])
    get, _ = http([(503, "<html>503 Service Temporarily Unavailable</html>")])
    result = smoke_checks.check_alb(k, opts(), FakeClock().clock(), log, get)
    assert result.problems[0] == (
        f"GET http://{ALB_HOST}/ did not answer with the service's page after 60s: "
        "HTTP 503 '<html>503 Service Temporarily Unavailable</html>'"
    )
    assert (
        '  container ImagePullBackOff: Back-off pulling image "public.ecr.aws/docker/library/busybox:1.36"'
        in result.problems
    )
    assert k.deletes()[0] == "ingress/smoke-alb"


# --- through python -m ops.smoke ---------------------------------------------------------------------


def test_check_arguments(tmp_path: Path) -> None:
    assert smoke.parse_args(["--kubeconfig", "kc"]).checks == ["capacity"]
    args = smoke.parse_args(["--kubeconfig", "kc", "--check", "gp3, alb,gp3", "--ingress-class", "ext"])
    assert (args.checks, args.ingress_class, args.gp3_class, args.efs_class) == (
        ["gp3", "alb"],
        "ext",
        "gp3",
        "efs",
    )
    with pytest.raises(SystemExit):
        smoke.parse_args(["--kubeconfig", "kc", "--check", "gp2"])
    with pytest.raises(SystemExit):
        smoke.parse_args(["--kubeconfig", "kc", "--check", "s3", "--s3-claim", "c"])  # no namespace


def test_main_runs_only_the_chosen_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    k = alb_cluster([ALB_HOST]).on(
        "get", "nodepools.karpenter.sh", answers=["nodepool.karpenter.sh/graviton-spot\n"]
    )
    monkeypatch.setattr(cli, "Kubectl", lambda *a: k)
    monkeypatch.setattr(common.secrets, "token_hex", lambda n: TOKEN)
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text("{}")
    get, _ = http([(200, TOKEN)])
    assert (
        smoke.main(["--kubeconfig", str(kubeconfig), "--check", "alb", "--interval", "1"], http_get=get) == 0
    )
    out = capsys.readouterr().out
    assert "[alb] OK" in out and "OK: alb" in out
    assert all(
        m["kind"] != "Deployment" or m["metadata"]["name"] == "smoke-alb" for m in k.applied
    )  # no inflate
    # A failing check: exit 1.
    k2 = alb_cluster([None]).on("get", "nodepools.karpenter.sh", answers=["nodepool.karpenter.sh/x\n"])
    monkeypatch.setattr(cli, "Kubectl", lambda *a: k2)
    argv = [
        "--kubeconfig",
        str(kubeconfig),
        "--check",
        "alb",
        "--check-timeout",
        "0.01",
        "--interval",
        "0.01",
    ]
    assert smoke.main(argv, http_get=get) == 1
    assert "FAILED: alb" in capsys.readouterr().err
