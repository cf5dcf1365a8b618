"""Subnet layout of create mode, and the engine rule the offline render enforces."""

from __future__ import annotations

import pytest

from components.cluster.network import subnet_plan
from tests.support.render import render, stack_values


def test_subnet_ranges_follow_the_az_letter_not_the_list_position() -> None:
    full = {p.az: p for p in subnet_plan("10.40.0.0/16", "eu-west-1", ["a", "b", "c"])}
    assert full["eu-west-1a"].private_cidr == "10.40.0.0/19"
    assert full["eu-west-1b"].private_cidr == "10.40.32.0/19"
    assert full["eu-west-1c"].public_cidr == "10.40.232.0/22"
    assert full["eu-west-1a"].public_cidr == "10.40.224.0/22"
    # Dropping or reordering an AZ moves no other subnet (a move would replace it, and the cluster).
    for letters in (["b", "c"], ["c", "a", "b"], ["a", "b", "c", "d"]):
        for p in subnet_plan("10.40.0.0/16", "eu-west-1", letters):
            if p.az in full:
                assert p == full[p.az]


def test_all_subnets_are_disjoint() -> None:
    import ipaddress

    plan = subnet_plan("10.0.0.0/20", "us-east-1", list("abcdefg"))
    nets = [ipaddress.IPv4Network(c) for p in plan for c in (p.private_cidr, p.public_cidr)]
    assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_a_duplicate_logical_name_fails_offline_as_it_would_at_pulumi_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import components.cluster.admin_access as admin_access

    # Every admin's access entry would get the same logical name: the engine would refuse the stack.
    monkeypatch.setattr(admin_access, "principal_key", lambda arn: "same")
    with pytest.raises(RuntimeError, match="Duplicate resource URN"):
        render(stack_values("prod"))
