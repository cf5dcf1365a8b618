"""The discovery as a report a person reads before deciding anything."""

from __future__ import annotations

import json
from typing import Any

from ops.migrate.model import Install, NodeClass, NodePool, NodeRole, Role


def _j(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _role(role: Role | None, indent: str = "    ") -> list[str]:
    if role is None:
        return [f"{indent}(role not read)"]
    lines = [f"{indent}role {role.arn}"]
    lines += [f"{indent}  inline policy {p.name}" for p in role.inline_policies]
    lines += [f"{indent}  managed policy {p.arn}" for p in role.managed_policies]
    return lines


def _controller(install: Install) -> list[str]:
    ctl = install.controller
    if ctl is None:
        return ["Controller: none found"]
    lines = [
        f"Controller: Deployment {ctl.namespace}/{ctl.name}, {ctl.replicas} replica(s), "
        f"version {ctl.version or '?'}",
        f"  image {ctl.image}",
        f"  service account {ctl.service_account}",
        f"  settings {_j(dict(ctl.settings))}",
        f"  pod labels {_j(dict(ctl.pod_labels))}  nodeSelector {_j(dict(ctl.node_selector))}",
    ]
    rel = install.helm_release
    if rel is not None:
        lines.append(
            f"  Helm release {rel.namespace}/{rel.name} revision {rel.revision} ({rel.status}): "
            f"chart {rel.chart} {rel.chart_version}, values {_j(rel.values)}"
        )
    ident = install.identity
    if ident is not None:
        lines.append(f"  identity: {ident.kind}")
        lines += _role(ident.role)
    for p in install.fargate_profiles:
        mark = " (runs the controller)" if p.runs_controller else ""
        lines.append(f"  Fargate profile {p.name}{mark}: selectors {_j(list(p.selectors))}")
    return lines


def _queue(install: Install) -> list[str]:
    q = install.queue
    if q is None:
        return [
            "Interruption queue: none"
            + (" read" if install.controller and install.controller.interruption_queue else "")
        ]
    return [f"Interruption queue: {q.arn}"] + [
        f"  rule {r.name} ({r.state}): {_j(r.event_pattern)}" for r in q.rules
    ]


def _node_class(nc: NodeClass) -> list[str]:
    return [
        f"EC2NodeClass {nc.name} ({nc.api_version}): role {nc.role or '-'} "
        f"instanceProfile {nc.instance_profile or '-'}",
        f"  amiFamily {nc.ami_family or '-'} amiSelectorTerms {_j(list(nc.ami_selector_terms))}",
        f"  subnets {_j(list(nc.subnet_selector_terms))} "
        f"securityGroups {_j(list(nc.security_group_selector_terms))}",
        f"  tags {_j(dict(nc.tags))} blockDevices {_j(list(nc.block_device_mappings))}",
    ]


def _node_pool(pool: NodePool) -> list[str]:
    reqs = ", ".join(f"{r.get('key')} {r.get('operator')} {r.get('values', '')}" for r in pool.requirements)
    return [
        f"NodePool {pool.name} ({pool.api_version}): weight {pool.weight}, "
        f"nodeClassRef {_j(pool.node_class_ref)}",
        f"  requirements {reqs}",
        f"  limits {_j(dict(pool.limits))} disruption {_j(pool.disruption)} taints {_j(list(pool.taints))}",
    ]


def _node_role(role: NodeRole) -> list[str]:
    lines = [f"Node role {role.name} (used by {', '.join(role.used_by)})", *_role(role.role)]
    lines += [f"    instance profile {p.name} ({p.arn})" for p in role.instance_profiles]
    if role.access_entry is not None:
        e = role.access_entry
        lines.append(f"    access entry {e.type}, policies {[a for a, _ in e.access_policies]}")
    lines += [f"    aws-auth {m.username} {list(m.groups)}" for m in role.aws_auth]
    return lines


def format_report(install: Install) -> str:
    lines = [f"Cluster {install.cluster} in {install.region}, account {install.account or '?'}", ""]
    lines += _controller(install) + _queue(install) + [""]
    for nc in install.node_classes:
        lines += _node_class(nc)
    for pool in install.node_pools:
        lines += _node_pool(pool)
    for role in install.node_roles:
        lines += _node_role(role)
    lines += ["", "CRDs:"] + [
        f"  {c.name} served {list(c.served_versions)} stored {list(c.stored_versions)} "
        f"managed-by {c.managed_by or '-'} release {c.helm_release or '-'}"
        for c in install.crds
    ]
    lines += ["API versions: " + "; ".join(install.api_versions)]
    if install.pre_v1:
        lines.append("PRE-V1 install: it must be upgraded to Karpenter v1 before it can be taken over")
    lines += ["", f"Notes ({len(install.notes)}):"] + [f"  {n.line()}" for n in install.notes]
    return "\n".join(lines) + "\n"
