"""Docker-free Lambda bundles and the PaaS build context: deterministic, self-contained, pure Python."""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from deploy_paradigms import packaging
from deploy_paradigms.catalog import CatalogError, NamedQuery, QueryCatalog, sample_catalog
from deploy_paradigms.packaging import (
    DATA_ENDPOINT_HANDLER,
    EDGE_HANDLER,
    HANDLERS,
    SAMPLE_HANDLER,
    PackagingError,
    archive_hash,
    container_context,
    dependency_files,
    directory_files,
    directory_hash,
    lambda_archive,
    lambda_bundle,
    zip_bytes,
    zipped_size,
)

EDGE_VIEWER_PACKAGE_LIMIT = 1024 * 1024  # Lambda@Edge viewer triggers: 1 MB zipped


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bundles")


def run_isolated(bundle: Path, code: str) -> str:
    """Run ``code`` with only the standard library and ``bundle`` importable (-I: no env, -S: no site)."""
    program = f"import sys; sys.path.insert(0, {str(bundle)!r}); {code}"
    result = subprocess.run([sys.executable, "-I", "-S", "-c", program], capture_output=True, text=True,
                            cwd=bundle, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_handler_strings() -> None:
    assert SAMPLE_HANDLER == "deploy_paradigms.runtime.sample_handler.handler"
    assert DATA_ENDPOINT_HANDLER == "deploy_paradigms.runtime.data_endpoint.handler"
    assert EDGE_HANDLER == "deploy_paradigms.runtime.edge_handler.handler"
    assert packaging.MIGRATE_HANDLER == "deploy_paradigms.runtime.migrate.handler"
    assert set(HANDLERS) == set(packaging.KINDS) == {"sample", "data_endpoint", "edge", "migrate",
                                                     "role_bootstrap", "change_stream"}


def test_archive_holds_the_bundle_and_is_reused(cache: Path, tmp_path: Path) -> None:
    archive = lambda_archive("sample", cache_dir=cache)
    assert archive.suffix == ".zip" and lambda_archive("sample", cache_dir=cache) == archive
    bundle = lambda_bundle("sample", cache_dir=cache)
    with zipfile.ZipFile(archive) as opened:
        assert sorted(opened.namelist()) == sorted(directory_files(bundle))
        assert {info.date_time for info in opened.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    # The custom asset hash CDK gets: the files' identity, so another machine (another zlib) agrees.
    elsewhere = lambda_archive("sample", cache_dir=tmp_path)
    assert elsewhere.name == archive.name
    assert archive_hash(archive) == archive_hash(elsewhere) == directory_hash(bundle)
    assert not list(cache.glob(".sample-*")), "a staging file was left behind"


@pytest.mark.parametrize("kind", packaging.KINDS)
def test_bundles_are_deterministic(kind: str, cache: Path, tmp_path: Path) -> None:
    first = lambda_bundle(kind, cache_dir=cache)
    again = lambda_bundle(kind, cache_dir=cache)
    elsewhere = lambda_bundle(kind, cache_dir=tmp_path)  # a fresh cache: another machine
    assert first == again and first.name == elsewhere.name and first.name.startswith(f"{kind}-")
    assert directory_hash(first) == directory_hash(elsewhere)
    if kind == "edge":  # (zipping the driver bundles twice costs seconds; the hash covers them)
        assert zip_bytes(first) == zip_bytes(elsewhere)
    modes = {oct(p.stat().st_mode & 0o777) for p in first.rglob("*") if p.is_file()}
    assert modes == {"0o644"}


@pytest.mark.parametrize("kind", packaging.KINDS)
def test_handlers_import_from_the_bundle_alone(kind: str, cache: Path) -> None:
    bundle = lambda_bundle(kind, cache_dir=cache)
    module, _, function = HANDLERS[kind].rpartition(".")
    out = run_isolated(bundle, f"import {module} as m; print(callable(m.{function})); print(m.__file__)")
    callable_, path = out.split()
    assert callable_ == "True" and path.startswith(str(bundle))


@pytest.mark.parametrize("kind", ["sample", "data_endpoint"])
def test_cold_import_loads_only_what_the_first_request_needs(kind: str, cache: Path) -> None:
    """Importing the handler adds nothing beyond the runtime's own modules to what the first request
    (pg8000, TLS, JSON, logging) loads anyway: not the budget core's ledger, not http.client (an IAM
    token from Lambda's credential variables makes no HTTP call), never boto3."""
    bundle = lambda_bundle(kind, cache_dir=cache)
    module = HANDLERS[kind].rpartition(".")[0]
    out = run_isolated(bundle, "import pg8000.native, ssl, json, logging; before = set(sys.modules); "
                               f"import {module}; print(' '.join(sorted(set(sys.modules) - before)))")
    extra = {name for name in out.split() if not name.startswith(("deploy_paradigms.runtime",
                                                                   "deploy_paradigms.catalog"))}
    assert extra <= {"dataclasses", "deploy_paradigms", "deploy_paradigms.budget",
                     "deploy_paradigms.budget.errors", "deploy_paradigms.budget.limits",
                     "deploy_paradigms.budget.plan", "hashlib", "hmac", "ipaddress", "uuid",
                     "_hashlib", "_blake2", "_sha2", "_uuid"}, sorted(extra)


@pytest.mark.parametrize("kind", ["sample", "data_endpoint"])
def test_driver_bundles_vendor_pg8000_and_its_dependencies(kind: str, cache: Path) -> None:
    bundle = lambda_bundle(kind, cache_dir=cache)
    out = run_isolated(bundle, "import pg8000.native, scramp, asn1crypto, dateutil; "
                               "print(all(m.__file__.startswith(sys.path[0]) for m in "
                               "(pg8000, scramp, asn1crypto, dateutil)))")
    assert out.strip() == "True"
    names = set(directory_files(bundle))
    assert any(n.startswith("pg8000-") and n.endswith(".dist-info/METADATA") for n in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", "/RECORD", "/INSTALLER"))]
    assert not [n for n in names if n.endswith((".so", ".pyd"))]
    assert not [n for n in names if n.startswith(("aws_cdk", "pulumi", "constructs", "jsii"))]


def test_data_endpoint_bundle_carries_the_catalog(cache: Path) -> None:
    default = lambda_bundle("data_endpoint", cache_dir=cache)
    baked = (default / "deploy_paradigms/runtime/catalog.json").read_text()
    assert baked == sample_catalog().to_json()
    # The endpoint finds it next to its module, with nothing configured.
    out = run_isolated(default, "from deploy_paradigms.runtime import data_endpoint as d; "
                                "print(','.join(d.load_catalog().names))")
    assert out.strip() == "create_post,post_by_id,recent_posts,update_post"

    custom = QueryCatalog((NamedQuery("ping", "SELECT 1 AS one"),))
    # Equivalent JSON (different whitespace) gives the same bundle; a different catalog a new one.
    compact = json.dumps(json.loads(custom.to_json()))
    one = lambda_bundle("data_endpoint", catalog_json=custom.to_json(), cache_dir=cache)
    assert lambda_bundle("data_endpoint", catalog_json=compact, cache_dir=cache) == one
    assert one != default
    with pytest.raises(CatalogError):
        lambda_bundle("data_endpoint", catalog_json='{"format": 1, "queries": []}', cache_dir=cache)
    with pytest.raises(PackagingError, match="catalog_json applies to the 'data_endpoint' bundle only"):
        lambda_bundle("sample", catalog_json=custom.to_json(), cache_dir=cache)


def test_edge_bundle_is_tiny_and_has_no_third_party_code(cache: Path) -> None:
    bundle = lambda_bundle("edge", cache_dir=cache)
    assert sorted(directory_files(bundle)) == ["deploy_paradigms/__init__.py",
                                               "deploy_paradigms/runtime/__init__.py",
                                               "deploy_paradigms/runtime/edge_handler.py"]
    size = zipped_size(bundle)
    assert size < 16 * 1024 and size * 50 < EDGE_VIEWER_PACKAGE_LIMIT


def test_zip_is_deterministic_and_ignores_timestamps(cache: Path, tmp_path: Path) -> None:
    bundle = lambda_bundle("edge", cache_dir=cache)
    copy = tmp_path / "copy"
    for name, data in directory_files(bundle).items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes(data)
        os.utime(copy / name, (1_700_000_000, 1_700_000_000))
    (copy / "deploy_paradigms/__pycache__").mkdir()
    (copy / "deploy_paradigms/__pycache__/x.cpython-311.pyc").write_bytes(b"noise")
    assert zip_bytes(copy) == zip_bytes(bundle)
    with zipfile.ZipFile(BytesIO(zip_bytes(bundle))) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def write_fake_distribution(root: Path, name: str, files: dict[str, bytes],
                            requires: tuple[str, ...] = ()) -> None:
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    (info / "METADATA").write_text(meta)
    record = [f"{name}-1.0.dist-info/METADATA,,", f"{name}-1.0.dist-info/RECORD,,"]
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
        record.append(f"{path},,")
    (info / "RECORD").write_text("\n".join(record) + "\n")


def test_compiled_dependencies_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fake_distribution(tmp_path, "fastthing", {
        "fastthing/__init__.py": b"", "fastthing/_speedups.cpython-311-x86_64-linux-gnu.so": b"\x7fELF"})
    write_fake_distribution(tmp_path, "usesfast", {"usesfast/__init__.py": b""}, requires=("fastthing>=1",))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert metadata.distribution("usesfast").version == "1.0"
    with pytest.raises(PackagingError,
                       match=r"fastthing 1.0 contains compiled extension.*_speedups.*pure-Python"):
        dependency_files(["usesfast"])


def test_pure_dependencies_resolve_with_markers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fake_distribution(tmp_path, "purething", {"purething/__init__.py": b"X = 1\n"},
                            requires=("winonly; sys_platform == 'win32'", "extraonly; extra == 'fast'"))
    monkeypatch.syspath_prepend(str(tmp_path))
    files = dependency_files(["purething"])
    assert sorted(files) == ["purething-1.0.dist-info/METADATA", "purething/__init__.py"]


def test_missing_dependency_and_unknown_kind_are_explained() -> None:
    with pytest.raises(PackagingError,
                       match="not-installed-anywhere is needed in the bundle but is not installed"):
        dependency_files(["not-installed-anywhere"])
    with pytest.raises(PackagingError, match="kind='node' is not one of sample, data_endpoint, edge"):
        lambda_bundle("node")


def test_container_context(cache: Path, tmp_path: Path) -> None:
    context = container_context(cache_dir=cache)
    assert container_context(cache_dir=tmp_path).name == context.name  # deterministic
    files = directory_files(context)
    assert {"Dockerfile", "requirements.txt", "deploy_paradigms/runtime/web_app.py",
            "deploy_paradigms/runtime/connection.py", "deploy_paradigms/budget/plan.py"} <= set(files)
    assert files["requirements.txt"] == f"pg8000=={metadata.version('pg8000')}\n".encode()
    dockerfile = files["Dockerfile"].decode()
    for line in ("FROM python:3.12-slim", "USER 10001", "EXPOSE 8080", "HEALTHCHECK",
                 'CMD ["python", "-m", "deploy_paradigms.runtime.web_app"]', "COPY deploy_paradigms"):
        assert line in dockerfile
    # The app module imports with only the context on the path (pg8000 is loaded lazily).
    out = run_isolated(context, "import deploy_paradigms.runtime.web_app as w; print(w.WebApp.__name__)")
    assert out.strip() == "WebApp"


def test_packaging_imports_without_cdk_or_pulumi(tmp_path: Path) -> None:
    code = ("import sys\n"
            "for name in ('aws_cdk', 'pulumi', 'pulumi_aws', 'jsii', 'constructs'):\n"
            "    sys.modules[name] = None\n"
            "from deploy_paradigms import packaging\n"
            "print(packaging.zipped_size(packaging.lambda_bundle('edge')) > 0)\n")
    env = {**os.environ, packaging.ENV_BUNDLE_DIR: str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "True"
