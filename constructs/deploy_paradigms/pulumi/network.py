"""A VPC for database-backed apps, or a network you already have.

``Network`` builds, over two Availability Zones (``az_count``):

* public subnets (internet gateway; they hold the NAT gateways and load balancers),
* private subnets with egress through NAT gateways (functions, containers),
* isolated subnets without any route out (the database, the RDS Proxy),

plus VPC flow logs to a CloudWatch log group with a retention period, and the
VPC's default security group stripped of its rules. ``Network.from_existing``
wraps the ids of a VPC you manage elsewhere. Components take either: anything
with ``vpc_id`` and the three subnet id lists (:class:`NetworkLike`).

Steps, top to bottom: validate inputs, lay out subnets, create children,
expose attributes.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pulumi
import pulumi_aws as aws

from ..budget import InputError
from ..plans.checks import check_log_retention
from ..plans.environment import LAMBDA_VPC_ACTIONS

# Each tier owns a fixed slot of /prefix+4 blocks, so adding an AZ never renumbers a subnet.
_TIER_SLOTS = {"public": 0, "private": 4, "isolated": 8}
_MAX_AZS = 4


class NetworkLike(Protocol):
    """What the components need from a network: a VPC id and subnet ids per tier."""

    @property
    def vpc_id(self) -> pulumi.Input[str]:
        """The VPC's id (``vpc-...``)."""
        ...

    @property
    def public_subnet_ids(self) -> Sequence[pulumi.Input[str]]:
        """Subnets with a route to an internet gateway (load balancers, NAT gateways)."""
        ...

    @property
    def private_subnet_ids(self) -> Sequence[pulumi.Input[str]]:
        """Subnets with egress through NAT (functions, containers)."""
        ...

    @property
    def isolated_subnet_ids(self) -> Sequence[pulumi.Input[str]]:
        """Subnets without a route out (the database, RDS Proxy)."""
        ...


@dataclass(frozen=True)
class ExistingNetwork:
    """A VPC created outside this program ("bring your own"); see :meth:`Network.from_existing`.

    Attributes:
        vpc_id: The VPC's id (``vpc-...``); required (omitted raises :class:`InputError` unless an
            ``ExistingNetwork`` is given to ``Network.from_existing``).
        public_subnet_ids: Subnets for load balancers (ContainerService needs two AZs). Omitted:
            none.
        private_subnet_ids: Subnets with egress for functions and containers. Omitted: none
            (functions then use the isolated subnets).
        isolated_subnet_ids: Subnets without a route out for the database and RDS Proxy.
            Omitted: none (the database then uses the private subnets).

    At least one list must be given (no subnet at all raises :class:`InputError`).
    """

    vpc_id: pulumi.Input[str]
    public_subnet_ids: Sequence[pulumi.Input[str]] = ()
    private_subnet_ids: Sequence[pulumi.Input[str]] = ()
    isolated_subnet_ids: Sequence[pulumi.Input[str]] = ()

    def __post_init__(self) -> None:
        if not self.vpc_id:
            raise InputError("ExistingNetwork: vpc_id is empty; pass the id of your VPC (vpc-...)")
        if not (self.public_subnet_ids or self.private_subnet_ids or self.isolated_subnet_ids):
            raise InputError(
                f"ExistingNetwork({self.vpc_id!r}): no subnet ids; pass private_subnet_ids (functions, "
                f"containers) and isolated_subnet_ids (database), at least two of each in different AZs")


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    """Inputs of :class:`Network`. Every field is optional.

    Attributes:
        cidr_block: IPv4 range of the VPC. Omitted: ``10.0.0.0/16``. Prefix /16 to /22; each
            subnet gets a block four bits smaller (a /20 in a /16).
        az_count: Availability Zones to spread subnets over (2 to 4). Omitted: 2. Ignored when
            ``availability_zones`` is given.
        availability_zones: AZ names to use, e.g. ``["eu-west-1a", "eu-west-1b"]``. Omitted: the
            first ``az_count`` zones ``aws.get_availability_zones`` reports (opt-in zones excluded).
        nat_gateways: NAT gateways for the private subnets, each with an Elastic IP, placed in the
            first public subnets; private subnet *i* uses gateway *i mod n*. Omitted: 1 (one
            gateway is a single point of failure for egress; use ``az_count`` for high
            availability). 0: private subnets have no route out (add VPC endpoints).
        flow_logs: Send VPC flow logs to CloudWatch Logs. Omitted: on.
        flow_log_retention_days: Retention of the flow log group; a CloudWatch Logs value
            (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...). Omitted: 365.
        flow_log_traffic_type: ``ALL``, ``ACCEPT`` or ``REJECT``. Omitted: ``ALL``.
        tags: Tags on every child resource (a ``Name`` tag is added per resource). Omitted: none.
    """

    cidr_block: str = "10.0.0.0/16"
    az_count: int = 2
    availability_zones: Sequence[str] | None = None
    nat_gateways: int = 1
    flow_logs: bool = True
    flow_log_retention_days: int = 365
    flow_log_traffic_type: str = "ALL"
    tags: Mapping[str, str] = field(default_factory=dict)


