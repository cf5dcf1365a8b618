"""`blockDeviceMappings` of an EC2NodeClass: the EBS volumes of each node.

Shapes and names are the CRD's (`spec.blockDeviceMappings[]`, Karpenter 1.14.1); the volume limits are
EBS's (gp3 limits shared with the EBS add-on, `config.addons_storage`), so a volume Karpenter would fail
to launch with (CreateFleet refuses it, every launch fails) is refused here by key path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidatorFunctionWrapHandler, WrapValidator

from config.addons_storage import (
    GP3_IOPS,
    GP3_MIBS_PER_IOPS,
    GP3_THROUGHPUT,
    KmsKeyArn,
    _kms_in_stack_region,
)
from config.base import Model, Problem, collect_problems, repeats, rule

# spec.blockDeviceMappings[].ebs.volumeSize's CRD pattern (Gi, G, Ti, T).
VOLUME_SIZE = re.compile(
    r"^((?:[1-9][0-9]{0,3}|[1-4][0-9]{4}|[5][0-8][0-9]{3}|59000)Gi|(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|"
    r"[6][0-3][0-9]{3}|64000)G|([1-9]||[1-5][0-7]|58)Ti|([1-9]||[1-5][0-9]|6[0-3]|64)T)$"
)
DEVICE_NAME = re.compile(r"^/dev/(xvd[a-z]{1,2}|sd[a-z]{1,2}|nvme[0-9]+n[0-9]+)$")
GP3_IOPS_PER_GIB = 500
"""gp3: at most 500 provisioned IOPS per GiB (Amazon EBS User Guide, "General Purpose SSD volumes")."""
IO_IOPS = {"io1": (100, 64000, 50), "io2": (100, 256000, 1000)}
"""io1 / io2: IOPS range and most IOPS per GiB (Amazon EBS User Guide, "Provisioned IOPS SSD volumes")."""
MIN_SIZE_GIB = {"gp2": 1, "gp3": 1, "io1": 4, "io2": 4, "st1": 125, "sc1": 125, "standard": 1}


def _size(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value}Gi"
    return value


def _volume_size(value: str) -> str:
    if not VOLUME_SIZE.match(value):
        raise ValueError("must be a size in Gi, G, Ti or T such as 100Gi (a bare number is GiB), at most 64T")
    return value


def size_gib(text: str) -> float:
    """GiB of a volume size (100Gi, 100G, 1Ti, 1T)."""
    match = re.match(r"^([0-9]+)(Gi|G|Ti|T)$", text)
    assert match is not None
    factor = {"Gi": 1.0, "G": 1e9 / 2**30, "Ti": 1024.0, "T": 1e12 / 2**30}[match[2]]
    return int(match[1]) * factor


def _device(value: str) -> str:
    if not DEVICE_NAME.match(value):
        raise ValueError("must be a device name such as /dev/xvda, /dev/xvdb or /dev/sdf")
    return value


class EbsConfig(Model):
    """One EBS volume (`ebs` of a block device mapping)."""

    volume_size: Annotated[str, BeforeValidator(_size), AfterValidator(_volume_size)] = Field(
        description="Size: 100Gi, 1Ti (a bare number is GiB)."
    )
    volume_type: Literal["gp3", "gp2", "io1", "io2", "st1", "sc1", "standard"] = Field(
        default="gp3", description="EBS volume type."
    )
    iops: int | None = Field(
        default=None,
        description="Provisioned IOPS: gp3 3000 to 80000 and at most 500 per GiB; io1/io2 required. Unset "
        "on gp3: its baseline 3000.",
    )
    throughput: int | None = Field(
        default=None,
        description="gp3 only: provisioned MiB/s, 125 to 2000 and at most IOPS/4. Unset: 125.",
    )
    encrypted: bool | None = Field(
        default=True,
        description="Encrypt the volume (the account's default EBS key unless `kmsKeyID`). null: not set "
        "on the EC2NodeClass (the account's EBS encryption-by-default decides), as a class made by hand "
        "may have it; `tools/dev.py migrate` writes null for such a class (setting it drifts its nodes).",
    )
    kms_key_id: Annotated[KmsKeyArn, AfterValidator(_kms_in_stack_region)] | None = Field(
        default=None,
        alias="kmsKeyID",
        description="ARN of the KMS key that encrypts the volume, in the stack's region and partition. The "
        "program grants nothing on it: the key policy must let the Karpenter controller role (and for Spot "
        "the AWSServiceRoleForEC2Spot role) use it, or every launch fails.",
    )
    delete_on_termination: bool | None = Field(
        default=True,
        description="Delete the volume when the instance terminates. null: not set on the EC2NodeClass "
        "(the AMI's mapping decides; EKS AMIs delete their volumes), as a class made by hand may have it.",
    )

    @rule("volume_type", "iops", "throughput", "volume_size")
    def _performance(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        kind, iops, throughput = v["volume_type"], v.get("iops"), v.get("throughput")
        gib = size_gib(_size(v["volume_size"]))
        if gib < MIN_SIZE_GIB[kind]:
            yield Problem(
                ("volumeSize",), f"{kind} volumes are at least {MIN_SIZE_GIB[kind]} GiB", show=False
            )
        if throughput is not None and kind != "gp3":
            yield Problem(("throughput",), f"is for gp3 volumes only, not {kind}", show=False)
        elif throughput is not None and not GP3_THROUGHPUT[0] <= throughput <= GP3_THROUGHPUT[1]:
            yield Problem(
                ("throughput",),
                f"must be {GP3_THROUGHPUT[0]} to {GP3_THROUGHPUT[1]} MiB/s on gp3",
                throughput,
            )
        elif throughput is not None and throughput > (iops or GP3_IOPS[0]) * GP3_MIBS_PER_IOPS:
            yield Problem(
                ("throughput",),
                f"{throughput} MiB/s needs at least {int(throughput / GP3_MIBS_PER_IOPS)} IOPS (gp3 gives at "
                f"most {GP3_MIBS_PER_IOPS} MiB/s per IOPS); raise iops",
                show=False,
            )
        if iops is None:
            if kind in IO_IOPS:
                yield Problem(("iops",), f"is required for {kind} volumes", show=False)
            return
        if kind == "gp3":
            low, high, per_gib = GP3_IOPS[0], GP3_IOPS[1], GP3_IOPS_PER_GIB
        elif kind in IO_IOPS:
            low, high, per_gib = IO_IOPS[kind]
        else:
            yield Problem(("iops",), f"is for gp3, io1 and io2 volumes only, not {kind}", show=False)
            return
        if not low <= iops <= high:
            yield Problem(("iops",), f"must be {low} to {high} on {kind}", iops)
        elif iops > per_gib * gib:
            yield Problem(
                ("iops",),
                f"{iops} IOPS on {gib:g} GiB exceeds {kind}'s {per_gib} IOPS per GiB; use at most "
                f"{int(per_gib * gib)} or a volume of at least {-(-iops // per_gib)}Gi",
                show=False,
            )

    @rule("encrypted", "kms_key_id")
    def _key_needs_encryption(v: Mapping[str, Any], valid: Callable[..., bool]) -> Iterable[Problem]:
        if v.get("kms_key_id") is not None and v["encrypted"] is not True:
            yield Problem(("kmsKeyID",), "needs encrypted: true (a key encrypts the volume)", show=False)


class BlockDeviceMapping(Model):
    """One volume of each node (`spec.blockDeviceMappings[]`)."""

    device_name: Annotated[str, AfterValidator(_device)] = Field(
        description="Device: /dev/xvda is the OS root on both families, /dev/xvdb Bottlerocket's data volume."
    )
    root_volume: bool | None = Field(
        default=None,
        description="This volume holds the kubelet's root directory (pods' ephemeral storage, images); at "
        "most one. Unset: the AMI family's choice (AL2023 /dev/xvda, Bottlerocket /dev/xvdb).",
    )
    ebs: EbsConfig = Field(description="The EBS volume.")


def _mapping_list(mappings: Any, valid: Callable[..., bool]) -> Iterable[Problem]:
    if not isinstance(mappings, list):
        return
    entries = [(i, m) for i, m in enumerate(mappings) if isinstance(m, dict)]
    yield from repeats(
        [
            ((i, "deviceName"), m["deviceName"])
            for i, m in entries
            if "deviceName" in m and valid(i, "deviceName")
        ],
        "the device ",
    )
    roots = [i for i, m in entries if m.get("rootVolume") is True]
    for i in roots[1:]:
        yield Problem(
            (i, "rootVolume"),
            "must have only one blockDeviceMappings with rootVolume (Karpenter's rule); unset it here",
            show=False,
        )


def validate_mappings(mappings: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    return collect_problems(mappings, handler, _mapping_list)


BlockDeviceMappings = Annotated[
    list[BlockDeviceMapping], Field(min_length=0, max_length=50), WrapValidator(validate_mappings)
]
"""An empty list renders no `blockDeviceMappings`: Karpenter then uses its AMI family defaults
(`DefaultBlockDeviceMappings` in aws/karpenter-provider-aws `pkg/providers/amifamily`: AL2023 /dev/xvda
of `DefaultEBS`, 20Gi gp3 encrypted; Bottlerocket a 4Gi /dev/xvda plus /dev/xvdb)."""
