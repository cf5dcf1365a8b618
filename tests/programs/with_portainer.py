"""TEST ONLY: the program (`__main__.py`) plus Portainer, wired to a STAND-IN EFS file system.

The EFS add-on (file system, mount targets) is built on another branch; until it is merged, this program
creates a placeholder file system and one mount target so that Portainer's inputs and ordering edges can be
tested on a recorded plan. Nothing here is part of the deployed program."""

from __future__ import annotations

import runpy
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.addons.portainer import Portainer, PortainerArgs

main = runpy.run_path(str(Path(__file__).resolve().parents[2] / "__main__.py"))
cfg = main["cfg"]
cluster = main["cluster"]
fargate = main["fargate"]
lbc = main["lbc"]
on_aws = main["on_aws"]

# --- placeholder for the EFS add-on (tests only) ---
stand_in_efs = aws.efs.FileSystem("test-stand-in-efs", encrypted=True, opts=on_aws)
stand_in_mount_target = aws.efs.MountTarget(
    "test-stand-in-efs-a",
    file_system_id=stand_in_efs.id,
    subnet_id=cluster.private_subnet_ids.apply(lambda ids: ids[0]),
    opts=on_aws,
)

portainer = Portainer(
    "portainer",
    PortainerArgs(
        cluster_name=cfg.cluster.name,
        cluster=cluster.name,
        pod_execution_role_arn=fargate.pod_execution_role_arn,
        private_subnet_ids=cluster.private_subnet_ids,
        fargate_after=lbc.profile if lbc else fargate.profile,
        file_system_id=stand_in_efs.id,
        config=cfg.addons.portainer,
        wait_for=[stand_in_mount_target],
        ingress_controller=lbc.release if lbc else None,
        ingress_class=lbc.ingress_class if lbc else "alb",
    ),
    main["on_aws_and_cluster"],
)
pulumi.export("portainerStatus", portainer.release.status)
