"""The alb check (AWS Load Balancer Controller): an Ingress whose ALB answers HTTP. The ALB is reached
through an injectable HTTP getter."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from ops.kubectl import Kubectl
from ops.smoke.checks.manifests import check_labels, namespace_manifest, pod_manifest
from ops.smoke.checks.steps import CheckResult, Cleanup, checking, events_about, get_or_none
from ops.smoke.common import ERRORS, CheckOptions, Clock, get_doc, pending_reasons, wait_for

HttpGet = Callable[[str, float], tuple[int, str]]
"""(url, timeout seconds) -> (HTTP status, body); status 0 when nothing answered."""


def urllib_get(url: str, timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(65536).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc)


HTTP_PORT = 8080


def web_manifests(namespace: str, ingress_class: str, scheme: str, token: str) -> list[dict[str, Any]]:
    """A Deployment serving `token` over HTTP (busybox httpd), its ClusterIP Service, and an Ingress of
    `ingress_class` to it with target type ip (the ALB sends to pod IPs, as on Fargate)."""
    labels = {"app": "smoke-alb"}
    pod = pod_manifest(
        "web",
        namespace,
        "alb",
        script=(
            f"mkdir -p /tmp/www && echo {token} > /tmp/www/index.html "
            f"&& exec httpd -f -p {HTTP_PORT} -h /tmp/www"
        ),
        labels=labels,
        port=HTTP_PORT,
    )
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "smoke-alb", "namespace": namespace, "labels": check_labels("alb")},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": pod["metadata"]["labels"]}, "spec": pod["spec"]},
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "smoke-alb", "namespace": namespace, "labels": check_labels("alb")},
        "spec": {
            "type": "ClusterIP",
            "selector": labels,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "smoke-alb",
            "namespace": namespace,
            "labels": check_labels("alb"),
            "annotations": {
                "alb.ingress.kubernetes.io/scheme": scheme,
                "alb.ingress.kubernetes.io/target-type": "ip",
                "alb.ingress.kubernetes.io/healthcheck-path": "/",
            },
        },
        "spec": {
            "ingressClassName": ingress_class,
            "rules": [
                {
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "smoke-alb", "port": {"number": 80}}},
                            }
                        ]
                    }
                }
            ],
        },
    }
    return [deployment, service, ingress]


def ingress_hostname(doc: Mapping[str, Any] | None) -> str | None:
    ingresses = (((doc or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    for entry in ingresses:
        if isinstance(entry, Mapping) and (entry.get("hostname") or entry.get("ip")):
            return str(entry.get("hostname") or entry.get("ip"))
    return None


def check_alb(
    kubectl: Kubectl,
    opts: CheckOptions,
    clock: Clock,
    log: Callable[[str], None],
    http_get: HttpGet = urllib_get,
) -> CheckResult:
    """An Ingress of the alb class (target type ip) to a small service: its ALB's address answers with what
    the service serves. The Ingress is deleted first, and waited for, so its ALB is removed."""
    result = CheckResult("alb")
    namespace = f"smoke-alb-{opts.token}"
    deadline = clock.now() + opts.timeout
    cleanup = Cleanup(kubectl, log)
    with checking(result, cleanup):
        log(
            f"[alb] Ingress of class {opts.ingress_class} ({opts.alb_scheme}, target type ip), in {namespace}"
        )
        cleanup.apply(namespace_manifest(namespace, "alb"), wait=300)
        deployment, service, ingress = web_manifests(
            namespace, opts.ingress_class, opts.alb_scheme, opts.token
        )
        cleanup.apply(deployment)
        cleanup.apply(service)
        cleanup.apply(ingress, wait=opts.ingress_delete_timeout)

        hostname = wait_for(
            lambda: ingress_hostname(get_or_none(kubectl, "ingress", "smoke-alb", namespace)),
            opts,
            clock,
            deadline,
        )
        if hostname is None:
            result.problems.append(f"Ingress smoke-alb has no load balancer address after {opts.timeout:g}s")
            result.problems += [f"  {r}" for r in events_about(kubectl, namespace, "Ingress", "smoke-alb")]
            return result
        url = f"http://{hostname}/"
        result.found.append(f"Ingress smoke-alb has the address {hostname}")
        last: list[tuple[int, str]] = [(0, "")]

        def answers() -> bool:
            last[0] = http_get(url, 10)
            return last[0][0] == 200 and opts.token in last[0][1]

        if wait_for(answers, opts, clock, deadline):
            result.found.append(f"GET {url} answered 200 with the service's page")
        else:
            status, body = last[0]
            result.problems.append(
                f"GET {url} did not answer with the service's page after {opts.timeout:g}s: "
                + (f"HTTP {status} {body[:200]!r}" if status else f"no answer ({body})")
            )
            try:
                web = get_doc(kubectl, ["pods", "--namespace", namespace, "--selector", "app=smoke-alb"])
                result.problems += [f"  {r}" for r in pending_reasons(web)]
            except ERRORS as exc:
                result.problems.append(f"  (pods unavailable: {exc})")
            result.problems += [f"  {r}" for r in events_about(kubectl, namespace, "Ingress", "smoke-alb")]
    return result
