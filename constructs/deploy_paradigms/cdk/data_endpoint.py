"""``DataEndpoint``: named queries over HTTPS for code that cannot hold a database connection.

Edge runtimes (Lambda@Edge, Cloudflare Workers, Vercel Edge, Deno Deploy) have
no VPC and no place for a connection pool. They call this endpoint instead: a
:class:`~deploy_paradigms.cdk.serverless_function.ServerlessFunction` (a Lambda
in the VPC behind RDS Proxy, its reserved concurrency paid from the database's
connection ledger) that runs only the named, parameterised queries of a
:class:`~deploy_paradigms.catalog.QueryCatalog` (no SQL over HTTP), exposed as
a Lambda function URL.

Example::

    endpoint = DataEndpoint(self, "Data", database=db, catalog=sample_catalog(),
                            function=FunctionOptions(memory_size=1024, connections=20))
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

Every decision is taken by :func:`deploy_paradigms.plans.data_endpoint.plan_data_endpoint`
(the function's own by the composed ServerlessFunction's plan); this module renders it in named
steps: ``_plan``, ``_create_hmac_key``, ``_create_function``, ``_create_url``, ``_wire_security``.
The Pulumi component in ``deploy_paradigms.pulumi.data_endpoint`` takes the same steps.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .. import packaging
from ..budget import ServerlessPlan
from ..catalog import QueryCatalog
from ..plans.data_endpoint import (
    DEFAULT_RESPONSE_SIZE_LIMIT_BYTES,
    HMAC_KEY_LENGTH,
    INVALIDATION_ACTIONS,
    DataEndpointPlan,
    SigningPlan,
    UrlPermission,
    check_response_size_limit,
    plan_data_endpoint,
)
from ..plans.serverless import FunctionOptions
from .database import Database
from .serverless_function import ServerlessFunction

__all__ = ["DEFAULT_RESPONSE_SIZE_LIMIT_BYTES", "DataEndpoint", "FunctionOptions",
           "check_response_size_limit"]


class DataEndpoint(Construct):
    """A function URL that runs a catalog's named queries, behind RDS Proxy, within the budget.

    What it creates: a :class:`ServerlessFunction` (id ``Function``: proxy, reserved
    concurrency from the ledger, security groups, alarms) running the data endpoint
    bundle with the catalog baked in; a function URL (id ``Url``); with HMAC
    signing, a generated Secrets Manager secret (id ``HmacSecret``) unless
    ``hmac_secret`` is given, readable by the function only.

    Attributes: ``plan`` (the function's :class:`ServerlessPlan`), ``endpoint_plan``
    (:class:`~deploy_paradigms.plans.data_endpoint.DataEndpointPlan`), ``signing_plan``, ``catalog``,
    ``catalog_has_cache_tags``, ``cache_key_parameters``, ``function`` (the :class:`ServerlessFunction`),
    ``url``, ``hmac_secret``, ``distribution_id_parameter_name``, ``invalidation_policy``.

    :param database: the :class:`Database` to query; its ledger pays for the connections.
    :param catalog: the named queries this endpoint serves (nothing else runs).
    :param signing: omitted: ``"cloudfront"``; or ``"hmac"``, ``"both"`` (see the module docs).
    :param hmac_secret: the signing key (raw SecretString or JSON ``{"key": "..."}``) when
        ``signing`` is ``hmac``/``both``; omitted: a 64-character key is generated in Secrets
        Manager (no value in the template). Refused with ``signing="cloudfront"``.
    :param response_size_limit_bytes: larger results answer 413; omitted: 1,000,000.
    :param bootstrap_schema: run the catalog's ``schema`` statements once per execution
        environment (``CREATE ... IF NOT EXISTS``; for examples, use migrations in production).
        Omitted: False.
    :param function: the function's options as one
        :class:`~deploy_paradigms.plans.serverless.FunctionOptions` (connections, reserved_concurrency,
        memory_size, timeout_s, runtime, architecture, proxy_max_connections_percent, idle_client_timeout_s,
        borrow_timeout_s, iam_auth, db_user, master_user_reason, account_concurrency_limit, alarms,
        log_retention_days); omitted: :class:`ServerlessFunction`'s defaults, except runtime Python 3.14
        (the bundle is pure Python) and a 15 s timeout (also CloudFront's origin read timeout for
        ``/data/*``).
    :param vpc_subnets, proxy, proxy_security_group: passed to :class:`ServerlessFunction` (aws-cdk types,
        so not in ``function``); omitted: private subnets, a new proxy.
    :param environment: extra NON-secret variables for the function; omitted: only those the
        construct sets (``DATABASE_*`` and ``DATA_ENDPOINT_*``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        database: Database,
        catalog: QueryCatalog,
        signing: str | None = None,
        hmac_secret: secretsmanager.ISecret | None = None,
        response_size_limit_bytes: int | None = None,
        bootstrap_schema: bool | None = None,
        function: FunctionOptions | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        proxy: rds.IDatabaseProxy | None = None,
        proxy_security_group: ec2.ISecurityGroup | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, id)
        self._plan(catalog, signing, hmac_secret, response_size_limit_bytes, bootstrap_schema, function,
                   environment)
        self._create_hmac_key(hmac_secret)
        self._create_function(database, vpc_subnets, proxy, proxy_security_group)
        self._create_url()
        self._wire_security()

    def _plan(self, catalog: QueryCatalog, signing: str | None, hmac_secret: secretsmanager.ISecret | None,
              response_size_limit_bytes: int | None, bootstrap_schema: bool | None,
              function: FunctionOptions | None, environment: Mapping[str, str] | None) -> None:
        self.endpoint_plan: DataEndpointPlan = plan_data_endpoint(
            label=self.node.path, catalog=catalog, stack_name=cdk.Stack.of(self).stack_name,
            endpoint_id=cdk.Names.unique_id(self), signing=signing, hmac_secret_given=hmac_secret is not None,
            response_size_limit_bytes=response_size_limit_bytes, bootstrap_schema=bootstrap_schema,
            function=function, environment=environment)
        plan = self.endpoint_plan
        self.signing_plan: SigningPlan = plan.signing
        self.catalog = catalog
        #: True when a read declares cache tags (the distribution then extracts them).
        self.catalog_has_cache_tags: bool = plan.catalog_has_cache_tags
        #: Query-string names a cached GET varies by (the read queries' parameters).
        self.cache_key_parameters: tuple[str, ...] = plan.cache_key_parameters
        #: SSM parameter that will hold the distribution id (None: no write invalidates anything).
        self.distribution_id_parameter_name: str | None = plan.distribution_id_parameter_name
        self.invalidation_policy: iam.Policy | None = None

    def _create_hmac_key(self, hmac_secret: secretsmanager.ISecret | None) -> None:
        """Bring your own key, or a generated one (never a value in the template)."""
        self.hmac_secret: secretsmanager.ISecret | None = hmac_secret
        if not self.endpoint_plan.generate_hmac_key:
            return
        created = secretsmanager.Secret(
            self, "HmacSecret", description=self.endpoint_plan.hmac_key_description,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=HMAC_KEY_LENGTH, exclude_punctuation=True, include_space=False))
        cdk.Validations.of(created).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions::AwsSolutions-SMG4",
            reason="a shared signing key cannot rotate without the callers learning the new key at "
                   "the same moment; rotate it by hand (docs/edge.md, 'Rotating the key')"))
        self.hmac_secret = created

    def _create_function(self, database: Database, vpc_subnets: ec2.SubnetSelection | None,
                         proxy: rds.IDatabaseProxy | None,
                         proxy_security_group: ec2.ISecurityGroup | None) -> None:
        """The function: budget, proxy, concurrency and alarms come from ServerlessFunction."""
        plan = self.endpoint_plan
        # One .zip rather than a directory: synth stages one file, not ~1,400 (BENCHMARKS.md).
        archive = packaging.lambda_archive("data_endpoint", catalog_json=self.catalog.to_json(),
                                           engine=database.engine.value)
        self.function = ServerlessFunction(
            self, "Function", database=database,
            code=lambda_.Code.from_asset(str(archive), asset_hash=packaging.archive_hash(archive)),
            handler=packaging.DATA_ENDPOINT_HANDLER, vpc_subnets=vpc_subnets, proxy=proxy,
            proxy_security_group=proxy_security_group, options=plan.function,
            environment=plan.environment(
                hmac_secret_arn=self.hmac_secret.secret_arn if self.hmac_secret is not None else None))

    def _create_url(self) -> None:
        """The function URL; auth NONE gets its two public statements from aws-cdk itself."""
        self.url = lambda_.FunctionUrl(
            self, "Url", function=self.function.function,
            auth_type=lambda_.FunctionUrlAuthType[self.signing_plan.url_auth_type])

    def _wire_security(self) -> None:
        """Read the key, read the distribution-id parameter, HTTPS out (NAT or a VPC endpoint)."""
        role = self.function.role
        for statement in self.endpoint_plan.statements:
            if statement.resource == "hmac-secret" and self.hmac_secret is not None:
                self.hmac_secret.grant_read(role)
            elif statement.resource == "ssm-parameter" and self.distribution_id_parameter_name is not None:
                role.add_to_principal_policy(iam.PolicyStatement(
                    actions=list(statement.actions),
                    resources=[cdk.Stack.of(self).format_arn(
                        service="ssm", resource="parameter",
                        resource_name=self.distribution_id_parameter_name.lstrip("/"))]))
        rule = self.endpoint_plan.https_egress
        if rule is not None:
            self.function.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(rule.port),
                                                         rule.description)

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
        self.endpoint_plan.check_one_distribution(self.invalidation_policy is not None)
        ssm.StringParameter(
            self, "DistributionId",
            parameter_name=self.distribution_id_parameter_name,
            string_value=distribution.distribution_id,
            description=f"CloudFront distribution {self.node.path} invalidates after writes")
        self.invalidation_policy = iam.Policy(
            self, "InvalidationPolicy",
            roles=[self.function.role],
            statements=[iam.PolicyStatement(actions=list(INVALIDATION_ACTIONS),
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
        suffix = cdk.Names.unique_id(distribution)
        return [self._permission(f"CloudFront{_ID[p.action]}{suffix}", p, distribution.distribution_arn)
                for p in self.endpoint_plan.cloudfront_permissions()]

    def _permission(self, id: str, permission: UrlPermission, source_arn: str) -> lambda_.CfnPermission:
        return lambda_.CfnPermission(
            self, id, action=permission.action, principal=permission.principal,
            function_name=self.function.function.function_arn, source_arn=source_arn,
            invoked_via_function_url=True if permission.via_function_url else None)


#: Construct ids of CloudFront's two permissions (ids are API: kept as they were).
_ID = {"lambda:InvokeFunctionUrl": "InvokeUrl", "lambda:InvokeFunction": "Invoke"}
