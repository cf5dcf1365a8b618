"""The migration scenarios: a kubectl that answers from tests/data/migrate/<scenario>/, moto's server on
localhost, and each scenario's account built in it with boto3 (as the guides' aws CLI and CloudFormation
would build it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
import yaml
from moto.iam.models import AWSManagedPolicy, iam_backends
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "migrate"
SHARED_CFN = ROOT.parent / "shared" / "karpenter" / "1.14.1" / "reference-cloudformation.yaml"
ACCOUNT = "123456789012"
REGION = "eu-west-1"
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)


class KubectlError(Exception):
    pass


class RecordedKube:
    """Answers `kubectl get` from a scenario's files, with namespaces, equality selectors and field
    selectors on metadata.name applied as the API server would."""

    def __init__(self, scenario: str) -> None:
        self.folder = DATA / scenario
        self.calls: list[list[str]] = []

    def get_json(self, args: list[str]) -> Any:
        self.calls.append(list(args))
        resource, opts = args[0], _options(args[1:])
        path = self.folder / f"{resource}.json"
        if not path.exists():
            raise KubectlError(f'error: the server doesn\'t have a resource type "{resource}"')
        doc = json.loads(path.read_text())
        doc["items"] = [i for i in doc["items"] if _matches(i, opts)]
        return doc


def _options(args: list[str]) -> dict[str, str]:
    opts: dict[str, str] = {}
    it = iter(args)
    for arg in it:
        if arg == "--all-namespaces":
            opts["all"] = "1"
        elif arg in ("--namespace", "-n", "--selector", "-l", "--field-selector"):
            opts[arg.lstrip("-")[:1] if arg.startswith("-") and len(arg) == 2 else arg.lstrip("-")] = next(it)
    return opts


def _pairs(selector: str) -> dict[str, str]:
    return dict(term.split("=", 1) for term in selector.split(",") if term)


def _matches(obj: Mapping[str, Any], opts: Mapping[str, str]) -> bool:
    meta = obj.get("metadata", {})
    namespace = opts.get("namespace") or opts.get("n")
    if namespace and meta.get("namespace") != namespace:
        return False
    labels = meta.get("labels") or {}
    if any(labels.get(k) != v for k, v in _pairs(opts.get("selector") or opts.get("l") or "").items()):
        return False
    fields = _pairs(opts.get("field-selector", ""))
    return "metadata.name" not in fields or meta.get("name") == fields["metadata.name"]


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on a free localhost port, and the environment that points boto3 at it."""
    with pytest.MonkeyPatch.context() as mp:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        _host, port = server.get_host_and_port()
        endpoint = f"http://127.0.0.1:{port}"
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            mp.delenv(key, raising=False)
        mp.setenv("AWS_ENDPOINT_URL", endpoint)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        mp.setenv("AWS_CONFIG_FILE", "/dev/null")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        _aws_managed_policies()
        try:
            yield endpoint
        finally:
            server.stop()


def _aws_managed_policies() -> None:
    """The AWS managed policies the guides attach, put into moto's in-process IAM backend directly:
    loading all of them (MOTO_IAM_LOAD_MANAGED_POLICIES) costs seconds; their documents do not matter here."""
    backend = iam_backends[ACCOUNT]["aws"]
    for name in NODE_POLICIES:
        policy = AWSManagedPolicy(  # type: ignore[abstract]
            name, account_id=ACCOUNT, region="us-east-1", default_version_id="v1", path="/", document="{}"
        )
        backend.managed_policies[policy.arn] = policy


class SharedClients:
    """A boto3 Session that makes each service's client once: making one costs ~50 ms (its model), and
    the scenarios and their discoveries ask for the same five clients again and again."""

    def __init__(self, region: str = REGION) -> None:
        self.session = boto3.Session(region_name=region)
        self.clients: dict[str, Any] = {}

    def client(self, name: str) -> Any:
        if name not in self.clients:
            self.clients[name] = self.session.client(name)
        return self.clients[name]


