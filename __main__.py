"""Karpenter on Amazon EKS: load the stack config, compose the components, export the outputs."""

import pulumi
import pulumi_aws as aws

import preflight
from components.compose import compose
from config.base import ConfigError
from config.karpenter import helm_value_warnings
from config.load import load_stack_config
from preflight.account import with_account_problems

try:
    cfg = load_stack_config()
except ConfigError as refused:
    # The models' problems, and with them what the account says of the config's valid parts.
    raise with_account_problems(refused) from None

# The programs the deployment runs besides this one (the AWS CLI), before anything is registered.
preflight.check_tools()
aws_provider = aws.Provider(
    "aws", region=cfg.region, default_tags=aws.ProviderDefaultTagsArgs(tags=cfg.tags) if cfg.tags else None
)
# What only the account knows, and refusals that need it, before anything else is registered.
checked = preflight.run(cfg, aws_provider)
for warning in helm_value_warnings(cfg.karpenter):
    pulumi.log.warn(warning)

env = compose(cfg, aws_provider, checked.existing, checked.chart)

pulumi.export("clusterName", env.cluster.name)
pulumi.export("kubeconfig", env.cluster.kubeconfig)
pulumi.export("nodeRoleArn", env.identities.nodes.role_arn)
pulumi.export("instanceProfileName", env.identities.nodes.instance_profile_name)
pulumi.export("controllerRoleArn", env.identities.controller_role.role_arn)
pulumi.export("interruptionQueueName", env.identities.interruption.queue_name)
pulumi.export("nodePoolNames", env.pools.node_pool_names)
pulumi.export("spreadConstraints", env.pools.spread_constraints)
pulumi.export("spotInstanceTypeCounts", checked.account.spot_instance_type_counts)
if cfg.addons.s3.enabled:
    # What workloads (and the smoke test's `--check s3`) mount: bucket -> namespace/claim.
    pulumi.export(
        "s3Claims", {b.name: f"{cfg.addons.s3.namespace}/{b.volume_name}" for b in cfg.addons.s3.buckets}
    )
