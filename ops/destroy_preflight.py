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
  target-group-binding  TargetGroupBindings (elbv2.k8s.aws): their finalizer waits for the load balancer
               controller to deregister the targets; left behind, they hold their namespace and the
               controller's security group rules, which block deleting the VPC
  gateway      Gateway API Gateways: the load balancer controller made an AWS load balancer for each, held
               by the Gateway's finalizer, which outlives the destroy and blocks the subnets and VPC
  claim-in-use scheduled pods mounting a claim of this stack (applied by Pulumi): the claim stays
               Terminating (kubernetes.io/pvc-protection) until no pod mounts it; pulumi-kubernetes gives up
               after 10 minutes. Pods on Karpenter nodes are drained before the claims are deleted (a note)
  finalizer    objects already being deleted but held by a finalizer

Exit status: 0 nothing found, 1 findings, 2 usage or kubectl error. Needs only `kubectl` on PATH.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.kubectl import Kubectl, KubectlError

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
    "targetgroupbindings": ("targetgroupbindings.elbv2.k8s.aws", "--all-namespaces"),
    "gateways": ("gateways.gateway.networking.k8s.io", "--all-namespaces"),
}
OPTIONAL_KINDS = ("karpenter", "elbv2.k8s.aws", "gateway.networking.k8s.io")
"""API groups whose CRDs may be absent (not installed, or already deleted): nothing of that kind exists."""
PORTAINER_POD_LABELS = {"app.kubernetes.io/name": "portainer", "app.kubernetes.io/instance": "portainer"}
"""The stack's own Portainer pod (its chart's selector labels): Pulumi deletes its release before its
claim."""

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
    "target-group-binding": (
        "delete it while the AWS Load Balancer Controller still runs (kubectl delete targetgroupbinding NAME "
        "-n NS); one the controller made for a Service or Ingress goes when you delete that object"
    ),
    "gateway": (
        "delete the Gateway (and its routes) while the AWS Load Balancer Controller still runs, so it "
        "removes the AWS load balancer: kubectl delete gateway NAME -n NS"
    ),
    "claim-in-use": (
        "stop the workload before the destroy (kubectl scale --replicas 0, or delete it): nothing of the "
        "destroy evicts a pod on Fargate or on nodes Karpenter did not launch"
    ),
    "drained-claim": (
        "nothing: the pod runs on a Karpenter node, which the destroy drains before it deletes the claim"
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
    "target-group-binding": "fails",
    "gateway": "fails",
    "claim-in-use": "blocks",
    "drained-claim": "note",
}
"""`note`: reported, but not in the way (the exit status stays 0 when notes are all there is)."""


class PreflightError(Exception):
    """A usage problem: exit status 2 (as for a `KubectlError`)."""


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


