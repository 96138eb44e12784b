"""Local stand-ins for the two AWS services the runtime asks for a database password.

:class:`IamAuthGate` plays the part of RDS (or RDS Proxy) with IAM authentication in front
of a :class:`~tests.support.local_postgres.LocalPostgres`: it asks the client for a
cleartext password, accepts it only if it is an RDS IAM auth token for this address and
user, signed with the stand-in's credentials and not expired (what RDS checks), and then
logs in to the real server with the role's password (SCRAM) and relays bytes both ways.
Tokens from boto3's ``generate_db_auth_token`` and from :mod:`aws_sigv4` are checked the
same way, so a benchmark that times both paths exercises both tokens for real.

:class:`SecretsManagerStandin` answers ``secretsmanager.GetSecretValue`` over HTTP for
requests whose SigV4 signature matches its credentials.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import socket
import struct
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

import scramp

from deploy_paradigms.runtime import aws_sigv4

#: Fixed stand-in credentials (not a real key: AWS's documentation example id).
CREDENTIALS = aws_sigv4.AwsCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                       session_token="standin-session-token")
REGION = "us-east-1"
_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


def credentials_environ(credentials: aws_sigv4.AwsCredentials = CREDENTIALS,
                        region: str = REGION) -> dict[str, str]:
    """The variables Lambda sets for its execution role, with the stand-in's credentials."""
    env = {"AWS_ACCESS_KEY_ID": credentials.access_key_id,
           "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key, "AWS_REGION": region}
    if credentials.session_token:
        env["AWS_SESSION_TOKEN"] = credentials.session_token
    return env


def token_problem(token: str, *, host: str, port: int, user: str, region: str,
                  credentials: aws_sigv4.AwsCredentials, now: float | None = None) -> str | None:
    """Why RDS would refuse ``token`` as ``user``'s password at ``host:port`` (None: it accepts it)."""
    address, _, query = token.partition("/?")
    if address != f"{host}:{port}":
        return f"signed for {address}, not {host}:{port}"
    fields = dict(parse_qsl(query, keep_blank_values=True))
    if fields.get("Action") != "connect" or fields.get("DBUser") != user:
        return f"not a connect token for {user}"
    if not fields.get("X-Amz-Credential", "").startswith(credentials.access_key_id + "/"):
        return "unknown access key"
    try:
        signed_at = dt.datetime.strptime(fields["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        expires = int(fields["X-Amz-Expires"])
    except (KeyError, ValueError):
        return "no date or expiry"
    age = (dt.datetime.now(dt.UTC).timestamp() if now is None else now) - signed_at.timestamp()
    if not -300 <= age <= expires:
        return "expired"
    expected = aws_sigv4.rds_auth_token(host=host, port=port, user=user, region=region,
                                        credentials=credentials, now=signed_at)
    return None if expected == token else "signature does not match"


# --------------------------------------------------------------------------- PostgreSQL wire


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return bytes(data)


def _read_message(sock: socket.socket) -> tuple[bytes, bytes]:
    kind = _read_exact(sock, 1)
    (length,) = struct.unpack("!i", _read_exact(sock, 4))
    return kind, _read_exact(sock, length - 4)


def _message(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("!i", len(payload) + 4) + payload


def _error(code: str, text: str) -> bytes:
    fields = b"".join(k + v.encode() + b"\0" for k, v in ((b"S", "FATAL"), (b"C", code), (b"M", text)))
    return _message(b"E", fields + b"\0")


class IamAuthGate:
    """A PostgreSQL front that accepts RDS IAM auth tokens (see the module docstring). Plaintext only."""

    def __init__(self, server: Any, *, credentials: aws_sigv4.AwsCredentials = CREDENTIALS,
                 region: str = REGION, host: str = "127.0.0.1") -> None:
        self.server = server
        self.credentials = credentials
        self.region = region
        self.host = host
        self.port = 0
        self.accepted = 0
        self.refused: list[str] = []
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> IamAuthGate:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, 0))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        thread = threading.Thread(target=self._accept, name="iam-auth-gate", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def __enter__(self) -> IamAuthGate:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def environ(self) -> dict[str, str]:
        """The function's DATABASE_* variables for IAM authentication through this gate."""
        return {"DATABASE_HOST": self.host, "DATABASE_PORT": str(self.port),
                "DATABASE_NAME": self.server.dbname, "DATABASE_USER": self.server.user,
                "DATABASE_ENGINE": "postgres", "DATABASE_IAM_AUTH": "true",
                "DATABASE_URL_PARAMS": "connection_limit=1&connect_timeout=5&sslmode=disable"}

    def _accept(self) -> None:
        while self._listener is not None:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            with contextlib.suppress(OSError):
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            startup = self._startup(client)
            params = startup[4:].split(b"\0")
            options = {params[i].decode(): params[i + 1].decode() for i in range(0, len(params) - 1, 2)
                       if params[i]}
            user = options.get("user", "")
            client.sendall(_message(b"R", struct.pack("!i", 3)))  # AuthenticationCleartextPassword
            kind, payload = _read_message(client)
            token = payload.rstrip(b"\0").decode() if kind == b"p" else ""
            problem = token_problem(token, host=self.host, port=self.port, user=user, region=self.region,
                                    credentials=self.credentials)
            if problem is not None or user != self.server.user:
                self.refused.append(problem or f"no IAM role mapping for {user}")
                client.sendall(_error("28000", f"PAM authentication failed for user \"{user}\""))
                return
            self.accepted += 1
            upstream = socket.create_connection((self.server.host, self.server.port), timeout=10)
            upstream.settimeout(None)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            upstream.sendall(struct.pack("!i", len(startup) + 4) + startup)
            self._login_upstream(upstream, client)
            self._relay(client, upstream)
        except (OSError, ConnectionError, ValueError):
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()

    @staticmethod
    def _startup(client: socket.socket) -> bytes:
        while True:
            (length,) = struct.unpack("!i", _read_exact(client, 4))
            body = _read_exact(client, length - 4)
            code = struct.unpack("!i", body[:4])[0]
            if code in (_SSL_REQUEST, _GSSENC_REQUEST):
                client.sendall(b"N")  # like a server without TLS: the client may go on in plaintext
                continue
            return body

    def _login_upstream(self, upstream: socket.socket, client: socket.socket) -> None:
        """SCRAM with the real server; AuthenticationOk goes to the client, the rest is relayed."""
        scram: scramp.ScramClient | None = None
        while True:
            kind, payload = _read_message(upstream)
            if kind != b"R":
                client.sendall(_message(kind, payload))  # an error: pass it on
                raise ConnectionError("upstream refused the login")
            (code,) = struct.unpack("!i", payload[:4])
            if code == 0:
                client.sendall(_message(kind, payload))
                return
            if code == 10:  # SASL: mechanism list
                mechanisms = [m.decode() for m in payload[4:].split(b"\0") if m]
                scram = scramp.ScramClient(mechanisms, self.server.user, self.server.password)
                first = scram.get_client_first().encode()
                upstream.sendall(_message(b"p", scram.mechanism_name.encode() + b"\0"
                                          + struct.pack("!i", len(first)) + first))
            elif code == 11 and scram is not None:
                scram.set_server_first(payload[4:].decode())
                upstream.sendall(_message(b"p", scram.get_client_final().encode()))
            elif code == 12 and scram is not None:
                scram.set_server_final(payload[4:].decode())
            else:
                raise ConnectionError(f"unsupported upstream authentication {code}")

    @staticmethod
    def _relay(client: socket.socket, upstream: socket.socket) -> None:
        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while chunk := src.recv(65536):
                    dst.sendall(chunk)
            except OSError:
                pass
            finally:
                for sock in (src, dst):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
        back.start()
        pump(client, upstream)
        back.join()


# --------------------------------------------------------------------------- Secrets Manager


class SecretsManagerStandin:
    """``GetSecretValue`` for signed requests over plain HTTP (``AWS_ENDPOINT_URL_SECRETS_MANAGER``)."""

    def __init__(self, secrets: Mapping[str, str], *, credentials: aws_sigv4.AwsCredentials = CREDENTIALS,
                 region: str = REGION) -> None:
        self.secrets = dict(secrets)
        self.credentials = credentials
        self.region = region
        self.requests: list[dict[str, Any]] = []
        self._server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def answer(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, object]:
        self.requests.append({"headers": dict(headers), "body": body})
        wanted = {k: v for k, v in headers.items() if k.lower() in ("content-type", "x-amz-target")}
        date = dt.datetime.strptime(headers.get("X-Amz-Date", "19700101T000000Z"),
                                    "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        expected = aws_sigv4.sign_headers(method=method, url=self.url.rstrip("/") + path, region=self.region,
                                          service="secretsmanager", credentials=self.credentials,
                                          headers=wanted, body=body, now=date)
        if headers.get("Authorization") != expected["Authorization"]:
            return 403, {"__type": "InvalidSignatureException", "message": "signature does not match"}
        if headers.get("X-Amz-Target") != "secretsmanager.GetSecretValue":
            return 400, {"__type": "UnknownOperationException", "message": headers.get("X-Amz-Target")}
        arn = json.loads(body).get("SecretId")
        if arn not in self.secrets:
            return 400, {"__type": "com.amazonaws.secretsmanager#ResourceNotFoundException",
                         "message": "Secrets Manager can't find the specified secret."}
        return 200, {"ARN": arn, "SecretString": self.secrets[arn]}

    @contextlib.contextmanager
    def running(self) -> Iterator[SecretsManagerStandin]:
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, document = standin.answer("POST", self.path, dict(self.headers.items()), body)
                out = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
