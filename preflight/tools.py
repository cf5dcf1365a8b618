"""Programs the deployment runs besides this one, checked before anything is registered."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pulumi

AWS_CLI = "aws"


def check_aws_cli(which: Callable[[str], str | None] = shutil.which) -> None:
    """The AWS CLI must be on PATH: the kubeconfig of both modes (pulumi-eks's `generateKubeconfig` in
    create mode, components/cluster/cluster.py in adopt mode) authenticates with an `exec` of
    `aws eks get-token`, which pulumi-kubernetes runs during every preview and update. Without it the
    run fails later with an exec error in the middle of the Kubernetes resources; this says it first.

    The offline renders (harness/) put a stand-in `aws` on PATH, so this check runs there too."""
    if which(AWS_CLI) is None:
        raise pulumi.RunError(
            "the AWS CLI (`aws`) is not on PATH: the cluster's kubeconfig runs `aws eks get-token` during "
            "preview and update; install AWS CLI v2 (https://aws.amazon.com/cli/) and put it on PATH"
        )
