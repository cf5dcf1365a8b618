"""ops/destroy_preflight.py against recorded `kubectl get -o json` output (tests/fixtures/
destroy_preflight/): a healthy
cluster, and one where a destroy would hang, fail or leave things behind."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ops import destroy_preflight as preflight
from ops.destroy_preflight import QUERIES, Finding, findings, selector_matches
from ops.kubectl import Kubectl

FIXTURES = Path(__file__).parent / "fixtures" / "destroy_preflight"


def recorded(scenario: str) -> Kubectl:
    """A kubectl answering each of the pre-flight's queries with the recorded output."""
    by_args = {("get", *query, "-o", "json"): key for key, query in QUERIES.items()}

    def run(argv: Sequence[str], **_: Any) -> subprocess.CompletedProcess[str]:
        key = by_args[tuple(argv[1:])]  # anything else (apply, delete, ...) is a KeyError: read-only
        return subprocess.CompletedProcess(argv, 0, (FIXTURES / scenario / f"{key}.json").read_text(), "")

    return Kubectl(runner=run)


def load(scenario: str) -> dict[str, dict[str, object]]:
    return preflight.collect(recorded(scenario))


def test_healthy_cluster_has_nothing_in_the_way(capsys: pytest.CaptureFixture[str]) -> None:
    assert findings(load("healthy")) == []
    assert preflight.main(["--kubeconfig", "unused"], kubectl=recorded("healthy")) == 0
    assert "OK: nothing found" in capsys.readouterr().out


def test_blocked_cluster_lists_every_obstacle() -> None:
    found = findings(load("blocked"))
    assert sorted((f.kind, f.object) for f in found) == [
        ("claim-in-use", "pod/exporter-on-fargate-5c4b3a2d1-x9y8z -n data"),
        ("controller", "deployment/karpenter -n karpenter"),
        ("do-not-disrupt", "pod/report-28919340-xk2lp -n batch"),
        ("drained-claim", "pod/exporter-7d9f6c5b8-k2m4n -n data"),
        ("finalizer", "gateway/public -n shop"),
        ("finalizer", "namespace/old-team"),
        ("finalizer", "nodepool/graviton-spot"),
        ("gateway", "gateway/public -n shop"),
        ("load-balancer", "ingress/web -n shop"),
        ("load-balancer", "service/ingress-nginx-controller -n ingress-nginx"),
        ("nodeclaim", "nodeclaim/x86-on-demand-4bz7w"),
        ("pdb", "pdb/web -n shop"),
        ("target-group-binding", "targetgroupbinding/legacy-nlb -n shop"),
        ("volume", "pvc/data-postgres-0 -n data"),
    ]
    by_kind = {f.kind: f for f in found}
    # The web PDB guards two pods on a Karpenter node; CoreDNS's (also 0) guards pods on Fargate only,
    # and the api PDB still allows one eviction.
    assert "2 pod(s) on Karpenter node(s) ip-10-40-97-12.eu-west-1.compute.internal" in by_kind["pdb"].problem
    assert "0/2 replicas ready" in by_kind["controller"].problem
    assert "not Ready (being deleted): UnhealthyDependents: Registered=False" in by_kind["nodeclaim"].problem
    assert "vol-0a1b2c3d4e5f67890" in by_kind["volume"].problem and "CSI driver" in by_kind["volume"].problem
    # The Succeeded pod with do-not-disrupt no longer blocks anything.
    assert sum(f.kind == "do-not-disrupt" for f in found) == 1


def test_every_finding_says_the_way_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert preflight.main(["--kubeconfig", "unused"], kubectl=recorded("blocked")) == 1
    out = capsys.readouterr().out
    assert out.startswith("14 finding(s) before `pulumi destroy`:")
    assert out.count("    way out: ") == 14
    # Blocking findings first.
    assert out.index("[blocks]") < out.index("[fails]") < out.index("[leaks]")
    assert set(preflight.WAY_OUT) == set(preflight.SEVERITY)


@pytest.mark.parametrize(
    ("selector", "labels", "match"),
    [
        ({"matchLabels": {"app": "web"}}, {"app": "web", "x": "1"}, True),
        ({"matchLabels": {"app": "web"}}, {"app": "api"}, False),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "b"]}]}, {"app": "b"}, True),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["a"]}]}, {"app": "a"}, False),
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, {}, True),
        ({}, {"anything": "x"}, True),  # policy/v1: an empty selector selects every pod
        (None, {"anything": "x"}, False),
    ],
)
def test_label_selectors(selector: dict[str, object] | None, labels: dict[str, str], match: bool) -> None:
    assert selector_matches(selector, labels) is match


