"""The EKS cluster Karpenter runs on: created with pulumi-eks (create mode) or an existing one adopted.

Either way the component exposes the same facts (name, endpoint, OIDC provider, subnets, security
group, kubeconfig) and tags the subnets and security group for Karpenter discovery."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks

from components.blocks.arns import cluster_arn, oidc_provider_arn
from components.blocks.aws_context import AwsContext
from components.blocks.naming import DISCOVERY_TAG
from components.cluster.network import Network
from components.documents import iam as iam_documents


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates with `aws eks get-token` (needs the AWS CLI), as JSON."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region],
                        }
                    },
                }
            ],
        }
    )


def issuer_host(issuer: str) -> str:
    return issuer.removeprefix("https://")


@dataclass
class CreateArgs:
    kubernetes_version: str
    network: Network
    endpoint_public_access: bool
    public_access_cidrs: list[str] | None
    """None without public access: pulumi-eks refuses CIDRs then."""
    addon_versions: dict[str, str] = field(default_factory=dict)
    """{"vpcCni": ..., "kubeProxy": ...}: pinned, or pulumi-eks looks up the newest on every run."""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExistingCluster:
    """What the account says of an adopted cluster, as plain values: preflight/cluster.py looks it up
    and refuses a cluster that cannot work before anything is registered."""

    name: str
    endpoint: str
    issuer: str
    """The OIDC issuer URL (https://...)."""
    certificate_authority: str
    vpc_id: str
    eks_security_group_id: str
    """The cluster security group EKS created."""
    private_subnet_ids: list[str]
    """The private subnets in use: the configured ones, or those found by the discovery tag."""
    subnet_zones: dict[str, str] = field(default_factory=dict)
    """Availability zone -> one of the private subnets (looked up only when EFS needs it)."""


@dataclass
class AdoptArgs:
    existing: ExistingCluster
    private_subnet_ids: list[str] | None
    """The configured subnets (tagged for discovery here), or None (found by tag)."""
    security_group_id: str | None
    create_oidc_provider: bool


@dataclass
class ClusterArgs:
    cluster_name: str
    aws: AwsContext
    create: CreateArgs | None = None
    adopt: AdoptArgs | None = None


class Cluster(pulumi.ComponentResource):
    """Facts every other component needs, each an Output that depends on the cluster existing."""

    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    vpc_id: pulumi.Output[str]
    """The cluster's VPC (the load balancer controller on Fargate cannot discover it from metadata)."""
    kubeconfig: pulumi.Output[str]
    identifier: pulumi.Output[str]
    """The cluster's ARN, built from partition, region, account and name (known at preview): the
    Kubernetes provider's `clusterIdentifier`, so a kubeconfig change never replaces the provider."""
    created: bool
    egress: list[pulumi.Resource]
    """Create mode: the NAT gateways and private routes pods need (see Network.egress)."""
    discovery_tags: list[pulumi.Resource]
    """The `karpenter.sh/discovery` tags this component adds; the EC2NodeClass waits for them."""
    adopted_eks_security_group_id: str | None
    """Adopt mode, when `existing.securityGroupId` names another group: the cluster security group EKS
    created, which Fargate pods carry (None otherwise: the two are the same)."""

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("karpenter-eks:cluster:Cluster", name, None, opts)
        if (args.create is None) == (args.adopt is None):
            raise ValueError("ClusterArgs takes exactly one of create or adopt")
        self.created = args.create is not None
        self.egress = list(args.create.network.egress) if args.create else []
        self.discovery_tags = []
        self.identifier = pulumi.Output.all(args.aws.partition, args.aws.account_id).apply(
            lambda v: cluster_arn(v[0], args.aws.region, v[1], args.cluster_name)
        )
        self.adopted_eks_security_group_id = None
        if args.create is not None:
            self._create(name, args.cluster_name, args.create)
        else:
            assert args.adopt is not None
            self._adopt(name, args.cluster_name, args.aws, args.adopt)

        sg_tag = aws.ec2.Tag(
            f"{name}-sg-discovery",
            resource_id=self.security_group_id,
            key=DISCOVERY_TAG,
            value=args.cluster_name,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.discovery_tags.append(sg_tag)
        self.register_outputs(
            {
                "name": self.name,
                "endpoint": self.endpoint,
                "oidcProviderArn": self.oidc_provider_arn,
                "securityGroupId": self.security_group_id,
            }
        )

    def _create(self, name: str, cluster_name: str, args: CreateArgs) -> None:
        cluster = eks.Cluster(
            f"{name}-eks",
            name=cluster_name,
            version=args.kubernetes_version,
            vpc_id=args.network.vpc_id,
            private_subnet_ids=args.network.private_subnet_ids,
            public_subnet_ids=args.network.public_subnet_ids,
            authentication_mode=eks.AuthenticationMode.API,
            create_oidc_provider=True,
            skip_default_node_group=True,
            # Use the security group EKS creates (Fargate pods get it too); tag it for discovery below.
            skip_default_security_groups=True,
            endpoint_private_access=True,
            endpoint_public_access=args.endpoint_public_access,
            public_access_cidrs=args.public_access_cidrs,
            # CoreDNS is installed by the Fargate component, after its Fargate profile exists, with
            # computeType Fargate: here it would wait for nodes that do not exist yet.
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=False),
            # vpc-cni and kube-proxy as EKS managed add-ons (not the self-managed bootstrap copies), at
            # pinned versions: without one, pulumi-eks asks for the newest on every run
            # (`getAddonVersionOutput({mostRecent: true})`, nodejs/eks/addons/cni-addon.ts and
            # cluster/cluster.ts), so a preview of an unchanged stack would upgrade them. VPC CNI's field is
            # `addonVersion`, kube-proxy's `version` (eks-4.4.0 schema: VpcCniOptions, KubeProxyAddonOptions).
            use_default_vpc_cni=False,
            vpc_cni_options=eks.VpcCniOptionsArgs(addon_version=args.addon_versions.get("vpcCni")),
            kube_proxy_addon_options=eks.KubeProxyAddonOptionsArgs(
                version=args.addon_versions.get("kubeProxy")
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        core = cluster.core
        self.endpoint = core.apply(lambda c: c.endpoint)
        self.name = self.endpoint.apply(lambda _: cluster_name)
        self.oidc_provider_arn = cluster.oidc_provider_arn
        self.oidc_issuer = cluster.oidc_issuer.apply(issuer_host)
        self.security_group_id = cluster.cluster_security_group_id
        self.private_subnet_ids = pulumi.Output.all(*args.network.private_subnet_ids).apply(list)
        self.vpc_id = pulumi.Output.from_input(args.network.vpc_id)
        self.kubeconfig = pulumi.Output.secret(cluster.kubeconfig_json)
        aws.eks.Addon(
            f"{name}-pod-identity-agent",
            cluster_name=self.name,
            addon_name="eks-pod-identity-agent",
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _adopt(self, name: str, cluster_name: str, ctx: AwsContext, args: AdoptArgs) -> None:
        info = args.existing
        host = issuer_host(info.issuer)
        self.name = pulumi.Output.from_input(info.name)
        self.endpoint = pulumi.Output.from_input(info.endpoint)
        self.oidc_issuer = pulumi.Output.from_input(host)
        if args.create_oidc_provider:
            provider = aws.iam.OpenIdConnectProvider(
                f"{name}-oidc",
                url=info.issuer,
                client_id_lists=[iam_documents.IRSA_AUDIENCE],
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.oidc_provider_arn = provider.arn
        else:
            self.oidc_provider_arn = pulumi.Output.all(ctx.partition, ctx.account_id).apply(
                lambda v: oidc_provider_arn(v[0], v[1], host)
            )
        eks_group = info.eks_security_group_id
        self.security_group_id = pulumi.Output.from_input(args.security_group_id or eks_group)
        if args.security_group_id and args.security_group_id != eks_group:
            self.adopted_eks_security_group_id = eks_group
        self.vpc_id = pulumi.Output.from_input(info.vpc_id)
        for subnet_id in args.private_subnet_ids or []:
            self.discovery_tags.append(
                aws.ec2.Tag(
                    f"{name}-discovery-{subnet_id}",
                    resource_id=subnet_id,
                    key=DISCOVERY_TAG,
                    value=cluster_name,
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.private_subnet_ids = pulumi.Output.from_input(list(info.private_subnet_ids))
        self.kubeconfig = pulumi.Output.secret(
            kubeconfig(info.name, info.endpoint, info.certificate_authority, ctx.region)
        )
