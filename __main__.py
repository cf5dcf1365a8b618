"""Karpenter on Amazon EKS: load the stack config, compose the components, export the outputs."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.admin_access import AdminAccessArgs, AdminAccessEntries
from components.aws_context import aws_context
from components.cluster import AdoptArgs, Cluster, ClusterArgs, CreateArgs
from components.controller_role import ControllerRole, ControllerRoleArgs
from components.fargate import Fargate, FargateArgs
from components.interruption_queue import InterruptionQueue, InterruptionQueueArgs
from components.karpenter_release import KarpenterRelease, KarpenterReleaseArgs
from components.network import Network, NetworkArgs
from components.node_identity import NodeIdentity, NodeIdentityArgs
from components.node_pools import NodePools, NodePoolsArgs
from config.account import check_account, with_account_problems
from config.base import ConfigError
from config.load import load_stack_config
from config.models import helm_value_warnings

try:
    cfg = load_stack_config()
except ConfigError as refused:
    # The models' problems, and with them what the account says of the config's valid parts.
    raise with_account_problems(refused) from None
name = cfg.cluster.name

aws_provider = aws.Provider(
    "aws", region=cfg.region, default_tags=aws.ProviderDefaultTagsArgs(tags=cfg.tags) if cfg.tags else None
)
# What only the account knows (AZs, instance families offered, Spot diversity), before anything else.
account = check_account(cfg, aws_provider)
for warning in helm_value_warnings(cfg.karpenter):
    pulumi.log.warn(warning)
ctx = aws_context(cfg.region, aws_provider)
on_aws = pulumi.ResourceOptions(providers=[aws_provider])

# The cluster: created (with its VPC) or adopted.
if cfg.cluster.mode == "create":
    vpc = cfg.cluster.vpc_or_default
    network = Network(
        "network",
        NetworkArgs(name, cfg.region, str(vpc.cidr), vpc.availability_zones, vpc.nat_gateways == "perAz"),
        on_aws,
    )
    create = CreateArgs(
        kubernetes_version=cfg.cluster.kubernetes_version,
        network=network,
        endpoint_public_access=cfg.cluster.endpoint_public_access,
        public_access_cidrs=[str(c) for c in cfg.cluster.public_access_cidrs],
    )
    cluster = Cluster("cluster", ClusterArgs(name, ctx, create=create), on_aws)
else:
    existing = cfg.cluster.existing_or_default
    adopt = AdoptArgs(existing.private_subnet_ids, existing.security_group_id, existing.create_oidc_provider)
    cluster = Cluster("cluster", ClusterArgs(name, ctx, adopt=adopt), on_aws)

# AWS identities and interruption handling: they need the cluster's name, not the cluster, except the
# access entry and the IRSA trust (which need the cluster's OIDC provider).
nodes = NodeIdentity(
    "nodes",
    NodeIdentityArgs(
        cluster_name=name,
        cluster=cluster.name,
        aws=ctx,
        path=cfg.iam.path,
        permissions_boundary_arn=cfg.iam.permissions_boundary_arn,
        extra_policy_arns=cfg.iam.extra_node_policy_arns,
        create_spot_service_linked_role=cfg.iam.create_spot_service_linked_role,
    ),
    on_aws,
)
interruption = InterruptionQueue("interruption", InterruptionQueueArgs(name), on_aws)
controller_role = ControllerRole(
    "controller",
    ControllerRoleArgs(
        cluster_name=name,
        aws=ctx,
        oidc_provider_arn=cluster.oidc_provider_arn,
        oidc_issuer=cluster.oidc_issuer,
        namespace=cfg.karpenter.namespace,
        service_account=cfg.karpenter.service_account,
        node_role_arn=nodes.role_arn,
        queue_arn=interruption.queue_arn,
        manage_instance_profiles=cfg.iam.karpenter_manages_instance_profiles,
        path=cfg.iam.path,
        permissions_boundary_arn=cfg.iam.permissions_boundary_arn,
    ),
    on_aws,
)
admins = AdminAccessEntries("admins", AdminAccessArgs(cluster.name, ctx, cfg.cluster.admin_access), on_aws)

# The controller on Fargate.
fargate = Fargate(
    "fargate",
    FargateArgs(
        cluster_name=name,
        cluster=cluster.name,
        aws=ctx,
        private_subnet_ids=cluster.private_subnet_ids,
        namespace=cfg.karpenter.namespace,
        extra_namespaces=cfg.karpenter.fargate_namespaces,
        core_dns_on_fargate=cfg.core_dns_on_fargate,
        manage_core_dns_addon=cluster.created,
        path=cfg.iam.path,
        permissions_boundary_arn=cfg.iam.permissions_boundary_arn,
        wait_for=cluster.egress,
    ),
    on_aws,
)
# Kubernetes objects wait for the people's and pipelines' access entries (a pipeline may reach the
# cluster through one), so destroy removes those entries only after the objects.
k8s_provider = k8s.Provider(
    "kubernetes",
    kubeconfig=cluster.kubeconfig,
    delete_unreachable=False,
    opts=pulumi.ResourceOptions(depends_on=[admins]),
)
on_cluster = pulumi.ResourceOptions(providers=[k8s_provider])
karpenter = KarpenterRelease(
    "karpenter",
    KarpenterReleaseArgs(
        cluster_name=name,
        cluster_endpoint=cluster.endpoint,
        queue_name=interruption.queue_name,
        controller_role_arn=controller_role.role_arn,
        config=cfg.karpenter,
        wait_for=[
            fargate.profile,
            *controller_role.attachments,
            interruption.queue_policy,
            *interruption.targets,
        ],
    ),
    on_cluster,
)

# What Karpenter may buy.
pools = NodePools(
    "capacity",
    NodePoolsArgs(
        cluster_name=name,
        node_class=cfg.node_class,
        pools=cfg.node_pools,
        nodes=nodes,
        role_based=cfg.iam.karpenter_manages_instance_profiles,
        controller=karpenter.controller,
        discovery_tags=cluster.discovery_tags,
    ),
    on_cluster,
)

pulumi.export("clusterName", cluster.name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("nodeRoleArn", nodes.role_arn)
pulumi.export("instanceProfileName", nodes.instance_profile_name)
pulumi.export("controllerRoleArn", controller_role.role_arn)
pulumi.export("interruptionQueueName", interruption.queue_name)
pulumi.export("nodePoolNames", pools.node_pool_names)
pulumi.export("spreadConstraints", pools.spread_constraints)
pulumi.export("spotInstanceTypeCounts", account.spot_instance_type_counts)
