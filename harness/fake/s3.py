"""S3: buckets (their ARN has neither region nor account)."""

from __future__ import annotations

from harness.fake.world import Registration, _hex


def _bucket(r: Registration) -> None:
    bucket = r.inputs.get("bucket") or f"{r.name}-{_hex(r.name, 7)}"
    r.state |= {"arn": f"arn:{r.world.partition}:s3:::{bucket}", "bucket": bucket}
    r.rid = bucket


RESOURCES = {"aws:s3/bucket:Bucket": _bucket}
