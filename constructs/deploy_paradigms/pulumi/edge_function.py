"""``EdgeFunction``: user code at CloudFront's edge, plus the distribution that serves it.

Pulumi twin of :class:`deploy_paradigms.cdk.edge_function.EdgeFunction`: same
steps, same decisions (:mod:`deploy_paradigms.plans.edge`), same attribute
names. Lambda@Edge functions must be created in us-east-1: the function sets
pulumi-aws 7's per-resource ``region="us-east-1"``, so it keeps the stack's
provider configuration (profile, assume role, default tags, allowed account
ids); an ``edge_provider`` you pass overrides that.

Destroy: the access-log bucket (and its settings) is retained, as the CDK
construct's ``RemovalPolicy.RETAIN`` does, and so is the Lambda@Edge function,
because AWS refuses to delete it while CloudFront replicas exist (for hours
after the distribution is gone). Clean up by hand afterwards: empty and delete
the bucket, and delete the function once ``aws lambda delete-function --region
us-east-1`` stops answering "replicated function".

Example::

    endpoint = DataEndpoint("data", DataEndpointArgs(database=database, catalog=sample_catalog()))
    site = EdgeFunction("site", EdgeFunctionArgs(
        code_path=packaging.lambda_bundle("edge"), handler=packaging.EDGE_HANDLER,
        data_endpoint=endpoint))
    pulumi.export("url", site.distribution.domain_name)

Steps, top to bottom: validate inputs (package size, trigger limits), plan,
create the us-east-1 provider, role and published function, the cache policy,
origin access control and log bucket, the distribution, grant CloudFront the
data endpoint's two invoke permissions, expose attributes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ..budget import InputError
from ..plans.edge import (
    CACHE_POLICY_DATA,
    CACHE_POLICY_DISABLED,
    CACHE_POLICY_GIVEN,
    EDGE_REGION,
    ORIGIN_DATA,
    ORIGIN_DATA_UNSIGNED,
    ORIGIN_DEFAULT,
    BehaviourPlan,
    DataCachePlan,
    DataOrigin,
    DistributionPlan,
    EdgePlan,
    FirewallPlan,
    LogBucketPlan,
    RateLimit,
    measure_path,
    plan_edge_function,
)
from .data_endpoint import DataEndpoint

__all__ = ["ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID", "CACHING_DISABLED_POLICY_ID", "EdgeFunction",
           "EdgeFunctionArgs", "RateLimit"]

#: AWS managed cache policy "Managed-CachingDisabled" (CloudFront developer guide, managed cache policies).
CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
#: AWS managed origin request policy "Managed-AllViewerExceptHostHeader".
ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
_ALL_QUERY_STRINGS = ("the catalog's read queries name more than 10 parameters (CloudFront's allow-list "
                      "quota): every query string is in the /data/* cache key")


@dataclass(frozen=True, kw_only=True)
class EdgeFunctionArgs:
    """Inputs of :class:`EdgeFunction`; ``handler`` and one of ``code_path``/``code`` are required.

    Attributes:
        handler: ``module.function`` (Python) or ``file.export`` (Node.js).
        code_path: directory with the handler and everything it imports (or a .zip file). Pass
            exactly one of ``code_path`` and ``code``: omitting both raises InputError.
        code: instead of ``code_path``, a ``pulumi.FileArchive`` of a directory or .zip file
            (other archives cannot be measured and are refused). Omitted: ``code_path`` is used.
        runtime: a Lambda@Edge runtime name: ``python3.12``, ``python3.11``, ``nodejs20.x`` or
            ``nodejs22.x`` (``plans.edge.EDGE_RUNTIMES``; another raises InputError). Omitted: ``python3.12``.
        event_type: CloudFront trigger. Omitted: ``viewer-request`` (128 MB, 5 s, 1 MB package);
            origin triggers allow up to 10,240 MB, 30 s, 50 MB.
        data_endpoint: the :class:`DataEndpoint` served under ``/data/*``. Omitted: no data route
            (``default_origin`` is then required). Its signing must admit CloudFront.
        default_origin: origin of the default behaviour (its ``origin_id`` is used). Omitted: the
            data endpoint's URL *without* origin access control, so a request the function passes
            through is refused by the URL's IAM auth (403) before the data function runs.
        default_cache_policy_id: Omitted: the managed CachingDisabled policy.
        include_body: expose the request body to the function. Omitted: False.
        memory_size: MB. Omitted: 128. More than the trigger allows raises InputError.
        timeout_s: Omitted: the trigger's maximum (5 s viewer, 30 s origin).
        environment, vpc_config, layers: leave them omitted: Lambda@Edge has no environment
            variables, VPC or layers, so a non-empty environment or layer list, or any
            vpc_config, raises InputError naming the alternatives.
        aliases: alternate domain names; need ``acm_certificate_arn`` (us-east-1). Omitted: none.
        acm_certificate_arn: Omitted: the ``*.cloudfront.net`` certificate (security policy fixed
            at TLSv1 by CloudFront); given: TLSv1.2_2021, SNI.
        web_acl_id: your own WAF web ACL's ARN (scope CLOUDFRONT). Omitted: none unless
            ``rate_limit`` creates one; passing both raises InputError.
        rate_limit: a WAF rate-based rule: requests per 5 minutes per IP address (a number), or a
            :class:`~deploy_paradigms.plans.edge.RateLimit` (limit, ``window_s`` 60/120/300/600,
            ``scope`` ``"all"``/``"writes"``/``"data"``). A web ACL (scope CLOUDFRONT) is created with
            ``region="us-east-1"`` (or ``edge_provider``); over the limit WAF answers 429; CloudWatch
            metrics and sampled requests on. Costs USD 5/month + 1/month for the rule + 0.60 per
            million requests. Omitted: no web ACL.
        geo_restriction: ``("whitelist"|"blacklist", ["DE", ...])``. Omitted: served everywhere.
        log_bucket_domain_name: an existing bucket (ACLs enabled) for access logs. Omitted: one is
            created (encrypted, TLS only, no public access, logs expire after 90 days).
        price_class: ``PriceClass_100``, ``PriceClass_200`` or ``PriceClass_All``. Omitted:
            ``PriceClass_100`` (North America and Europe: the cheapest).
        edge_provider: an ``aws.Provider`` for the function and its role, overriding the stack's.
            Omitted: the stack's provider, with ``region="us-east-1"`` set on the function (its
            profile, assume role, default tags and allowed account ids apply).
        tags: tags on every taggable child. Omitted: none.
        anonymous_writes_reason: why a ``data_endpoint`` with write queries and
            ``signing="cloudfront"`` may take writes from anyone who reaches the distribution.
            Omitted: such an endpoint raises InputError (sign writes with ``signing="both"`` or
            serve a read-only catalog instead).
    """

    handler: str
    code_path: str | os.PathLike[str] | None = None
    code: pulumi.Archive | None = None
    runtime: str | None = None
    event_type: str | None = None
    data_endpoint: DataEndpoint | None = None
    default_origin: aws.cloudfront.DistributionOriginArgs | None = None
    default_cache_policy_id: pulumi.Input[str] | None = None
    include_body: bool | None = None
    memory_size: int | None = None
    timeout_s: int | None = None
    environment: Mapping[str, pulumi.Input[str]] | None = None
    vpc_config: Any = None
    layers: Sequence[pulumi.Input[str]] | None = None
    aliases: Sequence[str] | None = None
    acm_certificate_arn: pulumi.Input[str] | None = None
    web_acl_id: pulumi.Input[str] | None = None
    rate_limit: int | RateLimit | None = None
    geo_restriction: tuple[str, Sequence[str]] | None = None
    log_bucket_domain_name: pulumi.Input[str] | None = None
    price_class: str | None = None
    edge_provider: aws.Provider | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    anonymous_writes_reason: str | None = None


def _measure(args: EdgeFunctionArgs) -> int:
    if (args.code_path is None) == (args.code is None):
        raise InputError("pass exactly one of code_path (a directory with the handler) or code "
                          "(pulumi.FileArchive(<directory or .zip>))")
    if args.code is not None:
        if not isinstance(args.code, pulumi.FileArchive):
            raise InputError(f"code={type(args.code).__name__} cannot be measured before deployment; "
                              f"Lambda@Edge packages must fit 1 MB (viewer) / 50 MB (origin), so pass "
                              f"code_path=<directory> or pulumi.FileArchive(<directory or .zip>)")
        return measure_path(args.code.path)
    return measure_path(args.code_path)  # type: ignore[arg-type]


class EdgeFunction(pulumi.ComponentResource):
    """A Lambda@Edge function on a CloudFront distribution, with ``/data/*`` served by a data endpoint.

    Attributes (as in the CDK construct): ``plan`` (:class:`EdgePlan`), ``cache_plan``
    (:class:`DataCachePlan` or None), ``firewall_plan`` (:class:`FirewallPlan` or None),
    ``package_size_bytes``, ``function`` (published; ``function.qualified_arn`` is on the
    distribution), ``log_group`` (its us-east-1 group), ``role``, ``edge_provider``,
    ``data_cache_policy``, ``origin_access_control``, ``origin_request_policy_id``, ``web_acl``,
    ``distribution``, ``log_bucket`` (None when you passed one), ``permissions``.
    """

    TYPE = "deploy-paradigms:edge_function:EdgeFunction"

    def __init__(self, name: str, args: EdgeFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        self.package_size_bytes: int = _measure(args)
        self.plan: EdgePlan = _plan(name, args, self.package_size_bytes)
        self.cache_plan: DataCachePlan | None = self.plan.cache
        self.firewall_plan: FirewallPlan | None = self.plan.firewall
        plan = self.plan
        super().__init__(self.TYPE, name, {
            "edgePlan": {"trigger": plan.trigger.value, "memorySize": plan.memory_size,
                         "timeout": plan.timeout_s, "packageSizeBytes": plan.package_size_bytes,
                         "packageLimitBytes": plan.package_limit_bytes},
        }, opts)
        tags = dict(args.tags)
        self.edge_provider: aws.Provider | None = args.edge_provider
        self._create_edge_function(name, args, tags)
        self.web_acl: aws.wafv2.WebAcl | None = (
            self._create_firewall(self.firewall_plan, name, tags) if self.firewall_plan is not None else None)
        origins = self._create_policies(name, args)
        log_domain = self._create_logging(name, args, tags)
        self._create_distribution(name, args, origins, log_domain, tags)
        self._grant_data_endpoint(name, args.data_endpoint)
        self.register_outputs({
            "distributionId": self.distribution.id,
            "domainName": self.distribution.domain_name,
            "functionVersionArn": self.function.qualified_arn,
            "packageSizeBytes": self.package_size_bytes,
        })

    # -- steps ------------------------------------------------------------------------------------
    @property
    def _at_edge(self) -> pulumi.ResourceOptions:
        """us-east-1 resources: the stack's provider with ``region`` set, or ``edge_provider``."""
        return pulumi.ResourceOptions(parent=self, provider=self.edge_provider)

    @property
    def _edge_region(self) -> str | None:
        return None if self.edge_provider is not None else EDGE_REGION

    def _create_edge_function(self, name: str, args: EdgeFunctionArgs, tags: Mapping[str, str]) -> None:
        """The function, its role, its us-east-1 log group and log policy."""
        plan, at_edge, region = self.plan, self._at_edge, self._edge_region
        self.role = aws.iam.Role(
            f"{name}-edge-role",
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Action": "sts:AssumeRole", "Effect": "Allow",
                "Principal": {"Service": list(plan.role_services)}}]}),
            description=plan.role_description, tags=tags, opts=at_edge)
        code = args.code if args.code is not None else pulumi.FileArchive(os.fspath(args.code_path))  # type: ignore[arg-type]
        # CloudFront's replicas block deletion for hours: retained, deleted by hand (module docs).
        retained = pulumi.ResourceOptions.merge(at_edge, pulumi.ResourceOptions(retain_on_delete=True))
        self.function = aws.lambda_.Function(
            f"{name}-edge", code=code, handler=plan.handler, runtime=plan.runtime,
            memory_size=plan.memory_size, timeout=plan.timeout_s, role=self.role.arn,
            # CloudFront needs a numbered version: the qualified ARN goes on the distribution.
            publish=True, description=plan.description, region=region, tags=tags, opts=retained)
        # The function's own log group in us-east-1 (test invokes), with a retention, as aws-cdk
        # creates it; retained on destroy like the CDK's (the function name is generated, so a
        # re-created stack gets a new group).
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-edge-log-group", name=self.function.name.apply(lambda fn: f"/aws/lambda/{fn}"),
            retention_in_days=plan.log_retention_days, region=region, tags=tags, opts=retained)
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.log_policy = aws.iam.RolePolicy(
            f"{name}-edge-logs", role=self.role.id,
            policy=pulumi.Output.all(partition.partition, identity.account_id, self.function.name).apply(
                lambda v: json.dumps({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": list(plan.log_actions),
                    "Resource": plan.log_resources(v[0], v[1], v[2])}]})),
            opts=at_edge)

    def _create_firewall(self, plan: FirewallPlan, name: str, tags: Mapping[str, str]) -> aws.wafv2.WebAcl:
        """The web ACL in us-east-1 (its ARN goes on the distribution: WebACLId takes the ARN)."""
        return aws.wafv2.WebAcl(
            f"{name}-web-acl", name=plan.name, scope=plan.scope, region=self._edge_region,
            description=f"deploy-paradigms edge: {plan.summary()}",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=plan.metrics_enabled, metric_name=plan.name,
                sampled_requests_enabled=plan.sampled_requests),
            # One rule document for CDK and Pulumi (the AWS API's shape, which rule_json takes).
            rule_json=json.dumps(plan.rules), tags=tags, opts=self._at_edge)

    def _create_policies(self, name: str,
                         args: EdgeFunctionArgs) -> list[aws.cloudfront.DistributionOriginArgs]:
        """The ``/data/*`` cache and origin request policies, origin access control, and the origins."""
        self.origin_request_policy: aws.cloudfront.OriginRequestPolicy | None = None
        self.origin_request_policy_id: pulumi.Input[str] | None = None
        self.data_cache_policy: aws.cloudfront.CachePolicy | None = None
        self.origin_access_control: aws.cloudfront.OriginAccessControl | None = None
        endpoint, cp, child = args.data_endpoint, self.cache_plan, pulumi.ResourceOptions(parent=self)
        origins = [args.default_origin] if args.default_origin is not None else []
        if endpoint is None or cp is None:
            return origins
        self.data_cache_policy = _cache_policy(f"{name}-data-cache", self.plan, cp, child)
        if cp.all_query_strings:
            pulumi.log.warn(_ALL_QUERY_STRINGS, self)
        self.origin_request_policy = _origin_request_policy(f"{name}-data-origin-request", self.plan, cp,
                                                            child)
        self.origin_request_policy_id = self.origin_request_policy.id
        self.origin_access_control = aws.cloudfront.OriginAccessControl(
            f"{name}-data-oac",
            description=f"{name}: CloudFront signs requests to the data endpoint's function URL",
            origin_access_control_origin_type="lambda", signing_behavior="always",
            signing_protocol="sigv4", opts=child)
        distribution = self.plan.distribution
        domain = endpoint.url.function_url.apply(lambda url: url.split("/")[2])
        origins.append(_function_url_origin(ORIGIN_DATA, domain, distribution, self.origin_access_control.id))
        if distribution.default_behaviour.origin == ORIGIN_DATA_UNSIGNED:
            origins.append(_function_url_origin(ORIGIN_DATA_UNSIGNED, domain, distribution, None))
        return origins

    def _create_logging(self, name: str, args: EdgeFunctionArgs,
                        tags: Mapping[str, str]) -> pulumi.Input[str]:
        """The access-log bucket's domain name: the one given, or a bucket made to ``plan.log_bucket``."""
        self.log_bucket: aws.s3.Bucket | None = None
        self.log_bucket_ownership: aws.s3.BucketOwnershipControls | None = None
        if self.plan.log_bucket is None:
            assert args.log_bucket_domain_name is not None  # planned from it
            return args.log_bucket_domain_name
        self.log_bucket, self.log_bucket_ownership = _log_bucket(name, self.plan.log_bucket, tags,
                                                                 pulumi.ResourceOptions(parent=self))
        return self.log_bucket.bucket_domain_name

    def _behaviour(self, behaviour: BehaviourPlan, origin_id: pulumi.Input[str],
                   cache_policy_id: pulumi.Input[str]) -> dict[str, Any]:
        """A behaviour's settings, the same for the default and the ordered ones."""
        edge = behaviour.edge_trigger
        return dict(
            target_origin_id=origin_id, viewer_protocol_policy=behaviour.viewer_protocol_policy,
            allowed_methods=list(behaviour.allowed_methods), cached_methods=list(behaviour.cached_methods),
            cache_policy_id=cache_policy_id, compress=behaviour.compress,
            origin_request_policy_id=(self.origin_request_policy_id if behaviour.origin_request_policy
                                      else None),
            lambda_function_associations=[
                aws.cloudfront.DistributionDefaultCacheBehaviorLambdaFunctionAssociationArgs(
                    event_type=edge.value, lambda_arn=self.function.qualified_arn,
                    include_body=behaviour.include_body)] if edge is not None else None)

    def _create_distribution(self, name: str, args: EdgeFunctionArgs,
                             origins: list[aws.cloudfront.DistributionOriginArgs],
                             log_domain: pulumi.Input[str], tags: Mapping[str, str]) -> None:
        plan = self.plan.distribution
        origin_ids: dict[str, pulumi.Input[str]] = {ORIGIN_DATA: ORIGIN_DATA,
                                                    ORIGIN_DATA_UNSIGNED: ORIGIN_DATA_UNSIGNED}
        if args.default_origin is not None:
            origin_ids[ORIGIN_DEFAULT] = args.default_origin.origin_id
        policy_ids: dict[str, pulumi.Input[str] | None] = {
            CACHE_POLICY_DATA: self.data_cache_policy.id if self.data_cache_policy else None,
            CACHE_POLICY_GIVEN: args.default_cache_policy_id,
            CACHE_POLICY_DISABLED: CACHING_DISABLED_POLICY_ID}
        default, data = plan.default_behaviour, plan.data_behaviour
        restriction_type, locations = args.geo_restriction or ("none", [])
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-distribution", enabled=True, comment=plan.comment, is_ipv6_enabled=plan.ipv6,
            http_version=plan.http_version, price_class=plan.price_class, aliases=list(plan.aliases) or None,
            origins=origins,
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(**self._behaviour(
                default, origin_ids[default.origin], policy_ids[default.cache_policy])),  # type: ignore[arg-type]
            ordered_cache_behaviors=[aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                path_pattern=data.path_pattern or "", **self._behaviour(
                    data, origin_ids[data.origin], policy_ids[data.cache_policy]))] if data else [],  # type: ignore[arg-type]
            custom_error_responses=[aws.cloudfront.DistributionCustomErrorResponseArgs(
                error_code=code, error_caching_min_ttl=ttl) for code, ttl in plan.error_caching] or None,
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                    restriction_type=restriction_type, locations=list(locations))),
            viewer_certificate=_viewer_certificate(plan, args.acm_certificate_arn),
            logging_config=aws.cloudfront.DistributionLoggingConfigArgs(
                bucket=log_domain, prefix=plan.log_prefix, include_cookies=plan.log_include_cookies),
            web_acl_id=self.web_acl.arn if self.web_acl is not None else args.web_acl_id,
            # CloudFront stores the endpoint's cache tags with each object (invalidation by tag).
            cache_tag_config=(aws.cloudfront.DistributionCacheTagConfigArgs(header_name=plan.cache_tag_header)
                              if plan.cache_tag_header else None),
            tags=tags,
            # CreateDistribution fails ("does not enable ACL access") if it races the log bucket's
            # ownership controls: the bucket's domain name alone does not order them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=(
                [self.log_bucket_ownership] if self.log_bucket_ownership is not None else None)))

    def _grant_data_endpoint(self, name: str, endpoint: DataEndpoint | None) -> None:
        """CloudFront may invoke the data endpoint's URL (this distribution only); the endpoint may
        invalidate this distribution when its catalog has cache tags."""
        self.cache_tag_header: str | None = self.plan.distribution.cache_tag_header
        self.permissions: list[aws.lambda_.Permission] = []
        self.invalidation_policy: aws.iam.RolePolicy | None = None
        if endpoint is None:
            return
        child = pulumi.ResourceOptions(parent=self)
        self.permissions = endpoint.grant_cloudfront(self.distribution.arn, name=f"{name}-data", opts=child)
        if self.cache_tag_header is not None:
            self.invalidation_policy = endpoint.grant_invalidation(
                self.distribution.id, self.distribution.arn, name=f"{name}-data", opts=child)


def _plan(name: str, args: EdgeFunctionArgs, package_size_bytes: int) -> EdgePlan:
    """The plan from the component's inputs (Pulumi's values are already the plan's spelling)."""
    endpoint = args.data_endpoint
    return plan_edge_function(
        handler=args.handler, package_size_bytes=package_size_bytes, trigger=args.event_type,
        runtime=args.runtime, memory_size=args.memory_size, timeout_s=args.timeout_s,
        environment=args.environment, vpc=args.vpc_config, layers=args.layers,
        data_endpoint=(DataOrigin.of(endpoint, name=endpoint.endpoint_name,
                                     read_timeout_s=endpoint.plan.function_timeout_s)
                       if endpoint is not None else None),
        default_origin=args.default_origin is not None,
        default_cache_policy=args.default_cache_policy_id is not None, include_body=args.include_body,
        aliases=args.aliases, certificate=args.acm_certificate_arn is not None, web_acl_id=args.web_acl_id,
        rate_limit=args.rate_limit, geo_restriction=args.geo_restriction is not None,
        log_bucket=args.log_bucket_domain_name is not None, price_class=args.price_class,
        anonymous_writes_reason=args.anonymous_writes_reason,
        name_parts=(pulumi.get_project(), pulumi.get_stack(), name), display_name=name,
        certificate_inputs=("aliases", "acm_certificate_arn"))


def _cache_policy(resource_name: str, plan: EdgePlan, cp: DataCachePlan,
                  opts: pulumi.ResourceOptions) -> aws.cloudfront.CachePolicy:
    key = aws.cloudfront
    return key.CachePolicy(
        resource_name, comment=plan.cache_policy_comment,
        min_ttl=cp.min_ttl_s, default_ttl=cp.default_ttl_s, max_ttl=cp.max_ttl_s,
        parameters_in_cache_key_and_forwarded_to_origin=key.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs(
            cookies_config=key.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs(
                cookie_behavior="none"),
            headers_config=key.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs(
                header_behavior="none"),
            query_strings_config=key.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs(
                query_string_behavior=cp.query_string_behavior,
                query_strings=(key.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigQueryStringsArgs(
                    items=list(cp.query_strings)) if cp.query_strings else None)),
            enable_accept_encoding_brotli=True,
            enable_accept_encoding_gzip=True),
        opts=opts)


def _origin_request_policy(resource_name: str, plan: EdgePlan, cp: DataCachePlan,
                           opts: pulumi.ResourceOptions) -> aws.cloudfront.OriginRequestPolicy:
    # Forward what the key holds and the headers the endpoint reads, nothing else: a
    # parameter outside the key cannot change the answer stored under it.
    return aws.cloudfront.OriginRequestPolicy(
        resource_name, comment=plan.origin_request_policy_comment,
        cookies_config=aws.cloudfront.OriginRequestPolicyCookiesConfigArgs(cookie_behavior="none"),
        headers_config=aws.cloudfront.OriginRequestPolicyHeadersConfigArgs(
            header_behavior="whitelist",
            headers=aws.cloudfront.OriginRequestPolicyHeadersConfigHeadersArgs(items=list(cp.forwarded_headers))),
        query_strings_config=aws.cloudfront.OriginRequestPolicyQueryStringsConfigArgs(
            query_string_behavior=cp.query_string_behavior,
            query_strings=(aws.cloudfront.OriginRequestPolicyQueryStringsConfigQueryStringsArgs(
                items=list(cp.query_strings)) if cp.query_strings else None)),
        opts=opts)


def _function_url_origin(
        origin_id: str, domain: pulumi.Input[str], plan: DistributionPlan,
        origin_access_control_id: pulumi.Input[str] | None) -> aws.cloudfront.DistributionOriginArgs:
    """The data endpoint's function URL as an origin: signed (origin access control, the function's
    timeout as read timeout) or, for the default behaviour, *unsigned*: a request the edge function
    passes through (favicon.ico, scanners) is refused by the URL's IAM auth (403) before the
    function runs, so it spends none of the reserved concurrency /data/* misses need."""
    signed = origin_access_control_id is not None
    return aws.cloudfront.DistributionOriginArgs(
        origin_id=origin_id, domain_name=domain, origin_access_control_id=origin_access_control_id,
        custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
            http_port=80, https_port=443, origin_protocol_policy=plan.origin_protocol_policy,
            origin_ssl_protocols=list(plan.origin_ssl_protocols),
            origin_read_timeout=plan.data_read_timeout_s if signed else None))


def _viewer_certificate(
        plan: DistributionPlan,
        acm_certificate_arn: pulumi.Input[str] | None) -> aws.cloudfront.DistributionViewerCertificateArgs:
    if acm_certificate_arn is None:
        return aws.cloudfront.DistributionViewerCertificateArgs(cloudfront_default_certificate=True)
    return aws.cloudfront.DistributionViewerCertificateArgs(
        acm_certificate_arn=acm_certificate_arn, ssl_support_method="sni-only",
        minimum_protocol_version=plan.minimum_protocol_version)


def _log_bucket(name: str, settings: LogBucketPlan, tags: Mapping[str, str],
                parent: pulumi.ResourceOptions) -> tuple[aws.s3.Bucket, aws.s3.BucketOwnershipControls]:
    """The access-log bucket and its settings (``plan.log_bucket``). Retained on destroy like the CDK
    construct's bucket (RemovalPolicy.RETAIN): access logs outlive the stack, and the retained
    bucket keeps its protections and expiry."""
    child = pulumi.ResourceOptions.merge(parent,
                                         pulumi.ResourceOptions(retain_on_delete=settings.retain_on_delete))
    bucket = aws.s3.Bucket(f"{name}-logs", force_destroy=False, tags=tags, opts=child)
    blocked = settings.block_public_access
    aws.s3.BucketPublicAccessBlock(
        f"{name}-logs-public-access", bucket=bucket.id, block_public_acls=blocked,
        block_public_policy=blocked, ignore_public_acls=blocked, restrict_public_buckets=blocked, opts=child)
    # A deleted or overwritten log stays recoverable until it expires.
    aws.s3.BucketVersioning(
        f"{name}-logs-versioning", bucket=bucket.id,
        versioning_configuration={"status": "Enabled" if settings.versioned else "Suspended"}, opts=child)
    # CloudFront standard logging writes with an ACL grant to awslogsdelivery.
    ownership = aws.s3.BucketOwnershipControls(
        f"{name}-logs-ownership", bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership=settings.object_ownership), opts=child)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-logs-encryption", bucket=bucket.id,
        rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=(
                aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm=settings.sse_algorithm)))],
        opts=child)
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-logs-lifecycle", bucket=bucket.id,
        rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-access-logs", status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=settings.expiration_days),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=settings.noncurrent_expiration_days))],
        opts=child)
    if settings.tls_only:
        aws.s3.BucketPolicy(
            f"{name}-logs-tls-only", bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"},
                "Action": "s3:*", "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})),
            opts=child)
    return bucket, ownership
