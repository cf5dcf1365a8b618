"""Checks before the program registers its resources: `check_tools` (first of all) refuses a machine
without the AWS CLI; `run` asks what only the live AWS account can answer, before anything but the AWS
provider is registered, refuses a stack that cannot work (every message says the fix) and returns the
account's answers the composition needs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.blocks.helm import KARPENTER_CHART_REPOSITORY as CHART_REPOSITORY
from components.blocks.helm import ChartCredentials
from components.blocks.naming import STACK_TAG
from components.cluster.cluster import ExistingCluster
from components.compose import stack_tags
from config.stack import StackConfig
from preflight.account import AccountReport, check_account
from preflight.addons import check_addons
from preflight.caller import check_caller_not_listed
from preflight.cluster import existing_cluster
from preflight.install import check_no_foreign_karpenter, stack_node_pool_names
from preflight.registry import chart_credentials
from preflight.tools import check_aws_cli


@dataclass(frozen=True)
class Answers:
    account: AccountReport
    """Its Spot type counts are a stack output."""
    existing: ExistingCluster | None
    """Adopt mode: the cluster as the account describes it (None in create mode)."""
    chart: tuple[str, ChartCredentials | None]
    """The chart repository and the registry login for it."""


def check_tools() -> None:
    """What must be installed beside Pulumi (the AWS CLI), before anything is registered."""
    check_aws_cli()


def kubernetes_version(cfg: StackConfig, provider: aws.Provider) -> str:
    """The created cluster's configured version, or the adopted cluster's own."""
    if cfg.cluster.mode == "create":
        return cfg.cluster.kubernetes_version
    return aws.eks.get_cluster(name=cfg.cluster.name, opts=pulumi.InvokeOptions(provider=provider)).version


def run(cfg: StackConfig, provider: aws.Provider) -> Answers:
    """Every live-account check, in the order they have always run."""
    # What only the account knows (AZs, instance families offered, Spot diversity), before anything else.
    account = check_account(cfg, provider)
    if cfg.cluster.mode == "create":
        check_caller_not_listed(cfg.cluster.name, cfg.cluster.admin_access, provider)
        existing = None
    else:
        taken_over = [
            n
            for n in (
                cfg.iam.node_role_name,
                cfg.iam.controller_role_name,
                cfg.karpenter.interruption_queue_name,
            )
            if n
        ]
        check_no_foreign_karpenter(
            cfg.cluster.name,
            stack_tags()[STACK_TAG],
            provider,
            taken_over,
            stack_node_pool_names(cfg.node_pools),
        )
        existing = existing_cluster(cfg, provider)
    check_addons(cfg, provider, lambda: kubernetes_version(cfg, provider))
    repository = cfg.karpenter.chart_repository or CHART_REPOSITORY
    return Answers(account, existing, (repository, chart_credentials(repository, provider)))
