"""The AWS Load Balancer Controller: its chart on Fargate (pods labelled `fargate: enabled`), IRSA with
upstream's IAM policy, and its CRDs applied from the chart's own release so that upgrades upgrade them.

Design choices (chart 3.5.0, `helm/aws-load-balancer-controller` at tag v3.5.0 of
kubernetes-sigs/aws-load-balancer-controller):
- `region` and `vpcId` are set: Fargate pods have no instance metadata, from which the controller would
  otherwise read them (the chart passes them as `--aws-region` / `--aws-vpc-id`, templates/deployment.yaml).
- `defaultTargetType: ip`: Fargate has no node ports, so `instance` targets cannot work.
- `enableServiceMutatorWebhook: false`: the chart's default (true) registers a mutating webhook on every
  Service CREATE with `failurePolicy: Fail` (templates/webhook.yaml), which makes this controller the
  owner of every new LoadBalancer Service and, while its pods are not ready (a Fargate pod takes a minute
  or more to start), fails the creation of any Service in the cluster, Karpenter's included. We use it
  for ALB Ingresses only; a Service that wants an NLB from it sets `loadBalancerClass: service.k8s.aws/nlb`.
- `keepTLSSecret: true`: without cert-manager the chart makes a self-signed CA and serving certificate
  for the webhooks at render time (`genCA`, templates/_helpers.tpl `webhookCerts`); with this flag an
  upgrade reuses the existing Secret (Helm `lookup`) instead of rotating the CA on every `helm upgrade`,
  which would leave the webhooks' caBundle and the serving pods disagreeing during the rollout.
- CRDs: Helm installs a chart's `crds/` only on first install and never upgrades them. The release skips
  them (`skipCrds`) and the two files of the chart's `crds/` folder at the same release tag are applied by
  `kubernetes:yaml/v2:ConfigFile` (server-side apply), so a version change upgrades them with the chart.
- `dnsPolicy: Default`: the controller resolves only AWS endpoints; it never waits for CoreDNS.
- The pods carry `fargate: enabled` (chart `podLabels`), which the stack's one Fargate profile selects in
  every namespace.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.addons.storage_common import AddonArgs
from components.blocks.helm import release_args
from components.blocks.iam_role import IamRole, RoleArgs, customer_managed_policy, stack_tags
from components.blocks.naming import IAM_POLICY_NAME_PREFIX_MAX, IAM_ROLE_NAME_PREFIX_MAX, bounded_prefix
from components.cluster.fargate import FARGATE_LABEL
from components.documents import iam as iam_documents
from config.addons_ingress import LoadBalancerControllerConfig

CHART = "aws-load-balancer-controller"
CHART_REPOSITORY = "https://aws.github.io/eks-charts"
RELEASE_NAME = CHART
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
IRSA_ANNOTATION = iam_documents.IRSA_ANNOTATION
ROLE_POD_ANNOTATION = iam_documents.ROLE_POD_ANNOTATION
INGRESS_CLASS = "alb"
"""The IngressClass the chart creates (values `ingressClass`, `createIngressClassResource`)."""
POD_LABELS = {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": RELEASE_NAME}
"""Labels every controller pod carries (the chart's selector labels); the Fargate profile selects them."""
CRD_FILES = ("crds.yaml", "gateway-crds.yaml")
"""The files of the chart's `crds/` folder (what `helm install` would have applied once)."""


def crd_urls(version: str) -> list[str]:
    """The chart's CRD manifests at the controller release tag of the same version."""
    base = f"https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/v{version}"
    return [f"{base}/helm/aws-load-balancer-controller/crds/{name}" for name in CRD_FILES]


# --- IAM -------------------------------------------------------------------------------------------------

_CLUSTER_REQUEST_TAG_PRESENT = {"aws:RequestTag/elbv2.k8s.aws/cluster": "false"}
_CLUSTER_RESOURCE_TAG_PRESENT = {"aws:ResourceTag/elbv2.k8s.aws/cluster": "false"}


def iam_policy(partition: str) -> dict[str, Any]:
    """Upstream's `docs/install/iam_policy*.json` of v3.5.0, statement for statement, in `partition`.

    The `*` resources are upstream's: Describe calls cannot be scoped, and creates are scoped by the
    `elbv2.k8s.aws/cluster` request tag instead of an ARN. We keep upstream's policy exactly so that it can
    be compared (and updated) with each release. In aws-cn and aws-us-gov upstream lists the tag-on-create
    statement before the modify statement; we keep that order too."""

    def elb(resource: str) -> str:
        return f"arn:{partition}:elasticloadbalancing:*:*:{resource}"

    security_groups = f"arn:{partition}:ec2:*:*:security-group/*"
    balancers_and_groups = [elb("targetgroup/*/*"), elb("loadbalancer/net/*/*"), elb("loadbalancer/app/*/*")]
    modify = {
        "Effect": "Allow",
        "Action": [
            "elasticloadbalancing:ModifyLoadBalancerAttributes",
            "elasticloadbalancing:SetIpAddressType",
            "elasticloadbalancing:SetSecurityGroups",
            "elasticloadbalancing:SetSubnets",
            "elasticloadbalancing:DeleteLoadBalancer",
            "elasticloadbalancing:ModifyTargetGroup",
            "elasticloadbalancing:ModifyTargetGroupAttributes",
            "elasticloadbalancing:DeleteTargetGroup",
            "elasticloadbalancing:ModifyListenerAttributes",
            "elasticloadbalancing:ModifyCapacityReservation",
            "elasticloadbalancing:ModifyIpPools",
        ],
        "Resource": "*",
        "Condition": {"Null": dict(_CLUSTER_RESOURCE_TAG_PRESENT)},
    }
    tag_on_create = {
        "Effect": "Allow",
        "Action": ["elasticloadbalancing:AddTags"],
        "Resource": list(balancers_and_groups),
        "Condition": {
            "StringEquals": {
                "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"]
            },
            "Null": dict(_CLUSTER_REQUEST_TAG_PRESENT),
        },
    }
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": ["iam:CreateServiceLinkedRole"],
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
        },
        {
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeAccountAttributes",
                "ec2:DescribeAddresses",
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeInternetGateways",
                "ec2:DescribeVpcs",
                "ec2:DescribeVpcPeeringConnections",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeInstances",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeTags",
                "ec2:GetCoipPoolUsage",
                "ec2:DescribeCoipPools",
                "ec2:GetSecurityGroupsForVpc",
                "ec2:DescribeIpamPools",
                "ec2:DescribeRouteTables",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeLoadBalancerAttributes",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeListenerCertificates",
                "elasticloadbalancing:DescribeSSLPolicies",
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetGroupAttributes",
                "elasticloadbalancing:DescribeTargetHealth",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTrustStores",
                "elasticloadbalancing:DescribeListenerAttributes",
                "elasticloadbalancing:DescribeCapacityReservation",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": [
                "cognito-idp:DescribeUserPoolClient",
                "acm:ListCertificates",
                "acm:DescribeCertificate",
                "iam:ListServerCertificates",
                "iam:GetServerCertificate",
                "waf-regional:GetWebACL",
                "waf-regional:GetWebACLForResource",
                "waf-regional:AssociateWebACL",
                "waf-regional:DisassociateWebACL",
                "wafv2:GetWebACL",
                "wafv2:GetWebACLForResource",
                "wafv2:AssociateWebACL",
                "wafv2:DisassociateWebACL",
                "shield:GetSubscriptionState",
                "shield:DescribeProtection",
                "shield:CreateProtection",
                "shield:DeleteProtection",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            "Resource": "*",
        },
        {"Effect": "Allow", "Action": ["ec2:CreateSecurityGroup"], "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": ["ec2:CreateTags"],
            "Resource": security_groups,
            "Condition": {
                "StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"},
                "Null": dict(_CLUSTER_REQUEST_TAG_PRESENT),
            },
        },
        {
            "Effect": "Allow",
            "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
            "Resource": security_groups,
            "Condition": {
                "Null": {
                    "aws:RequestTag/elbv2.k8s.aws/cluster": "true",
                    "aws:ResourceTag/elbv2.k8s.aws/cluster": "false",
                }
            },
        },
        {
            "Effect": "Allow",
            "Action": [
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:DeleteSecurityGroup",
            ],
            "Resource": "*",
            "Condition": {"Null": dict(_CLUSTER_RESOURCE_TAG_PRESENT)},
        },
        {
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
            "Resource": "*",
            "Condition": {"Null": dict(_CLUSTER_REQUEST_TAG_PRESENT)},
        },
        {
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:DeleteRule",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            "Resource": list(balancers_and_groups),
            "Condition": {
                "Null": {
                    "aws:RequestTag/elbv2.k8s.aws/cluster": "true",
                    "aws:ResourceTag/elbv2.k8s.aws/cluster": "false",
                }
            },
        },
        {
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            "Resource": [
                elb("listener/net/*/*/*"),
                elb("listener/app/*/*/*"),
                elb("listener-rule/net/*/*/*"),
                elb("listener-rule/app/*/*/*"),
            ],
        },
        *([modify, tag_on_create] if partition == "aws" else [tag_on_create, modify]),
        {
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            "Resource": elb("targetgroup/*/*"),
        },
        {
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:SetWebAcl",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:RemoveListenerCertificates",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:SetRulePriorities",
            ],
            "Resource": "*",
        },
    ]
    return {"Version": iam_documents.POLICY_VERSION, "Statement": statements}


