"""Destroy pre-flight: what will block, hang or outlive `pulumi destroy` on a live cluster. Read-only.

    pulumi stack output kubeconfig --show-secrets > kubeconfig.json
    python -m ops.destroy_preflight --kubeconfig kubeconfig.json [--context NAME] [--kubectl PATH]

`pulumi destroy` deletes the NodePools first and waits (up to 45 minutes each) while Karpenter drains and
terminates their nodes, then the EC2NodeClasses, the controller, IAM and (create mode) the VPC. It hangs
or fails late when something in the cluster stops that. This lists, with the way out for each:

  pdb          a PodDisruptionBudget allowing no disruption (status.disruptionsAllowed 0) that protects pods
               on Karpenter nodes: their drain never finishes
  do-not-disrupt  pods annotated karpenter.sh/do-not-disrupt on Karpenter nodes: the drain waits for them
  controller   the Karpenter controller not ready: nothing removes the NodeClaims' finalizers
  nodeclaim    NodeClaims not Ready (launching, failing, or stuck terminating)
  load-balancer  Services of type LoadBalancer and Ingresses: their AWS load balancers are not Pulumi's,
               outlive the destroy and their network interfaces and security groups block deleting the VPC
  volume       PVCs bound to EBS volumes: deleted with the cluster only while the CSI driver still runs
               (reclaimPolicy Delete), or kept and billed forever (Retain)
  finalizer    objects already being deleted but held by a finalizer

Exit status: 0 nothing found, 1 findings, 2 usage or kubectl error. Needs only `kubectl` on PATH.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NODEPOOL_LABEL = "karpenter.sh/nodepool"
DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
EBS_DRIVER = "ebs.csi.aws.com"

# What is read, and how: (key, kubectl get arguments). Every call is a `get`.
QUERIES: dict[str, tuple[str, ...]] = {
    "nodes": ("nodes",),
    "pods": ("pods", "--all-namespaces"),
    "pdbs": ("poddisruptionbudgets.policy", "--all-namespaces"),
    # The chart's selector labels (charts/karpenter/templates/_helpers.tpl: app.kubernetes.io/name is the
    # chart name unless nameOverride is set).
    "controllers": ("deployments.apps", "--all-namespaces", "-l", "app.kubernetes.io/name=karpenter"),
    "nodeclaims": ("nodeclaims.karpenter.sh",),
    "nodepools": ("nodepools.karpenter.sh",),
    "nodeclasses": ("ec2nodeclasses.karpenter.k8s.aws",),
    "services": ("services", "--all-namespaces"),
    "ingresses": ("ingresses.networking.k8s.io", "--all-namespaces"),
    "pvcs": ("persistentvolumeclaims", "--all-namespaces"),
    "pvs": ("persistentvolumes",),
    "namespaces": ("namespaces",),
}

WAY_OUT = {
    "pdb": (
        "let the budget allow one eviction (scale the workload up, or relax minAvailable/maxUnavailable), "
        "or delete the PodDisruptionBudget before the destroy"
    ),
    "do-not-disrupt": (
        "remove the annotation (kubectl annotate pod NAME -n NS karpenter.sh/do-not-disrupt-) "
        "or delete the pod"
    ),
    "controller": (
        "make the controller healthy before the destroy (kubectl logs -n NS deploy/karpenter); if the "
        "cluster is beyond repair, terminate the instances tagged karpenter.sh/nodepool yourself and remove "
        "the finalizers of the NodeClaims, NodePools and EC2NodeClasses"
    ),
    "nodeclaim": (
        "find out why (kubectl describe nodeclaim NAME; the controller's logs): a NodeClaim that cannot "
        "launch or terminate holds its NodePool's and EC2NodeClass's deletion"
    ),
    "load-balancer": (
        "delete it first, while the AWS Load Balancer Controller (or the in-tree cloud provider) still runs "
        "to delete the AWS load balancer: kubectl delete service/ingress NAME -n NS"
    ),
    "pulumi-load-balancer": (
        "nothing, when it is this stack's (addons.portainer.ingress): Pulumi deletes it before the load "
        "balancer controller, which removes the AWS load balancer; when another Pulumi stack manages it, "
        "destroy or change that stack first"
    ),
    "volume": (
        "snapshot what you keep, then delete the PVC while the EBS CSI driver still runs; with reclaimPolicy "
        "Retain delete the EBS volume yourself afterwards"
    ),
    "finalizer": (
        "find the controller that owns the finalizer and let it finish; remove the finalizer by hand only "
        'when that controller is gone for good (kubectl patch ... -p \'{"metadata":{"finalizers":null}}\')'
    ),
}

SEVERITY = {
    "pdb": "blocks",
    "do-not-disrupt": "blocks",
    "controller": "blocks",
    "nodeclaim": "blocks",
    "finalizer": "blocks",
    "load-balancer": "fails",
    "pulumi-load-balancer": "note",
    "volume": "leaks",
}
"""`note`: reported, but not in the way (the exit status stays 0 when notes are all there is)."""


class PreflightError(Exception):
    """A usage or kubectl problem: exit status 2."""


@dataclass(frozen=True)
class Finding:
    kind: str
    object: str
    problem: str

    @property
    def severity(self) -> str:
        return SEVERITY[self.kind]

    @property
    def way_out(self) -> str:
        return WAY_OUT[self.kind]


# ---------------------------------------------------------------------------------------------------------
# Pure parts: what the cluster's JSON says.


def items(doc: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return list((doc or {}).get("items") or [])


def ref(obj: Mapping[str, Any], kind: str) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{kind}/{meta.get('name')}" + (f" -n {ns}" if ns else "")


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions). An empty selector matches every pod
    (policy/v1 PodDisruptionBudget semantics); a missing one matches none."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def karpenter_nodes(nodes: Mapping[str, Any]) -> dict[str, str]:
    """Node name -> its NodePool, for the nodes Karpenter launched."""
    out = {}
    for node in items(nodes):
        labels = (node.get("metadata") or {}).get("labels") or {}
        if NODEPOOL_LABEL in labels:
            out[node["metadata"]["name"]] = labels[NODEPOOL_LABEL]
    return out


def _live(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def _condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


def _pdb_findings(docs: Mapping[str, Mapping[str, Any]], pods: list[Mapping[str, Any]]) -> list[Finding]:
    """A PodDisruptionBudget that allows no disruption stops the drain of the pods it guards."""
    found: list[Finding] = []
    for pdb in items(docs.get("pdbs")):
        if (pdb.get("status") or {}).get("disruptionsAllowed", 1) != 0:
            continue
        ns = pdb["metadata"].get("namespace")
        selector = (pdb.get("spec") or {}).get("selector")
        guarded = [
            p
            for p in pods
            if p["metadata"].get("namespace") == ns
            and selector_matches(selector, p["metadata"].get("labels") or {})
        ]
        if guarded:
            nodes = sorted({str(p["spec"]["nodeName"]) for p in guarded})
            found.append(
                Finding(
                    "pdb",
                    ref(pdb, "pdb"),
                    f"allows no disruption and protects {len(guarded)} pod(s) on Karpenter node(s) "
                    f"{', '.join(nodes)}: their drain never finishes, the NodePool delete waits 45 minutes "
                    "and fails",
                )
            )
    return found


def _do_not_disrupt_findings(pods: list[Mapping[str, Any]], on_karpenter: Mapping[str, str]) -> list[Finding]:
    found: list[Finding] = []
    for pod in pods:
        annotations = pod["metadata"].get("annotations") or {}
        if annotations.get(DO_NOT_DISRUPT) == "true":
            found.append(
                Finding(
                    "do-not-disrupt",
                    ref(pod, "pod"),
                    f"on Karpenter node {pod['spec']['nodeName']} (NodePool "
                    f"{on_karpenter[pod['spec']['nodeName']]}) with {DO_NOT_DISRUPT}: the drain waits for it "
                    "(until the NodePool's terminationGracePeriod, if any)",
                )
            )
    return found


def _controller_findings(docs: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """Without a ready controller nothing drains the nodes or removes the NodeClaims' finalizers."""
    found: list[Finding] = []
    controllers = items(docs.get("controllers"))
    if not controllers:
        found.append(
            Finding(
                "controller",
                "deployment/karpenter",
                "no Karpenter controller found (label app.kubernetes.io/name=karpenter): nothing will "
                "drain and terminate the nodes or remove the NodeClaims' finalizers",
            )
        )
    for deploy in controllers:
        want = (deploy.get("spec") or {}).get("replicas", 1)
        ready = (deploy.get("status") or {}).get("readyReplicas", 0) or 0
        if want == 0 or ready < 1:
            found.append(
                Finding(
                    "controller",
                    ref(deploy, "deployment"),
                    f"{ready}/{want} replicas ready: nothing drains the nodes or removes the NodeClaims' "
                    "finalizers, so every NodePool delete hangs 45 minutes and fails",
                )
            )
    return found


