"""AWS Signature Version 4 with the standard library only.

The shipped Lambdas and containers make a handful of AWS calls: an RDS IAM auth
token per (re)connect, Secrets Manager reads, CloudFront invalidations,
EventBridge puts. boto3 would cost about 250 ms of cold start to build one
client, so those calls are signed here instead. ``tests/test_aws_sigv4.py``
checks every output byte for byte against botocore's signer (a test-only
dependency).

Credentials come from the environment the way the AWS SDKs read them in Lambda
and ECS: the ``AWS_ACCESS_KEY_ID`` family of variables, else the container
credentials endpoint (``AWS_CONTAINER_CREDENTIALS_FULL_URI`` or
``..._RELATIVE_URI``), cached until shortly before they expire.

Endpoints honour the SDKs' ``AWS_ENDPOINT_URL_<SERVICE>`` and
``AWS_ENDPOINT_URL`` variables, which is how tests point the runtime at a local
stub.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
#: How long an RDS IAM auth token is valid (the service's maximum, as botocore uses).
RDS_TOKEN_EXPIRES_S = 900
#: Fetch new container credentials this long before the old ones expire
#: (botocore's mandatory refresh window is 10 minutes).
REFRESH_BEFORE_EXPIRY_S = 600
#: ECS's fixed link-local credentials host for ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI``.
ECS_CREDENTIALS_HOST = "http://169.254.170.2"
_UNRESERVED = "-_.~"


class AwsCredentialsError(RuntimeError):
    """No usable AWS credentials in this environment."""


@dataclass(frozen=True)
class AwsCredentials:
    """One set of (possibly temporary) AWS credentials."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    #: Unix time when temporary credentials stop working; ``None`` for long-lived keys.
    expires_at: float | None = None

    def fresh(self, now: float | None = None) -> bool:
        """True while the credentials are usable for at least the refresh window."""
        if self.expires_at is None:
            return True
        return self.expires_at - (time.time() if now is None else now) > REFRESH_BEFORE_EXPIRY_S


@dataclass(frozen=True)
class AwsResponse:
    """What an AWS endpoint answered."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> object:
        return json.loads(self.body or b"null")


# --------------------------------------------------------------------------- credentials


def _parse_expiration(value: object) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _container_credentials(environ: Mapping[str, str], timeout: float) -> AwsCredentials | None:
    relative = environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    url = ECS_CREDENTIALS_HOST + relative if relative else environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    if not url:
        return None
    headers: dict[str, str] = {}
    token = environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
    token_file = environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
    if token_file:
        with open(token_file, encoding="utf-8") as handle:
            token = handle.read().strip()
    if token:
        headers["Authorization"] = token
    response = _send("GET", url, headers, b"", timeout)
    if not response.ok:
        raise AwsCredentialsError(f"the container credentials endpoint answered HTTP {response.status}")
    document = response.json()
    if not isinstance(document, dict) or "AccessKeyId" not in document:
        raise AwsCredentialsError("the container credentials endpoint returned no AccessKeyId")
    return AwsCredentials(
        access_key_id=str(document["AccessKeyId"]),
        secret_access_key=str(document["SecretAccessKey"]),
        session_token=document.get("Token") or None,
        expires_at=_parse_expiration(document.get("Expiration")),
    )


def credentials_from_environment(environ: Mapping[str, str] | None = None, *,
                                 timeout: float = 2.0) -> AwsCredentials:
    """Credentials as Lambda and ECS provide them: variables first, then the container endpoint."""
    env = os.environ if environ is None else environ
    key_id = env.get("AWS_ACCESS_KEY_ID")
    secret = env.get("AWS_SECRET_ACCESS_KEY")
    if key_id and secret:
        return AwsCredentials(key_id, secret, env.get("AWS_SESSION_TOKEN") or None,
                              _parse_expiration(env.get("AWS_CREDENTIAL_EXPIRATION")))
    from_container = _container_credentials(env, timeout)
    if from_container is not None:
        return from_container
    raise AwsCredentialsError(
        "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or run where the container "
        "credentials endpoint is available (Lambda and ECS provide one of them)")


class CredentialCache:
    """Credentials read once and read again shortly before they expire (thread-safe)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self._lock = threading.Lock()
        self._current: AwsCredentials | None = None

    def get(self) -> AwsCredentials:
        with self._lock:
            if self._current is None or not self._current.fresh():
                self._current = credentials_from_environment(self._environ)
            return self._current

    def clear(self) -> None:
        with self._lock:
            self._current = None


_default_cache = CredentialCache()


def default_credentials() -> AwsCredentials:
    """This process's credentials, cached until shortly before they expire."""
    return _default_cache.get()


def reset_default_credentials() -> None:
    """Forget cached credentials (tests change the environment)."""
    _default_cache.clear()


