"""Extract the small EC2 catalogue the mocks answer account lookups from (harness/catalogue/<region>.json).

    pip download moto==5.2.5 --no-deps -d /tmp/moto
    venv/bin/python -m tools.generate.ec2_catalogue /tmp/moto/moto-5.2.5-py3-none-any.whl

Source: moto (PyPI, Apache-2.0), which ships AWS's own EC2 catalogues for its EC2 mock:
- `moto/ec2/resources/instance_type_offerings/region/<region>.json.gz`: DescribeInstanceTypeOfferings
  with location type `region` (the instance types offered in the region);
- `moto/ec2/resources/instance_types.json.gz`: DescribeInstanceTypes (ProcessorInfo.SupportedArchitectures);
- `moto/ec2/models/availability_zones_and_regions.py`: the availability zones of the regions moto lists
  explicitly (`Zone(region_name=..., name=...)`).
Only the regions the committed stacks and the tests render in are extracted (REGIONS); per region, every
family offered there (categories mode needs them all) with its architectures and offered sizes, the
properties of each size that pools filter on (`specs`, see `SPEC_FIELDS`), and the region's zone names.
moto is a tool of this script only, not a dependency of the program or the tests.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "harness" / "catalogue"
REGIONS = ("eu-west-1", "us-east-1", "cn-north-1")
"""dev (eu-west-1), prod (us-east-1), and the China-partition render of the tests (cn-north-1: moto has
its zones but no offerings, so the mocks fall back to the naming rule there)."""

RESOURCES = "moto/ec2/resources"
ZONES_FILE = "moto/ec2/models/availability_zones_and_regions.py"


SPEC_FIELDS = ("vcpus", "memoryMiB", "hypervisor", "localNvmeGiB", "networkBandwidthMbps")
"""Per size, the values of Karpenter's labels `karpenter.k8s.aws/instance-cpu`, `instance-memory` (MiB),
`instance-hypervisor` ("" for bare metal), `instance-local-nvme` (GiB of NVMe instance storage, 0 without)
and `instance-network-bandwidth` (Mbps: the network cards' baseline bandwidth), as a list in this order."""


def spec(info: dict[str, Any]) -> list[Any]:
    """One size's `SPEC_FIELDS` from its DescribeInstanceTypes entry."""
    storage = info.get("InstanceStorageInfo") or {}
    nvme = (
        storage.get("TotalSizeInGB", 0) if storage.get("NvmeSupport", "unsupported") != "unsupported" else 0
    )
    cards = (info.get("NetworkInfo") or {}).get("NetworkCards") or []
    bandwidth = round(sum(card.get("BaselineBandwidthInGbps", 0) for card in cards) * 1000)
    return [
        info.get("VCpuInfo", {}).get("DefaultVCpus", 0),
        info.get("MemoryInfo", {}).get("SizeInMiB", 0),
        info.get("Hypervisor", ""),
        nvme,
        bandwidth,
    ]


def _json_gz(wheel: zipfile.ZipFile, name: str) -> Any:
    return json.loads(gzip.decompress(wheel.read(name)))


def zones(source: str, region: str) -> list[str]:
    found = re.findall(rf'Zone\(\s*region_name="{re.escape(region)}",\s*name="([a-z0-9-]+)"', source)
    return sorted(found)


def extract(wheel_path: Path) -> dict[str, dict[str, Any]]:
    version = re.search(r"moto-([0-9.]+)-", wheel_path.name)
    moto = f"moto {version[1] if version else '?'} (PyPI wheel {wheel_path.name})"
    out: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(wheel_path) as wheel:
        types = _json_gz(wheel, f"{RESOURCES}/instance_types.json.gz")
        zone_source = wheel.read(ZONES_FILE).decode()
        names = set(wheel.namelist())
        for region in REGIONS:
            offerings_file = f"{RESOURCES}/instance_type_offerings/region/{region}.json.gz"
            families: dict[str, dict[str, Any]] = {}
            if offerings_file in names:
                sizes: dict[str, list[str]] = collections.defaultdict(list)
                for offering in _json_gz(wheel, offerings_file):
                    family, size = offering["InstanceType"].split(".", 1)
                    sizes[family].append(size)
                for family in sorted(sizes):
                    archs = set()
                    for size in sizes[family]:
                        info = types.get(f"{family}.{size}", {})
                        archs.update(info.get("ProcessorInfo", {}).get("SupportedArchitectures", []))
                    families[family] = {
                        "architectures": sorted(archs),
                        "sizes": sorted(sizes[family]),
                        "specs": {
                            size: spec(types[f"{family}.{size}"])
                            for size in sorted(sizes[family])
                            if f"{family}.{size}" in types
                        },
                    }
            region_zones = zones(zone_source, region)
            out[region] = {
                "source": f"{moto}: {offerings_file if families else '(no offerings for this region)'}, "
                f"{RESOURCES}/instance_types.json.gz, zones from {ZONES_FILE}; "
                "regenerate with python -m tools.generate.ec2_catalogue",
                "region": region,
                "zones": region_zones,
                "specFields": list(SPEC_FIELDS),
                "families": families,
            }
    return out


def render(doc: dict[str, Any]) -> str:
    """One family per line: small diffs when the catalogue is regenerated."""
    head = {k: v for k, v in doc.items() if k != "families"}
    lines = [json.dumps(head)[:-1] + ', "families": {']
    items = list(doc["families"].items())
    for i, (family, entry) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"  {json.dumps(family)}: {json.dumps(entry)}{comma}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.generate.ec2_catalogue")
    parser.add_argument("wheel", type=Path, help="the moto wheel (pip download moto --no-deps)")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    for region, doc in extract(args.wheel).items():
        (OUT / f"{region}.json").write_text(render(doc))
        print(f"{region}: {len(doc['families'])} families, zones {', '.join(doc['zones']) or '(none)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