def _nodeclaim_findings(docs: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    found: list[Finding] = []
    for claim in items(docs.get("nodeclaims")):
        ready = _condition(claim, "Ready")
        if ready is None or ready.get("status") != "True":
            reason = f"{ready.get('reason')}: {ready.get('message')}" if ready else "no Ready condition"
            deleting = " (being deleted)" if claim["metadata"].get("deletionTimestamp") else ""
            found.append(Finding("nodeclaim", ref(claim, "nodeclaim"), f"not Ready{deleting}: {reason}"))
    return found


def _load_balancer_findings(docs: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """AWS load balancers made for Services and Ingresses outlive the destroy and block the VPC."""
    found: list[Finding] = []
    for svc in items(docs.get("services")):
        if (svc.get("spec") or {}).get("type") == "LoadBalancer":
            ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            hosts = ", ".join(str(i.get("hostname") or i.get("ip")) for i in ingress) or "not provisioned yet"
            found.append(
                Finding(
                    "load-balancer",
                    ref(svc, "service"),
                    f"type LoadBalancer ({hosts}): the AWS load balancer is not Pulumi's; it outlives the "
                    "destroy, and its network interfaces and security groups block deleting the subnets "
                    "and VPC",
                )
            )
    for ing in items(docs.get("ingresses")):
        ingress = ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        hosts = ", ".join(str(i.get("hostname") or i.get("ip")) for i in ingress) or "no address"
        klass = (ing.get("spec") or {}).get("ingressClassName") or "default class"
        if managed_by_pulumi(ing):
            found.append(
                Finding(
                    "pulumi-load-balancer",
                    ref(ing, "ingress"),
                    f"Ingress ({klass}, {hosts}) managed by Pulumi (field manager pulumi-kubernetes-*)",
                )
            )
            continue
        found.append(
            Finding(
                "load-balancer",
                ref(ing, "ingress"),
                f"Ingress ({klass}, {hosts}): a load balancer controller made an AWS load balancer for it "
                "that outlives the destroy and blocks deleting the VPC",
            )
        )
    return found


def _volume_findings(docs: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    found: list[Finding] = []
    pvs = {pv["metadata"]["name"]: pv for pv in items(docs.get("pvs"))}
    for pvc in items(docs.get("pvcs")):
        if (pvc.get("status") or {}).get("phase") != "Bound":
            continue
        pv = pvs.get(str((pvc.get("spec") or {}).get("volumeName")))
        if pv is None:
            continue
        spec = pv.get("spec") or {}
        csi = spec.get("csi") or {}
        if csi.get("driver") == EBS_DRIVER or "awsElasticBlockStore" in spec:
            volume = csi.get("volumeHandle") or (spec.get("awsElasticBlockStore") or {}).get("volumeID")
            policy = spec.get("persistentVolumeReclaimPolicy", "Delete")
            fate = (
                "deleted only if the PVC is deleted while the EBS CSI driver still runs"
                if policy == "Delete"
                else "kept after the cluster is gone (reclaimPolicy Retain), and billed"
            )
            found.append(Finding("volume", ref(pvc, "pvc"), f"bound to EBS volume {volume}: {fate}"))
    return found


def _finalizer_findings(docs: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    found: list[Finding] = []
    for key, kind in (
        ("namespaces", "namespace"),
        ("nodepools", "nodepool"),
        ("nodeclasses", "ec2nodeclass"),
        ("services", "service"),
        ("pvcs", "pvc"),
        ("pvs", "pv"),
    ):
        for obj in items(docs.get(key)):
            meta = obj.get("metadata") or {}
            # A namespace's own finalizers are in spec.finalizers.
            held = meta.get("finalizers") or (obj.get("spec") or {}).get("finalizers") or []
            if meta.get("deletionTimestamp") and held:
                found.append(
                    Finding(
                        "finalizer",
                        ref(obj, kind),
                        f"being deleted since {meta['deletionTimestamp']}, held by {', '.join(held)}",
                    )
                )
    return found


def findings(docs: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    on_karpenter = karpenter_nodes(docs.get("nodes") or {})
    pods = [
        p
        for p in items(docs.get("pods"))
        if _live(p) and (p.get("spec") or {}).get("nodeName") in on_karpenter
    ]
    return [
        *_pdb_findings(docs, pods),
        *_do_not_disrupt_findings(pods, on_karpenter),
        *_controller_findings(docs),
        *_nodeclaim_findings(docs),
        *_load_balancer_findings(docs),
        *_volume_findings(docs),
        *_finalizer_findings(docs),
    ]


def managed_by_pulumi(obj: Mapping[str, Any]) -> bool:
    """Whether pulumi-kubernetes applies the object: its server-side-apply field manager is
    `pulumi-kubernetes-<suffix>` (`pulumi-kubernetes` in client-side mode; provider.go fieldManagerName)."""
    fields = (obj.get("metadata") or {}).get("managedFields") or []
    return any(str(f.get("manager", "")).startswith("pulumi-kubernetes") for f in fields)


def in_the_way(found: Sequence[Finding]) -> bool:
    return any(f.severity != "note" for f in found)


def format_findings(found: Sequence[Finding]) -> str:
    if not found:
        return "OK: nothing found that would block or outlive `pulumi destroy`."
    lines = [f"{len(found)} finding(s) before `pulumi destroy`:"]
    order = {"blocks": 0, "fails": 1, "leaks": 2, "note": 3}
    for f in sorted(found, key=lambda f: (order[f.severity], f.kind, f.object)):
        lines += [f"- [{f.severity}] {f.kind}: {f.object}", f"    {f.problem}", f"    way out: {f.way_out}"]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# kubectl (read-only: only `get`)

Runner = Callable[[Sequence[str]], str]


def kubectl_runner(kubeconfig: Path, binary: str = "kubectl", context: str | None = None) -> Runner:
    found = shutil.which(binary)
    if found is None:
        raise PreflightError(f"{binary} not found on PATH")
    base = [found, "--kubeconfig", str(kubeconfig)] + (["--context", context] if context else [])

    def run(args: Sequence[str]) -> str:
        try:
            done = subprocess.run([*base, *args], capture_output=True, text=True, timeout=120, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PreflightError(f"kubectl {' '.join(args)} did not answer in 120s") from exc
        if done.returncode != 0:
            raise PreflightError(
                f"kubectl {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}"
            )
        return done.stdout

    return run


def collect(run: Runner) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for key, query in QUERIES.items():
        try:
            out = run(["get", *query, "-o", "json"])
        except PreflightError as exc:
            # Karpenter's CRDs already gone (or never installed): nothing of that kind can block.
            if "the server doesn't have a resource type" in str(exc) and "karpenter" in query[0]:
                docs[key] = {"items": []}
                continue
            raise
        try:
            doc = json.loads(out)
        except json.JSONDecodeError as exc:
            raise PreflightError(f"kubectl get {' '.join(query)}: not JSON ({exc})") from exc
        docs[key] = doc if isinstance(doc, dict) else {}
    return docs


def main(argv: Sequence[str] | None = None, runner: Runner | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ops.destroy_preflight", description=__doc__.split("\n")[0])
    p.add_argument(
        "--kubeconfig", required=True, type=Path, help="`pulumi stack output kubeconfig --show-secrets`"
    )
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.add_argument("--kubectl", default="kubectl", help="kubectl binary (default: kubectl on PATH)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if runner is None:
            if not args.kubeconfig.is_file():
                raise PreflightError(f"kubeconfig {args.kubeconfig} does not exist")
            runner = kubectl_runner(args.kubeconfig, args.kubectl, args.context)
        found = findings(collect(runner))
    except PreflightError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_findings(found))
    return 1 if in_the_way(found) else 0


if __name__ == "__main__":
    sys.exit(main())
