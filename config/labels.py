"""Kubernetes labels and taints a pool may put on its nodes, and the label domain this program owns."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from config.base import Model, Problem, raise_problems

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

SPREAD_LABEL_DOMAIN = "spread.karpenter-eks.dev"
"""The label domain this program writes: `<domain>/pool` names a node's pool, `<domain>/<pool>` holds
the spread value of a mixed pool. Not a domain Kubernetes or Karpenter restricts; reserved in configs."""

POOL_LABEL_NAME = "pool"

# Karpenter refuses NodePool template labels in these domains (and their subdomains), except the
# exception subdomains and the well-known labels: karpenter.sh pkg/apis/v1/labels.go and the AWS
# provider's additions, enforced by the CRD's CEL rules (karpenter.sh, karpenter.k8s.aws,
# kubernetes.io/hostname) and by the controller's runtime validation (kubernetes.io, k8s.io).
RESTRICTED_LABEL_DOMAINS = ("kubernetes.io", "k8s.io", "karpenter.sh", "karpenter.k8s.aws")
LABEL_DOMAIN_EXCEPTIONS = ("kops.k8s.io", "node.kubernetes.io", "node-restriction.kubernetes.io")
# Labels Karpenter sets itself from a NodePool's requirements and an instance's properties. Karpenter
# accepts them as template labels, but one here would pin a single value against what the pool's
# architecture, capacity type and families say, so configs may not set them.
WELL_KNOWN_LABELS = frozenset(
    {
        "karpenter.sh/nodepool",
        "karpenter.sh/capacity-type",
        "kubernetes.io/hostname",
        "kubernetes.io/arch",
        "kubernetes.io/os",
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "node.kubernetes.io/instance-type",
        "node.kubernetes.io/windows-build",
    }
)


def _domain(key: str) -> str:
    return key.split("/", 1)[0] if "/" in key else ""


def _in_domain(domain: str, parent: str) -> bool:
    return domain == parent or domain.endswith("." + parent)


def qualified_name_problem(key: str) -> str | None:
    """Why `key` is not a Kubernetes qualified name (`[prefix/]name`), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
        return f"{key!r} has a bad prefix: a prefix is a lowercase DNS subdomain such as example.com"
    if not name or len(name) > 63 or not LABEL_NAME.match(name):
        return (
            f"{key!r} has a bad name: a name is 1 to 63 letters, digits, '-', '_' or '.', starting and "
            "ending with a letter or digit"
        )
    return None


def label_key_problem(key: str) -> str | None:
    """Why a pool may not set the node label `key`, or None."""
    syntax = qualified_name_problem(key)
    if syntax:
        return f"label key {syntax}"
    domain = _domain(key)
    if key in WELL_KNOWN_LABELS:
        return (
            f"label {key} is a well-known label Kubernetes and Karpenter set on every node (from its "
            "pool, architecture, capacity type, zone and instance); choose a label of your own domain"
        )
    for owned in ("karpenter.sh", "karpenter.k8s.aws"):
        if _in_domain(domain, owned):
            return (
                f"label domain {owned} belongs to Karpenter: it sets those labels from the pool's "
                "requirements and instance properties, and refuses others; choose a label of your own domain"
            )
    if _in_domain(domain, SPREAD_LABEL_DOMAIN):
        return (
            f"label domain {SPREAD_LABEL_DOMAIN} is reserved for the pool and spread labels this program adds"
        )
    if any(_in_domain(domain, allowed) for allowed in LABEL_DOMAIN_EXCEPTIONS):
        return None
    for restricted in RESTRICTED_LABEL_DOMAINS:
        if _in_domain(domain, restricted):
            return (
                f"label {key} is in the domain {restricted}, which Karpenter restricts; use your own domain "
                "(such as example.com/team) or node.kubernetes.io / node-restriction.kubernetes.io"
            )
    return None


def node_labels(value: dict[str, str]) -> dict[str, str]:
    """The AfterValidator of a pool's `labels`: every bad key and value, each on its own line."""
    problems = []
    for key, label in value.items():
        problem = label_key_problem(key)
        if problem:
            problems.append(Problem((), problem, show=False))
        if len(label) > 63 or not LABEL_VALUE.match(label):
            problems.append(
                Problem(
                    (),
                    f"label {key} has the value {label!r}; a label value is at most 63 letters, digits, "
                    "'-', '_' or '.', starting and ending with a letter or digit (or empty)",
                    show=False,
                )
            )
    raise_problems(problems)
    return value


class TaintConfig(Model):
    """A taint on the pool's nodes; only pods that tolerate it run there."""

    key: str = Field(description="Taint key, a Kubernetes qualified name (`example.com/dedicated`).")
    value: str | None = Field(default=None, description="Taint value (a label value). Unset: no value.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = Field(
        description="What happens to pods that do not tolerate the taint."
    )

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        problem = qualified_name_problem(value)
        if problem:
            raise ValueError(f"taint key {problem}")
        if _in_domain(_domain(value), "karpenter.sh"):
            raise ValueError(
                "the karpenter.sh domain is reserved for Karpenter's own taints (karpenter.sh/disrupted, "
                "karpenter.sh/unregistered); use your own domain"
            )
        return value

    @field_validator("value")
    @classmethod
    def _value(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 63 or not LABEL_VALUE.match(value)):
            raise ValueError(
                "a taint value is at most 63 letters, digits, '-', '_' or '.', starting and ending with a "
                "letter or digit"
            )
        return value


GPU_TAINT = TaintConfig(key="nvidia.com/gpu", effect="NoSchedule")