def role_name_prefix(cluster_name: str) -> str:
    """A name prefix, so a replacement (e.g. of `iam.path`) creates the new role first."""
    return bounded_prefix(f"AWSLoadBalancerController-{cluster_name}", IAM_ROLE_NAME_PREFIX_MAX)


def policy_name_prefix(cluster_name: str) -> str:
    return bounded_prefix(f"AWSLoadBalancerControllerIAMPolicy-{cluster_name}", IAM_POLICY_NAME_PREFIX_MAX)


# --- Helm values -----------------------------------------------------------------------------------------


def controller_values(
    *,
    cluster_name: str,
    region: str,
    vpc_id: str,
    role_arn: str,
    replicas: int,
    resources: dict[str, dict[str, str]],
) -> dict[str, Any]:
    """The chart's values. Every key path exists in the pinned chart's values.yaml (tested)."""
    return {
        "clusterName": cluster_name,
        # Fargate has no instance metadata to read these from.
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": replicas,
        "serviceAccount": {
            "create": True,
            "name": SERVICE_ACCOUNT,
            "annotations": {IRSA_ANNOTATION: role_arn},
        },
        # IRSA sets a pod's role when the pod is created: the role ARN in the pod template makes a role
        # replacement roll the controller instead of leaving it on the deleted role.
        "podAnnotations": {ROLE_POD_ANNOTATION: role_arn},
        "defaultTargetType": "ip",
        "enableServiceMutatorWebhook": False,
        "keepTLSSecret": True,
        "dnsPolicy": "Default",
        # Requests equal to limits (`loadBalancerController.resources`): Fargate sizes the pod from them;
        # the chart sets none (values.yaml `resources: {}`), which gets Fargate's smallest size.
        "resources": resources,
        # The stack's Fargate profile selects this label in every namespace (chart values `podLabels`,
        # added to the pod template's labels: templates/deployment.yaml).
        "podLabels": dict(FARGATE_LABEL),
    }


