"""The EKS add-ons as the account offers them, asked at preview through the explicit provider.

What pulumi-aws 7.51.1 can ask (its data sources: `aws:eks/getAddon` and `aws:eks/getAddonVersion`, the
only add-on functions in its schema): the newest version of an add-on for a Kubernetes version
(DescribeAddonVersions, `mostRecent`), and whether a cluster runs an add-on (DescribeAddon). It has no data
source for DescribeAddonConfiguration, so the add-on's JSON schema of `configurationValues` cannot be
fetched here: the configuration is checked offline against the drivers' chart values (README, "The EKS
add-ons' configuration"), and EKS validates it against its schema when it creates the add-on."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping

import pulumi
import pulumi_aws as aws

from components.documents import storage as docs
from config.stack import StackConfig

POD_IDENTITY_AGENT = "eks-pod-identity-agent"
_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-eksbuild\.(\d+)$")


def pinned_addons(cfg: StackConfig) -> dict[str, tuple[str, str]]:
    """Config key -> (EKS add-on name, pinned version), for the enabled add-ons with a pinned version."""
    sections = {
        "addons.ebs.version": (cfg.addons.ebs, docs.EBS_ADDON),
        "addons.efs.version": (cfg.addons.efs, docs.EFS_ADDON),
        "addons.s3.version": (cfg.addons.s3, docs.S3_ADDON),
    }
    return {
        key: (name, section.version)
        for key, (section, name) in sections.items()
        if section.enabled and section.version is not None
    }


def _order(version: str) -> tuple[int, ...]:
    match = _VERSION.match(version)
    return tuple(int(p) for p in match.groups()) if match else ()


def version_problems(
    pinned: Mapping[str, tuple[str, str]], newest: Mapping[str, str | None], kubernetes_version: str
) -> list[str]:
    """Pinned versions EKS cannot offer for this Kubernetes version: newer than its newest one, or an
    add-on it offers no version of (`newest` is None). An older pinned version may still have left the
    compatible list; only DescribeAddonVersions' full list could tell, which pulumi-aws does not return."""
    problems = []
    for key, (name, version) in sorted(pinned.items()):
        found = newest.get(name)
        how = f"aws eks describe-addon-versions --addon-name {name} --kubernetes-version {kubernetes_version}"
        if found is None:
            problems.append(
                f"{key}: EKS offers no version of {name} for Kubernetes {kubernetes_version} ({how})"
            )
        elif _order(version) > _order(found):
            problems.append(
                f"{key}: {version} is not offered for Kubernetes {kubernetes_version}; the newest {name} for "
                f"it is {found} (list them: {how})"
            )
    return problems


def newest_versions(
    names: set[str], kubernetes_version: str, lookup: pulumi.InvokeOptions
) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in sorted(names):
        try:
            found[name] = aws.eks.get_addon_version(
                addon_name=name, kubernetes_version=kubernetes_version, most_recent=True, opts=lookup
            ).version
        except Exception:  # the provider's error: no version of this add-on for that Kubernetes version
            found[name] = None
    return found


def addon_version_problems(cfg: StackConfig, kubernetes_version: str, provider: aws.Provider) -> list[str]:
    """Pinned add-on versions EKS does not offer for the cluster's Kubernetes version."""
    pinned = pinned_addons(cfg)
    if not pinned:
        return []
    lookup = pulumi.InvokeOptions(provider=provider)
    newest = newest_versions({name for name, _ in pinned.values()}, kubernetes_version, lookup)
    return version_problems(pinned, newest, kubernetes_version)


def pod_identity_agent_problem(cluster_name: str, installed: bool) -> str | None:
    if installed:
        return None
    return (
        f"addons.s3.enabled: cluster {cluster_name} does not run the EKS Pod Identity Agent add-on "
        f"({POD_IDENTITY_AGENT}), which gives the Mountpoint for S3 CSI driver's node pods their "
        f"credentials; without it every bucket mount fails. Fix: aws eks create-addon --cluster-name "
        f"{cluster_name} --addon-name {POD_IDENTITY_AGENT} (once it is ACTIVE, run again)"
    )


