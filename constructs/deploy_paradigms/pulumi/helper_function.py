"""One factory for the library's helper functions (Pulumi): role bootstrap, migrations, budget
check and change consumer, rendered from :func:`deploy_paradigms.plans.helpers.plan_helper_function`.

Log group (kept on destroy, as CDK's), execution role with one inline policy, security group
with HTTPS egress and egress to the database, the function in the VPC with reserved
concurrency 1, and the database's ingress rule for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from ..plans.helpers import VPC_AND_LOGS, HelperFunctionPlan, IamGrant
from .network import LAMBDA_TRUST_POLICY, lambda_vpc_statements

if TYPE_CHECKING:
    from .database import Database


@dataclass(frozen=True)
class HelperFunction:
    """What :func:`create_helper_function` built."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    log_group: aws.cloudwatch.LogGroup
    security_group: aws.ec2.SecurityGroup
    #: The egress rules (database, HTTPS) and the database's ingress rule, in that order.
    rules: tuple[pulumi.CustomResource, ...]


def _one_or_list(values: Sequence[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


def policy_document(grants: Sequence[IamGrant], log_group_arn: str,
                    arns: Mapping[str, str]) -> dict[str, Any]:
    """The role's policy: each grant with its symbols replaced by ARNs, the VPC-function base
    statements where the plan puts :data:`VPC_AND_LOGS`."""
    statements: list[dict[str, Any]] = []
    for grant in grants:
        if grant == VPC_AND_LOGS:
            statements.extend(lambda_vpc_statements(log_group_arn))
            continue
        statement: dict[str, Any] = {
            "Effect": "Allow", "Action": _one_or_list(grant.actions),
            "Resource": _one_or_list([r if r == "*" else arns[r] for r in grant.resources])}
        if grant.condition:
            statement["Condition"] = {k: dict(v) for k, v in grant.condition.items()}
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def create_helper_function(
    parent: pulumi.ComponentResource, plan: HelperFunctionPlan, *, database: Database,
    code: pulumi.Archive, environment: pulumi.Input[Mapping[str, pulumi.Input[str]]],
    arns: Mapping[str, pulumi.Input[str]], subnet_ids: Sequence[pulumi.Input[str]] | None = None,
    tags: Mapping[str, str] | None = None, ingress_parent: pulumi.Resource | None = None,
) -> HelperFunction:
    """Build ``plan``'s helper under ``parent``. ``arns`` maps the plan's resource symbols
    (``database_secret``, ``app_secret``, ``event_bus``) to ARNs; ``subnet_ids`` omitted: the
    network's private subnets, else its isolated ones; ``tags`` as the component was given;
    ``ingress_parent`` omitted: the database's ingress rule is the database's child."""
    names = plan.names
    child = pulumi.ResourceOptions(parent=parent)
    network = database.network
    log_group = aws.cloudwatch.LogGroup(
        names.pulumi_log_group, retention_in_days=plan.log_retention_days, tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=plan.retain_log_group))
    role = aws.iam.Role(names.pulumi_role, assume_role_policy=LAMBDA_TRUST_POLICY,
                        description=plan.role_description, tags=tags, opts=child)
    symbols = list(arns)
    policy = aws.iam.RolePolicy(
        names.pulumi_role_policy, role=role.id,
        policy=pulumi.Output.all(log_group.arn, *(pulumi.Output.from_input(arns[s]) for s in symbols)).apply(
            lambda v: json.dumps(policy_document(plan.grants, v[0], dict(zip(symbols, v[1:], strict=True))))),
        opts=child)
    security_group = aws.ec2.SecurityGroup(
        names.pulumi_security_group, vpc_id=network.vpc_id, description=plan.security_group_description,
        revoke_rules_on_delete=True, tags={**(tags or {}), "Name": names.pulumi_security_group}, opts=child)
    port = database.port
    rules: tuple[pulumi.CustomResource, ...] = (
        aws.vpc.SecurityGroupEgressRule(
            names.pulumi_to_database, security_group_id=security_group.id,
            referenced_security_group_id=database.security_group_id, ip_protocol="tcp", from_port=port,
            to_port=port, description=plan.database_egress_description, opts=child),
        aws.vpc.SecurityGroupEgressRule(
            names.pulumi_to_aws_apis, security_group_id=security_group.id, cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp", from_port=plan.https_port, to_port=plan.https_port,
            description=plan.https_description[1], opts=child),
        database.allow_from(names.pulumi_ingress, security_group.id,
                            opts=pulumi.ResourceOptions(parent=ingress_parent) if ingress_parent else None),
    )
    function = aws.lambda_.Function(
        names.pulumi_function,
        code=code,
        handler=plan.handler,
        runtime=plan.runtime,
        architectures=[plan.architecture] if plan.architecture else None,
        memory_size=plan.memory_mb,
        timeout=plan.timeout_s,
        reserved_concurrent_executions=plan.reserved_concurrency,
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
        role=role.arn,
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=log_group.name),
        vpc_config=aws.lambda_.FunctionVpcConfigArgs(
            subnet_ids=list(subnet_ids or network.private_subnet_ids or network.isolated_subnet_ids),
            security_group_ids=[security_group.id]),
        description=plan.function_description,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy, log_group]))
    return HelperFunction(function=function, role=role, policy=policy, log_group=log_group,
                          security_group=security_group, rules=rules)
