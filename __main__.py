"""Karpenter on Amazon EKS: load the stack config, compose the components, export the outputs."""

from dataclasses import replace

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.addons.ebs import EbsArgs, EbsStorage
from components.addons.efs import EfsArgs, EfsStorage
from components.addons.load_balancer_controller import LoadBalancerController, LoadBalancerControllerArgs
from components.addons.portainer import Portainer, PortainerArgs
from components.addons.s3 import S3Args, S3Storage
from components.addons.storage_common import AddonArgs
from components.blocks.aws_context import aws_context
from components.blocks.helm import KARPENTER_CHART_REPOSITORY as CHART_REPOSITORY
from components.blocks.naming import STACK_TAG
from components.cluster.admin_access import AdminAccessArgs, AdminAccessEntries
from components.cluster.cluster import AdoptArgs, Cluster, ClusterArgs, CreateArgs, subnets_by_zone
from components.cluster.fargate import Fargate, FargateArgs
from components.cluster.network import Network, NetworkArgs
from components.karpenter.controller_role import ControllerRole, ControllerRoleArgs
from components.karpenter.interruption_queue import InterruptionQueue, InterruptionQueueArgs
from components.karpenter.node_identity import NodeIdentity, NodeIdentityArgs
from components.karpenter.node_pools import NodePools, NodePoolsArgs
from components.karpenter.release import KarpenterRelease, KarpenterReleaseArgs
from config.addons import demote_gp2, minimum_kubernetes_versions
from config.base import ConfigError
from config.karpenter import helm_value_warnings
from config.load import load_stack_config
from preflight import checks as preflight
from preflight.account import check_account, with_account_problems

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
stack_tags = {STACK_TAG: f"{pulumi.get_project()}/{pulumi.get_stack()}"}

# Refusals that need the live account, before anything else is registered.
if cfg.cluster.mode == "create":
    preflight.check_caller_not_listed(name, cfg.cluster.admin_access, aws_provider)
else:
    preflight.check_no_foreign_karpenter(name, stack_tags[STACK_TAG], aws_provider)

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
        public_access_cidrs=cfg.cluster.effective_public_access_cidrs,
    )
    cluster = Cluster("cluster", ClusterArgs(name, ctx, create=create), on_aws)
else:
    existing = cfg.cluster.existing_or_default
    adopt = AdoptArgs(
        existing.private_subnet_ids,
        existing.security_group_id,
        existing.create_oidc_provider,
        minimum_versions=minimum_kubernetes_versions(cfg.addons),
    )
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
        spot_service_linked_role=cfg.iam.spot_service_linked_role,
        tags=stack_tags,
    ),
    on_aws,
)
interruption = InterruptionQueue("interruption", InterruptionQueueArgs(name, tags=stack_tags), on_aws)
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
        tags=stack_tags,
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
        tags=stack_tags,
        wait_for=cluster.egress,
    ),
    on_aws,
)
# Kubernetes objects wait for the people's and pipelines' access entries (a pipeline may reach the
# cluster through one), so destroy removes those entries only after the objects.
k8s_provider = k8s.Provider(
    "kubernetes",
    kubeconfig=cluster.kubeconfig,
    # pulumi-kubernetes DiffConfig: with an unchanged clusterIdentifier the provider is never replaced
    # (a kubeconfig that changes or is unknown at preview would otherwise replace it, and with it every
    # Kubernetes object it manages); a changed identifier (another cluster) replaces it.
    cluster_identifier=cluster.identifier,
    delete_unreachable=False,
    opts=pulumi.ResourceOptions(depends_on=[admins]),
)
on_cluster = pulumi.ResourceOptions(providers=[k8s_provider])
chart_repository = cfg.karpenter.chart_repository or CHART_REPOSITORY
karpenter = KarpenterRelease(
    "karpenter",
    KarpenterReleaseArgs(
        cluster_name=name,
        cluster_endpoint=cluster.endpoint,
        queue_name=interruption.queue_name,
        controller_role_arn=controller_role.role_arn,
        config=cfg.karpenter,
        chart_repository=chart_repository,
        chart_credentials=preflight.chart_credentials(chart_repository, aws_provider),
        wait_for=[
            fargate.profile,
            *controller_role.attachments,
            interruption.queue_policy,
            *interruption.targets,
        ],
    ),
    on_cluster,
)

