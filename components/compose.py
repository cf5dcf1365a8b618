"""The stack's components in the order the README's diagram draws them: the cluster (created or adopted),
the AWS identities Karpenter needs, the controller on Fargate, the Karpenter release, the storage add-ons,
the NodePools, then the ingress add-ons.

The providers and components are registered at the top level (no parent): their URNs depend on it. Each
step is a small function that takes what the earlier ones returned, so the order is the data flow. The
live-account checks and lookups ran before (preflight/), and their answers come in as plain values."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.addons.ebs import EbsArgs, EbsStorage
from components.addons.efs import EfsArgs, EfsStorage
from components.addons.load_balancer_controller import LoadBalancerController, LoadBalancerControllerArgs
from components.addons.portainer import Portainer, PortainerArgs
from components.addons.s3 import S3Args, S3Storage
from components.addons.storage_common import AddonArgs
from components.blocks.aws_context import AwsContext, aws_context
from components.blocks.helm import ChartCredentials
from components.blocks.naming import STACK_TAG
from components.cluster.admin_access import AdminAccessArgs, AdminAccessEntries
from components.cluster.cluster import AdoptArgs, Cluster, ClusterArgs, CreateArgs, ExistingCluster
from components.cluster.fargate import Fargate, FargateArgs
from components.cluster.network import Network, NetworkArgs
from components.karpenter.controller_role import ControllerRole, ControllerRoleArgs
from components.karpenter.interruption_queue import InterruptionQueue, InterruptionQueueArgs
from components.karpenter.node_identity import NodeIdentity, NodeIdentityArgs
from components.karpenter.node_pools import NodePools, NodePoolsArgs
from components.karpenter.release import KarpenterRelease, KarpenterReleaseArgs
from config.addons import demote_gp2
from config.stack import StackConfig


@dataclass(frozen=True)
class Context:
    """What every step takes: the config, the AWS facts, the explicit AWS provider and the stack tag."""

    cfg: StackConfig
    ctx: AwsContext
    aws_provider: aws.Provider
    stack_tags: dict[str, str]

    @property
    def name(self) -> str:
        return self.cfg.cluster.name

    @property
    def on_aws(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(providers=[self.aws_provider])


@dataclass(frozen=True)
class ClusterParts:
    cluster: Cluster
    network: Network | None
    """Create mode only: the VPC this stack made."""
    existing: ExistingCluster | None
    """Adopt mode only: the cluster as the account describes it."""


@dataclass(frozen=True)
class Identities:
    nodes: NodeIdentity
    interruption: InterruptionQueue
    controller_role: ControllerRole
    admins: AdminAccessEntries


@dataclass(frozen=True)
class Storage:
    drivers: list[pulumi.Resource]
    """The storage add-ons (EKS add-ons): the node classes wait for them, so `pulumi destroy` drains the
    nodes while the drivers still run."""
    claims: list[pulumi.Resource]
    """The S3 claims: the node classes wait for them, so they (and their volumes) outlive the drain."""
    efs: EfsStorage | None


@dataclass(frozen=True)
class Environment:
    """What the stack exports."""

    cluster: Cluster
    identities: Identities
    pools: NodePools


def stack_tags() -> dict[str, str]:
    return {STACK_TAG: f"{pulumi.get_project()}/{pulumi.get_stack()}"}


def cluster(c: Context, existing: ExistingCluster | None) -> ClusterParts:
    """The cluster: created (with its VPC), or adopted (`existing`: what preflight found)."""
    cfg = c.cfg
    if existing is None:
        vpc = cfg.cluster.vpc_or_default
        network = Network(
            "network",
            NetworkArgs(
                c.name, cfg.region, str(vpc.cidr), vpc.availability_zones, vpc.nat_gateways == "perAz"
            ),
            c.on_aws,
        )
        create = CreateArgs(
            kubernetes_version=cfg.cluster.kubernetes_version,
            network=network,
            endpoint_public_access=cfg.cluster.endpoint_public_access,
            public_access_cidrs=cfg.cluster.effective_public_access_cidrs,
            addon_versions=cfg.cluster.effective_addon_versions,
        )
        created = Cluster("cluster", ClusterArgs(c.name, c.ctx, create=create), c.on_aws)
        return ClusterParts(created, network, None)
    configured = cfg.cluster.existing_or_default
    adopt = AdoptArgs(
        existing, configured.private_subnet_ids, configured.security_group_id, configured.create_oidc_provider
    )
    return ClusterParts(Cluster("cluster", ClusterArgs(c.name, c.ctx, adopt=adopt), c.on_aws), None, existing)


def identities(c: Context, cluster: Cluster) -> Identities:
    """AWS identities and interruption handling: they need the cluster's name, not the cluster, except the
    access entry and the IRSA trust (which need the cluster's OIDC provider)."""
    iam = c.cfg.iam
    nodes = NodeIdentity(
        "nodes",
        NodeIdentityArgs(
            cluster_name=c.name,
            cluster=cluster.name,
            aws=c.ctx,
            path=iam.path,
            permissions_boundary_arn=iam.permissions_boundary_arn,
            extra_policy_arns=iam.extra_node_policy_arns,
            spot_service_linked_role=iam.spot_service_linked_role,
            tags=c.stack_tags,
            role_name=iam.node_role_name,
            instance_profile_name=iam.node_instance_profile_name,
        ),
        c.on_aws,
    )
    interruption = InterruptionQueue(
        "interruption",
        InterruptionQueueArgs(c.name, tags=c.stack_tags, queue_name=c.cfg.karpenter.interruption_queue_name),
        c.on_aws,
    )
    controller_role = ControllerRole(
        "controller",
        ControllerRoleArgs(
            cluster_name=c.name,
            aws=c.ctx,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer,
            namespace=c.cfg.karpenter.namespace,
            service_account=c.cfg.karpenter.service_account,
            node_role_arn=nodes.role_arn,
            queue_arn=interruption.queue_arn,
            manage_instance_profiles=iam.karpenter_manages_instance_profiles,
            path=iam.path,
            permissions_boundary_arn=iam.permissions_boundary_arn,
            tags=c.stack_tags,
            role_name=iam.controller_role_name,
        ),
        c.on_aws,
    )
    admins = AdminAccessEntries(
        "admins", AdminAccessArgs(cluster.name, c.ctx, c.cfg.cluster.admin_access), c.on_aws
    )
    return Identities(nodes, interruption, controller_role, admins)


def fargate(c: Context, cluster: Cluster) -> Fargate:
    """The Fargate profile every Fargate pod of the stack runs on."""
    return Fargate(
        "fargate",
        FargateArgs(
            cluster_name=c.name,
            cluster=cluster.name,
            aws=c.ctx,
            private_subnet_ids=cluster.private_subnet_ids,
            core_dns_on_fargate=c.cfg.core_dns_on_fargate,
            manage_core_dns_addon=cluster.created,
            path=c.cfg.iam.path,
            permissions_boundary_arn=c.cfg.iam.permissions_boundary_arn,
            tags=c.stack_tags,
            wait_for=cluster.egress,
        ),
        c.on_aws,
    )


def kubernetes_provider(cluster: Cluster, admins: AdminAccessEntries) -> k8s.Provider:
    """Kubernetes objects wait for the people's and pipelines' access entries (a pipeline may reach the
    cluster through one), so destroy removes those entries only after the objects."""
    return k8s.Provider(
        "kubernetes",
        kubeconfig=cluster.kubeconfig,
        # pulumi-kubernetes DiffConfig: with an unchanged clusterIdentifier the provider is never replaced
        # (a kubeconfig that changes or is unknown at preview would otherwise replace it, and with it every
        # Kubernetes object it manages); a changed identifier (another cluster) replaces it.
        cluster_identifier=cluster.identifier,
        delete_unreachable=False,
        opts=pulumi.ResourceOptions(depends_on=[admins]),
    )


def karpenter(
    c: Context,
    cluster: Cluster,
    ids: Identities,
    profiles: Fargate,
    chart: tuple[str, ChartCredentials | None],
    on_cluster: pulumi.ResourceOptions,
) -> KarpenterRelease:
    """The Karpenter release, after its Fargate profile, role attachments and queue wiring exist."""
    repository, credentials = chart
    return KarpenterRelease(
        "karpenter",
        KarpenterReleaseArgs(
            cluster_name=c.name,
            cluster_endpoint=cluster.endpoint,
            queue_name=ids.interruption.queue_name,
            controller_role_arn=ids.controller_role.role_arn,
            config=c.cfg.karpenter,
            chart_repository=repository,
            chart_credentials=credentials,
            wait_for=[
                profiles.profile,
                *ids.controller_role.attachments,
                ids.interruption.queue_policy,
                *ids.interruption.targets,
            ],
        ),
        on_cluster,
    )


def addon_args(c: Context, parts: ClusterParts, profiles: Fargate, k8s_provider: k8s.Provider) -> AddonArgs:
    """The cluster facts every add-on takes (storage, and the load balancer controller)."""
    cluster = parts.cluster
    return AddonArgs(
        cluster_name=c.name,
        cluster=cluster.name,
        aws=c.ctx,
        oidc_provider_arn=cluster.oidc_provider_arn,
        oidc_issuer=cluster.oidc_issuer,
        pod_execution_role_arn=profiles.pod_execution_role_arn,
        private_subnet_ids=cluster.private_subnet_ids,
        fargate_profile=profiles.profile,
        k8s_provider=k8s_provider,
        path=c.cfg.iam.path,
        permissions_boundary_arn=c.cfg.iam.permissions_boundary_arn,
    )


def efs_subnets(c: Context, parts: ClusterParts) -> dict[str, pulumi.Input[str]]:
    """One private subnet per availability zone, by zone name (EFS takes one mount target per zone)."""
    if parts.network is not None:
        zones = c.cfg.cluster.vpc_or_default.availability_zones
        return {f"{c.cfg.region}{z}": s for z, s in zip(zones, parts.network.private_subnet_ids, strict=True)}
    if parts.existing is None:
        raise ValueError("a cluster is either created or adopted")
    return dict(parts.existing.subnet_zones)


def storage(c: Context, parts: ClusterParts, args: AddonArgs) -> Storage:
    """The storage add-ons (EBS gp3, EFS, S3), their controllers on the stack's Fargate profile. The node
    classes wait for the drivers and the S3 claims (see `capacity`)."""
    addons = c.cfg.addons
    claims: list[pulumi.Resource] = []
    drivers: list[pulumi.Resource] = []
    efs: EfsStorage | None = None
    if addons.ebs.enabled:
        gp2 = demote_gp2(addons.ebs, c.cfg.addons_context)
        ebs = EbsStorage("ebs", EbsArgs(args, addons.ebs, gp2), c.on_aws)
        drivers.append(ebs.addon)
    if addons.efs.enabled:
        efs = EfsStorage(
            "efs",
            EfsArgs(
                args,
                addons.efs,
                vpc_id=parts.cluster.vpc_id,
                cluster_security_group_id=parts.cluster.security_group_id,
                private_subnets=efs_subnets(c, parts),
                fargate_security_group_id=parts.cluster.adopted_eks_security_group_id,
            ),
            c.on_aws,
        )
        drivers.append(efs.addon)
    if addons.s3.enabled:
        s3 = S3Storage("s3", S3Args(args, addons.s3), c.on_aws)
        drivers.append(s3.addon)
        claims.extend(s3.claims)
    return Storage(drivers, claims, efs)


def capacity(
    c: Context,
    cluster: Cluster,
    ids: Identities,
    release: KarpenterRelease,
    stored: Storage,
    on_cluster: pulumi.ResourceOptions,
) -> NodePools:
    """What Karpenter may buy. `pulumi destroy` deletes in dependency order (what depends on a resource
    first): every EC2NodeClass, whose deletion waits until Karpenter has drained and terminated its nodes,
    goes before the storage drivers and the S3 claims it waits for, so pods unmount while the drivers run
    and no claim is deleted while a pod still mounts it (`kubernetes.io/pvc-protection` would hold it)."""
    return NodePools(
        "capacity",
        NodePoolsArgs(
            cluster_name=c.name,
            node_class=c.cfg.node_class,
            named_classes=c.cfg.node_classes,
            pools=c.cfg.node_pools,
            nodes=ids.nodes,
            role_based=c.cfg.iam.karpenter_manages_instance_profiles,
            controller=release.controller,
            discovery_tags=cluster.discovery_tags,
            drivers=stored.drivers,
            claims=stored.claims,
        ),
        on_cluster,
    )


def ingress(
    c: Context, cluster: Cluster, args: AddonArgs, stored: Storage, k8s_provider: k8s.Provider
) -> None:
    """The load balancer controller and Portainer: nothing of the Karpenter path waits for these."""
    addons = c.cfg.addons
    on_aws_and_cluster = pulumi.ResourceOptions(providers=[c.aws_provider, k8s_provider])
    lbc = None
    if addons.load_balancer_controller.enabled:
        lbc = LoadBalancerController(
            "lbc",
            LoadBalancerControllerArgs(
                args,
                vpc_id=cluster.vpc_id,
                config=addons.load_balancer_controller,
            ),
            on_aws_and_cluster,
        )
    if not addons.portainer.enabled:
        return
    if stored.efs is None:
        raise ValueError("addons.portainer needs addons.efs (the config refuses it without)")
    Portainer(
        "portainer",
        PortainerArgs(
            cluster_name=c.name,
            fargate_profile=args.fargate_profile,
            file_system_id=stored.efs.file_system_id,
            config=addons.portainer,
            # The EFS add-on brings the `efs.csi.aws.com` CSIDriver: without it the pod's volume never
            # attaches and the atomic release rolls back.
            wait_for=[*stored.efs.mount_targets, stored.efs.addon],
            ingress_controller=lbc.release if lbc else None,
            ingress_class=lbc.ingress_class if lbc else "alb",
        ),
        on_aws_and_cluster,
    )


def compose(
    cfg: StackConfig,
    aws_provider: aws.Provider,
    existing: ExistingCluster | None,
    chart: tuple[str, ChartCredentials | None],
) -> Environment:
    """Register the whole stack from what preflight found: the adopted cluster (None to create one), the
    chart repository and the registry login for it."""
    c = Context(cfg, aws_context(cfg.region, aws_provider), aws_provider, stack_tags())
    parts = cluster(c, existing)
    ids = identities(c, parts.cluster)
    profiles = fargate(c, parts.cluster)
    k8s_provider = kubernetes_provider(parts.cluster, ids.admins)
    on_cluster = pulumi.ResourceOptions(providers=[k8s_provider])
    release = karpenter(c, parts.cluster, ids, profiles, chart, on_cluster)
    args = addon_args(c, parts, profiles, k8s_provider)
    stored = storage(c, parts, args)
    pools = capacity(c, parts.cluster, ids, release, stored, on_cluster)
    ingress(c, parts.cluster, args, stored, k8s_provider)
    return Environment(parts.cluster, ids, pools)
