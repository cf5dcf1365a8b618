"""The VPC of create mode: private subnets (Fargate and Karpenter's nodes) behind NAT, public subnets
for load balancers, tagged for Karpenter discovery and the AWS load balancer controller."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.blocks.naming import DISCOVERY_TAG


@dataclass(frozen=True)
class SubnetPlan:
    az: str
    private_cidr: str
    public_cidr: str


def subnet_plan(vpc_cidr: str, region: str, az_letters: list[str]) -> list[SubnetPlan]:
    """Private subnets take an eighth of the VPC each (pods use VPC IPs), public ones a 64th each,
    carved from the last eighth. Each AZ's slot follows from its letter (a -> 0, b -> 1, ...), never
    from its position in the list: adding, removing or reordering AZs never moves another subnet."""
    network = ipaddress.IPv4Network(vpc_cidr)
    eighths = list(network.subnets(new_prefix=network.prefixlen + 3))
    publics = list(eighths[-1].subnets(new_prefix=network.prefixlen + 6))
    plan = []
    for letter in az_letters:
        slot = ord(letter) - ord("a")
        if not 0 <= slot < len(eighths) - 1:
            raise ValueError(f"availability zone letter {letter!r} is outside a..g")
        plan.append(SubnetPlan(f"{region}{letter}", str(eighths[slot]), str(publics[slot])))
    return plan


def private_subnet_tags(cluster_name: str) -> dict[str, str]:
    return {
        DISCOVERY_TAG: cluster_name,
        "kubernetes.io/role/internal-elb": "1",
        f"kubernetes.io/cluster/{cluster_name}": "shared",
    }


def public_subnet_tags(cluster_name: str) -> dict[str, str]:
    return {"kubernetes.io/role/elb": "1", f"kubernetes.io/cluster/{cluster_name}": "shared"}


@dataclass
class NetworkArgs:
    cluster_name: str
    region: str
    cidr: str
    az_letters: list[str]
    nat_per_az: bool


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    private_subnet_ids: list[pulumi.Output[str]]
    public_subnet_ids: list[pulumi.Output[str]]
    egress: list[pulumi.Resource]
    """What pods in the private subnets need to reach AWS APIs and registries: the NAT gateways and
    the private routes. Whatever runs there depends on these, so `pulumi destroy` keeps them last."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("karpenter-eks:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        plan = subnet_plan(args.cidr, args.region, args.az_letters)

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": args.cluster_name},
            opts=child,
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags={"Name": args.cluster_name}, opts=child
        )
        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={"Name": f"{args.cluster_name}-public"},
            opts=child,
        )

        self.public_subnet_ids, self.private_subnet_ids, self.egress = [], [], []
        nat_ids: dict[str, pulumi.Output[str]] = {}
        # A single NAT gateway goes in the lowest-lettered AZ, wherever it stands in the list.
        for p in sorted(plan, key=lambda p: p.az):
            public = aws.ec2.Subnet(
                f"{name}-public-{p.az}",
                vpc_id=vpc.id,
                cidr_block=p.public_cidr,
                availability_zone=p.az,
                map_public_ip_on_launch=False,
                tags={"Name": f"{args.cluster_name}-public-{p.az}", **public_subnet_tags(args.cluster_name)},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{p.az}", subnet_id=public.id, route_table_id=public_rt.id, opts=child
            )
            self.public_subnet_ids.append(public.id)
            if args.nat_per_az or not nat_ids:
                eip = aws.ec2.Eip(f"{name}-nat-{p.az}", domain="vpc", opts=child)
                nat = aws.ec2.NatGateway(
                    f"{name}-nat-{p.az}",
                    allocation_id=eip.allocation_id,
                    subnet_id=public.id,
                    tags={"Name": f"{args.cluster_name}-{p.az}"},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
                nat_ids[p.az] = nat.id
                self.egress.append(nat)

        for p in plan:
            private = aws.ec2.Subnet(
                f"{name}-private-{p.az}",
                vpc_id=vpc.id,
                cidr_block=p.private_cidr,
                availability_zone=p.az,
                tags={
                    "Name": f"{args.cluster_name}-private-{p.az}",
                    **private_subnet_tags(args.cluster_name),
                },
                opts=child,
            )
            nat_id = nat_ids.get(p.az) or next(iter(nat_ids.values()))
            rt = aws.ec2.RouteTable(
                f"{name}-private-{p.az}",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat_id)],
                tags={"Name": f"{args.cluster_name}-private-{p.az}"},
                opts=child,
            )
            association = aws.ec2.RouteTableAssociation(
                f"{name}-private-{p.az}", subnet_id=private.id, route_table_id=rt.id, opts=child
            )
            self.egress += [rt, association]
            self.private_subnet_ids.append(private.id)

        self.vpc_id = vpc.id
        self.register_outputs(
            {
                "vpcId": vpc.id,
                "privateSubnetIds": self.private_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
            }
        )