# --- add-ons: storage (EBS gp3, EFS, S3) ---
# Each add-on's Fargate profile is created after the previous one (EKS creates profiles one at a time);
# nothing of Karpenter's path waits for any of them, unless addons.keepDriversUntilNodesDrain.
storage_profile_chain: pulumi.Resource = fargate.profiles[-1]
storage_drivers: list[pulumi.Resource] = []
# The cluster facts every add-on takes (storage here, the load balancer controller below).
addon_args = AddonArgs(
    cluster_name=name,
    cluster=cluster.name,
    aws=ctx,
    oidc_provider_arn=cluster.oidc_provider_arn,
    oidc_issuer=cluster.oidc_issuer,
    pod_execution_role_arn=fargate.pod_execution_role_arn,
    private_subnet_ids=cluster.private_subnet_ids,
    after_profile=storage_profile_chain,
    k8s_provider=k8s_provider,
    path=cfg.iam.path,
    permissions_boundary_arn=cfg.iam.permissions_boundary_arn,
)
if cfg.addons.ebs.enabled:
    gp2 = demote_gp2(cfg.addons.ebs, cfg.addons_context)
    ebs = EbsStorage("ebs", EbsArgs(addon_args, cfg.addons.ebs, gp2), on_aws)
    storage_profile_chain = ebs.profile
    storage_drivers.append(ebs.addon)
if cfg.addons.efs.enabled:
    efs_subnets: dict[str, pulumi.Input[str]] = (
        {
            f"{cfg.region}{z}": s
            for z, s in zip(vpc.availability_zones, network.private_subnet_ids, strict=True)
        }
        if cfg.cluster.mode == "create"
        else dict(
            subnets_by_zone(cluster.adopted_private_subnet_ids, pulumi.InvokeOptions(provider=aws_provider))
        )
    )
    efs = EfsStorage(
        "efs",
        EfsArgs(
            replace(addon_args, after_profile=storage_profile_chain),
            cfg.addons.efs,
            vpc_id=cluster.vpc_id,
            cluster_security_group_id=cluster.security_group_id,
            private_subnets=efs_subnets,
            fargate_security_group_id=cluster.adopted_eks_security_group_id,
        ),
        on_aws,
    )
    storage_profile_chain = efs.profile
    storage_drivers.append(efs.addon)
if cfg.addons.s3.enabled:
    s3 = S3Storage(
        "s3", S3Args(replace(addon_args, after_profile=storage_profile_chain), cfg.addons.s3), on_aws
    )
    storage_profile_chain = s3.profile
    storage_drivers.append(s3.addon)

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
        drivers=storage_drivers if cfg.addons.keep_drivers_until_nodes_drain else [],
    ),
    on_cluster,
)

# --- add-ons: load balancer controller and Portainer ---
# Nothing of the Karpenter path waits for these. Their Fargate profiles come after the storage ones.
on_aws_and_cluster = pulumi.ResourceOptions(providers=[aws_provider, k8s_provider])
lbc = None
if cfg.addons.load_balancer_controller.enabled:
    lbc = LoadBalancerController(
        "lbc",
        LoadBalancerControllerArgs(
            replace(addon_args, after_profile=storage_profile_chain),
            vpc_id=cluster.vpc_id,
            config=cfg.addons.load_balancer_controller,
        ),
        on_aws_and_cluster,
    )
if cfg.addons.portainer.enabled:  # the config refuses it without addons.efs
    portainer = Portainer(
        "portainer",
        PortainerArgs(
            cluster_name=name,
            cluster=cluster.name,
            pod_execution_role_arn=fargate.pod_execution_role_arn,
            private_subnet_ids=cluster.private_subnet_ids,
            fargate_after=lbc.profile if lbc else storage_profile_chain,
            file_system_id=efs.file_system_id,
            config=cfg.addons.portainer,
            wait_for=[*efs.mount_targets],
            ingress_controller=lbc.release if lbc else None,
            ingress_class=lbc.ingress_class if lbc else "alb",
        ),
        on_aws_and_cluster,
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
if cfg.addons.s3.enabled:
    # What workloads (and the smoke test's `--check s3`) mount: bucket -> namespace/claim.
    pulumi.export(
        "s3Claims", {b.name: f"{cfg.addons.s3.namespace}/{b.volume_name}" for b in cfg.addons.s3.buckets}
    )
