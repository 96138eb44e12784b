"""Exact egress for the security groups a construct creates (or aws-cdk creates for it).

With ``allow_all_outbound=False`` aws-cdk puts rules to another security group in separate
``AWS::EC2::SecurityGroupEgress`` resources and drops its "disallow all traffic" placeholder
from the group, leaving the group's ``SecurityGroupEgress`` empty. CloudFormation then keeps
EC2's default rule (all traffic to 0.0.0.0/0) next to the explicit ones. This aspect puts the
placeholder back on such groups, so the explicit rules are the only egress, as on the Pulumi side.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from constructs import IConstruct

__all__ = ["NO_TRAFFIC_EGRESS", "ExactEgress", "exact_egress"]

#: aws-cdk's own placeholder: matches no packet (ICMP type 252, code 86, to a broadcast address).
NO_TRAFFIC_EGRESS: dict[str, Any] = {"CidrIp": "255.255.255.255/32", "Description": "Disallow all traffic",
                                     "IpProtocol": "icmp", "FromPort": 252, "ToPort": 86}


@jsii.implements(cdk.IAspect)
class ExactEgress:
    """Give every ``allow_all_outbound=False`` security group with no inline egress the placeholder."""

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, ec2.SecurityGroup) or node.allow_all_outbound:
            return
        cfn = node.node.default_child
        if not isinstance(cfn, ec2.CfnSecurityGroup):
            return
        if not cdk.Stack.of(node).resolve(cfn.security_group_egress):
            cfn.add_property_override("SecurityGroupEgress", [NO_TRAFFIC_EGRESS])


def exact_egress(scope: IConstruct) -> None:
    """Apply :class:`ExactEgress` to ``scope`` and everything under it (idempotent in effect)."""
    cdk.Aspects.of(scope).add(ExactEgress())
