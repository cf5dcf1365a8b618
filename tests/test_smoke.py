"""ops/smoke/ without a cluster: the Deployment it applies, the report it makes of `kubectl get -o json`
output, and its whole run against a fake kubectl."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from ops import smoke


def node(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}


def karpenter_node(
    name: str, pool: str, capacity: str, arch: str, instance: str, zone: str
) -> dict[str, Any]:
    return node(
        name,
        {
            "karpenter.sh/nodepool": pool,
            "karpenter.sh/capacity-type": capacity,
            "kubernetes.io/arch": arch,
            "node.kubernetes.io/instance-type": instance,
            "topology.kubernetes.io/zone": zone,
            "karpenter.k8s.aws/instance-family": instance.split(".")[0],
        },
    )


NODES: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "List",
    "items": [
        karpenter_node("ip-10-40-1-10", "graviton-spot", "spot", "arm64", "m8g.xlarge", "eu-west-1a"),
        karpenter_node(
            "ip-10-40-2-20", "graviton-on-demand", "on-demand", "arm64", "c7g.xlarge", "eu-west-1b"
        ),
        karpenter_node("ip-10-40-3-30", "x86-spot", "spot", "amd64", "m7i.large", "eu-west-1c"),
        # A Karpenter node hosting none of the smoke pods, and the controller's Fargate node.
        karpenter_node("ip-10-40-3-99", "x86-on-demand", "on-demand", "amd64", "c7i.large", "eu-west-1c"),
        node(
            "fargate-ip-10-40-9-9",
            {"eks.amazonaws.com/compute-type": "fargate", "kubernetes.io/arch": "amd64"},
        ),
    ],
}


def pod(name: str, node_name: str | None, phase: str = "Running", **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "metadata": {"name": name, "labels": {"app": "inflate"}},
        "spec": {"nodeName": node_name} if node_name else {},
        "status": {"phase": phase},
    }
    for key, value in extra.items():
        doc[key].update(value)
    return doc


UNSCHEDULABLE = {
    "conditions": [
        {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": "0/5 nodes are available: 5 Insufficient cpu.",
        }
    ]
}


def pods(*items: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": list(items)}


PLACED = pods(
    pod("inflate-a", "ip-10-40-1-10"),
    pod("inflate-b", "ip-10-40-1-10"),
    pod("inflate-c", "ip-10-40-1-10"),
    pod("inflate-d", "ip-10-40-2-20"),
    pod("inflate-e", "ip-10-40-2-20"),
    pod("inflate-f", "ip-10-40-3-30"),
    # Replaced by the ReplicaSet: not counted.
    pod("inflate-old", "ip-10-40-3-99", metadata={"deletionTimestamp": "2025-01-01T00:00:00Z"}),
)

HALFWAY = pods(
    pod("inflate-a", "ip-10-40-1-10"),
    pod("inflate-b", "ip-10-40-1-10"),
    pod("inflate-c", "ip-10-40-2-20", phase="Pending"),  # bound, container starting
    pod("inflate-d", None, phase="Pending", status=UNSCHEDULABLE),
    pod("inflate-e", None, phase="Pending", status=UNSCHEDULABLE),
    pod("inflate-f", None, phase="Pending", status=UNSCHEDULABLE),
)


# --- the Deployment -------------------------------------------------------------------------------------


def pod_spec(manifest: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = manifest["spec"]["template"]["spec"]
    return spec


def karpenter_requirement(manifest: dict[str, Any]) -> dict[str, Any]:
    terms = pod_spec(manifest)["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    [term] = terms["nodeSelectorTerms"]
    [requirement] = term["matchExpressions"]
    return dict(requirement)


def test_default_deployment_asks_karpenter_for_one_cpu_per_pod() -> None:
    m = smoke.deployment_manifest()
    assert (m["apiVersion"], m["kind"]) == ("apps/v1", "Deployment")
    assert (m["metadata"]["name"], m["metadata"]["namespace"]) == ("inflate", "default")
    assert m["spec"]["replicas"] == 6
    labels = m["spec"]["template"]["metadata"]["labels"]
    assert m["spec"]["selector"]["matchLabels"] == labels == {"app": "inflate"}
    [container] = pod_spec(m)["containers"]
    assert container["image"] == "public.ecr.aws/eks-distro/kubernetes/pause:3.7"
    assert container["resources"] == {"requests": {"cpu": "1"}}
    # Only nodes Karpenter launched, of any architecture, no spread unless asked.
    assert karpenter_requirement(m) == {"key": "karpenter.sh/nodepool", "operator": "Exists"}
    assert "nodeSelector" not in pod_spec(m)
    assert "topologySpreadConstraints" not in pod_spec(m)
    json.dumps(m)  # what `kubectl apply -f -` receives


def test_arch_pool_and_spread_options() -> None:
    labels = {"app": "inflate"}
    spread = [smoke.spread_constraint("karpenter.sh/capacity-type", labels)]
    m = smoke.deployment_manifest(replicas=4, arch="arm64", pool="graviton", spread=spread)
    assert m["spec"]["replicas"] == 4
    assert pod_spec(m)["nodeSelector"] == {"kubernetes.io/arch": "arm64"}
    assert karpenter_requirement(m) == {
        "key": "karpenter.sh/nodepool",
        "operator": "In",
        "values": ["graviton", "graviton-spot", "graviton-on-demand"],
    }
    [constraint] = pod_spec(m)["topologySpreadConstraints"]
    assert constraint == {
        "maxSkew": 1,
        "topologyKey": "karpenter.sh/capacity-type",
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": m["spec"]["template"]["metadata"]["labels"]},
    }


@pytest.mark.parametrize("kwargs", [{"arch": "x86_64"}, {"replicas": 0}])
def test_invalid_deployment_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(smoke.SmokeError):
        smoke.deployment_manifest(**kwargs)


def test_stack_output_constraint_is_made_to_count_the_smoke_pods() -> None:
    entry = {
        "maxSkew": 2,
        "topologyKey": "example.com/capacity-spread",
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "CHANGE-ME"}},
    }
    adopted = smoke.adopt_constraint(entry, {"app": "inflate"})
    assert adopted == {**entry, "labelSelector": {"matchLabels": {"app": "inflate"}}}
    assert entry["labelSelector"] == {"matchLabels": {"app": "CHANGE-ME"}}  # input untouched
    assert smoke.adopt_constraint({"topologyKey": "k"}, {"app": "x"})["whenUnsatisfiable"] == "DoNotSchedule"
    with pytest.raises(smoke.SmokeError, match="topologyKey"):
        smoke.adopt_constraint({"maxSkew": 1}, {"app": "x"})


def test_spread_constraints_file(tmp_path: Path) -> None:
    entry = {"maxSkew": 1, "topologyKey": "example.com/capacity-spread"}
    both = tmp_path / "spread.json"
    both.write_text(json.dumps({"graviton": entry, "x86": {**entry, "maxSkew": 3}}))
    assert smoke.load_spread_entry(both, "x86")["maxSkew"] == 3
    with pytest.raises(smoke.SmokeError, match="--pool"):
        smoke.load_spread_entry(both, None)
    with pytest.raises(smoke.SmokeError, match="no entry for pool 'gpu'"):
        smoke.load_spread_entry(both, "gpu")
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"graviton": entry}))
    assert smoke.load_spread_entry(one, None) == entry
    with pytest.raises(smoke.SmokeError, match="cannot read"):
        smoke.load_spread_entry(tmp_path / "missing.json", None)

    args = smoke.parse_args(
        ["--kubeconfig", "kc", "--pool", "graviton", "--spread", "zone", "--spread-constraints", str(both)]
    )
    constraints = pod_spec(smoke.build_manifest(args))["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in constraints] == [
        "topology.kubernetes.io/zone",
        "example.com/capacity-spread",
    ]
    assert all(c["labelSelector"] == {"matchLabels": {"app": "inflate"}} for c in constraints)


def test_the_stack_outputs_feed_the_smoke_test(dev_plan: Any, tmp_path: Path) -> None:
    """`pulumi stack output spreadConstraints --json` works as --spread-constraints, and --pool allows
    exactly the NodePools the stack creates for that pool. (`dev_plan` is conftest's harness.plan.Plan.)"""
    outputs: dict[str, Any] = dev_plan.outputs
    spread_file = tmp_path / "spread.json"
    spread_file.write_text(json.dumps(outputs["spreadConstraints"]))
    covered: list[str] = []
    for pool, entry in outputs["spreadConstraints"].items():
        args = smoke.parse_args(
            ["--kubeconfig", "kc", "--pool", pool, "--spread-constraints", str(spread_file)]
        )
        manifest = smoke.build_manifest(args)
        [constraint] = pod_spec(manifest)["topologySpreadConstraints"]
        assert constraint == {**entry, "labelSelector": {"matchLabels": {"app": "inflate"}}}
        allowed = karpenter_requirement(manifest)["values"]
        assert {f"{pool}-spot", f"{pool}-on-demand"} <= set(outputs["nodePoolNames"]) & set(allowed)
        covered += [name for name in outputs["nodePoolNames"] if name in allowed]
    assert sorted(covered) == sorted(outputs["nodePoolNames"])


# --- the report -----------------------------------------------------------------------------------------


def test_summary_of_placed_pods() -> None:
    report = smoke.summarise(NODES, PLACED, replicas=6)
    assert report.done
    assert (report.running, report.pending, report.elsewhere) == (6, 0, [])
    assert [(n.name, n.pods) for n in report.nodes] == [
        ("ip-10-40-2-20", 2),
        ("ip-10-40-1-10", 3),
        ("ip-10-40-3-30", 1),
    ]  # by NodePool, then capacity type, zone, name
    first = report.nodes[1]
    assert (first.nodepool, first.capacity_type, first.arch, first.instance_type, first.zone) == (
        "graviton-spot",
        "spot",
        "arm64",
        "m8g.xlarge",
        "eu-west-1a",
    )
    assert report.node_counts("capacity_type") == {"spot": 2, "on-demand": 1}
    assert report.pod_counts("capacity_type") == {"spot": 4, "on-demand": 2}
    assert report.node_counts("arch") == {"arm64": 2, "amd64": 1}
    assert report.pod_counts("arch") == {"arm64": 5, "amd64": 1}
    assert report.other_karpenter_nodes == 1  # ip-10-40-3-99; the Fargate node is not Karpenter's
    assert smoke.placement_problems(report) == []


def test_summary_while_waiting() -> None:
    report = smoke.summarise(NODES, HALFWAY, replicas=6)
    assert not report.done
    assert (report.running, report.pending) == (2, 4)
    # A pod bound to a node but not Running yet already shows that node.
    assert {n.name: n.pods for n in report.nodes} == {"ip-10-40-1-10": 2, "ip-10-40-2-20": 1}
    assert smoke.progress_line(report) == "2/6 running on Karpenter nodes, 4 pending, 2 node(s)"
    assert smoke.pending_reasons(HALFWAY) == [
        "PodScheduled: Unschedulable 0/5 nodes are available: 5 Insufficient cpu."
    ]


def test_placement_problems() -> None:
    fargate = pods(*PLACED["items"][:5], pod("inflate-f", "fargate-ip-10-40-9-9"))
    report = smoke.summarise(NODES, fargate, replicas=6)
    assert not report.done and report.elsewhere == ["inflate-f"]
    assert smoke.placement_problems(report) == [
        "pod inflate-f runs on a node without the karpenter.sh/nodepool label"
    ]
    placed = smoke.summarise(NODES, PLACED, replicas=6)
    assert smoke.placement_problems(placed, arch="arm64") == [
        "node ip-10-40-3-30 is amd64, arm64 was asked for"
    ]
    assert smoke.placement_problems(placed, pool="graviton") == [
        "node ip-10-40-3-30 belongs to NodePool x86-spot, not to pool graviton"
    ]


def test_unlabelled_and_empty_input() -> None:
    report = smoke.summarise({"items": [node("n1", {"karpenter.sh/nodepool": "p"})]}, pods(pod("a", "n1")), 1)
    [only] = report.nodes
    assert (only.capacity_type, only.arch, only.instance_type, only.zone) == ("?", "?", "?", "?")
    empty = smoke.summarise({}, {}, 3)
    assert (empty.running, empty.pending, empty.nodes) == (0, 0, [])
    assert "capacity type: none" in smoke.format_report(empty)


def test_formatted_report() -> None:
    text = smoke.format_report(smoke.summarise(NODES, PLACED, replicas=6))
    lines = text.splitlines()
    assert lines[0] == "6/6 pods Running on 3 Karpenter node(s)"
    header = next(line for line in lines if line.startswith("NODE"))
    assert header.split() == ["NODE", "NODEPOOL", "CAPACITY", "ARCH", "INSTANCE", "TYPE", "ZONE", "PODS"]
    assert any(
        line.split() == ["ip-10-40-1-10", "graviton-spot", "spot", "arm64", "m8g.xlarge", "eu-west-1a", "3"]
        for line in lines
    )
    assert "capacity type: spot 2 node(s) / 4 pod(s), on-demand 1 node(s) / 2 pod(s)" in lines
    assert "architecture:  arm64 2 node(s) / 5 pod(s), amd64 1 node(s) / 1 pod(s)" in lines
    assert "(1 other Karpenter node(s) host none of these pods)" in lines


# --- a whole run, against a fake kubectl ----------------------------------------------------------------

FAKE_KUBECTL = """#!{python}
import json, sys
from pathlib import Path
state = Path({state!r})
args = sys.argv[1:]
with (state / "calls.log").open("a") as log:
    log.write(" ".join(args) + "\\n")
assert args[:2] == ["--kubeconfig", {kubeconfig!r}], args
args = args[2:]
if args[:2] == ["get", "nodepools.karpenter.sh"]:
    print("nodepool.karpenter.sh/graviton-spot\\nnodepool.karpenter.sh/graviton-on-demand")
elif args[:2] == ["apply", "-f"]:
    (state / "applied.json").write_text(sys.stdin.read())
    print("deployment.apps/inflate created")
elif args[:2] == ["get", "pods"]:
    print((state / "pods.json").read_text())
elif args[:2] == ["get", "nodes"]:
    print((state / "nodes.json").read_text())
elif args[:1] == ["delete"]:
    print("deployment.apps/inflate deleted")
else:
    sys.exit("unexpected: " + " ".join(args))
"""


@pytest.fixture
def fake_kubectl(tmp_path: Path) -> tuple[Path, Path]:
    kubeconfig = tmp_path / "kubeconfig.json"
    kubeconfig.write_text("{}")
    (tmp_path / "nodes.json").write_text(json.dumps(NODES))
    (tmp_path / "pods.json").write_text(json.dumps(PLACED))
    script = tmp_path / "kubectl"
    script.write_text(
        FAKE_KUBECTL.format(python=sys.executable, state=str(tmp_path), kubeconfig=str(kubeconfig))
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, kubeconfig


def run_main(fake: tuple[Path, Path], *extra: str) -> int:
    script, kubeconfig = fake
    return smoke.main(
        ["--kubeconfig", str(kubeconfig), "--kubectl", str(script), "--interval", "0.05", *extra]
    )


@pytest.mark.skipif(sys.platform == "win32", reason="the fake kubectl is a shebang script")
def test_run_reports_and_cleans_up(
    fake_kubectl: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    state = fake_kubectl[0].parent
    assert run_main(fake_kubectl, "--arch", "any") == 0
    out = capsys.readouterr().out
    assert "NodePools: graviton-on-demand, graviton-spot" in out
    assert "6/6 pods Running on 3 Karpenter node(s)" in out
    assert "OK: Karpenter launched capacity for every pod" in out
    applied = json.loads((state / "applied.json").read_text())
    assert applied == smoke.deployment_manifest()
    calls = (state / "calls.log").read_text().splitlines()
    assert calls[-1].split()[2:5] == ["delete", "deployment", "inflate"]


@pytest.mark.skipif(sys.platform == "win32", reason="the fake kubectl is a shebang script")
def test_run_keep_and_unexpected_placement(
    fake_kubectl: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    state = fake_kubectl[0].parent
    # arm64 asked for, and (the fake cluster ignoring the nodeSelector) an amd64 node shows up: exit 1.
    assert run_main(fake_kubectl, "--arch", "arm64", "--keep") == 1
    captured = capsys.readouterr()
    assert "UNEXPECTED: node ip-10-40-3-30 is amd64, arm64 was asked for" in captured.err
    assert "kept deployment/inflate" in captured.out
    assert not any(" delete " in f" {c} " for c in (state / "calls.log").read_text().splitlines())


@pytest.mark.skipif(sys.platform == "win32", reason="the fake kubectl is a shebang script")
def test_run_times_out_and_still_cleans_up(
    fake_kubectl: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    state = fake_kubectl[0].parent
    (state / "pods.json").write_text(json.dumps(HALFWAY))
    assert run_main(fake_kubectl, "--timeout", "0.2") == 1
    captured = capsys.readouterr()
    assert "TIMEOUT after 0.2s" in captured.err
    assert "Insufficient cpu" in captured.err
    assert "2/6 running on Karpenter nodes, 4 pending, 2 node(s)" in captured.out
    assert (state / "calls.log").read_text().splitlines()[-1].split()[2] == "delete"


def test_missing_kubeconfig_or_kubectl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main(["--kubeconfig", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text("{}")
    assert smoke.main(["--kubeconfig", str(kubeconfig), "--kubectl", str(tmp_path / "no-kubectl")]) == 2
    assert "not found" in capsys.readouterr().err
