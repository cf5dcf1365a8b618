"""EC2 instance families: their names, architecture and GPU kind, as a pool's `families` uses them."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator

FAMILY_PATTERN = re.compile(
    r"^(?P<series>[a-z]{1,3})-?(?P<generation>[0-9]+)(?P<options>[a-z0-9]*(-[a-z0-9]+)?)$"
)
"""An EC2 instance family: 1 to 3 series letters, generation digits, option letters (`c7gn`, `x2iedn`,
`u7i-12tb`, `p6-b200`)."""

# Families whose architecture the naming rule (a Graviton family's options start with "g") gets wrong.
ARCHITECTURE_EXCEPTIONS: dict[str, Literal["arm64", "amd64"]] = {
    "a1": "arm64",  # first-generation Graviton, named before the "g" convention
    "p6e-gb200": "arm64",  # NVIDIA Grace CPU + Blackwell GPUs
}

GPU_SERIES = frozenset({"g", "gr", "p"})
"""Instance series with GPUs (Karpenter's instance-category values)."""

NON_NVIDIA_GPU_FAMILIES = {"g4ad": "AMD Radeon Pro V520"}

MACOS_SERIES = "mac"


def family_architecture(family: str) -> Literal["arm64", "amd64"]:
    """`arm64` for Graviton (and other Arm) families, `amd64` for x86 (Intel and AMD) families.

    Graviton families have options starting with `g` after the generation: m8g, c7gn, m7gd, im4gn,
    is4gen, x2gd, g5g, hpc7g. `ARCHITECTURE_EXCEPTIONS` holds the few that do not follow the rule."""
    if family in ARCHITECTURE_EXCEPTIONS:
        return ARCHITECTURE_EXCEPTIONS[family]
    match = FAMILY_PATTERN.match(family)
    if match is None:
        raise ValueError(f"{family!r} is not an EC2 instance family name")
    return "arm64" if match["options"].startswith("g") else "amd64"


def family_series(family: str) -> str:
    match = FAMILY_PATTERN.match(family)
    if match is None:
        raise ValueError(f"{family!r} is not an EC2 instance family name")
    return match["series"]


def is_nvidia_family(family: str) -> bool:
    return family_series(family) in GPU_SERIES and family not in NON_NVIDIA_GPU_FAMILIES


def _family_name(value: str) -> str:
    if "." in value:
        family = value.split(".", 1)[0]
        raise ValueError(
            f"{value} is an instance type; list instance families, here the family {family!r} "
            "(Karpenter picks the sizes)"
        )
    if value != value.lower():
        raise ValueError(f"instance families are lowercase, such as {value.lower()!r}")
    if FAMILY_PATTERN.match(value) is None:
        raise ValueError(
            "must be an EC2 instance family such as m8g, c7gn, m7i or r7a (series letters, generation "
            "digits, option letters)"
        )
    if family_series(value) == MACOS_SERIES:
        raise ValueError(f"{value} runs macOS only; EKS nodes need Linux instance families")
    return value


InstanceFamily = Annotated[str, AfterValidator(_family_name)]

Category = Literal[
    "a", "c", "d", "dl", "f", "g", "gr", "h", "hpc", "i", "im", "inf", "is", "m", "p", "r", "t", "trn", "u",
    "vt", "x", "z",
]  # fmt: skip

ARCH_EXAMPLES = {"arm64": "m8g, c7g, r7g", "amd64": "m7i, c7i, r7a"}
ARCH_NAME = {"arm64": "a Graviton (arm64)", "amd64": "an x86 (amd64)"}
