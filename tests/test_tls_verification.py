"""Verified TLS: the runtime's verify-full context against a local CA (a real TLS handshake on a
local socket) refuses a certificate from another CA and a certificate for another host; and the
functions that reach RDS Proxy (whose certificates chain to public Amazon roots) verify by default."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_security_inputs import CODE, cdk_database
from test_serverless_pulumi import database as pulumi_database
from test_serverless_pulumi import function as pulumi_function
from test_serverless_pulumi import run_program

from deploy_paradigms.budget import describe_connection_limit, plan_serverless
from deploy_paradigms.cdk.serverless_function import ServerlessFunction
from deploy_paradigms.runtime.connection import tls_context

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    return key, cert


def make_leaf(directory: Path, ca: tuple[Path, Path], host: str) -> tuple[Path, Path]:
    key, csr, cert = directory / "leaf.key", directory / "leaf.csr", directory / "leaf.pem"
    ext = directory / "leaf.ext"
    ext.write_text(f"subjectAltName=DNS:{host}\nbasicConstraints=CA:FALSE\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={host}")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[1]), "-CAkey", str(ca[0]), "-CAcreateserial",
            "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return key, cert


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, Path]]:
    """A TLS server on 127.0.0.1 presenting a certificate for db.internal signed by a local CA:
    (port, that CA, another CA)."""
    directory = tmp_path_factory.mktemp("tls")
    ca = make_ca(directory, "local-ca")
    _, other_ca = make_ca(directory, "other-ca")
    key, cert = make_leaf(directory, ca, "db.internal")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(str(cert), str(key))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with server_context.wrap_socket(raw, server_side=True) as tls:
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError):
                pass  # the client refused our certificate: what the tests expect

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, ca[1], other_ca
    stop.set()
    thread.join(timeout=5)
    listener.close()


def handshake(port: int, context: ssl.SSLContext, server_hostname: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=server_hostname) as tls:
        return tls.recv(2)


def test_verify_full_accepts_the_right_ca_and_host(tls_server: tuple[int, Path, Path]) -> None:
    port, ca, _ = tls_server
    assert handshake(port, tls_context("verify-full", cafile=str(ca)), "db.internal") == b"ok"


def test_verify_full_refuses_a_certificate_from_another_ca(tls_server: tuple[int, Path, Path]) -> None:
    port, _, other_ca = tls_server
    with pytest.raises(ssl.SSLCertVerificationError,
                       match="unable to get local issuer|self-signed|verify failed"):
        handshake(port, tls_context("verify-full", cafile=str(other_ca)), "db.internal")


def test_verify_full_refuses_a_certificate_for_another_host(tls_server: tuple[int, Path, Path]) -> None:
    port, ca, _ = tls_server
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch|doesn't match"):
        handshake(port, tls_context("verify-full", cafile=str(ca)), "attacker.internal")
    # verify-ca checks the chain only (for endpoints whose names the certificate does not carry)
    assert handshake(port, tls_context("verify-ca", cafile=str(ca)), "attacker.internal") == b"ok"


def test_require_would_have_accepted_both(tls_server: tuple[int, Path, Path]) -> None:
    """What the old default (sslmode=require) did: encrypt, verify nothing."""
    port, _, _ = tls_server
    assert handshake(port, tls_context("require"), "attacker.internal") == b"ok"


# -- the defaults -------------------------------------------------------------------------------

def test_proxy_clients_verify_the_certificate_and_host_by_default() -> None:
    plan = plan_serverless(describe_connection_limit("postgres", "db.t3.micro"), 72)
    assert plan.url.sslmode == "verify-full"
    stack, db = cdk_database()
    fn = ServerlessFunction(stack, "Fn", database=db, code=CODE, handler="index.handler")
    assert "sslmode=verify-full" in fn.environment["DATABASE_URL_PARAMS"]
    pulumi_fn, _ = run_program(lambda: pulumi_function(pulumi_database()))
    assert "sslmode=verify-full" in pulumi_fn.environment["DATABASE_URL_PARAMS"]
    assert "sslrootcert" not in fn.environment["DATABASE_URL_PARAMS"]  # the system store: public roots
