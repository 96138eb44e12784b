"""The standard-library SigV4 signer against botocore's, byte for byte, and its credential sources."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from deploy_paradigms.runtime import aws_sigv4

botocore_auth = pytest.importorskip("botocore.auth")
botocore_awsrequest = pytest.importorskip("botocore.awsrequest")
botocore_credentials = pytest.importorskip("botocore.credentials")
botocore_session = pytest.importorskip("botocore.session")

NOW = dt.datetime(2026, 12, 1, 14, 30, 5, tzinfo=dt.UTC)
TEMPORARY = aws_sigv4.AwsCredentials("ASIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                     "FQoGZXIvYXdz+/=")
LONG_LIVED = aws_sigv4.AwsCredentials("AKIAEXAMPLE", "secret/with+chars=")


def _botocore_credentials(creds: aws_sigv4.AwsCredentials) -> Any:
    return botocore_credentials.Credentials(creds.access_key_id, creds.secret_access_key, creds.session_token)


def _botocore_token(creds: aws_sigv4.AwsCredentials, host: str, port: int, user: str, region: str) -> str:
    session = botocore_session.get_session()
    session.set_credentials(creds.access_key_id, creds.secret_access_key, creds.session_token)
    client = session.create_client("rds", region_name=region)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        return str(client.generate_db_auth_token(host, port, user, Region=region))


@pytest.mark.parametrize("creds", [TEMPORARY, LONG_LIVED], ids=["session-token", "long-lived"])
@pytest.mark.parametrize("host,port,user", [
    ("app.proxy-abc123.eu-west-1.rds.amazonaws.com", 5432, "app_user"),
    ("db.cluster-xyz.us-east-1.rds.amazonaws.com", 3306, "user with spaces+signs/é"),
])
def test_rds_auth_token_equals_botocore(creds: aws_sigv4.AwsCredentials, host: str, port: int,
                                        user: str) -> None:
    region = host.split(".")[2]
    ours = aws_sigv4.rds_auth_token(host=host, port=port, user=user, region=region, credentials=creds,
                                    now=NOW)
    assert ours == _botocore_token(creds, host, port, user, region)


def _botocore_signed(creds: aws_sigv4.AwsCredentials, *, method: str, url: str, region: str, service: str,
                     headers: dict[str, str], body: bytes) -> dict[str, str]:
    request = botocore_awsrequest.AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        botocore_auth.SigV4Auth(_botocore_credentials(creds), service, region).add_auth(request)
    return {k: v for k, v in request.headers.items()}


CALLS = [
    # Secrets Manager and EventBridge: JSON 1.1 POSTs.
    dict(method="POST", url="https://secretsmanager.eu-west-1.amazonaws.com/", region="eu-west-1",
         service="secretsmanager",
         headers={"Content-Type": "application/x-amz-json-1.1",
                  "X-Amz-Target": "secretsmanager.GetSecretValue"},
         body=b'{"SecretId":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"}'),
    dict(method="POST", url="https://events.us-east-1.amazonaws.com/", region="us-east-1", service="events",
         headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.PutEvents"},
         body=json.dumps({"Entries": [{"Detail": "{\"a\": \"é\"}"}]}).encode()),
    # CloudFront: REST-XML with a path and a query string.
    dict(method="POST", url="https://cloudfront.amazonaws.com/2020-05-31/distribution/E2ABC/invalidation",
         region="us-east-1", service="cloudfront", headers={"Content-Type": "text/xml"},
         body=b"<InvalidationBatch><Paths><Quantity>1</Quantity></Paths></InvalidationBatch>"),
    dict(method="GET", url="https://cloudfront.amazonaws.com/2020-05-31/distribution/E2ABC/invalidation?"
         "MaxItems=5&Marker=a%20b", region="us-east-1", service="cloudfront", headers={}, body=b""),
    # A local stub on a non-default port (tests point the runtime at one).
    dict(method="POST", url="http://127.0.0.1:8123/", region="eu-west-1", service="events",
         headers={"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1"},
         body=b"{}"),
]


@pytest.mark.parametrize("creds", [TEMPORARY, LONG_LIVED], ids=["session-token", "long-lived"])
@pytest.mark.parametrize("call", CALLS,
                         ids=[f"{c['service']}-{c['method']}-{i}" for i, c in enumerate(CALLS)])
def test_signed_headers_equal_botocore(creds: aws_sigv4.AwsCredentials, call: dict[str, Any]) -> None:
    ours = aws_sigv4.sign_headers(credentials=creds, now=NOW, **call)
    theirs = _botocore_signed(creds, **call)
    assert ours["Authorization"] == theirs["Authorization"]
    assert ours["X-Amz-Date"] == theirs["X-Amz-Date"]
    assert ours.get("X-Amz-Security-Token") == theirs.get("X-Amz-Security-Token")


@pytest.mark.parametrize("query", ["X=+", "b=a+b&a=%20", "k=%2f", "z&a="])
def test_query_strings_are_signed_as_sent_like_botocore(query: str) -> None:
    """botocore signs a URL's query pairs as they are written (sorted); decoding and re-encoding
    signed ``X=+`` as ``X=%20`` (a hypothesis run found it)."""
    call = dict(method="GET", url=f"https://cloudfront.amazonaws.com/0?{query}", region="us-east-1",
                service="cloudfront", headers={}, body=b"")
    assert (aws_sigv4.sign_headers(credentials=TEMPORARY, now=NOW, **call)["Authorization"]
            == _botocore_signed(TEMPORARY, **call)["Authorization"])


@pytest.mark.parametrize("path", ["/../0", "/a/./b/../c", "//a//b/", "/a/.."])
def test_paths_with_dot_segments_are_normalised_as_botocore_does(path: str) -> None:
    """SigV4 signs the RFC 3986-normalised path (every service but S3); a hypothesis run found
    ``/../0`` signed as is."""
    call = dict(method="GET", url=f"https://cloudfront.amazonaws.com{path}", region="us-east-1",
                service="cloudfront", headers={}, body=b"")
    assert (aws_sigv4.sign_headers(credentials=TEMPORARY, now=NOW, **call)["Authorization"]
            == _botocore_signed(TEMPORARY, **call)["Authorization"])


@settings(max_examples=60, deadline=None)
@example(path=["0"], query={"X": " "}, body=b"")  # urlencode's '+' for a space is signed as sent
@example(path=["a", "..", ".", "b"], query={}, body=b"")  # dot segments are resolved before signing
@example(path=["."], query={}, body=b"")
@given(path=st.lists(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x24F,
                                                       blacklist_characters="/?#%"), min_size=1, max_size=8),
                     min_size=1, max_size=3),
       query=st.dictionaries(st.text(alphabet="abcXYZ-_.~", min_size=1, max_size=5),
                             st.text(max_size=8), max_size=3),
       body=st.binary(max_size=64))
def test_signer_matches_botocore_on_arbitrary_paths_and_queries(path: list[str], query: dict[str, str],
                                                                body: bytes) -> None:
    from urllib.parse import quote, urlencode
    url = "https://cloudfront.amazonaws.com/" + "/".join(quote(p, safe="") for p in path)
    if query:
        url += "?" + urlencode(query)
    call = dict(method="POST", url=url, region="us-east-1", service="cloudfront", headers={}, body=body)
    assert (aws_sigv4.sign_headers(credentials=TEMPORARY, now=NOW, **call)["Authorization"]
            == _botocore_signed(TEMPORARY, **call)["Authorization"])


# --------------------------------------------------------------------------- credentials


def test_credentials_from_variables() -> None:
    creds = aws_sigv4.credentials_from_environment(
        {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "S", "AWS_SESSION_TOKEN": "T"})
    assert (creds.access_key_id, creds.secret_access_key, creds.session_token) == ("AKID", "S", "T")
    assert creds.expires_at is None and creds.fresh()
    assert "S" not in repr(creds) and "T'" not in repr(creds)


class _CredentialsEndpoint(http.server.BaseHTTPRequestHandler):
    issued: list[str] = []
    expiration = "2026-12-01T15:00:00Z"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.headers.get("Authorization") != "Bearer local-token":
            self.send_response(403)
            self.end_headers()
            return
        self.issued.append(self.path)
        body = json.dumps({"AccessKeyId": f"ASIA{len(self.issued)}", "SecretAccessKey": "s",
                           "Token": "t", "Expiration": self.expiration}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def credentials_endpoint() -> Iterator[str]:
    _CredentialsEndpoint.issued = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CredentialsEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v2/credentials/abc"
    server.shutdown()


def test_container_credentials_endpoint_with_token_file(credentials_endpoint: str, tmp_path: Any) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("Bearer local-token\n")
    env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": credentials_endpoint,
           "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file)}
    creds = aws_sigv4.credentials_from_environment(env)
    assert creds.access_key_id == "ASIA1" and creds.session_token == "t"
    assert creds.expires_at == dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC).timestamp()


def test_container_credentials_refused_without_the_token(credentials_endpoint: str) -> None:
    with pytest.raises(aws_sigv4.AwsCredentialsError, match="HTTP 403"):
        aws_sigv4.credentials_from_environment({"AWS_CONTAINER_CREDENTIALS_FULL_URI": credentials_endpoint})


def test_cache_fetches_again_only_when_credentials_near_expiry(credentials_endpoint: str) -> None:
    env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": credentials_endpoint,
           "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer local-token"}
    cache = aws_sigv4.CredentialCache(env)
    far = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    _CredentialsEndpoint.expiration = far.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert cache.get().access_key_id == "ASIA1"
    assert cache.get().access_key_id == "ASIA1"  # cached
    near = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)  # inside the refresh window
    _CredentialsEndpoint.expiration = near.strftime("%Y-%m-%dT%H:%M:%SZ")
    cache.clear()
    assert cache.get().access_key_id == "ASIA2"
    assert cache.get().access_key_id == "ASIA3"  # expiring: read again on every use
    assert len(_CredentialsEndpoint.issued) == 3


def test_no_credentials_is_a_clear_error() -> None:
    with pytest.raises(aws_sigv4.AwsCredentialsError, match="AWS_ACCESS_KEY_ID"):
        aws_sigv4.credentials_from_environment({})


def test_endpoint_override_variables() -> None:
    default = "https://events.eu-west-1.amazonaws.com/"
    assert aws_sigv4.endpoint_url("EventBridge", default, {}) == default
    assert aws_sigv4.endpoint_url("EventBridge", default, {"AWS_ENDPOINT_URL": "http://a"}) == "http://a"
    env = {"AWS_ENDPOINT_URL": "http://a", "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://b"}
    assert aws_sigv4.endpoint_url("Secrets Manager", default, env) == "http://b"
    env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
    assert aws_sigv4.endpoint_url("Secrets Manager", default, env) == default
