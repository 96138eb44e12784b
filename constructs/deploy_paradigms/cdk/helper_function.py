"""One factory for the library's helper functions (CDK): role bootstrap, migrations, budget
check and change consumer, rendered from :func:`deploy_paradigms.plans.helpers.plan_helper_function`.

Log group, execution role (logs and VPC interfaces; the caller's grants), security group with
HTTPS egress, the function in the VPC with reserved concurrency 1, and the database's ingress
rule for it (with the matching egress on the function's group).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..plans.helpers import HelperFunctionPlan

if TYPE_CHECKING:
    from .database import Database


@dataclass(frozen=True)
class HelperFunction:
    """What :func:`create_helper_function` built."""

    function: lambda_.Function
    role: iam.IRole
    log_group: logs.LogGroup
    security_group: ec2.SecurityGroup


def create_helper_function(
    scope: Construct, plan: HelperFunctionPlan, *, database: Database, code: lambda_.Code,
    environment: Mapping[str, str], log_retention: logs.RetentionDays,
    grant: Callable[[iam.IGrantable], None], vpc_subnets: ec2.SubnetSelection | None = None,
    role_description: str | None = None, acknowledge_wildcard: bool = True,
) -> HelperFunction:
    """Build ``plan``'s helper under ``scope`` in ``database``'s VPC.

    ``grant`` adds the helper's own permissions (secrets, metrics, the bus) to its role before
    the function exists (to the function itself when the plan keeps aws-cdk's own role).
    ``vpc_subnets`` omitted: private subnets with egress, else isolated ones. ``role_description``
    and ``acknowledge_wildcard`` go to :func:`vpc_execution_role` (omitted: its defaults)."""
    # Imported here: serverless_function imports the database module, which uses this factory.
    from .serverless_function import function_subnets, vpc_execution_role

    names = plan.names
    vpc = database.vpc
    log_group = logs.LogGroup(scope, names.cdk_log_group, retention=log_retention)
    role: iam.Role | None = None
    if plan.cdk_own_role:
        role = vpc_execution_role(scope, log_group, description=role_description,
                                  acknowledge_wildcard=acknowledge_wildcard)
        grant(role)
    security_group = ec2.SecurityGroup(scope, names.cdk_security_group, vpc=vpc, allow_all_outbound=False,
                                       description=plan.security_group_description)
    security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(plan.https_port),
                                   plan.https_description[0])
    function = lambda_.Function(
        scope, names.cdk_function,
        code=code,
        handler=plan.handler,
        runtime=lambda_.Runtime(plan.runtime, lambda_.RuntimeFamily.PYTHON),
        architecture=lambda_.Architecture.ARM_64 if plan.architecture == "arm64" else None,
        memory_size=plan.memory_mb,
        timeout=cdk.Duration.seconds(plan.timeout_s),
        reserved_concurrent_executions=plan.reserved_concurrency,
        environment=dict(environment),
        role=role,
        log_group=log_group,
        vpc=vpc,
        vpc_subnets=function_subnets(vpc, vpc_subnets),
        security_groups=[security_group],
        description=plan.function_description,
    )
    if role is None:
        grant(function)
    database.allow_from(security_group, plan.cdk_ingress_description, scope=scope)
    return HelperFunction(function=function, role=cast(iam.IRole, function.role), log_group=log_group,
                          security_group=security_group)