def pod_identity_agent_problems(cfg: StackConfig, provider: aws.Provider) -> list[str]:
    """Adopt mode with S3: the adopted cluster must run the Pod Identity agent before Mountpoint's node pods
    start (a created cluster gets the add-on from `components/cluster/cluster.py`)."""
    if cfg.cluster.mode != "adopt" or not cfg.addons.s3.enabled:
        return []
    try:
        aws.eks.get_addon(
            addon_name=POD_IDENTITY_AGENT,
            cluster_name=cfg.cluster.name,
            opts=pulumi.InvokeOptions(provider=provider),
        )
        installed = True
    except Exception:  # ResourceNotFoundException: the cluster has no such add-on
        installed = False
    problem = pod_identity_agent_problem(cfg.cluster.name, installed)
    return [problem] if problem else []


def certificate_account_problem(certificate_arn: str | None, account_id: str) -> str | None:
    """An ALB uses ACM certificates of its own account only (ACM certificates are not shared across
    accounts; the controller's CreateListener would fail with CertificateNotFound)."""
    if certificate_arn is None:
        return None
    owner = certificate_arn.split(":")[4]
    if owner == account_id:
        return None
    return (
        f"addons.portainer.ingress.certificateArn: the certificate belongs to account {owner}, but the stack "
        f"deploys into account {account_id}; an ALB uses ACM certificates of its own account only: request "
        f"or import the certificate in {account_id}"
    )


def certificate_account_problems(cfg: StackConfig, provider: aws.Provider) -> list[str]:
    portainer = cfg.addons.portainer
    if not (portainer.enabled and portainer.ingress.enabled):
        return []
    account = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider)).account_id
    problem = certificate_account_problem(portainer.ingress.certificate_arn, account)
    return [problem] if problem else []


MANAGED_POLICY_MAX_CHARS = 6144
"""IAM quota "Managed policy size": 6,144 characters, white space not counted (IAM User Guide, "IAM and AWS
STS quotas"; not adjustable)."""


def mountpoint_policy_problem(partition: str, buckets: list[tuple[str, bool]]) -> str | None:
    """The driver's bucket policy is one customer managed policy: too many (long) bucket names exceed IAM's
    size quota, and `pulumi up` would fail at CreatePolicy after creating much of the stack."""
    if not buckets:
        return None
    size = len(
        json.dumps(docs.mountpoint_policy(partition=partition, buckets=buckets), separators=(",", ":"))
    )
    if size <= MANAGED_POLICY_MAX_CHARS:
        return None
    return (
        f"addons.s3.buckets: the {len(buckets)} buckets make the driver's IAM policy {size} characters long, "
        f"over IAM's {MANAGED_POLICY_MAX_CHARS} for a managed policy; mount fewer buckets with this stack"
    )


def mountpoint_policy_problems(cfg: StackConfig) -> list[str]:
    s3 = cfg.addons.s3
    if not s3.enabled:
        return []
    partition = cfg.addons_context.partition
    problem = mountpoint_policy_problem(partition, [(b.name, b.read_only) for b in s3.buckets])
    return [problem] if problem else []


def check_addons(cfg: StackConfig, provider: aws.Provider, kubernetes_version: Callable[[], str]) -> None:
    """Every add-on problem the account (or IAM's quotas) shows, refused at once, by key path."""
    problems = [
        *pod_identity_agent_problems(cfg, provider),
        *certificate_account_problems(cfg, provider),
        *mountpoint_policy_problems(cfg),
    ]
    if pinned_addons(cfg):
        problems += addon_version_problems(cfg, kubernetes_version(), provider)
    if problems:
        raise pulumi.RunError(
            f"the add-ons cannot work as configured ({len(problems)} problem"
            f"{'s' if len(problems) > 1 else ''}):\n  - " + "\n  - ".join(problems)
        )
