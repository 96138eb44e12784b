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

from ..budget import BudgetError
from ..catalog import CACHE_TAG_HEADER
from ..plans.checks import PRICE_CLASSES, check_choice
from ..plans.edge import (
    ACCESS_LOG_EXPIRATION_DAYS,
    EDGE_FUNCTION_LOG_RETENTION_DAYS,
    EDGE_REGION,
    DataCachePlan,
    EdgePlan,
    EdgeTrigger,
    FirewallPlan,
    RateLimit,
    check_anonymous_writes,
    measure_path,
    plan_data_cache,
    plan_edge_function,
    plan_firewall,
)
from .data_endpoint import DataEndpoint

__all__ = ["ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID", "CACHING_DISABLED_POLICY_ID", "EdgeFunction",
           "EdgeFunctionArgs", "RateLimit"]

#: AWS managed cache policy "Managed-CachingDisabled" (CloudFront developer guide, managed cache policies).
CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
#: AWS managed origin request policy "Managed-AllViewerExceptHostHeader".
ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
_ALL_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
_GET_HEAD = ["GET", "HEAD"]
_DATA_ORIGIN_ID = "data-endpoint"
_UNSIGNED_ORIGIN_ID = "data-endpoint-unsigned"


@dataclass(frozen=True, kw_only=True)
class EdgeFunctionArgs:
    """Inputs of :class:`EdgeFunction`; ``handler`` and one of ``code_path``/``code`` are required.

    Attributes:
        handler: ``module.function`` (Python) or ``file.export`` (Node.js).
        code_path: directory with the handler and everything it imports (or a .zip file). Pass
            exactly one of ``code_path`` and ``code``: omitting both raises BudgetError.
        code: instead of ``code_path``, a ``pulumi.FileArchive`` of a directory or .zip file
            (other archives cannot be measured and are refused). Omitted: ``code_path`` is used.
        runtime: Omitted: ``python3.12`` (also ``python3.11``, ``nodejs20.x``, ``nodejs22.x``).
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
    runtime: str = "python3.12"
    event_type: str = EdgeTrigger.VIEWER_REQUEST.value
    data_endpoint: DataEndpoint | None = None
    default_origin: aws.cloudfront.DistributionOriginArgs | None = None
    default_cache_policy_id: pulumi.Input[str] | None = None
    include_body: bool = False
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
    price_class: str = "PriceClass_100"
    edge_provider: aws.Provider | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    anonymous_writes_reason: str | None = None


def _measure(args: EdgeFunctionArgs) -> int:
    if (args.code_path is None) == (args.code is None):
        raise BudgetError("pass exactly one of code_path (a directory with the handler) or code "
                          "(pulumi.FileArchive(<directory or .zip>))")
    if args.code is not None:
        if not isinstance(args.code, pulumi.FileArchive):
            raise BudgetError(f"code={type(args.code).__name__} cannot be measured before deployment; "
                              f"Lambda@Edge packages must fit 1 MB (viewer) / 50 MB (origin), so pass "
                              f"code_path=<directory> or pulumi.FileArchive(<directory or .zip>)")
        return measure_path(args.code.path)
    return measure_path(args.code_path)  # type: ignore[arg-type]


class EdgeFunction(pulumi.ComponentResource):
    """A Lambda@Edge function on a CloudFront distribution, with ``/data/*`` served by a data endpoint.

    Attributes (as in the CDK construct): ``plan`` (:class:`EdgePlan`), ``cache_plan``
    (:class:`DataCachePlan` or None), ``package_size_bytes``, ``function`` (published;
    ``function.qualified_arn`` is on the distribution), ``log_group`` (its us-east-1 group), ``role``,
    ``edge_provider``,
    ``data_cache_policy``, ``origin_access_control``, ``origin_request_policy_id``,
    ``distribution``, ``log_bucket`` (None when you passed one), ``permissions``.
    """

    TYPE = "deploy-paradigms:edge_function:EdgeFunction"

    def __init__(self, name: str, args: EdgeFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # 1. Validate inputs: the package is measured here, the limits checked by the plan.
        self.package_size_bytes: int = _measure(args)
        endpoint = args.data_endpoint
        if endpoint is None and args.default_origin is None:
            raise BudgetError("an EdgeFunction needs an origin for its default behaviour: pass data_endpoint "
                              "(a DataEndpoint) or default_origin")
        if endpoint is not None and not endpoint.signing_plan.cloudfront_origin:
            raise BudgetError(
                f"data_endpoint {endpoint.endpoint_name} has "
                f"signing={endpoint.signing_plan.signing.value!r}: "
                f"its URL does not admit CloudFront, and a cached /data/* response would be served to "
                f"viewers that never signed; create the DataEndpoint with signing='cloudfront' or 'both'")
        if endpoint is not None:
            check_anonymous_writes(endpoint.catalog, endpoint.signing_plan, args.anonymous_writes_reason)
        if args.aliases and args.acm_certificate_arn is None:
            raise BudgetError(f"aliases={list(args.aliases)} need acm_certificate_arn (an ACM certificate in "
                              f"us-east-1 covering them)")

        price_class = check_choice("price_class", args.price_class, PRICE_CLASSES)
        self.firewall_plan: FirewallPlan | None = plan_firewall(
            args.rate_limit, web_acl_id=args.web_acl_id,
            name_parts=(pulumi.get_project(), pulumi.get_stack(), name))

        # 2. Plan.
        self.plan: EdgePlan = plan_edge_function(
            trigger=args.event_type, runtime=args.runtime, handler=args.handler,
            package_size_bytes=self.package_size_bytes, memory_size=args.memory_size,
            timeout_s=args.timeout_s, environment=args.environment, vpc=args.vpc_config, layers=args.layers)
        self.cache_plan: DataCachePlan | None = (
            plan_data_cache(endpoint.cache_key_parameters, hmac_signed=endpoint.signing_plan.requires_hmac)
            if endpoint is not None else None)
        plan = self.plan
        super().__init__(self.TYPE, name, {
            "edgePlan": {"trigger": plan.trigger.value, "memorySize": plan.memory_size,
                         "timeout": plan.timeout_s, "packageSizeBytes": plan.package_size_bytes,
                         "packageLimitBytes": plan.package_limit_bytes},
        }, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        # 3. The function, its role and version, in us-east-1 (the stack's provider unless overridden).
        self.edge_provider: aws.Provider | None = args.edge_provider
        at_edge = pulumi.ResourceOptions(parent=self, provider=args.edge_provider)
        edge_region = None if args.edge_provider is not None else EDGE_REGION
        self.role = aws.iam.Role(
            f"{name}-edge-role",
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Action": "sts:AssumeRole", "Effect": "Allow",
                "Principal": {"Service": ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]}}]}),
            description=f"Lambda@Edge {name}: write its own logs, nothing else", tags=tags, opts=at_edge)
        code = args.code if args.code is not None else pulumi.FileArchive(os.fspath(args.code_path))  # type: ignore[arg-type]
        self.function = aws.lambda_.Function(
            f"{name}-edge",
            code=code,
            handler=plan.handler,
            runtime=plan.runtime,
            memory_size=plan.memory_size,
            timeout=plan.timeout_s,
            role=self.role.arn,
            # CloudFront needs a numbered version: the qualified ARN goes on the distribution.
            publish=True,
            description=f"deploy-paradigms edge: {plan.summary()}",
            region=edge_region,
            tags=tags,
            # CloudFront's replicas block deletion for hours: retained, deleted by hand (module docs).
            opts=pulumi.ResourceOptions.merge(at_edge, pulumi.ResourceOptions(retain_on_delete=True)))
        # The function's own log group in us-east-1 (test invokes), with a retention, as aws-cdk
        # creates it; retained on destroy like the CDK's (the function name is generated, so a
        # re-created stack gets a new group).
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-edge-log-group", name=self.function.name.apply(lambda fn: f"/aws/lambda/{fn}"),
            retention_in_days=EDGE_FUNCTION_LOG_RETENTION_DAYS, region=edge_region, tags=tags,
            opts=pulumi.ResourceOptions.merge(at_edge, pulumi.ResourceOptions(retain_on_delete=True)))
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.log_policy = aws.iam.RolePolicy(
            f"{name}-edge-logs", role=self.role.id,
            policy=pulumi.Output.all(partition.partition, identity.account_id, self.function.name).apply(
                lambda v: json.dumps(_log_policy(v[0], v[1], v[2]))),
            opts=at_edge)

        self.web_acl: aws.wafv2.WebAcl | None = None
        web_acl_id = args.web_acl_id
        if self.firewall_plan is not None:
            self.web_acl = self._create_firewall(self.firewall_plan, name, tags, at_edge, edge_region)
            web_acl_id = self.web_acl.arn

        # 4. Cache policy, origin access control, log bucket, distribution.
        self.origin_request_policy: aws.cloudfront.OriginRequestPolicy | None = None
        self.origin_request_policy_id: pulumi.Input[str] | None = None
        self.data_cache_policy: aws.cloudfront.CachePolicy | None = None
        self.origin_access_control: aws.cloudfront.OriginAccessControl | None = None
        origins: list[aws.cloudfront.DistributionOriginArgs] = []
        ordered: list[aws.cloudfront.DistributionOrderedCacheBehaviorArgs] = []
        if endpoint is not None and self.cache_plan is not None:
            cp = self.cache_plan
            self.data_cache_policy = aws.cloudfront.CachePolicy(
                f"{name}-data-cache",
                comment=f"{name}: honour the data endpoint's Cache-Control; key = path + "
                        f"{cp.query_string_behavior} query strings",
                min_ttl=cp.min_ttl_s, default_ttl=cp.default_ttl_s, max_ttl=cp.max_ttl_s,
                parameters_in_cache_key_and_forwarded_to_origin=(
                    aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs(
                        cookies_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs(
                            cookie_behavior="none"),
                        headers_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs(
                            header_behavior="none"),
                        query_strings_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs(
                            query_string_behavior=cp.query_string_behavior,
                            query_strings=(aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigQueryStringsArgs(
                                items=list(cp.query_strings)) if cp.query_strings else None)),
                        enable_accept_encoding_brotli=True,
                        enable_accept_encoding_gzip=True)),
                opts=child)
            if cp.all_query_strings:
                pulumi.log.warn("the catalog's read queries name more than 10 parameters (CloudFront's "
                                "allow-list quota): every query string is in the /data/* cache key", self)
            # Forward what the key holds and the headers the endpoint reads, nothing else: a
            # parameter outside the key cannot change the answer stored under it.
            self.origin_request_policy = aws.cloudfront.OriginRequestPolicy(
                f"{name}-data-origin-request",
                comment=f"{name}: the cache key's query strings and {', '.join(cp.forwarded_headers)} only",
                cookies_config=aws.cloudfront.OriginRequestPolicyCookiesConfigArgs(cookie_behavior="none"),
                headers_config=aws.cloudfront.OriginRequestPolicyHeadersConfigArgs(
                    header_behavior="whitelist",
                    headers=aws.cloudfront.OriginRequestPolicyHeadersConfigHeadersArgs(
                        items=list(cp.forwarded_headers))),
                query_strings_config=aws.cloudfront.OriginRequestPolicyQueryStringsConfigArgs(
                    query_string_behavior=cp.query_string_behavior,
                    query_strings=(aws.cloudfront.OriginRequestPolicyQueryStringsConfigQueryStringsArgs(
                        items=list(cp.query_strings)) if cp.query_strings else None)),
                opts=child)
            self.origin_request_policy_id = self.origin_request_policy.id
            self.origin_access_control = aws.cloudfront.OriginAccessControl(
                f"{name}-data-oac",
                description=f"{name}: CloudFront signs requests to the data endpoint's function URL",
                origin_access_control_origin_type="lambda", signing_behavior="always",
                signing_protocol="sigv4", opts=child)
            origins.append(aws.cloudfront.DistributionOriginArgs(
                origin_id=_DATA_ORIGIN_ID,
                domain_name=endpoint.url.function_url.apply(lambda url: url.split("/")[2]),
                origin_access_control_id=self.origin_access_control.id,
                custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
                    http_port=80, https_port=443, origin_protocol_policy="https-only",
                    origin_ssl_protocols=["TLSv1.2"], origin_read_timeout=endpoint.plan.function_timeout_s)))
            ordered.append(aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                path_pattern=cp.path_pattern,
                target_origin_id=_DATA_ORIGIN_ID,
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=_ALL_METHODS,
                cached_methods=_GET_HEAD,
                cache_policy_id=self.data_cache_policy.id,
                origin_request_policy_id=self.origin_request_policy_id,
                compress=True))
        if args.default_origin is not None:
            origins.insert(0, args.default_origin)
            default_origin_id: pulumi.Input[str] = args.default_origin.origin_id
        else:
            # The function URL *unsigned* (no origin access control): a request the edge function
            # passes through (favicon.ico, scanners) is refused by the URL's IAM auth (403) before
            # the function runs, so it spends none of the reserved concurrency /data/* misses need.
            assert endpoint is not None  # checked in step 1
            origins.append(aws.cloudfront.DistributionOriginArgs(
                origin_id=_UNSIGNED_ORIGIN_ID,
                domain_name=endpoint.url.function_url.apply(lambda url: url.split("/")[2]),
                custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
                    http_port=80, https_port=443, origin_protocol_policy="https-only",
                    origin_ssl_protocols=["TLSv1.2"])))
            default_origin_id = _UNSIGNED_ORIGIN_ID

        self.log_bucket: aws.s3.Bucket | None = None
        self.log_bucket_ownership: aws.s3.BucketOwnershipControls | None = None
        log_domain = args.log_bucket_domain_name
        if log_domain is None:
            self.log_bucket, self.log_bucket_ownership = self._log_bucket(name, tags)
            log_domain = self.log_bucket.bucket_domain_name

        certificate = (
            aws.cloudfront.DistributionViewerCertificateArgs(cloudfront_default_certificate=True)
            if args.acm_certificate_arn is None else
            aws.cloudfront.DistributionViewerCertificateArgs(
                acm_certificate_arn=args.acm_certificate_arn, ssl_support_method="sni-only",
                minimum_protocol_version="TLSv1.2_2021"))
        restriction_type, locations = args.geo_restriction or ("none", [])
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-distribution",
            enabled=True,
            comment=f"deploy-paradigms edge: {name}",
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=price_class,
            aliases=list(args.aliases) if args.aliases else None,
            origins=origins,
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id=default_origin_id,
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=_ALL_METHODS if args.include_body else _GET_HEAD,
                cached_methods=_GET_HEAD,
                cache_policy_id=args.default_cache_policy_id or CACHING_DISABLED_POLICY_ID,
                compress=True,
                lambda_function_associations=[
                    aws.cloudfront.DistributionDefaultCacheBehaviorLambdaFunctionAssociationArgs(
                        event_type=plan.trigger.value, lambda_arn=self.function.qualified_arn,
                        include_body=args.include_body)]),
            ordered_cache_behaviors=ordered,
            custom_error_responses=[aws.cloudfront.DistributionCustomErrorResponseArgs(
                error_code=code, error_caching_min_ttl=self.cache_plan.error_caching_min_ttl_s)
                for code in self.cache_plan.cached_error_codes] if self.cache_plan is not None else None,
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                    restriction_type=restriction_type, locations=list(locations))),
            viewer_certificate=certificate,
            logging_config=aws.cloudfront.DistributionLoggingConfigArgs(
                bucket=log_domain, prefix="cloudfront/", include_cookies=False),
            web_acl_id=web_acl_id,
            # CloudFront stores the endpoint's cache tags with each object (invalidation by tag).
            cache_tag_config=(aws.cloudfront.DistributionCacheTagConfigArgs(header_name=CACHE_TAG_HEADER)
                              if endpoint is not None and endpoint.catalog_has_cache_tags else None),
            tags=tags,
            # CreateDistribution fails ("does not enable ACL access") if it races the log bucket's
            # ownership controls: the bucket's domain name alone does not order them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=(
                [self.log_bucket_ownership] if self.log_bucket_ownership is not None else None)))

        # 5. Security: CloudFront may invoke the data endpoint's URL, this distribution only.
        self.permissions: list[aws.lambda_.Permission] = (
            endpoint.grant_cloudfront(self.distribution.arn, name=f"{name}-data",
                                      opts=pulumi.ResourceOptions(parent=self))
            if endpoint is not None else [])
        self.cache_tag_header: str | None = (
            CACHE_TAG_HEADER if endpoint is not None and endpoint.catalog_has_cache_tags else None)
        self.invalidation_policy: aws.iam.RolePolicy | None = (
            endpoint.grant_invalidation(self.distribution.id, self.distribution.arn, name=f"{name}-data",
                                        opts=pulumi.ResourceOptions(parent=self))
            if endpoint is not None and endpoint.catalog_has_cache_tags else None)

        self.register_outputs({
            "distributionId": self.distribution.id,
            "domainName": self.distribution.domain_name,
            "functionVersionArn": self.function.qualified_arn,
            "packageSizeBytes": self.package_size_bytes,
        })

    def _create_firewall(self, plan: FirewallPlan, name: str, tags: Mapping[str, str],
                         at_edge: pulumi.ResourceOptions, edge_region: str | None) -> aws.wafv2.WebAcl:
        """The web ACL in us-east-1 (its ARN goes on the distribution: WebACLId takes the ARN)."""
        return aws.wafv2.WebAcl(
            f"{name}-web-acl", name=plan.name, scope=plan.scope, region=edge_region,
            description=f"deploy-paradigms edge: {plan.summary()}",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=plan.metrics_enabled, metric_name=plan.name,
                sampled_requests_enabled=plan.sampled_requests),
            # One rule document for CDK and Pulumi (the AWS API's shape, which rule_json takes).
            rule_json=json.dumps(plan.rules), tags=tags, opts=at_edge)

    def _log_bucket(self, name: str,
                    tags: Mapping[str, str]) -> tuple[aws.s3.Bucket, aws.s3.BucketOwnershipControls]:
        # Retained on destroy like the CDK construct's bucket (RemovalPolicy.RETAIN): access logs
        # outlive the stack, and the retained bucket keeps its protections and expiry.
        child = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        bucket = aws.s3.Bucket(f"{name}-logs", force_destroy=False, tags=tags, opts=child)
        aws.s3.BucketPublicAccessBlock(
            f"{name}-logs-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child)
        # A deleted or overwritten log stays recoverable until it expires.
        aws.s3.BucketVersioning(
            f"{name}-logs-versioning", bucket=bucket.id,
            versioning_configuration={"status": "Enabled"}, opts=child)
        # CloudFront standard logging writes with an ACL grant to awslogsdelivery.
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-logs-ownership", bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="ObjectWriter"), opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-logs-encryption", bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=(
                    aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256")))],
            opts=child)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-logs-lifecycle", bucket=bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs", status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=ACCESS_LOG_EXPIRATION_DAYS),
                noncurrent_version_expiration=(
                    aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=ACCESS_LOG_EXPIRATION_DAYS)))],
            opts=child)
        aws.s3.BucketPolicy(
            f"{name}-logs-tls-only", bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"},
                "Action": "s3:*", "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})),
            opts=child)
        return bucket, ownership


def _log_policy(partition: str, account: str, function_name: str) -> dict[str, Any]:
    # Lambda@Edge writes to /aws/lambda/us-east-1.<name> in the Region of the edge
    # location that ran it, and to /aws/lambda/<name> in us-east-1 for test invokes.
    logs = f"arn:{partition}:logs"
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [f"{logs}:*:{account}:log-group:/aws/lambda/us-east-1.{function_name}:*",
                     f"{logs}:{EDGE_REGION}:{account}:log-group:/aws/lambda/{function_name}:*"]}]}