def region_from_environment(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not region:
        raise AwsCredentialsError("no AWS Region: set AWS_REGION (Lambda and ECS set it)")
    return region


def endpoint_url(service_id: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """``default`` unless ``AWS_ENDPOINT_URL_<SERVICE_ID>`` or ``AWS_ENDPOINT_URL`` says otherwise."""
    env = os.environ if environ is None else environ
    if env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return default
    specific = "AWS_ENDPOINT_URL_" + service_id.upper().replace(" ", "_").replace("-", "_")
    return env.get(specific) or env.get("AWS_ENDPOINT_URL") or default


# --------------------------------------------------------------------------- signing


def _quote(value: str) -> str:
    return quote(value, safe=_UNRESERVED)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def _amz_date(now: dt.datetime | None) -> str:
    moment = now or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    default_port = 443 if parts.scheme == "https" else 80
    return host if parts.port in (None, default_port) else f"{host}:{parts.port}"


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(pairs))


def _canonical_url_query(url: str) -> str:
    """The URL's query as sent, pairs sorted (as botocore signs a URL: the caller percent-encodes it;
    decoding first would turn a ``+`` into ``%20`` and sign something other than what is sent)."""
    query = urlsplit(url).query
    if not query:
        return ""
    pairs = sorted(pair.partition("=")[::2] for pair in query.split("&"))
    return "&".join(f"{key}={value}" for key, value in pairs)


def _normalised_path(path: str) -> str:
    """``.`` and ``..`` segments resolved (RFC 3986, 5.2.4) and empty segments dropped, as AWS
    services (every one but S3) read a path before checking its signature."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    trailing = "/" if path.endswith("/") and segments else ""
    return "/" + "/".join(segments) + trailing


def _canonical_path(url: str) -> str:
    # Every service but S3 signs the path URI-encoded once more (it arrives encoded).
    return quote(_normalised_path(urlsplit(url).path or "/"), safe="/~")


def _signature(*, credentials: AwsCredentials, amz_date: str, region: str, service: str,
               canonical_request: str) -> tuple[str, str]:
    """(credential scope, hex signature) for a canonical request."""
    day = amz_date[:8]
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join([ALGORITHM, amz_date, scope,
                                hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
    key = _hmac(("AWS4" + credentials.secret_access_key).encode("utf-8"), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return scope, hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_headers(*, method: str, url: str, region: str, service: str, credentials: AwsCredentials,
                 headers: Mapping[str, str] | None = None, body: bytes = b"",
                 now: dt.datetime | None = None) -> dict[str, str]:
    """The request's headers plus ``Host``, ``X-Amz-Date``, the session token and ``Authorization``."""
    amz_date = _amz_date(now)
    signed: dict[str, str] = {"host": _host(url)}
    for name, value in (headers or {}).items():
        signed[name.lower()] = " ".join(str(value).split())
    signed["x-amz-date"] = amz_date
    if credentials.session_token:
        signed["x-amz-security-token"] = credentials.session_token
    names = sorted(signed)
    canonical_request = "\n".join([
        method.upper(),
        _canonical_path(url),
        _canonical_url_query(url),
        "".join(f"{name}:{signed[name]}\n" for name in names),
        ";".join(names),
        hashlib.sha256(body).hexdigest(),
    ])
    scope, signature = _signature(credentials=credentials, amz_date=amz_date, region=region,
                                  service=service, canonical_request=canonical_request)
    out = dict(headers or {})
    out["Host"] = signed["host"]
    out["X-Amz-Date"] = amz_date
    if credentials.session_token:
        out["X-Amz-Security-Token"] = credentials.session_token
    out["Authorization"] = (f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
                            f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return out


def rds_auth_token(*, host: str, port: int, user: str, region: str, credentials: AwsCredentials,
                   now: dt.datetime | None = None) -> str:
    """An RDS IAM authentication token: the presigned ``connect`` URL without its scheme."""
    amz_date = _amz_date(now)
    scope = f"{amz_date[:8]}/{region}/rds-db/aws4_request"
    operation = [("Action", "connect"), ("DBUser", user)]
    auth = [("X-Amz-Algorithm", ALGORITHM), ("X-Amz-Credential", f"{credentials.access_key_id}/{scope}"),
            ("X-Amz-Date", amz_date), ("X-Amz-Expires", str(RDS_TOKEN_EXPIRES_S)),
            ("X-Amz-SignedHeaders", "host")]
    if credentials.session_token:
        auth.append(("X-Amz-Security-Token", credentials.session_token))
    host_header = f"{host}:{port}" if port != 443 else host
    canonical_request = "\n".join(["GET", "/", _canonical_query(operation + auth),
                                   f"host:{host_header}\n", "host", hashlib.sha256(b"").hexdigest()])
    _, signature = _signature(credentials=credentials, amz_date=amz_date, region=region,
                              service="rds-db", canonical_request=canonical_request)
    query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in operation + auth)
    return f"{host}:{port}/?{query}&X-Amz-Signature={signature}"


# --------------------------------------------------------------------------- calls


def _send(method: str, url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> AwsResponse:
    # Imported here: http.client pulls in the email package (~10 ms of a cold start), and a
    # connection with an IAM token from Lambda's credential variables makes no HTTP call at all.
    import http.client

    parts = urlsplit(url)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(parts.hostname or "", parts.port, timeout=timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=body or None, headers=dict(headers))
        response = connection.getresponse()
        return AwsResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def aws_call(*, method: str, url: str, region: str, service: str, body: bytes = b"",
             headers: Mapping[str, str] | None = None, credentials: AwsCredentials | None = None,
             timeout: float = 5.0) -> AwsResponse:
    """One signed HTTP call; the caller reads the status (AWS errors are not raised)."""
    signed = sign_headers(method=method, url=url, region=region, service=service,
                          credentials=credentials or default_credentials(), headers=headers, body=body)
    return _send(method, url, signed, body, timeout)


def aws_json_call(*, service: str, target: str, payload: Mapping[str, object], service_id: str,
                  region: str | None = None, credentials: AwsCredentials | None = None,
                  timeout: float = 5.0) -> AwsResponse:
    """A call to an AWS JSON 1.1 API (Secrets Manager, EventBridge): ``target`` is ``Prefix.Operation``."""
    region = region or region_from_environment()
    url = endpoint_url(service_id, f"https://{service}.{region}.amazonaws.com/")
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
    return aws_call(method="POST", url=url, region=region, service=service, body=body, headers=headers,
                    credentials=credentials, timeout=timeout)
