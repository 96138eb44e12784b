"""One copy of each rule (issue 11): constructs and guard decide alike, from the same code.

Also the CDK side's exact security-group egress: every group we create (or aws-cdk creates
for us) holds only the rules it lists, never EC2's default all-traffic egress.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import template_of

from deploy_paradigms.budget import (
    BudgetError,
    ConnectionLimit,
    Engine,
    InputError,
    describe_connection_limit,
)
from deploy_paradigms.budget.plan import proxy_connection_share
from deploy_paradigms.guard import model as guard_model
from deploy_paradigms.guard.rules import no_secrets
from deploy_paradigms.plans import environment
from deploy_paradigms.plans.data_endpoint import check_response_size_limit
from deploy_paradigms.plans.edge import plan_edge_function

# Eleven keys, each with the one right answer: a credential, or a pointer/setting about one.
CREDENTIAL_KEYS = [
    ("DB_PASSWORD", True),
    ("PASSPHRASE", True),  # a credential by name, though not a "password"
    ("GITHUB_TOKEN", True),
    ("API_KEY", True),
    ("SESSION_SECRET", True),
    ("DATABASE_SECRET_ARN", False),
    ("GITHUB_TOKEN_ARNS", False),  # ARNs of secrets: where they are, not what they hold
    ("DB_PASSWORD_TTL", False),  # a duration
    ("TOKEN_TIMEOUT", False),  # a duration
    ("SESSION_SECRET_VERSION", False),  # a version label
    ("DATABASE_USER", False),
]


@pytest.mark.parametrize(("key", "secret"), CREDENTIAL_KEYS)
def test_construct_check_and_guard_agree_on_credential_keys(key: str, secret: bool) -> None:
    assert no_secrets.is_secret_key(key) is secret

    def construct_check() -> dict[str, Any]:
        # Reserved names off: this compares the credential rule alone.
        return environment.check_environment({key: "value"}, owner="test", readable_by="anyone",
                                             instead="pass {key}_ARN", reserved=(), reserved_prefixes=())

    if secret:
        with pytest.raises(InputError, match=key):
            construct_check()
    else:
        assert construct_check() == {key: "value"}


@pytest.mark.parametrize("key", ["BYPASS_CACHE", "PASSENGER_COUNT", "COMPASS_HEADING"])
def test_words_that_contain_pass_are_not_credentials(key: str) -> None:
    assert not no_secrets.is_secret_key(key)
    environment.check_environment({key: "1"}, owner="test", readable_by="anyone", instead="", reserved=(),
                                  reserved_prefixes=())


@pytest.mark.parametrize("percent", [1, 7, 33, 50, 90, 100])
@pytest.mark.parametrize("instance_class", ["db.t3.micro", "db.m5.large", "db.r6g.4xlarge"])
def test_guard_counts_a_proxys_connections_with_the_planners_arithmetic(
        instance_class: str, percent: int) -> None:
    limit: ConnectionLimit = describe_connection_limit(Engine.POSTGRES, instance_class)
    proxy = guard_model.Resource(kind="proxy", name="p", path="p",
                                 props={"max_connections_percent": percent})
    counted = guard_model.Model([proxy]).proxy_connections(proxy, limit)
    assert counted == proxy_connection_share(limit, percent)


def test_response_size_limit_has_one_definition() -> None:
    from deploy_paradigms.cdk import data_endpoint as cdk_endpoint
    from deploy_paradigms.pulumi import data_endpoint as pulumi_endpoint

    # plans.data_endpoint holds the rule; a renderer may re-export it, never define its own
    for renderer in (cdk_endpoint, pulumi_endpoint):
        rule = getattr(renderer, "check_response_size_limit", check_response_size_limit)
        assert rule is check_response_size_limit
    with pytest.raises(InputError, match="response_size_limit_bytes=0") as caught:
        check_response_size_limit(0)
    assert not isinstance(caught.value, BudgetError)


def test_log_retention_names_say_what_they_hold() -> None:
    from deploy_paradigms.cdk import edge_function as cdk_edge
    from deploy_paradigms.plans import checks as input_checks
    from deploy_paradigms.plans import edge as edge_plan
    from deploy_paradigms.pulumi import edge_function as pulumi_edge
    from deploy_paradigms.pulumi import network, serverless_function

    for module in (cdk_edge, pulumi_edge, network, serverless_function):
        assert not hasattr(module, "LOG_RETENTION_DAYS"), module.__name__
    assert edge_plan.ACCESS_LOG_EXPIRATION_DAYS == 90
    assert 30 in input_checks.CLOUDWATCH_RETENTION_DAYS and 31 not in input_checks.CLOUDWATCH_RETENTION_DAYS


@pytest.mark.parametrize("bad", [
    lambda: plan_edge_function(trigger="viewer-request", runtime="python3.99", handler="a.b",
                               package_size_bytes=1),
    lambda: plan_edge_function(trigger="viewer-request", runtime="python3.12", handler="nodot",
                               package_size_bytes=1),
])
def test_edge_input_errors_are_not_budget_errors(bad: Callable[[], Any]) -> None:
    with pytest.raises(InputError) as caught:
        bad()
    assert not isinstance(caught.value, BudgetError)


# -- CDK: exact security-group egress ---------------------------------------------------------------

ALL_TRAFFIC = ("0.0.0.0/0", "-1")


@pytest.mark.parametrize("stack", ["Serverless", "Paas", "Edge", "Changes"])
def test_cdk_security_groups_have_only_their_explicit_egress(synth: Callable[..., Any], stack: str) -> None:
    template = template_of(synth(), stack)
    groups = {k: v["Properties"] for k, v in template["Resources"].items()
              if v["Type"] == "AWS::EC2::SecurityGroup"}
    assert groups
    for logical, props in groups.items():
        egress = props.get("SecurityGroupEgress")
        # Empty: CloudFormation keeps EC2's default "all traffic to 0.0.0.0/0" beside the
        # separate AWS::EC2::SecurityGroupEgress resources.
        assert egress, f"{stack}/{logical} keeps EC2's default allow-all egress"
        for rule in egress:
            assert (rule.get("CidrIp"), str(rule.get("IpProtocol"))) != ALL_TRAFFIC, (stack, logical, rule)
