"""The add-on keys, key path by key path: what AWS (or the pinned upstream release) refuses is refused with
the key and what is allowed; what AWS accepts is accepted. Each case is the everything stack (every add-on
on) with some keys changed; the model is validated directly (fast)."""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

import pytest
import yaml

from config.addons_ingress import FargatePodResources, covers_everything
from config.base import ConfigError
from config.fargate_sizes import describe_size, fargate_size
from config.load import parse_stack_config
from harness.stack_files import ROOT

EVERYTHING = ROOT / "tests" / "stacks" / "Pulumi.everything.yaml"
MRK = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"
CERT_ID = "0a1b2c3d-1111-2222-3333-444455556666"
ING = "addons.portainer.ingress"


def everything() -> dict[str, Any]:
    doc = yaml.safe_load(EVERYTHING.read_text())["config"]
    values = {key.split(":", 1)[1]: value for key, value in doc.items()}
    values["addons"]["portainer"]["adminPassword"] = "correct-horse-battery"
    return values


def changed(changes: dict[str, Any]) -> dict[str, Any]:
    values = copy.deepcopy(everything())
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = values
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return values


def problems(changes: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as refused:
        parse_stack_config(changed(changes))
    return refused.value.problems


REFUSED: list[tuple[str, dict[str, Any], str, str]] = [
    # (id, changes, key path of the one problem, fragment of its line)
    (
        "allow-list covering IPv4 in halves",
        {f"{ING}.scheme": "internet-facing", f"{ING}.allowedCidrs": ["0.0.0.0/1", "128.0.0.0/1"]},
        ING,
        "ranges that together cover it",
    ),
    (
        "allow-list covering IPv4 in quarters and more",
        {
            f"{ING}.scheme": "internet-facing",
            f"{ING}.allowedCidrs": ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/3"],
        },
        ING,
        "may not allow all of IPv4",
    ),
    (
        "allow-list 0.0.0.0/0",
        {f"{ING}.scheme": "internet-facing", f"{ING}.allowedCidrs": ["0.0.0.0/0"]},
        ING,
        "may not allow all of IPv4",
    ),
    (
        "certificate of another partition",
        {f"{ING}.certificateArn": f"arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/{CERT_ID}"},
        f"{ING}.certificateArn",
        "is a certificate of region us-gov-west-1 (partition aws-us-gov)",
    ),
    (
        "certificate of another region",
        {f"{ING}.certificateArn": f"arn:aws:acm:us-east-1:123456789012:certificate/{CERT_ID}"},
        f"{ING}.certificateArn",
        "its own region (eu-west-1) only, in partition aws",
    ),
    (
        "certificate ID not a UUID",
        {f"{ING}.certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc"},
        f"{ING}.certificateArn",
        "an ACM certificate ARN such as",
    ),
    (
        "Mountpoint v1",
        {"addons.s3.version": "v1.15.0-eksbuild.1"},
        "addons.s3.version",
        "is Mountpoint for S3 CSI driver v1; the stack gives the driver EKS Pod Identity",
    ),
    (
        "load balancer controller chart 1.x",
        {"addons.loadBalancerController.version": "1.13.0"},
        "addons.loadBalancerController.version",
        "(chart 1.x shipped controller 2.x)",
    ),
    (
        "load balancer controller chart 2.x",
        {"addons.loadBalancerController.version": "2.0.0"},
        "addons.loadBalancerController.version",
        "older than 3.0.0",
    ),
    (
        "KMS alias",
        {"addons.ebs.kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:alias/ebs"},
        "addons.ebs.kmsKeyArn",
        "a key ARN, not an alias",
    ),
    (
        "multi-Region key of another region",
        {"addons.efs.kmsKeyArn": MRK.replace("eu-west-1", "us-east-1")},
        "addons.efs.kmsKeyArn",
        "the key is in us-east-1 (aws)",
    ),
    (
        "mrk key ID too short",
        {"addons.ebs.kmsKeyArn": MRK[:-1]},
        "addons.ebs.kmsKeyArn",
        "multi-Region",
    ),
    (
        "EFS key with an existing file system",
        {"addons.efs.fileSystemId": "fs-0123456789abcdef0"},
        "addons.efs",
        "kmsKeyArn shape only a file system the stack creates",
    ),
    (
        "memory that leaves no room for Fargate's 256 MB",
        {"addons.portainer.resources": {"cpu": "4", "memory": "30Gi"}},
        "addons.portainer.resources",
        "at most 4 vCPU and 30 GB",
    ),
    (
        "controller requests beyond Fargate",
        {"addons.loadBalancerController.resources": {"cpu": "16", "memory": "120Gi"}},
        "addons.loadBalancerController.resources",
        "no Fargate size holds cpu 16 and memory 120Gi",
    ),
    (
        "Portainer CPU below Fargate's smallest",
        {"addons.portainer.resources": {"cpu": "100m", "memory": "512Mi"}},
        "addons.portainer.resources.cpu",
        "must be 250m to 16 CPUs",
    ),
    (
        "Portainer memory as a bare number",
        {"addons.portainer.resources": {"cpu": "250m", "memory": 512}},
        "addons.portainer.resources.memory",
        'such as "512Mi"',
    ),
    (
        "certificate of eu-west-1 in another partition",
        {f"{ING}.certificateArn": f"arn:aws-cn:acm:eu-west-1:123456789012:certificate/{CERT_ID}"},
        f"{ING}.certificateArn",
        "(partition aws-cn)",
    ),
]


@pytest.mark.parametrize(
    ("changes", "key", "fragment"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_refused_by_key_path(changes: dict[str, Any], key: str, fragment: str) -> None:
    lines = problems(changes)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{key}: ") and fragment in lines[0], lines


ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("multi-Region KMS key for EBS", {"addons.ebs.kmsKeyArn": MRK}),
    ("multi-Region KMS key for EFS", {"addons.efs.kmsKeyArn": MRK}),
    (
        "internet-facing with two halves of one private range",
        {f"{ING}.scheme": "internet-facing", f"{ING}.allowedCidrs": ["10.0.0.0/9", "10.128.0.0/9"]},
    ),
    (
        "internet-facing with everything but one /1",
        {f"{ING}.scheme": "internet-facing", f"{ING}.allowedCidrs": ["128.0.0.0/1"]},
    ),
    ("load balancer controller 3.0.0", {"addons.loadBalancerController.version": "3.0.0"}),
    ("Mountpoint v2", {"addons.s3.version": "v2.0.0-eksbuild.1"}),
    (
        "existing EFS file system without the created one's keys",
        {"addons.efs.fileSystemId": "fs-0123456789abcdef0", "addons.efs.kmsKeyArn": None},
    ),
    ("Portainer sized", {"addons.portainer.resources": {"cpu": "1", "memory": "2Gi"}}),
    ("only the memory given", {"addons.portainer.resources": {"memory": "1Gi"}}),
    ("controller sized", {"addons.loadBalancerController.resources": {"cpu": "500m", "memory": "1Gi"}}),
]


@pytest.mark.parametrize("changes", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_accepted(changes: dict[str, Any]) -> None:
    parse_stack_config(changed(changes))


def test_coverage_is_computed_not_matched() -> None:
    nets = [ipaddress.IPv4Network(n) for n in ("0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2")]
    assert covers_everything(nets)
    assert not covers_everything(nets[:2])


@pytest.mark.parametrize(
    ("cpu", "memory", "size"),
    [
        # The user guide's rule: requests + 256 MB, rounded up to the nearest combination.
        ("250m", "256Mi", "0.25 vCPU, 0.5 GB"),
        ("250m", "512Mi", "0.25 vCPU, 1 GB"),
        ("250m", "1792Mi", "0.25 vCPU, 2 GB"),
        ("250m", "2Gi", "0.5 vCPU, 3 GB"),
        ("1", "1Gi", "1 vCPU, 2 GB"),
        ("4", "29Gi", "4 vCPU, 30 GB"),
        ("2", "16Gi", "4 vCPU, 17 GB"),
    ],
)
def test_fargate_size(cpu: str, memory: str, size: str) -> None:
    found = fargate_size(cpu, memory)
    assert found is not None and describe_size(found) == size


def test_default_sizes_are_the_documented_ones() -> None:
    cfg = parse_stack_config(everything())
    assert cfg.addons.load_balancer_controller.resources.fargate_size == "0.25 vCPU, 1 GB"
    assert cfg.addons.portainer.resources.fargate_size == "0.25 vCPU, 1 GB"
    assert FargatePodResources(cpu="2", memory="4Gi").as_helm() == {
        "requests": {"cpu": "2", "memory": "4Gi"},
        "limits": {"cpu": "2", "memory": "4Gi"},
    }