def findings(docs: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """Everything in the way of a destroy, one kind after the other."""
    on_karpenter = karpenter_nodes(docs.get("nodes") or {})
    pods = [
        p
        for p in items(docs.get("pods"))
        if _live(p) and (p.get("spec") or {}).get("nodeName") in on_karpenter
    ]
    return [
        *pdb_findings(docs, pods),
        *do_not_disrupt_findings(pods, on_karpenter),
        *controller_findings(docs),
        *nodeclaim_findings(docs),
        *service_findings(docs),
        *ingress_findings(docs),
        *volume_findings(docs),
        *load_balancer_crd_findings(docs),
        *claim_findings(docs, on_karpenter),
        *finalizer_findings(docs),
    ]


def pdb_findings(docs: Mapping[str, Mapping[str, Any]], pods: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """Budgets allowing no disruption that guard pods on Karpenter nodes (`pods`)."""
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


def do_not_disrupt_findings(
    pods: Sequence[Mapping[str, Any]], on_karpenter: Mapping[str, str]
) -> list[Finding]:
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


def controller_findings(docs: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
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


def nodeclaim_findings(docs: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    found: list[Finding] = []
    for claim in items(docs.get("nodeclaims")):
        ready = _condition(claim, "Ready")
        if ready is None or ready.get("status") != "True":
            reason = f"{ready.get('reason')}: {ready.get('message')}" if ready else "no Ready condition"
            deleting = " (being deleted)" if claim["metadata"].get("deletionTimestamp") else ""
            found.append(Finding("nodeclaim", ref(claim, "nodeclaim"), f"not Ready{deleting}: {reason}"))
    return found


def service_findings(docs: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
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
    return found


def ingress_findings(docs: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    found: list[Finding] = []
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


def volume_findings(docs: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
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


def load_balancer_crd_findings(docs: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """TargetGroupBindings and Gateways: AWS load balancing the load balancer controller keeps for them."""
    found: list[Finding] = []
    for tgb in items(docs.get("targetgroupbindings")):
        spec = tgb.get("spec") or {}
        service = (spec.get("serviceRef") or {}).get("name")
        found.append(
            Finding(
                "target-group-binding",
                ref(tgb, "targetgroupbinding"),
                f"binds service {service} to target group "
                f"{spec.get('targetGroupARN') or 'not resolved yet'}: its finalizer waits for the load "
                "balancer controller to deregister the targets",
            )
        )
    for gw in items(docs.get("gateways")):
        spec, status = gw.get("spec") or {}, gw.get("status") or {}
        addresses = ", ".join(str(a.get("value")) for a in status.get("addresses") or []) or "no address"
        found.append(
            Finding(
                "gateway",
                ref(gw, "gateway"),
                f"Gateway (class {spec.get('gatewayClassName')}, {addresses}): its AWS load balancer "
                "outlives the destroy and blocks deleting the subnets and VPC",
            )
        )
    return found


def _claims_mounted(pod: Mapping[str, Any]) -> list[str]:
    volumes = (pod.get("spec") or {}).get("volumes") or []
    return [str(v["persistentVolumeClaim"]["claimName"]) for v in volumes if v.get("persistentVolumeClaim")]


def claim_findings(docs: Mapping[str, Mapping[str, Any]], on_karpenter: Mapping[str, str]) -> list[Finding]:
    """Scheduled pods that mount a claim of this stack (one Pulumi applies)."""
    ours = {
        (pvc["metadata"].get("namespace"), pvc["metadata"].get("name"))
        for pvc in items(docs.get("pvcs"))
        if managed_by_pulumi(pvc)
    }
    found: list[Finding] = []
    for pod in items(docs.get("pods")):
        node = (pod.get("spec") or {}).get("nodeName")
        meta = pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        if not node or not _live(pod):
            continue
        for claim in _claims_mounted(pod):
            if (meta.get("namespace"), claim) not in ours:
                continue
            if all(labels.get(k) == v for k, v in PORTAINER_POD_LABELS.items()):
                continue  # the stack's Portainer release, deleted before its claim
            drained = node in on_karpenter
            found.append(
                Finding(
                    "drained-claim" if drained else "claim-in-use",
                    ref(pod, "pod"),
                    f"mounts claim {claim} of this stack on node {node}"
                    + (
                        f" (NodePool {on_karpenter[node]}): drained before the claim is deleted"
                        if drained
                        else ", which the destroy does not drain: the claim stays Terminating and its "
                        "delete fails after 10 minutes"
                    ),
                )
            )
    return found


def finalizer_findings(docs: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    found: list[Finding] = []
    for key, kind in (
        ("namespaces", "namespace"),
        ("nodepools", "nodepool"),
        ("nodeclasses", "ec2nodeclass"),
        ("services", "service"),
        ("pvcs", "pvc"),
        ("pvs", "pv"),
        ("targetgroupbindings", "targetgroupbinding"),
        ("gateways", "gateway"),
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


def collect(kubectl: Kubectl) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for key, query in QUERIES.items():
        try:
            doc = kubectl.get_json(query)
        except KubectlError as exc:
            # Karpenter's (or the load balancer controller's, Gateway API's) CRDs already gone or never
            # installed: nothing of that kind can block.
            missing = "the server doesn't have a resource type" in str(exc)
            if missing and any(group in query[0] for group in OPTIONAL_KINDS):
                docs[key] = {"items": []}
                continue
            raise
        docs[key] = doc if isinstance(doc, dict) else {}
    return docs


def main(argv: Sequence[str] | None = None, kubectl: Kubectl | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ops.destroy_preflight", description=__doc__.split("\n")[0])
    p.add_argument(
        "--kubeconfig", required=True, type=Path, help="`pulumi stack output kubeconfig --show-secrets`"
    )
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.add_argument("--kubectl", default="kubectl", help="kubectl binary (default: kubectl on PATH)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if kubectl is None:
            if not args.kubeconfig.is_file():
                raise PreflightError(f"kubeconfig {args.kubeconfig} does not exist")
            kubectl = Kubectl(args.kubectl, args.kubeconfig, args.context)
        found = findings(collect(kubectl))
    except (PreflightError, KubectlError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_findings(found))
    return 1 if in_the_way(found) else 0


if __name__ == "__main__":
    sys.exit(main())
