"""``DataEndpoint``: named queries over HTTPS for code that cannot hold a database connection.

Edge runtimes (Lambda@Edge, Cloudflare Workers, Vercel Edge, Deno Deploy) have
no VPC and no place for a connection pool. They call this endpoint instead: a
:class:`~deploy_paradigms.cdk.serverless_function.ServerlessFunction` (a Lambda
in the VPC behind RDS Proxy, its reserved concurrency paid from the database's
connection ledger) that runs only the named, parameterised queries of a
:class:`~deploy_paradigms.catalog.QueryCatalog` (no SQL over HTTP), exposed as
a Lambda function URL.

Example::

    endpoint = DataEndpoint(self, "Data", database=db, catalog=sample_catalog())
    endpoint.plan.reserved_concurrency     # what the database can afford
    EdgeFunction(self, "Site", ..., data_endpoint=endpoint)   # CloudFront in front

Who may call it is ``signing`` (see :class:`deploy_paradigms.plans.edge.Signing`):
``"cloudfront"`` (default: URL auth ``AWS_IAM``, CloudFront signs through origin
access control), ``"hmac"`` (URL auth ``NONE``; the function refuses requests
without a valid ``x-dp-signature`` HMAC before it touches the database) or
``"both"``. The trade-off of ``hmac``: IAM auth rejects strangers before the
function runs, at no cost, but needs AWS credentials and SigV4 on the caller;
HMAC needs only a shared key (fetched from Secrets Manager by the function,
never in the template) but every unsigned request is an invocation that counts
against the reserved concurrency.

Cache invalidation on write: when the catalog's writes declare ``invalidates``,
the function is told the name of an SSM parameter (``distribution_id_parameter_name``)
and may read it; :meth:`DataEndpoint.grant_invalidation` (called by
:class:`~deploy_paradigms.cdk.edge_function.EdgeFunction`) writes the
distribution's id there and lets the function invalidate that distribution
only. The id cannot be an environment variable: the distribution depends on
the function URL, so the function depending on the distribution would be a
cycle; the parameter and the policy depend on the distribution instead.

Steps: validate inputs, plan (signing; the budget plan comes from the composed
ServerlessFunction), create the HMAC secret, the function and its URL, wire
security (secret read, HTTPS egress to Secrets Manager), expose attributes.
The Pulumi component in ``deploy_paradigms.pulumi.data_endpoint`` takes the
same steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .. import packaging
from ..budget import DEFAULT_IDLE_CLIENT_TIMEOUT_S, BudgetError, ServerlessPlan
from ..budget.plan import DEFAULT_BORROW_TIMEOUT_S
from ..catalog import QueryCatalog
from ..plans.edge import (
    DEFAULT_RESPONSE_SIZE_LIMIT_BYTES,
    SigningPlan,
    cache_key_parameters,
    check_response_size_limit,
    distribution_id_parameter_name,
    plan_signing,
)
from ..plans.environment import check_data_endpoint_environment
from ..runtime import data_endpoint as endpoint_runtime
from ..runtime import invalidation
from .database import Database
from .serverless_function import ServerlessFunction

__all__ = ["DEFAULT_RESPONSE_SIZE_LIMIT_BYTES", "DataEndpoint", "check_response_size_limit"]

#: Python for the endpoint: the newest Lambda runtime (the bundle is pure Python).
DEFAULT_RUNTIME = lambda_.Runtime.PYTHON_3_14


class DataEndpoint(Construct):
    """A function URL that runs a catalog's named queries, behind RDS Proxy, within the budget.

    What it creates: a :class:`ServerlessFunction` (id ``Function``: proxy, reserved
    concurrency from the ledger, security groups, alarms) running the data endpoint
    bundle with the catalog baked in; a function URL (id ``Url``); with HMAC
    signing, a generated Secrets Manager secret (id ``HmacSecret``) unless
    ``hmac_secret`` is given, readable by the function only.

    :param database: the :class:`Database` to query; its ledger pays for the connections.
    :param catalog: the named queries this endpoint serves (nothing else runs).
    :param signing: ``"cloudfront"`` (default), ``"hmac"`` or ``"both"``; see the module docs.
    :param hmac_secret: the signing key (raw SecretString or JSON ``{"key": "..."}``) when
        ``signing`` is ``hmac``/``both``; omitted, a 64-character key is generated in Secrets
        Manager (no value in the template). Refused with ``signing="cloudfront"``.
    :param response_size_limit_bytes: larger results answer 413; default 1,000,000.
    :param bootstrap_schema: run the catalog's ``schema`` statements once per execution
        environment (``CREATE ... IF NOT EXISTS``; for examples, use migrations in production).
        Default False.
    :param connections: this endpoint's share of the ledger; omitted, all that is left.
    :param reserved_concurrency: omitted, the budget's cap (see ``ServerlessFunction``).
    :param memory_size: MB, default 512.
    :param timeout_s: default 15 s (also CloudFront's origin read timeout for ``/data/*``).
    :param runtime: default Python 3.14 (the bundle is pure Python).
    :param architecture, vpc_subnets, proxy, proxy_security_group, proxy_max_connections_percent,
        idle_client_timeout_s, borrow_timeout_s, iam_auth, db_user, master_user_reason,
        account_concurrency_limit, alarms, log_retention: passed to :class:`ServerlessFunction`
        unchanged, with its defaults (ARM_64; private subnets; a new proxy; 120 s; 10 s; IAM auth;
        the application role ``app_user``; 1000; alarms on; one month).
    :param environment: extra NON-secret variables for the function; omitted, only those the
        construct sets (``DATABASE_*`` and ``DATA_ENDPOINT_*``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        database: Database,
        catalog: QueryCatalog,
        signing: str = "cloudfront",
        hmac_secret: secretsmanager.ISecret | None = None,
        response_size_limit_bytes: int = DEFAULT_RESPONSE_SIZE_LIMIT_BYTES,
        bootstrap_schema: bool = False,
        connections: int | None = None,
        reserved_concurrency: int | None = None,
        memory_size: int = 512,
        timeout_s: int = 15,
        runtime: lambda_.Runtime = DEFAULT_RUNTIME,
        architecture: lambda_.Architecture = lambda_.Architecture.ARM_64,
        vpc_subnets: ec2.SubnetSelection | None = None,
        proxy: rds.IDatabaseProxy | None = None,
        proxy_security_group: ec2.ISecurityGroup | None = None,
        proxy_max_connections_percent: int | None = None,
        idle_client_timeout_s: int = DEFAULT_IDLE_CLIENT_TIMEOUT_S,
        borrow_timeout_s: int = DEFAULT_BORROW_TIMEOUT_S,
        iam_auth: bool = True,
        db_user: str | None = None,
        master_user_reason: str | None = None,
        account_concurrency_limit: int | None = None,
        alarms: bool = True,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, id)
        # 1. Validate inputs.
        if not isinstance(catalog, QueryCatalog):
            raise BudgetError(f"catalog must be a deploy_paradigms.catalog.QueryCatalog, got "
                              f"{type(catalog).__name__}; build one from NamedQuery objects")
        self.signing_plan: SigningPlan = plan_signing(signing)
        if hmac_secret is not None and not self.signing_plan.requires_hmac:
            raise BudgetError("hmac_secret is only used with signing='hmac' or 'both'; with "
                              "signing='cloudfront' CloudFront's SigV4 signature is the only check, so "
                              "remove hmac_secret or choose a signing mode that uses it")
        limit = check_response_size_limit(response_size_limit_bytes)
        self.catalog = catalog
        #: True when a read declares cache tags (the distribution then extracts them).
        self.catalog_has_cache_tags: bool = any(q.cache_tags for q in catalog)
        #: Query-string names a cached GET varies by (the read queries' parameters).
        self.cache_key_parameters: tuple[str, ...] = cache_key_parameters(catalog)

        # 2. The HMAC key: bring your own, or a generated one (never a value in the template).
        self.hmac_secret: secretsmanager.ISecret | None = hmac_secret
        if self.signing_plan.requires_hmac and hmac_secret is None:
            created = secretsmanager.Secret(
                self, "HmacSecret",
                description=f"HMAC-SHA256 key callers use to sign requests to {self.node.path}",
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    password_length=64, exclude_punctuation=True, include_space=False))
            cdk.Validations.of(created).acknowledge(cdk.Acknowledgment(
                id="AwsSolutions::AwsSolutions-SMG4",
                reason="a shared signing key cannot rotate without the callers learning the new key at "
                       "the same moment; rotate it by hand (docs/edge.md, 'Rotating the key')"))
            self.hmac_secret = created

        # 3. The function (budget, proxy, concurrency, alarms come from ServerlessFunction) and its URL.
        env: dict[str, str] = {
            endpoint_runtime.ENV_MAX_RESPONSE_BYTES: str(limit),
            endpoint_runtime.ENV_BOOTSTRAP_SCHEMA: "true" if bootstrap_schema else "false",
        }
        if self.hmac_secret is not None:
            env[endpoint_runtime.ENV_HMAC_SECRET_ARN] = self.hmac_secret.secret_arn
        #: SSM parameter that will hold the distribution id (None: no write invalidates anything).
        self.distribution_id_parameter_name: str | None = None
        if any(q.invalidates for q in catalog):
            self.distribution_id_parameter_name = distribution_id_parameter_name(
                cdk.Stack.of(self).stack_name, cdk.Names.unique_id(self))
            env[invalidation.ENV_DISTRIBUTION_ID_PARAMETER] = self.distribution_id_parameter_name
        env.update(check_data_endpoint_environment(environment))
        # One .zip rather than a directory: synth stages one file, not ~1,400 (BENCHMARKS.md).
        archive = packaging.lambda_archive("data_endpoint", catalog_json=catalog.to_json(),
                                           engine=database.engine.value)
        self.function = ServerlessFunction(
            self, "Function",
            database=database,
            code=lambda_.Code.from_asset(str(archive), asset_hash=packaging.archive_hash(archive)),
            handler=packaging.DATA_ENDPOINT_HANDLER,
            runtime=runtime,
            memory_size=memory_size,
            timeout_s=timeout_s,
            connections=connections,
            reserved_concurrency=reserved_concurrency,
            architecture=architecture,
            vpc_subnets=vpc_subnets,
            proxy=proxy,
            proxy_security_group=proxy_security_group,
            proxy_max_connections_percent=proxy_max_connections_percent,
            idle_client_timeout_s=idle_client_timeout_s,
            borrow_timeout_s=borrow_timeout_s,
            iam_auth=iam_auth,
            db_user=db_user,
            master_user_reason=master_user_reason,
            account_concurrency_limit=account_concurrency_limit,
            alarms=alarms,
            log_retention=log_retention,
            environment=env,
        )
        self.url = lambda_.FunctionUrl(
            self, "Url",
            function=self.function.function,
            auth_type=lambda_.FunctionUrlAuthType[self.signing_plan.url_auth_type],
        )

        # 4. Security: the function reads its key over HTTPS (NAT or a VPC endpoint).
        if self.hmac_secret is not None:
            self.hmac_secret.grant_read(self.function.role)
            self.function.security_group.add_egress_rule(
                ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "Secrets Manager API (HMAC signing key)")
        self.invalidation_policy: iam.Policy | None = None
        if self.distribution_id_parameter_name is not None:
            stack = cdk.Stack.of(self)
            self.function.role.add_to_principal_policy(iam.PolicyStatement(
                actions=["ssm:GetParameter"],
                resources=[stack.format_arn(service="ssm", resource="parameter",
                                            resource_name=self.distribution_id_parameter_name.lstrip("/"))]))
            # CloudFront's API has no VPC endpoint: the calls leave through the VPC's NAT. (With HMAC
            # signing the Secrets Manager rule already opens 443: CDK keeps one rule per peer and port.)
            self.function.security_group.add_egress_rule(
                ec2.Peer.any_ipv4(), ec2.Port.tcp(443),
                "SSM and CloudFront APIs (cache invalidation on write)")

    @property
    def plan(self) -> ServerlessPlan:
        """The function's plan (provisional for a default share until the ledgers settle)."""
        return self.function.plan

    def grant_invalidation(self, distribution: cloudfront.IDistribution) -> iam.Policy | None:
        """Let this endpoint invalidate ``distribution`` (and only it) after writes.

        Writes the distribution id to the SSM parameter the function reads and attaches
        ``cloudfront:CreateInvalidation`` on the distribution's ARN to the function's role,
        as a separate policy: both depend on the distribution, the function does not, so
        there is no cycle. Returns None (and creates nothing) when no write invalidates.
        :class:`EdgeFunction` calls it; call it yourself with a distribution of your own.
        """
        if self.distribution_id_parameter_name is None:
            return None
        if self.invalidation_policy is not None:
            raise BudgetError(f"{self.node.path} already invalidates a distribution; a data endpoint sends "
                              f"its invalidations to one distribution: put one distribution in front of it")
        ssm.StringParameter(
            self, "DistributionId",
            parameter_name=self.distribution_id_parameter_name,
            string_value=distribution.distribution_id,
            description=f"CloudFront distribution {self.node.path} invalidates after writes")
        self.invalidation_policy = iam.Policy(
            self, "InvalidationPolicy",
            roles=[self.function.role],
            statements=[iam.PolicyStatement(actions=["cloudfront:CreateInvalidation"],
                                            resources=[distribution.distribution_arn])])
        return self.invalidation_policy

    def grant_cloudfront(self, distribution: cloudfront.IDistribution) -> list[lambda_.CfnPermission]:
        """Let ``distribution`` (and only it) invoke the URL through origin access control.

        Adds both permissions function URLs need for CloudFront since October 2025:
        ``lambda:InvokeFunctionUrl`` and ``lambda:InvokeFunction`` (the latter only via
        the URL), principal ``cloudfront.amazonaws.com``, ``SourceArn`` = the distribution.
        :class:`EdgeFunction` needs no call: its ``FunctionUrlOrigin.with_origin_access_control``
        grants both in this aws-cdk-lib (older releases granted only the first, aws-cdk
        issue 35872). Use this with a distribution of your own.
        """
        if self.signing_plan.url_auth_type != "AWS_IAM":
            raise BudgetError(f"signing={self.signing_plan.signing.value!r}: the URL's auth type is NONE, so "
                              f"origin access control cannot be used; create the DataEndpoint with "
                              f"signing='cloudfront' or 'both'")
        suffix = cdk.Names.unique_id(distribution)
        common: dict[str, Any] = {
            "principal": "cloudfront.amazonaws.com",
            "function_name": self.function.function.function_arn,
            "source_arn": distribution.distribution_arn,
        }
        return [
            lambda_.CfnPermission(self, f"CloudFrontInvokeUrl{suffix}", action="lambda:InvokeFunctionUrl",
                                  **common),
            lambda_.CfnPermission(self, f"CloudFrontInvoke{suffix}", action="lambda:InvokeFunction",
                                  invoked_via_function_url=True, **common),
        ]