def test_missing_controller_and_absent_karpenter_crds() -> None:
    docs = load("healthy")
    docs["controllers"] = {"items": []}
    [finding] = findings(docs)
    assert finding == Finding(
        "controller",
        "deployment/karpenter",
        "no Karpenter controller found (label app.kubernetes.io/name=karpenter): nothing will drain and "
        "terminate the nodes or remove the NodeClaims' finalizers",
    )

    def no_crds(argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        if "karpenter" in argv[2]:
            return subprocess.CompletedProcess(
                argv, 1, "", f'error: the server doesn\'t have a resource type "{argv[2]}"'
            )
        return recorded("healthy").runner(argv, **kw)

    assert preflight.collect(Kubectl(runner=no_crds))["nodeclaims"] == {"items": []}

    def no_lbc_or_gateway_api(argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        if argv[2].endswith(("elbv2.k8s.aws", "gateway.networking.k8s.io")):
            return subprocess.CompletedProcess(
                argv, 1, "", f'error: the server doesn\'t have a resource type "{argv[2]}"'
            )
        return recorded("healthy").runner(argv, **kw)

    docs = preflight.collect(Kubectl(runner=no_lbc_or_gateway_api))
    assert docs["targetgroupbindings"] == docs["gateways"] == {"items": []}


FAKE_KUBECTL = """#!{python}
import sys
from pathlib import Path
with open({log!r}, "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
args = sys.argv[3:]
if args[0] != "get":
    sys.exit("refused: " + " ".join(args))
print(Path({fixtures!r}, {keys!r}[args[1]] + ".json").read_text())
"""


@pytest.mark.skipif(sys.platform == "win32", reason="the fake kubectl is a shebang script")
def test_kubectl_is_only_asked_to_get(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = tmp_path / "kubeconfig.json"
    kubeconfig.write_text("{}")
    log = tmp_path / "calls.log"
    script = tmp_path / "kubectl"
    keys = {query[0]: key for key, query in QUERIES.items()}
    script.write_text(
        FAKE_KUBECTL.format(
            python=sys.executable, log=str(log), fixtures=str(FIXTURES / "blocked"), keys=keys
        )
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    assert preflight.main(["--kubeconfig", str(kubeconfig), "--kubectl", str(script)]) == 1
    calls = log.read_text().splitlines()
    assert len(calls) == len(QUERIES)
    assert all(c.startswith(f"--kubeconfig {kubeconfig} get ") and c.endswith(" -o json") for c in calls)
    assert "pdb/web -n shop" in capsys.readouterr().out
    assert preflight.main(["--kubeconfig", str(tmp_path / "missing")]) == 2


def test_fixtures_are_kubectl_lists() -> None:
    for path in FIXTURES.glob("*/*.json"):
        doc = json.loads(path.read_text())
        assert doc["kind"] == "List" and isinstance(doc["items"], list), path


def test_an_ingress_pulumi_manages_is_a_note_not_a_blocker() -> None:
    """The stack's own Ingress (Portainer's) is deleted by Pulumi before the load balancer controller: a
    note, and the exit status stays 0. One applied by anything else still fails the check."""
    docs = load("healthy")
    metadata: dict[str, object] = {
        "name": "portainer",
        "namespace": "portainer",
        "managedFields": [{"manager": "pulumi-kubernetes-3f1a9c2e", "operation": "Apply"}],
    }
    ours = {
        "metadata": metadata,
        "spec": {"ingressClassName": "alb"},
        "status": {"loadBalancer": {"ingress": [{"hostname": "internal-k8s-portaine.elb.amazonaws.com"}]}},
    }
    docs["ingresses"] = {"items": [ours]}
    found = findings(docs)
    assert [(f.kind, f.severity) for f in found] == [("pulumi-load-balancer", "note")]
    assert not preflight.in_the_way(found)
    theirs = {
        **ours,
        "metadata": {**metadata, "managedFields": [{"manager": "kubectl-client-side-apply"}]},
    }
    docs["ingresses"] = {"items": [theirs]}
    assert [(f.kind, f.severity) for f in findings(docs)] == [("load-balancer", "fails")]


def test_pods_mounting_the_stacks_claims() -> None:
    """Only claims Pulumi applies count; a pod on a Karpenter node is drained before the claim goes (a
    note), one elsewhere (Fargate, a node group) holds the claim; the stack's Portainer pod is deleted by
    its release before its claim."""
    found = {f.object: f for f in findings(load("blocked")) if f.kind in ("claim-in-use", "drained-claim")}
    fargate = found["pod/exporter-on-fargate-5c4b3a2d1-x9y8z -n data"]
    assert fargate.severity == "blocks" and "s3-karpenter-dev-scratch" in fargate.problem
    assert "10 minutes" in fargate.problem
    drained = found["pod/exporter-7d9f6c5b8-k2m4n -n data"]
    assert drained.severity == "note" and "NodePool graviton-spot" in drained.problem
    # postgres-0 mounts a claim nobody applied with Pulumi: not this check's business.
    assert not any("postgres" in o for o in found)
    docs = load("blocked")
    for pod in items_of(docs, "pods"):
        if pod["metadata"]["name"].startswith("exporter-on-fargate"):
            pod["metadata"]["labels"] = dict(preflight.PORTAINER_POD_LABELS)
    assert [f.object for f in findings(docs) if f.kind == "claim-in-use"] == []


def items_of(docs: dict[str, dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return list(docs[key]["items"])


def test_target_group_bindings_and_gateways_say_what_they_hold() -> None:
    by_kind = {f.kind: f for f in findings(load("blocked"))}
    tgb = by_kind["target-group-binding"]
    assert tgb.severity == "fails" and "targetgroup/legacy-nlb" in tgb.problem and "api" in tgb.problem
    gateway = by_kind["gateway"]
    assert (
        gateway.severity == "fails"
        and "aws-alb" in gateway.problem
        and "elb.amazonaws.com" in gateway.problem
    )
    assert "kubectl delete gateway" in gateway.way_out