# ---------------------------------------------------------------------------------------------------------
# Building each account


def _role(iam: Any, name: str, trust: Mapping[str, Any], managed: tuple[str, ...] = ()) -> str:
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    for policy in managed:
        full = policy if policy.startswith("arn:") else f"arn:aws:iam::aws:policy/{policy}"
        iam.attach_role_policy(RoleName=name, PolicyArn=full)
    return str(arn)


def _irsa_trust(cluster: str, namespace: str) -> dict[str, Any]:
    oidc = f"oidc.eks.{REGION}.amazonaws.com/id/{cluster.upper().replace('-', '')}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{oidc}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{oidc}:sub": f"system:serviceaccount:{namespace}:karpenter"}
                },
            }
        ],
    }


def _controller_policy(cluster: str) -> str:
    """A hand-written controller policy of the kind the guides inline (a shortened one)."""
    statements = [
        {
            "Sid": "Karpenter",
            "Effect": "Allow",
            "Resource": "*",
            "Action": ["ec2:CreateFleet", "ec2:RunInstances"],
        },
        {"Sid": "PassNodeIAMRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
        {
            "Sid": "EKSClusterEndpointLookup",
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{cluster}",
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _cluster(session: Any, name: str) -> None:
    iam = session.client("iam")
    arn = _role(iam, f"{name}-cluster", {"Version": "2012-10-17", "Statement": []})
    session.client("eks").create_cluster(
        name=name, roleArn=arn, resourcesVpcConfig={"subnetIds": ["subnet-0a1"]}
    )


def _node_role_with_profile(iam: Any, role: str, profile: str | None) -> None:
    _role(iam, role, EC2_TRUST, NODE_POLICIES)
    if profile:
        iam.create_instance_profile(InstanceProfileName=profile)
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)


def build_fargate_irsa(session: Any) -> None:
    cluster, suffix = "fg-dev", "fgdev"
    iam = session.client("iam")
    _cluster(session, cluster)
    _node_role_with_profile(
        iam, f"KarpenterNodeInstanceRole-{suffix}", f"KarpenterNodeInstanceProfile-{suffix}"
    )
    _role(iam, f"KarpenterIRSA-{suffix}", _irsa_trust(cluster, "karpenter"))
    iam.put_role_policy(
        RoleName=f"KarpenterIRSA-{suffix}",
        PolicyName="karpenter-controller",
        PolicyDocument=_controller_policy(cluster),
    )
    fargate = _role(iam, f"{cluster}-fargate-pod-execution", {"Version": "2012-10-17", "Statement": []})
    eks = session.client("eks")
    for name, selector in (
        ("karpenter", {"namespace": "karpenter", "labels": {"fargate": "enabled"}}),
        ("coredns", {"namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}}),
    ):
        eks.create_fargate_profile(
            clusterName=cluster, fargateProfileName=name, podExecutionRoleArn=fargate, selectors=[selector]
        )


def build_kube_system(session: Any) -> None:
    cluster = "ks-prod"
    iam = session.client("iam")
    _cluster(session, cluster)
    _node_role_with_profile(iam, f"KarpenterNodeRole-{cluster}", None)
    # In v1 Karpenter makes the instance profile of a role-based EC2NodeClass itself, tagged as its own.
    tags = [
        {"Key": "karpenter.k8s.aws/ec2nodeclass", "Value": "default"},
        {"Key": f"kubernetes.io/cluster/{cluster}", "Value": "owned"},
    ]
    iam.create_instance_profile(InstanceProfileName=f"{cluster}_1234567890123456789", Tags=tags)
    iam.add_role_to_instance_profile(
        InstanceProfileName=f"{cluster}_1234567890123456789", RoleName=f"KarpenterNodeRole-{cluster}"
    )
    _role(iam, f"KarpenterControllerRole-{cluster}", _irsa_trust(cluster, "kube-system"))
    iam.put_role_policy(
        RoleName=f"KarpenterControllerRole-{cluster}",
        PolicyName=f"KarpenterControllerPolicy-{cluster}",
        PolicyDocument=_controller_policy(cluster),
    )


class _Sub:
    """Enough of CloudFormation's !Sub and !GetAtt for the reference template."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values

    def __call__(self, text: str) -> str:
        for key, value in self.values.items():
            text = text.replace("${" + key + "}", value)
        return text


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    """`!Sub x`, `!GetAtt x`, `!Ref x` as {"Sub": x}, ...: enough to read the reference template."""
    return {suffix: loader.construct_scalar(cast(yaml.ScalarNode, node))}


def cfn_template() -> dict[str, Any]:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", _cfn_tag)
    if not SHARED_CFN.exists():
        pytest.skip(f"reference data {SHARED_CFN} is absent (../shared is not next to this checkout)")
    doc: dict[str, Any] = yaml.load(SHARED_CFN.read_text(), Loader=Loader)
    return doc


def build_getting_started(session: Any) -> None:
    """Karpenter's getting-started CloudFormation stack, resource by resource, and eksctl's pieces."""
    cluster, stack = "gs-demo", "Karpenter-gs-demo"
    iam, sqs, events = session.client("iam"), session.client("sqs"), session.client("events")
    _cluster(session, cluster)
    resources = cfn_template()["Resources"]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{cluster}"
    sub = _Sub(
        {
            "ClusterName": cluster,
            "AWS::Partition": "aws",
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::URLSuffix": "amazonaws.com",
            "KarpenterNodeRole.Arn": f"arn:aws:iam::{ACCOUNT}:role/KarpenterNodeRole-{cluster}",
            "KarpenterInterruptionQueue.Arn": queue_arn,
        }
    )
    node = resources["KarpenterNodeRole"]["Properties"]
    managed = tuple(sub(p["Sub"]) for p in node["ManagedPolicyArns"])
    _role(iam, sub(node["RoleName"]["Sub"]), EC2_TRUST, managed)
    controller_policies = []
    for res in resources.values():
        if res["Type"] == "AWS::IAM::ManagedPolicy":
            props = res["Properties"]
            got = iam.create_policy(
                PolicyName=sub(props["ManagedPolicyName"]["Sub"]),
                PolicyDocument=sub(props["PolicyDocument"]["Sub"]),
            )
            controller_policies.append(got["Policy"]["Arn"])
    # eksctl's podIdentityAssociations make this role; only a Pod Identity association points to it.
    pod_identity = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
    _role(iam, f"{cluster}-karpenter", pod_identity, tuple(controller_policies))
    sqs.create_queue(
        QueueName=cluster, Attributes={"MessageRetentionPeriod": "300", "SqsManagedSseEnabled": "true"}
    )
    for logical, res in resources.items():
        if res["Type"] == "AWS::Events::Rule":
            name = f"{stack}-{logical}-ABCDEF123456"
            events.put_rule(Name=name, EventPattern=json.dumps(res["Properties"]["EventPattern"]))
            events.put_targets(
                Rule=name, Targets=[{"Id": "KarpenterInterruptionQueueTarget", "Arn": queue_arn}]
            )


def build_pre_v1(session: Any) -> None:
    cluster = "old"
    iam = session.client("iam")
    _cluster(session, cluster)
    _node_role_with_profile(iam, f"KarpenterNodeRole-{cluster}", f"KarpenterNodeInstanceProfile-{cluster}")
    _role(iam, "old-karpenter", _irsa_trust(cluster, "karpenter"))
    iam.put_role_policy(
        RoleName="old-karpenter", PolicyName="karpenter", PolicyDocument=_controller_policy(cluster)
    )


SCENARIOS: dict[str, tuple[str, Callable[[Any], None]]] = {
    "fargate-irsa": ("fg-dev", build_fargate_irsa),
    "kube-system": ("ks-prod", build_kube_system),
    "getting-started": ("gs-demo", build_getting_started),
    "pre-v1": ("old", build_pre_v1),
}