def _whole(name: str, value: object, low: int, high: int, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"Network: {name}={value!r} must be a whole number between {low} and {high}; {fix}")
    return value


def _subnet_blocks(cidr_block: str) -> list[str]:
    try:
        vpc = ipaddress.IPv4Network(cidr_block, strict=True)
    except ValueError as err:
        raise InputError(f"Network: cidr_block={cidr_block!r} is not an IPv4 network ({err}); "
                          f"use for example '10.0.0.0/16'") from None
    if not 16 <= vpc.prefixlen <= 22:
        raise InputError(f"Network: cidr_block={cidr_block!r} has prefix /{vpc.prefixlen}; use /16 to /22 "
                          f"so every subnet (a /{vpc.prefixlen + 4}) has room for functions and tasks")
    return [str(block) for block in vpc.subnets(prefixlen_diff=4)]


class Network(pulumi.ComponentResource):
    """VPC with public, private-with-egress and isolated subnets over two AZs, and flow logs.

    Attributes: ``vpc``, ``vpc_id``, ``public_subnet_ids``, ``private_subnet_ids``,
    ``isolated_subnet_ids`` (one id per AZ, in AZ order), ``availability_zones``,
    ``nat_gateways``, ``flow_log`` (None when ``flow_logs=False``), ``flow_log_group``.
    """

    TYPE = "deploy-paradigms:network:Network"

    def __init__(self, name: str, args: NetworkArgs | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        args = args or NetworkArgs()

        # 1. Validate every input before creating anything.
        blocks = _subnet_blocks(args.cidr_block)
        if args.availability_zones is not None:
            zones: list[str] = [str(z) for z in args.availability_zones]
            if not 2 <= len(zones) <= _MAX_AZS or len(set(zones)) != len(zones):
                raise InputError(f"Network: availability_zones={zones!r} must name 2 to {_MAX_AZS} "
                                  f"distinct zones (RDS subnet groups need at least two)")
            az_count = len(zones)
        else:
            az_count = _whole("az_count", args.az_count, 2, _MAX_AZS,
                              "RDS needs subnets in at least two Availability Zones")
        nat_count = _whole("nat_gateways", args.nat_gateways, 0, az_count,
                           "use at most one NAT gateway per AZ, or 0 with VPC endpoints")
        if args.flow_logs:
            check_log_retention("Network: flow_log_retention_days", args.flow_log_retention_days)
        if args.flow_log_traffic_type not in ("ALL", "ACCEPT", "REJECT"):
            raise InputError(f"Network: flow_log_traffic_type={args.flow_log_traffic_type!r} must be "
                              f"'ALL', 'ACCEPT' or 'REJECT'")

        super().__init__(self.TYPE, name, {"cidrBlock": args.cidr_block, "availabilityZoneCount": az_count,
                                           "natGateways": nat_count, "flowLogs": args.flow_logs}, opts)
        child = pulumi.ResourceOptions(parent=self)

        def tags(resource: str) -> dict[str, str]:
            return {**args.tags, "Name": f"{name}-{resource}"}

        # 2. Availability Zones: given, or the first ones the region reports.
        if args.availability_zones is not None:
            az_names: list[pulumi.Input[str]] = list(zones)
            self.availability_zones: pulumi.Output[list[str]] = pulumi.Output.from_input(zones)
        else:
            found = aws.get_availability_zones_output(
                state="available",
                filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
                opts=pulumi.InvokeOptions(parent=self))
            self.availability_zones = found.names.apply(lambda names: _first_zones(names, az_count))
            az_names = [self.availability_zones.apply(_nth(i)) for i in range(az_count)]

        # 3. VPC, internet gateway, public route table.
        self.vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr_block, enable_dns_support=True,
                               enable_dns_hostnames=True, tags=tags("vpc"), opts=child)
        self.vpc_id: pulumi.Output[str] = self.vpc.id
        # Remove the default security group's allow-all rules (nothing should use it).
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=self.vpc.id, ingress=[], egress=[],
                                     tags=tags("default-sg"), opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags=tags("igw"), opts=child)
        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=self.vpc.id, tags=tags("public-rt"),
                                       opts=child)
        aws.ec2.Route(f"{name}-public-default-route", route_table_id=public_rt.id,
                      destination_cidr_block="0.0.0.0/0", gateway_id=igw.id, opts=child)

        def subnet(tier: str, i: int) -> aws.ec2.Subnet:
            sub = aws.ec2.Subnet(f"{name}-{tier}-{i + 1}", vpc_id=self.vpc.id,
                                 cidr_block=blocks[_TIER_SLOTS[tier] + i], availability_zone=az_names[i],
                                 map_public_ip_on_launch=False,
                                 tags={**tags(f"{tier}-{i + 1}"), "tier": tier}, opts=child)
            return sub

        # 4. Public subnets and the NAT gateways in the first of them.
        self.public_subnets = [subnet("public", i) for i in range(az_count)]
        for i, sub in enumerate(self.public_subnets):
            aws.ec2.RouteTableAssociation(f"{name}-public-{i + 1}-rta", subnet_id=sub.id,
                                          route_table_id=public_rt.id, opts=child)
        self.nat_gateways: list[aws.ec2.NatGateway] = []
        for j in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-{j + 1}-eip", domain="vpc", tags=tags(f"nat-{j + 1}-eip"),
                              opts=child)
            self.nat_gateways.append(aws.ec2.NatGateway(
                f"{name}-nat-{j + 1}", allocation_id=eip.allocation_id, subnet_id=self.public_subnets[j].id,
                connectivity_type="public", tags=tags(f"nat-{j + 1}"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw])))

        # 5. Private subnets: one route table each, default route to a NAT gateway (if any).
        self.private_subnets = [subnet("private", i) for i in range(az_count)]
        for i, sub in enumerate(self.private_subnets):
            rt = aws.ec2.RouteTable(f"{name}-private-{i + 1}-rt", vpc_id=self.vpc.id,
                                    tags=tags(f"private-{i + 1}-rt"), opts=child)
            if self.nat_gateways:
                aws.ec2.Route(f"{name}-private-{i + 1}-default-route", route_table_id=rt.id,
                              destination_cidr_block="0.0.0.0/0",
                              nat_gateway_id=self.nat_gateways[i % nat_count].id, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{i + 1}-rta", subnet_id=sub.id,
                                          route_table_id=rt.id, opts=child)

        # 6. Isolated subnets: a route table with only the VPC-local route.
        self.isolated_subnets = [subnet("isolated", i) for i in range(az_count)]
        isolated_rt = aws.ec2.RouteTable(f"{name}-isolated-rt", vpc_id=self.vpc.id,
                                         tags=tags("isolated-rt"), opts=child)
        for i, sub in enumerate(self.isolated_subnets):
            aws.ec2.RouteTableAssociation(f"{name}-isolated-{i + 1}-rta", subnet_id=sub.id,
                                          route_table_id=isolated_rt.id, opts=child)

        # 7. Flow logs to CloudWatch Logs, through a role only the flow-logs service can assume.
        self.flow_log: aws.ec2.FlowLog | None = None
        self.flow_log_group: aws.cloudwatch.LogGroup | None = None
        if args.flow_logs:
            # Retained on destroy, as the CDK's LogGroup (RemovalPolicy.RETAIN); auto-named, so a
            # re-created stack does not collide with it. Delete it by hand once the logs are not needed.
            self.flow_log_group = aws.cloudwatch.LogGroup(
                f"{name}-flow-logs", retention_in_days=args.flow_log_retention_days, tags=tags("flow-logs"),
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True))
            role = aws.iam.Role(f"{name}-flow-logs-role", assume_role_policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                               "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}}],
            }, sort_keys=True), tags=tags("flow-logs-role"), opts=child)
            aws.iam.RolePolicy(f"{name}-flow-logs-policy", role=role.id,
                               policy=self.flow_log_group.arn.apply(_flow_log_policy), opts=child)
            self.flow_log = aws.ec2.FlowLog(
                f"{name}-flow-log", vpc_id=self.vpc.id, traffic_type=args.flow_log_traffic_type,
                log_destination_type="cloud-watch-logs", log_destination=self.flow_log_group.arn,
                iam_role_arn=role.arn, max_aggregation_interval=600, tags=tags("flow-log"), opts=child)

        # 8. Attributes.
        self.public_subnet_ids: list[pulumi.Output[str]] = [s.id for s in self.public_subnets]
        self.private_subnet_ids: list[pulumi.Output[str]] = [s.id for s in self.private_subnets]
        self.isolated_subnet_ids: list[pulumi.Output[str]] = [s.id for s in self.isolated_subnets]
        self.register_outputs({
            "vpcId": self.vpc_id,
            "publicSubnetIds": self.public_subnet_ids,
            "privateSubnetIds": self.private_subnet_ids,
            "isolatedSubnetIds": self.isolated_subnet_ids,
        })

    @staticmethod
    def from_existing(vpc_id: pulumi.Input[str] | ExistingNetwork | None = None, *,
                      public_subnet_ids: Sequence[pulumi.Input[str]] = (),
                      private_subnet_ids: Sequence[pulumi.Input[str]] = (),
                      isolated_subnet_ids: Sequence[pulumi.Input[str]] = (),
                      args: ExistingNetwork | None = None) -> ExistingNetwork:
        """Use a VPC managed elsewhere. Creates nothing; components read the ids.

        Without isolated subnets the database goes into the private ones. The keywords are the
        fields of :class:`ExistingNetwork` (documented there); as for
        ``Database.from_existing``, that object may be given instead (``args=``, or in place of
        ``vpc_id``), and giving it with keywords raises :class:`InputError`.
        """
        if isinstance(vpc_id, ExistingNetwork):
            vpc_id, args = None, vpc_id
        if args is not None:
            if vpc_id is not None or public_subnet_ids or private_subnet_ids or isolated_subnet_ids:
                raise InputError("Network.from_existing: pass either an ExistingNetwork or vpc_id and "
                                 "subnet ids, not both")
            return args
        if vpc_id is None:
            raise InputError("Network.from_existing: vpc_id is missing; pass the id of your VPC (vpc-...)")
        return ExistingNetwork(vpc_id, tuple(public_subnet_ids), tuple(private_subnet_ids),
                               tuple(isolated_subnet_ids))


def _nth(index: int) -> Callable[[list[str]], str]:
    return lambda names: names[index]


def _first_zones(names: Sequence[str] | None, count: int) -> list[str]:
    zones = sorted(names or [])
    if len(zones) < count:
        raise InputError(f"Network: the region reports {len(zones)} Availability Zone(s) ({zones}); "
                          f"az_count={count} needs {count}; lower az_count or pass availability_zones")
    return zones[:count]


def _flow_log_policy(log_group_arn: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        }],
    }, sort_keys=True)


#: Trust policy of a Lambda execution role.
LAMBDA_TRUST_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]})


def lambda_vpc_statements(log_group_arn: str) -> list[dict[str, object]]:
    """A VPC function's base statements: write its own log group, manage its network interfaces
    (what AWSLambdaVPCAccessExecutionRole grants; EC2 has no resource-level permissions for the
    Describe* calls, and Lambda names the interfaces)."""
    return [
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [log_group_arn, f"{log_group_arn}:*"]},
        {"Effect": "Allow", "Action": list(LAMBDA_VPC_ACTIONS), "Resource": "*"},
    ]
