"""``EdgeFunction``: user code at CloudFront's edge, plus the distribution that serves it.

Edge code cannot hold a TCP connection to the database (Lambda@Edge runs in
no VPC, in hundreds of locations, with no place for a pool), so it reaches data
over HTTPS: ``/data/*`` on the same distribution is routed to a
:class:`~deploy_paradigms.cdk.data_endpoint.DataEndpoint` through origin access
control, and CloudFront caches each named query's answer for as long as the
endpoint's ``Cache-Control`` says (the catalog's TTL and stale-while-revalidate).

Example::

    endpoint = DataEndpoint(self, "Data", database=db, catalog=sample_catalog())
    site = EdgeFunction(self, "Site", code_path=packaging.lambda_bundle("edge"),
                        handler=packaging.EDGE_HANDLER, data_endpoint=endpoint)
    site.distribution.distribution_domain_name    # https://<this>/ renders, /data/* is cached

Lambda@Edge lives in us-east-1: ``cloudfront.experimental.EdgeFunction`` puts
the function, its role and version in a support stack in that Region
(``<stack>-us-east-1`` unless ``support_stack_id`` says otherwise), writes the
version ARN to an SSM parameter there and reads it back into this stack with a
custom resource, so this stack can stay in any Region. The stack needs an
explicit Region (``env=cdk.Environment(region=...)``); the account may stay
unresolved.

Lambda@Edge refuses environment variables, VPCs and layers: passing any of
them raises :class:`InputError` at synth with the way configuration reaches
edge code instead (baked into the asset, or read from the request: the sample
handler finds the data endpoint at ``https://<Host header>/data/...``).

The module reads as steps: validate inputs (package size, trigger limits),
plan (edge decisions from :mod:`deploy_paradigms.plans.edge`), create the support
stack's role and the function, the cache and origin request policies, the log
bucket and the distribution, acknowledge what cdk-nag cannot know, expose
attributes. The Pulumi component in ``deploy_paradigms.pulumi.edge_function``
takes the same steps.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from ..budget import InputError
from ..plans.edge import (
    ALL_METHODS,
    CACHE_POLICY_DATA,
    CACHE_POLICY_DISABLED,
    CACHE_POLICY_GIVEN,
    EDGE_REGION,
    GET_HEAD,
    ORIGIN_DATA,
    ORIGIN_DATA_UNSIGNED,
    ORIGIN_DEFAULT,
    BehaviourPlan,
    DataCachePlan,
    DataOrigin,
    EdgePlan,
    EdgeTrigger,
    FirewallPlan,
    RateLimit,
    measure_path,
    plan_edge_function,
)
from .data_endpoint import DataEndpoint

__all__ = ["EdgeFunction", "RateLimit", "measure_package"]

#: The cross-Region SSM reader ``cloudfront.experimental.EdgeFunction`` creates in the consuming
#: stack (aws-cdk-lib's ``CrossRegionStringParamReaderProvider``): reused for the web ACL's ARN.
_READER_TYPE = "Custom::CrossRegionStringParameterReader"
_READER_PROVIDER_ID = f"{_READER_TYPE}CustomResourceProvider"

#: The plan's values (CloudFormation's spelling) as aws-cdk-lib's enums and objects.
_RUNTIMES = {
    "python3.11": lambda_.Runtime.PYTHON_3_11,
    "python3.12": lambda_.Runtime.PYTHON_3_12,
    "nodejs20.x": lambda_.Runtime.NODEJS_20_X,
    "nodejs22.x": lambda_.Runtime.NODEJS_22_X,
}
_EVENT_TYPES = {
    EdgeTrigger.VIEWER_REQUEST: cloudfront.LambdaEdgeEventType.VIEWER_REQUEST,
    EdgeTrigger.VIEWER_RESPONSE: cloudfront.LambdaEdgeEventType.VIEWER_RESPONSE,
    EdgeTrigger.ORIGIN_REQUEST: cloudfront.LambdaEdgeEventType.ORIGIN_REQUEST,
    EdgeTrigger.ORIGIN_RESPONSE: cloudfront.LambdaEdgeEventType.ORIGIN_RESPONSE,
}
_PRICE_CLASSES = {
    "PriceClass_100": cloudfront.PriceClass.PRICE_CLASS_100,
    "PriceClass_200": cloudfront.PriceClass.PRICE_CLASS_200,
    "PriceClass_All": cloudfront.PriceClass.PRICE_CLASS_ALL,
}
_PRICE_CLASS_NAMES = {cdk_value: name for name, cdk_value in _PRICE_CLASSES.items()}
_ALLOWED_METHODS: dict[tuple[str, ...], cloudfront.AllowedMethods] = {
    ALL_METHODS: cloudfront.AllowedMethods.ALLOW_ALL, GET_HEAD: cloudfront.AllowedMethods.ALLOW_GET_HEAD}
_CACHED_METHODS: dict[tuple[str, ...], cloudfront.CachedMethods] = {
    GET_HEAD: cloudfront.CachedMethods.CACHE_GET_HEAD}
_VIEWER_PROTOCOL = {"redirect-to-https": cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS}
_HTTP_VERSIONS = {"http2and3": cloudfront.HttpVersion.HTTP2_AND_3}
_SECURITY_POLICIES = {"TLSv1.2_2021": cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021}
_OBJECT_OWNERSHIP = {"ObjectWriter": s3.ObjectOwnership.OBJECT_WRITER}
_ALL_QUERY_STRINGS = ("the catalog's read queries name more than 10 parameters (CloudFront's allow-list "
                      "quota): every query string is in the /data/* cache key")


def measure_package(code_path: str | os.PathLike[str] | None, code: lambda_.Code | None) -> int:
    """Zipped size in bytes of what Lambda@Edge will receive.

    A directory is zipped deterministically and measured, a ``.zip`` file counts
    as is (:func:`deploy_paradigms.plans.edge.measure_path`); inline code counts
    its UTF-8 bytes. Code in S3 cannot be measured at synth and is refused.
    """
    if (code_path is None) == (code is None):
        raise InputError("pass exactly one of code_path (a directory with the handler) or code "
                          "(lambda_.Code.from_asset(<directory or .zip>) or lambda_.Code.from_inline)")
    if isinstance(code, lambda_.InlineCode):
        inline = code.bind(cdk.Stack()).inline_code or ""  # binding inline code has no side effect
        return len(inline.encode("utf-8"))
    if code is not None and not isinstance(code, lambda_.AssetCode):
        raise InputError(f"code={type(code).__name__} cannot be measured at synth; Lambda@Edge packages "
                          f"must fit 1 MB (viewer) / 50 MB (origin), so pass code_path=<directory> or "
                          f"lambda_.Code.from_asset(<directory or .zip>)")
    return measure_path(code.path if isinstance(code, lambda_.AssetCode) else code_path)  # type: ignore[arg-type]


class EdgeFunction(Construct):
    """A Lambda@Edge function on a CloudFront distribution, with ``/data/*`` served by a data endpoint.

    What it creates: in the us-east-1 support stack, the function (its package
    measured against the trigger's limit), a published version and an
    execution role trusted by Lambda and Lambda@Edge that may only write its
    own logs; in this stack, a CloudFront distribution (HTTPS only: HTTP is
    redirected; HTTP/2 and HTTP/3; TLS 1.2_2021 when ``certificate`` is
    given) with the function's version on the default behaviour and, when
    ``data_endpoint`` is given, ``/data/*`` routed to its function URL
    through origin access control (CloudFront signs each origin request with
    SigV4; CDK grants CloudFront both ``lambda:InvokeFunctionUrl`` and
    ``lambda:InvokeFunction`` with this distribution as the source ARN);
    a cache policy that honours the endpoint's ``Cache-Control`` and keys on the
    catalog's read parameters only; and an S3 bucket for access logs. When the
    catalog declares cache tags, the distribution's ``CacheTagConfig`` names the
    endpoint's ``x-dp-cache-tags`` header, and (when writes invalidate) the endpoint
    may invalidate this distribution: :meth:`DataEndpoint.grant_invalidation`.

    Behaviour of ``/data/*``: GET and HEAD are cached; POST (writes) and the
    other methods are forwarded and never cached. Only the cache key's query
    strings and the headers the endpoint reads (``x-amz-content-sha256``; with
    ``signing="both"`` also ``x-dp-signature``/``x-dp-timestamp``) are forwarded,
    so a parameter outside the key cannot change the answer stored under it;
    error responses are cached for 0 s (``plans.edge.CACHED_ERROR_CODES``).
    A POST through origin access control must carry ``x-amz-content-sha256``
    (the hex SHA-256 of the body): CloudFront does not hash bodies for SigV4, and
    Lambda refuses a signed POST without it.

    :param handler: ``module.function`` of the edge handler (Python) or ``file.export`` (Node.js).
    :param code_path: directory holding the handler and everything it imports (or a .zip file).
        Pass exactly one of ``code_path`` and ``code``: omitting both raises :class:`InputError`.
    :param code: instead of ``code_path``, a ``lambda_.Code`` from an asset or inline code;
        omitted, ``code_path`` is used.
    :param runtime: a ``lambda_.Runtime`` (as ``ServerlessFunction`` takes) or its name: ``python3.12``,
        ``python3.11``, ``nodejs20.x`` or ``nodejs22.x`` (the Lambda@Edge runtimes of
        ``plans.edge.EDGE_RUNTIMES``; another raises :class:`InputError`). Omitted: ``python3.12``.
    :param event_type: the CloudFront trigger; omitted, ``viewer-request`` (a
        ``cloudfront.LambdaEdgeEventType`` or its name). Viewer triggers allow 128 MB, 5 s and a
        1 MB package; origin triggers up to 10,240 MB, 30 s and 50 MB.
    :param data_endpoint: the :class:`DataEndpoint` served under ``/data/*``; omitted, no data route
        (then ``default_origin`` is required). Its signing must admit CloudFront
        (``"cloudfront"`` or ``"both"``).
    :param default_origin: origin of the default behaviour; omitted, the data endpoint's URL
        *without* origin access control: a request the function passes through (favicon.ico,
        scanners) is refused by the URL's IAM auth (403) before the data function runs, so it
        spends none of its reserved concurrency.
    :param default_cache_policy: cache policy of the default behaviour; omitted, caching disabled
        (responses generated at viewer request are never cached anyway).
    :param include_body: expose the request body to the function; omitted, not exposed (False).
    :param memory_size: MB; omitted, 128. More than the trigger allows raises :class:`InputError`.
    :param timeout_s: omitted, the trigger's maximum (5 s viewer, 30 s origin).
    :param environment: leave it omitted (or empty): Lambda@Edge has no environment variables,
        so any variable raises :class:`InputError` naming the alternatives.
    :param vpc: leave it omitted: Lambda@Edge cannot run in a VPC, so a VPC raises.
    :param layers: leave it omitted (or empty): Lambda@Edge has no layers, so a layer raises.
    :param domain_names: alternate domain names; need ``certificate`` (ACM, us-east-1). Omitted,
        the distribution answers on its ``*.cloudfront.net`` name only.
    :param certificate: ACM certificate for ``domain_names``; omitted, the ``*.cloudfront.net``
        certificate, whose security policy CloudFront fixes at TLSv1 (acknowledged for cdk-nag).
    :param web_acl_id: ARN of your own WAF web ACL (scope CLOUDFRONT, us-east-1); omitted, none
        unless ``rate_limit`` creates one. Passing both raises :class:`InputError`.
    :param rate_limit: a WAF rate-based rule: requests per 5 minutes per IP address (a number), or a
        :class:`~deploy_paradigms.plans.edge.RateLimit` (limit, ``window_s`` 60/120/300/600,
        ``scope`` ``"all"``/``"writes"``/``"data"``). A web ACL (scope CLOUDFRONT) is created in
        us-east-1 (in this stack when it is there, else in the support stack, its ARN read back through
        an SSM parameter like the function's version); over the limit WAF answers 429; CloudWatch
        metrics and sampled requests on. Costs USD 5/month + 1/month for the rule + 0.60 per million
        requests. Omitted: no web ACL (acknowledged for cdk-nag).
    :param geo_restriction: omitted, served everywhere.
    :param log_bucket: bucket for access logs (ACLs enabled, as CloudFront standard logging
        requires); omitted, one is created (S3-managed encryption, TLS only, no public access,
        logs expire after 90 days).
    :param price_class: a ``cloudfront.PriceClass`` or its CloudFront name (``PriceClass_200``); omitted,
        ``PRICE_CLASS_100`` (North America and Europe: the cheapest).
    :param support_stack_id: id of the us-east-1 support stack; omitted, ``<stack id>-us-east-1``.
        Edge functions of one stack share it.
    :param anonymous_writes_reason: why a ``data_endpoint`` with write queries and
        ``signing="cloudfront"`` may take writes from anyone who reaches the distribution; omitted,
        such an endpoint raises :class:`InputError` (sign writes with ``signing="both"`` or serve a
        read-only catalog instead).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        handler: str,
        code_path: str | os.PathLike[str] | None = None,
        code: lambda_.Code | None = None,
        runtime: lambda_.Runtime | str | None = None,
        event_type: cloudfront.LambdaEdgeEventType | str | None = None,
        data_endpoint: DataEndpoint | None = None,
        default_origin: cloudfront.IOrigin | None = None,
        default_cache_policy: cloudfront.ICachePolicy | None = None,
        include_body: bool | None = None,
        memory_size: int | None = None,
        timeout_s: int | None = None,
        environment: Mapping[str, str] | None = None,
        vpc: ec2.IVpc | None = None,
        layers: Sequence[lambda_.ILayerVersion] | None = None,
        domain_names: Sequence[str] | None = None,
        certificate: acm.ICertificate | None = None,
        web_acl_id: str | None = None,
        rate_limit: int | RateLimit | None = None,
        geo_restriction: cloudfront.GeoRestriction | None = None,
        log_bucket: s3.IBucket | None = None,
        price_class: cloudfront.PriceClass | str | None = None,
        support_stack_id: str | None = None,
        anonymous_writes_reason: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        parent = self._home_stack()
        self.package_size_bytes: int = measure_package(code_path, code)
        self.plan: EdgePlan = self._plan(
            parent, handler=handler, runtime=runtime, event_type=event_type, data_endpoint=data_endpoint,
            memory_size=memory_size, timeout_s=timeout_s, environment=environment, vpc=vpc, layers=layers,
            default_origin=default_origin is not None, default_cache_policy=default_cache_policy is not None,
            include_body=include_body, aliases=domain_names, certificate=certificate is not None,
            web_acl_id=web_acl_id, rate_limit=rate_limit, geo_restriction=geo_restriction is not None,
            log_bucket=log_bucket is not None, price_class=price_class,
            anonymous_writes_reason=anonymous_writes_reason)
        self.data_endpoint = data_endpoint
        self.cache_plan: DataCachePlan | None = self.plan.cache
        self.firewall_plan: FirewallPlan | None = self.plan.firewall
        self.support_stack: cdk.Stack = self._support_stack(parent, support_stack_id)
        # Unique per support stack (edge functions of one stack share it), stable per path.
        function_id = cdk.Names.unique_id(self)
        self._create_edge_function(function_id, code if code is not None else lambda_.Code.from_asset(
            os.fspath(code_path)))  # type: ignore[arg-type]  # measure_package checked one is given
        self.web_acl: wafv2.CfnWebACL | None = None
        if self.firewall_plan is not None:
            web_acl_id = self._create_firewall(self.firewall_plan, parent, function_id)
        self._create_policies(data_endpoint)
        self.log_bucket: s3.IBucket = log_bucket or self._create_logging()
        self._create_distribution(data_endpoint, default_origin, default_cache_policy, certificate,
                                  web_acl_id, geo_restriction)
        self._wire_cache_tags(data_endpoint)
        self._acknowledge()

    # -- steps ------------------------------------------------------------------------------------
    def _home_stack(self) -> cdk.Stack:
        parent = cdk.Stack.of(self)
        if cdk.Token.is_unresolved(parent.region):
            raise InputError(f"stack {parent.node.id!r} has no explicit Region; Lambda@Edge needs one to "
                             f"place its support stack: pass env=cdk.Environment(region='eu-west-1') (any "
                             f"Region; the account may stay unset)")
        return parent

    def _plan(self, parent: cdk.Stack, *, runtime: lambda_.Runtime | str | None,
              event_type: cloudfront.LambdaEdgeEventType | str | None, data_endpoint: DataEndpoint | None,
              price_class: cloudfront.PriceClass | str | None, **inputs: Any) -> EdgePlan:
        """The plan from this construct's inputs, CDK types turned into the plan's plain values."""
        return plan_edge_function(
            package_size_bytes=self.package_size_bytes,
            runtime=runtime.name if isinstance(runtime, lambda_.Runtime) else runtime,
            trigger=(event_type.value if isinstance(event_type, cloudfront.LambdaEdgeEventType)
                     else event_type),
            price_class=(_PRICE_CLASS_NAMES[price_class] if isinstance(price_class, cloudfront.PriceClass)
                         else price_class),
            data_endpoint=(DataOrigin.of(data_endpoint, name=data_endpoint.node.path,
                                         read_timeout_s=data_endpoint.plan.function_timeout_s)
                           if data_endpoint is not None else None),
            name_parts=(parent.stack_name, *self._path_in_stack(parent)), display_name=self.node.path,
            **inputs)

    def _path_in_stack(self, parent: cdk.Stack) -> list[str]:
        scopes = self.node.scopes
        return [scope.node.id for scope in scopes[scopes.index(parent) + 1:]]

    def _support_stack(self, parent: cdk.Stack, support_stack_id: str | None) -> cdk.Stack:
        if parent.region == EDGE_REGION:
            return parent
        stage = cdk.Stage.of(self)
        if stage is None:  # pragma: no cover - every stack lives in an App or a Stage
            raise InputError("an EdgeFunction's stack must belong to a cdk.App or cdk.Stage")
        stack_id = support_stack_id or f"{parent.node.id}-{EDGE_REGION}"
        existing = stage.node.try_find_child(stack_id)
        if existing is not None:
            if not isinstance(existing, cdk.Stack) or existing.region != EDGE_REGION:
                raise InputError(f"support_stack_id={stack_id!r} names a construct that is not a stack in "
                                  f"{EDGE_REGION}; choose another id")
            return existing
        # The same environment as cloudfront.experimental.EdgeFunction would give it, so it
        # finds this stack by id and puts the function here, next to the role.
        return cdk.Stack(stage, stack_id, env=cdk.Environment(region=EDGE_REGION, account=parent.account),
                         tags=parent.tags.tag_values(),
                         description=f"Lambda@Edge functions of {parent.stack_name} (us-east-1 only)")

    def _create_firewall(self, plan: FirewallPlan, parent: cdk.Stack, function_id: str) -> str:
        """The web ACL in us-east-1; returns its ARN as this stack can use it (WebACLId takes the
        ARN for WAFv2). In a us-east-1 stack a plain reference; else the ARN goes through an SSM
        parameter in us-east-1, read back by the custom resource provider that
        ``cloudfront.experimental.EdgeFunction`` already put in this stack for the version ARN."""
        home = self.support_stack
        self.web_acl = wafv2.CfnWebACL(
            home if home is not parent else self, f"{function_id}WebAcl" if home is not parent else "WebAcl",
            name=plan.name, scope=plan.scope, description=f"deploy-paradigms edge: {plan.summary()}",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=plan.metrics_enabled, metric_name=plan.name,
                sampled_requests_enabled=plan.sampled_requests))
        # One rule document for CDK and Pulumi (the AWS API's shape, which the L1 takes as is).
        self.web_acl.add_property_override("Rules", plan.rules)
        if home is parent:
            return self.web_acl.attr_arn
        return self._read_in_this_stack(parent, function_id, plan)

    def _read_in_this_stack(self, parent: cdk.Stack, function_id: str, plan: FirewallPlan) -> str:
        assert self.web_acl is not None
        home = self.support_stack
        name = f"/deploy-paradigms/{parent.stack_name}/{function_id}/web-acl-arn"
        ssm.StringParameter(home, f"{function_id}WebAclArn", parameter_name=name,
                            string_value=self.web_acl.attr_arn,
                            description=f"ARN of the web ACL of {self.node.path} (read by "
                                        f"{parent.stack_name})")
        provider = parent.node.try_find_child(_READER_PROVIDER_ID)
        if not isinstance(provider, cdk.CustomResourceProviderBase):  # pragma: no cover - aws-cdk-lib change
            raise InputError(f"rate_limit: aws-cdk-lib no longer creates {_READER_PROVIDER_ID} in "
                             f"{parent.stack_name}; put the stack in us-east-1 or pass web_acl_id")
        provider.add_to_role_policy({
            "Effect": "Allow", "Action": ["ssm:GetParameter"],
            "Resource": f"arn:{parent.partition}:ssm:{EDGE_REGION}:{parent.account}:parameter{name}"})
        reader = cdk.CustomResource(
            self, "WebAclArnReader", service_token=provider.service_token,
            resource_type=_READER_TYPE,
            # Read again whenever the web ACL would change (a replaced ACL has a new ARN).
            properties={"Region": EDGE_REGION, "ParameterName": name, "RefreshToken": plan.digest})
        # The reader's answer is named for the function ARN it was written for; it is any string.
        return reader.get_att_string("FunctionArn")

    def _create_edge_function(self, function_id: str, code: lambda_.Code) -> None:
        """The function, its role and version in us-east-1 (``cloudfront.experimental.EdgeFunction``
        puts them in the support stack and reads the version ARN back into this one)."""
        plan = self.plan
        self.role = iam.Role(
            self.support_stack, f"{function_id}ServiceRole",
            assumed_by=iam.CompositePrincipal(
                *(iam.ServicePrincipal(service) for service in reversed(plan.role_services))),
            description=plan.role_description)
        self.function = cloudfront.experimental.EdgeFunction(
            self, function_id,
            stack_id=self.support_stack.node.id,
            code=code,
            handler=plan.handler,
            runtime=_RUNTIMES[plan.runtime],
            memory_size=plan.memory_size,
            timeout=cdk.Duration.seconds(plan.timeout_s),
            role=self.role,
            description=plan.description,
        )
        self._grant_logs(function_id)

    def _create_policies(self, data_endpoint: DataEndpoint | None) -> None:
        """The ``/data/*`` cache and origin request policies and the endpoint's signed origin."""
        self.origin_request_policy: cloudfront.IOriginRequestPolicy | None = None
        self.data_cache_policy: cloudfront.CachePolicy | None = None
        self.data_origin: cloudfront.IOrigin | None = None
        cp, plan = self.cache_plan, self.plan
        if data_endpoint is None or cp is None:
            return
        self.data_cache_policy = cloudfront.CachePolicy(
            self, "DataCachePolicy", comment=plan.cache_policy_comment,
            min_ttl=cdk.Duration.seconds(cp.min_ttl_s), default_ttl=cdk.Duration.seconds(cp.default_ttl_s),
            max_ttl=cdk.Duration.seconds(cp.max_ttl_s),
            query_string_behavior=(
                cloudfront.CacheQueryStringBehavior.all() if cp.all_query_strings
                else cloudfront.CacheQueryStringBehavior.allow_list(*cp.query_strings) if cp.query_strings
                else cloudfront.CacheQueryStringBehavior.none()),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            enable_accept_encoding_gzip=True, enable_accept_encoding_brotli=True)
        if cp.all_query_strings:
            cdk.Annotations.of(self).add_warning_v2("deploy-paradigms:cacheKeyAllQueryStrings",
                                                    _ALL_QUERY_STRINGS)
        # Forward what the key holds and the headers the endpoint reads, nothing else: a
        # parameter outside the key cannot change the answer stored under it.
        self.origin_request_policy = cloudfront.OriginRequestPolicy(
            self, "DataOriginRequestPolicy", comment=plan.origin_request_policy_comment,
            query_string_behavior=(
                cloudfront.OriginRequestQueryStringBehavior.all() if cp.all_query_strings
                else cloudfront.OriginRequestQueryStringBehavior.allow_list(*cp.query_strings)
                if cp.query_strings else cloudfront.OriginRequestQueryStringBehavior.none()),
            header_behavior=cloudfront.OriginRequestHeaderBehavior.allow_list(*cp.forwarded_headers),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.none())
        read_timeout = plan.distribution.data_read_timeout_s
        assert read_timeout is not None  # planned with the data endpoint
        self.data_origin = origins.FunctionUrlOrigin.with_origin_access_control(
            data_endpoint.url, read_timeout=cdk.Duration.seconds(read_timeout))

    def _behaviour(self, behaviour: BehaviourPlan, origin: cloudfront.IOrigin | None,
                   cache_policy: cloudfront.ICachePolicy | None) -> cloudfront.BehaviorOptions:
        edge = behaviour.edge_trigger
        assert origin is not None  # the plan names an origin the inputs provide
        return cloudfront.BehaviorOptions(
            origin=origin,
            viewer_protocol_policy=_VIEWER_PROTOCOL[behaviour.viewer_protocol_policy],
            allowed_methods=_ALLOWED_METHODS[behaviour.allowed_methods],
            # The default behaviour leaves CachedMethods to CloudFront's default (the same GET, HEAD).
            cached_methods=(_CACHED_METHODS[behaviour.cached_methods] if behaviour.path_pattern else None),
            cache_policy=cache_policy,
            origin_request_policy=(self.origin_request_policy if behaviour.origin_request_policy else None),
            edge_lambdas=[cloudfront.EdgeLambda(
                function_version=self.function.current_version, event_type=_EVENT_TYPES[edge],
                include_body=behaviour.include_body or None)] if edge is not None else None,
            compress=behaviour.compress)

    def _create_distribution(self, data_endpoint: DataEndpoint | None,
                             default_origin: cloudfront.IOrigin | None,
                             default_cache_policy: cloudfront.ICachePolicy | None,
                             certificate: acm.ICertificate | None, web_acl_id: str | None,
                             geo_restriction: cloudfront.GeoRestriction | None) -> None:
        plan = self.plan.distribution
        origin_of: dict[str, cloudfront.IOrigin | None] = {
            ORIGIN_DEFAULT: default_origin, ORIGIN_DATA: self.data_origin, ORIGIN_DATA_UNSIGNED: None}
        if plan.default_behaviour.origin == ORIGIN_DATA_UNSIGNED and data_endpoint is not None:
            origin_of[ORIGIN_DATA_UNSIGNED] = origins.FunctionUrlOrigin(data_endpoint.url)
        policy_of = {CACHE_POLICY_DATA: self.data_cache_policy, CACHE_POLICY_GIVEN: default_cache_policy,
                     CACHE_POLICY_DISABLED: cloudfront.CachePolicy.CACHING_DISABLED}
        data = plan.data_behaviour
        self.distribution = cloudfront.Distribution(
            self, "Distribution",
            comment=plan.comment,
            default_behavior=self._behaviour(plan.default_behaviour, origin_of[plan.default_behaviour.origin],
                                             policy_of[plan.default_behaviour.cache_policy]),
            additional_behaviors={data.path_pattern: self._behaviour(  # type: ignore[dict-item]
                data, origin_of[data.origin], policy_of[data.cache_policy])} if data is not None else {},
            error_responses=[cloudfront.ErrorResponse(http_status=code, ttl=cdk.Duration.seconds(ttl))
                             for code, ttl in plan.error_caching] or None,
            domain_names=list(plan.aliases) or None,
            certificate=certificate,
            # Only with a certificate: the *.cloudfront.net one is fixed at TLSv1 by CloudFront.
            minimum_protocol_version=(_SECURITY_POLICIES[plan.minimum_protocol_version]
                                      if plan.minimum_protocol_version else None),
            http_version=_HTTP_VERSIONS[plan.http_version],
            enable_ipv6=plan.ipv6,
            price_class=_PRICE_CLASSES[plan.price_class],
            web_acl_id=web_acl_id,
            geo_restriction=geo_restriction,
            enable_logging=True,
            log_bucket=self.log_bucket,
            log_file_prefix=plan.log_prefix,
            log_includes_cookies=plan.log_include_cookies or None,
        )

    def _wire_cache_tags(self, data_endpoint: DataEndpoint | None) -> None:
        """CloudFront stores the endpoint's tag header with each object, and the endpoint may
        invalidate this distribution after writes (aws-cdk-lib 2.275 has CacheTagConfig at L1 only,
        hence the override)."""
        self.cache_tag_header: str | None = self.plan.distribution.cache_tag_header
        self.invalidation_policy: iam.Policy | None = None
        if data_endpoint is None or self.cache_tag_header is None:
            return
        cfn = self.distribution.node.default_child
        assert isinstance(cfn, cloudfront.CfnDistribution)
        cfn.add_property_override("DistributionConfig.CacheTagConfig", {"HeaderName": self.cache_tag_header})
        self.invalidation_policy = data_endpoint.grant_invalidation(self.distribution)

    def _grant_logs(self, function_id: str) -> None:
        # Lambda@Edge writes to /aws/lambda/us-east-1.<name> in the Region of the edge
        # location that ran it, and to /aws/lambda/<name> in us-east-1 for test invokes.
        home = self.support_stack
        self.log_policy = iam.Policy(
            home, f"{function_id}LogsPolicy",
            roles=[self.role],
            statements=[iam.PolicyStatement(
                actions=list(self.plan.log_actions),
                resources=self.plan.log_resources(home.partition, home.account,
                                                  self.function.function_name))])
        # cdk-nag names each wildcard resource as evidence: references as <LogicalId> or
        # <AWS::Pseudo>, values CDK already knows (partition literals, account) as they are.
        fn_logical_id = home.get_logical_id(self.function.lambda_.node.default_child)  # type: ignore[arg-type]
        partition = "<AWS::Partition>" if cdk.Token.is_unresolved(home.partition) else home.partition
        account = "<AWS::AccountId>" if cdk.Token.is_unresolved(home.account) else home.account
        for region in ("*", EDGE_REGION):
            group = f"us-east-1.<{fn_logical_id}>" if region == "*" else f"<{fn_logical_id}>"
            cdk.Validations.of(self.log_policy).acknowledge(cdk.Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:{partition}:logs:{region}:"
                   f"{account}:log-group:/aws/lambda/{group}:*]",
                reason="Lambda@Edge writes its logs in whichever Region served the request (and in "
                       "us-east-1 for test invokes): the Region is a wildcard, the log group is this "
                       "function's own; ':*' names its log streams"))

    def _create_logging(self) -> s3.Bucket:
        """The access-log bucket (``plan.log_bucket``)."""
        settings = self.plan.log_bucket
        assert settings is not None  # planned whenever no log_bucket is given
        bucket = s3.Bucket(
            self, "LogBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL if settings.block_public_access else None,
            enforce_ssl=settings.tls_only,
            versioned=settings.versioned,  # a deleted or overwritten log stays recoverable until it expires
            # CloudFront standard logging writes with an ACL grant to awslogsdelivery.
            object_ownership=_OBJECT_OWNERSHIP[settings.object_ownership],
            lifecycle_rules=[s3.LifecycleRule(
                expiration=cdk.Duration.days(settings.expiration_days),
                noncurrent_version_expiration=cdk.Duration.days(settings.noncurrent_expiration_days))],
            removal_policy=(cdk.RemovalPolicy.RETAIN if settings.retain_on_delete
                            else cdk.RemovalPolicy.DESTROY),
        )
        cdk.Validations.of(bucket).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions::AwsSolutions-S1",
            reason="this bucket receives the distribution's access logs; logging its own access to "
                   "another bucket would only move the question one bucket further"))
        return bucket

    def _acknowledge(self) -> None:
        """What cdk-nag cannot know, acknowledged only where the user did not decide."""
        decided = self.plan.acknowledgements
        dist = cdk.Validations.of(self.distribution)
        if decided.default_certificate:
            dist.acknowledge(cdk.Acknowledgment(
                id="AwsSolutions::AwsSolutions-CFR4",
                reason="the default *.cloudfront.net certificate has a security policy CloudFront fixes "
                       "at TLSv1; pass domain_names and an ACM certificate to enforce TLSv1.2_2021"))
        if decided.no_waf:
            dist.acknowledge(cdk.Acknowledgment(
                id="AwsSolutions::AwsSolutions-CFR2",
                reason="no WAF web ACL by default (USD 5/month plus rules, created in us-east-1); the data "
                       "endpoint runs only named queries and its reserved concurrency caps the load "
                       "reaching the database; pass web_acl_id to attach one"))
        if decided.no_geo_restriction:
            dist.acknowledge(cdk.Acknowledgment(
                id="AwsSolutions::AwsSolutions-CFR1",
                reason="the content is meant for viewers everywhere; pass geo_restriction to limit it"))
        # Lambda@Edge accepts fewer runtimes than Lambda, and not the newest of each family.
        cdk.Validations.of(self.function.lambda_).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions::AwsSolutions-L1",
            reason=f"Lambda@Edge supports a subset of Lambda runtimes; {self.plan.runtime} is among those "
                   f"it supports (the newest Lambda runtime of the family may not be)"))

    @property
    def url(self) -> str:
        """``https://<distribution domain>``."""
        return f"https://{self.distribution.distribution_domain_name}"
