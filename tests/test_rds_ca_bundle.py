"""The RDS CA bundle shipped in the package: its bytes are the recorded ones, every certificate is
an Amazon RDS certificate authority that parses, the runtime loads it as the trust store of direct
connections (and of nothing else), and every bundle that opens a connection carries it."""

from __future__ import annotations

import hashlib
import re
import shutil
import ssl
import subprocess
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from deploy_paradigms import packaging
from deploy_paradigms.budget import describe_connection_limit, plan_containers, plan_serverless
from deploy_paradigms.budget.plan import DIRECT_TLS_QUERY, RDS_CA_BUNDLE
from deploy_paradigms.plans import migrations as migration_settings
from deploy_paradigms.plans.changes import CONSUMER_URL_PARAMS
from deploy_paradigms.runtime import budget_check, connection, role_bootstrap
from deploy_paradigms.runtime.settings import DatabaseSettings

RUNTIME = Path(connection.__file__).parent
BUNDLE = RUNTIME / RDS_CA_BUNDLE
RECORD = (RUNTIME / "rds-ca-bundle.md").read_text()
PEM = re.compile(r"-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n", re.S)


def certificates() -> list[str]:
    text = BUNDLE.read_text()
    found = PEM.findall(text)
    assert "".join(found) == text  # nothing but certificates in the file
    return found


def test_the_file_is_the_recorded_one() -> None:
    recorded = re.search(r"File SHA-256: `([0-9a-f]{64})`", RECORD)
    assert recorded is not None
    assert hashlib.sha256(BUNDLE.read_bytes()).hexdigest() == recorded.group(1)
    assert "huggingface/chat-ui" in RECORD and "3dbeff3845073723ebbf61f7d9c95847f0d45c1c" in RECORD


def test_every_certificate_parses_and_is_an_amazon_rds_authority(tmp_path: Path) -> None:
    pems = certificates()
    assert len(pems) == 115
    fingerprints = set(re.findall(r"^\| \d+ \|.*`([0-9a-f]{64})` \|$", RECORD, re.M))
    assert len(fingerprints) == 115
    for index, pem in enumerate(pems):
        single = tmp_path / f"{index}.pem"
        single.write_text(pem)
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(single))
        decoded = ssl._ssl._test_decode_cert(str(single))  # type: ignore[attr-defined]
        subject = {key: value for rdn in decoded["subject"] for key, value in rdn}
        issuer = {key: value for rdn in decoded["issuer"] for key, value in rdn}
        for name in (subject, issuer):
            assert name["organizationName"] == "Amazon Web Services, Inc."
            assert name["organizationalUnitName"] == "Amazon RDS"
            assert name["commonName"].startswith("Amazon RDS ")
        fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
        assert fingerprint in fingerprints, subject["commonName"]
        fingerprints.discard(fingerprint)
    assert not fingerprints  # the record lists no certificate the file lacks


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_every_certificate_is_a_certificate_authority() -> None:
    pkcs7 = subprocess.run(["openssl", "crl2pkcs7", "-nocrl", "-certfile", str(BUNDLE)],
                           check=True, capture_output=True, timeout=60).stdout
    text = subprocess.run(["openssl", "pkcs7", "-print_certs", "-text", "-noout"], input=pkcs7,
                          check=True, capture_output=True, timeout=60).stdout.decode()
    assert text.count("Certificate:\n") == 115
    assert len(re.findall(r"X509v3 Basic Constraints: critical\s+CA:TRUE", text)) == 115


def test_the_runtime_loads_the_bundle_for_a_relative_sslrootcert() -> None:
    cafile = connection.resolve_cafile(RDS_CA_BUNDLE)
    assert cafile == str(BUNDLE)
    context = connection.tls_context("verify-full", cafile=cafile)
    assert context is not None and context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.cert_store_stats()["x509_ca"] == 115


def test_a_relative_sslrootcert_never_comes_from_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / RDS_CA_BUNDLE).write_text("planted")
    monkeypatch.chdir(tmp_path)
    assert connection.resolve_cafile(RDS_CA_BUNDLE) == str(BUNDLE)
    assert connection.resolve_cafile("/etc/ssl/other.pem") == "/etc/ssl/other.pem"
    assert connection.resolve_cafile("") is None and connection.resolve_cafile("system") is None


def tls_of(query: str) -> dict[str, str]:
    settings = DatabaseSettings(host="db.example", port=5432, name="app", user="app_user",
                                url_params=tuple(parse_qsl(query)))
    params = connection.url_parameters(settings)
    return {key: params[key] for key in ("sslmode", "sslrootcert") if key in params}


DIRECT = {"sslmode": "verify-full", "sslrootcert": "rds-ca-bundle.pem"}


def test_direct_connections_verify_against_the_bundle() -> None:
    assert DIRECT_TLS_QUERY == "sslmode=verify-full&sslrootcert=rds-ca-bundle.pem"
    limit = describe_connection_limit("postgres", "db.t3.micro")
    containers = plan_containers(limit, limit.usable, max_tasks=4)
    migrations = migration_settings.migration_environment(
        host="db.example", port=5432, name="app", user="app_admin", engine_is_postgres=True,
        secret_arn="arn:aws:secretsmanager:us-east-1:1:secret:x", lock_timeout_s=5)
    for query in (containers.url.query_string(), migrations["DATABASE_URL_PARAMS"], CONSUMER_URL_PARAMS,
                  role_bootstrap.URL_PARAMS, budget_check.URL_PARAMS):
        assert tls_of(query) == DIRECT, query


def test_proxy_clients_keep_the_system_store() -> None:
    limit = describe_connection_limit("postgres", "db.t3.micro")
    plan = plan_serverless(limit, limit.usable, function_timeout_s=30)
    assert tls_of(plan.url.query_string()) == {"sslmode": "verify-full"}
    assert connection.resolve_cafile(None) is None


@pytest.mark.parametrize("kind", [k for k in packaging.KINDS if k != "edge"])
def test_every_bundle_that_connects_carries_the_bundle(kind: str) -> None:
    files = packaging.bundle_files(kind)
    assert files[f"deploy_paradigms/runtime/{RDS_CA_BUNDLE}"] == BUNDLE.read_bytes()


def test_the_container_image_carries_the_bundle() -> None:
    files = packaging.container_files()
    assert files[f"deploy_paradigms/runtime/{RDS_CA_BUNDLE}"] == BUNDLE.read_bytes()