# --- component -------------------------------------------------------------------------------------------


@dataclass
class LoadBalancerControllerArgs:
    common: AddonArgs
    """The cluster facts; its `fargate_profile` is the profile the controller's pods run on."""
    vpc_id: pulumi.Input[str]
    config: LoadBalancerControllerConfig
    wait_for: Sequence[pulumi.Resource] = ()
    """Anything else the controller needs first (storage classes, when the lead orders the add-ons)."""


class LoadBalancerController(pulumi.ComponentResource):
    """Pass both providers in `opts.providers` (AWS and Kubernetes)."""

    role_arn: pulumi.Output[str]
    crds: list[k8s.yaml.v2.ConfigFile]
    release: k8s.helm.v3.Release
    ingress_class: str

    def __init__(
        self, name: str, args: LoadBalancerControllerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("karpenter-eks:addons:LoadBalancerController", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        c, cfg = args.common, args.config
        policy = customer_managed_policy(
            f"{name}-policy",
            name_prefix=policy_name_prefix(c.cluster_name),
            path=c.path,
            document=c.aws.partition.apply(lambda p: json.dumps(iam_policy(p))),
            description=f"AWS Load Balancer Controller permissions (upstream's) for {c.cluster_name}",
            parent=self,
        )
        irsa = IamRole(
            name,
            RoleArgs(
                name_prefix=role_name_prefix(c.cluster_name),
                path=c.path,
                permissions_boundary=c.permissions_boundary_arn,
                tags=stack_tags(),
                assume_role_policy=pulumi.Output.all(c.oidc_provider_arn, c.oidc_issuer).apply(
                    lambda v: json.dumps(
                        iam_documents.controller_trust_policy(
                            oidc_provider_arn=v[0],
                            oidc_issuer=v[1],
                            namespace=NAMESPACE,
                            service_account=SERVICE_ACCOUNT,
                        )
                    )
                ),
                description=f"AWS Load Balancer Controller of EKS cluster {c.cluster_name} (IRSA)",
                # Per path generation: a new role gets its attachment before the old one's goes (see
                # attachment_generation).
                policies={"policy": policy.arn},
            ),
            self,
        )
        role, (attachment,) = irsa.role, irsa.attachments
        self.crds = [
            k8s.yaml.v2.ConfigFile(f"{name}-crds-{file.removesuffix('.yaml')}", file=url, opts=child)
            for file, url in zip(CRD_FILES, crd_urls(cfg.version), strict=True)
        ]
        values = pulumi.Output.all(role.arn, args.vpc_id).apply(
            lambda v: controller_values(
                cluster_name=c.cluster_name,
                region=c.aws.region,
                vpc_id=v[1],
                role_arn=v[0],
                replicas=cfg.replicas,
                resources=cfg.resources.as_helm(),
            )
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            release_args(
                name=RELEASE_NAME,
                chart=CHART,
                repository=CHART_REPOSITORY,
                version=cfg.version,
                namespace=NAMESPACE,
                values=values,
                # The CRDs are the ConfigFiles above: Helm never upgrades a chart's crds/ folder.
                skip_crds=True,
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[c.fargate_profile, attachment, *self.crds, *args.wait_for]
            ),
        )
        self.role_arn = role.arn
        self.ingress_class = INGRESS_CLASS
        self.register_outputs({"roleArn": role.arn, "status": self.release.status})
