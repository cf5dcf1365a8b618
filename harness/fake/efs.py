"""EFS: file systems and their mount targets."""

from __future__ import annotations

from harness.fake.world import Registration, _hex


def _file_system(r: Registration) -> None:
    r.rid = f"fs-{_hex(r.name)}"
    r.state |= {
        "arn": r.arn("elasticfilesystem", f"file-system/{r.rid}"),
        "dnsName": f"{r.rid}.efs.{r.world.region}.amazonaws.com",
        "creationToken": r.inputs.get("creationToken") or f"{r.name}-{_hex(r.name, 7)}",
    }


def _mount_target(r: Registration) -> None:
    r.rid = f"fsmt-{_hex(r.name)}"
    r.state |= {"ipAddress": "10.0." + str(int(_hex(r.name, 2), 16) % 250) + ".10"}


RESOURCES = {
    "aws:efs/fileSystem:FileSystem": _file_system,
    "aws:efs/mountTarget:MountTarget": _mount_target,
}
