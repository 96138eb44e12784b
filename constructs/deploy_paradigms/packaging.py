"""Docker-free, deterministic code packages for the Lambda functions and the PaaS image.

Nothing here needs Docker, CDK or Pulumi. A bundle is assembled in memory from
this package's runtime modules and, where a database driver is needed, the
pure-Python distributions installed in the current environment (pg8000 and
its dependencies for PostgreSQL, PyMySQL for the MySQL family), then written
once to a content-addressed directory::

    $DEPLOY_PARADIGMS_BUNDLE_DIR (default ~/.cache/deploy-paradigms/bundles)/
        data_endpoint-<sha256 prefix>/
            deploy_paradigms/__init__.py           (generated, minimal)
            deploy_paradigms/budget/*.py           (stdlib only; used by connection.py)
            deploy_paradigms/catalog.py
            deploy_paradigms/runtime/__init__.py   (generated, minimal)
            deploy_paradigms/runtime/settings.py, connection.py, data_endpoint.py
            deploy_paradigms/runtime/catalog.json  (the catalog, normalised)
            pg8000/ scramp/ asn1crypto/ dateutil/ ... and their *.dist-info (no RECORD)

The same inputs give the same bytes on every run and machine (sorted file
lists, fixed modes and timestamps, no ``__pycache__``, no installer
``RECORD``/``INSTALLER`` files), so CDK asset hashes and Pulumi archives only
change when code or dependency versions do. A dependency with compiled
extensions is refused: it would need a build for the Lambda architecture.

Kinds and handlers::

    "sample"         deploy_paradigms.runtime.sample_handler.handler   (Serverless example)
    "data_endpoint"  deploy_paradigms.runtime.data_endpoint.handler    (Edge example's data API)
    "edge"           deploy_paradigms.runtime.edge_handler.handler     (Lambda@Edge; stdlib only)
    "migrate"        deploy_paradigms.runtime.migrate.handler          (Migrations; SQL files inside)
    "role_bootstrap" deploy_paradigms.runtime.role_bootstrap.handler   (Database: the application role)
    "change_stream"  deploy_paradigms.runtime.change_consumer.handler  (ChangeStream's consumer)

:func:`container_context` stages the PaaS image's Docker build context the same way.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import io
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import deploy_paradigms
from deploy_paradigms.budget.plan import RDS_CA_BUNDLE

KINDS = ("sample", "data_endpoint", "edge", "migrate", "role_bootstrap", "change_stream", "budget_check")
SAMPLE_HANDLER = "deploy_paradigms.runtime.sample_handler.handler"
DATA_ENDPOINT_HANDLER = "deploy_paradigms.runtime.data_endpoint.handler"
EDGE_HANDLER = "deploy_paradigms.runtime.edge_handler.handler"
MIGRATE_HANDLER = "deploy_paradigms.runtime.migrate.handler"
ROLE_BOOTSTRAP_HANDLER = "deploy_paradigms.runtime.role_bootstrap.handler"
CHANGE_STREAM_HANDLER = "deploy_paradigms.runtime.change_consumer.handler"
BUDGET_CHECK_HANDLER = "deploy_paradigms.runtime.budget_check.handler"
#: The Lambda runtime of the library's own helper functions (role bootstrap, migrations, budget
#: check, change consumer): the bundles are pure Python, so the newest Python runtime.
HELPER_RUNTIME = "python3.14"
HANDLERS: dict[str, str] = {"sample": SAMPLE_HANDLER, "data_endpoint": DATA_ENDPOINT_HANDLER,
                            "edge": EDGE_HANDLER, "migrate": MIGRATE_HANDLER,
                            "role_bootstrap": ROLE_BOOTSTRAP_HANDLER, "change_stream": CHANGE_STREAM_HANDLER,
                            "budget_check": BUDGET_CHECK_HANDLER}
WEB_APP_MODULE = "deploy_paradigms.runtime.web_app"
#: The examples' migrations folder (one portable CREATE TABLE).
SAMPLE_MIGRATIONS_DIR = str(Path(deploy_paradigms.__file__).resolve().parent / "runtime"
                            / "sample_migrations")
ENV_BUNDLE_DIR = "DEPLOY_PARADIGMS_BUNDLE_DIR"
#: The pure-Python driver ``runtime.connection`` imports for each engine family, vendored
#: into the sample and data endpoint bundles and pinned in the PaaS image.
DRIVERS: dict[str, str] = {"postgres": "pg8000", "mysql": "PyMySQL"}
#: The PostgreSQL driver (the default engine's).
DRIVER_REQUIREMENTS = (DRIVERS["postgres"],)

_PACKAGE_DIR = Path(deploy_paradigms.__file__).resolve().parent
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
_FIXED_EPOCH = 315532800  # the same instant as a Unix timestamp (UTC)
_COMPILED = re.compile(r"\.(so|pyd|dylib|dll)(\.[0-9.]+)?$")
_SKIPPED_METADATA = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})

_INIT = '"""deploy-paradigms runtime code (bundled by deploy_paradigms.packaging)."""\n\n' \
        '__version__ = "{version}"\n'
_RUNTIME_INIT = '"""Code that runs inside the Lambda functions and containers."""\n'
# The budget package's own __init__ re-exports the whole core (ledger, planners): about 10 ms of a
# cold start for names the runtime never uses, so the bundles get an empty one instead.
_BUDGET_INIT = '"""The connection-budget core: the runtime imports its submodules directly."""\n'
_RUNTIME_MODULES: dict[str, tuple[str, ...]] = {
    "sample": ("settings.py", "errors.py", "aws_sigv4.py", "connection.py", "sample_handler.py"),
    "data_endpoint": ("settings.py", "errors.py", "aws_sigv4.py", "connection.py", "invalidation.py",
                      "data_endpoint.py"),
    "edge": ("edge_handler.py",),
    "budget_check": ("settings.py", "errors.py", "aws_sigv4.py", "connection.py", "budget_check.py"),
    "migrate": ("settings.py", "errors.py", "aws_sigv4.py", "connection.py", "migrate.py"),
    "role_bootstrap": ("settings.py", "errors.py", "aws_sigv4.py", "connection.py", "role_bootstrap.py"),
    "change_stream": ("settings.py", "errors.py", "aws_sigv4.py", "connection.py", "change_consumer.py"),
    "container": ("settings.py", "errors.py", "aws_sigv4.py", "connection.py", "web_app.py"),
}


class PackagingError(RuntimeError):
    """A bundle cannot be built (unknown kind, missing or compiled dependency, bad catalog)."""


# --------------------------------------------------------------------------- file maps


def _source(relative: str) -> bytes:
    return (_PACKAGE_DIR / relative).read_bytes()


def _package_files(kind: str) -> dict[str, bytes]:
    """This package's modules a kind needs, under ``deploy_paradigms/``."""
    files = {
        "deploy_paradigms/__init__.py": _INIT.format(version=deploy_paradigms.__version__).encode(),
        "deploy_paradigms/runtime/__init__.py": _RUNTIME_INIT.encode(),
    }
    for module in _RUNTIME_MODULES[kind]:
        files[f"deploy_paradigms/runtime/{module}"] = _source(f"runtime/{module}")
    if "connection.py" in _RUNTIME_MODULES[kind]:  # direct connections verify against the RDS CAs
        files[f"deploy_paradigms/runtime/{RDS_CA_BUNDLE}"] = _source(f"runtime/{RDS_CA_BUNDLE}")
    if kind != "edge":  # connection.py uses the budget core's URL defaults and engine names
        for path in sorted((_PACKAGE_DIR / "budget").glob("*.py")):
            files[f"deploy_paradigms/budget/{path.name}"] = path.read_bytes()
        files["deploy_paradigms/budget/__init__.py"] = _BUDGET_INIT.encode()
    if kind == "data_endpoint":
        files["deploy_paradigms/catalog.py"] = _source("catalog.py")
    if kind == "role_bootstrap":
        files["deploy_paradigms/app_role.py"] = _source("app_role.py")
    return files


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement(spec: str) -> tuple[str, str | None]:
    """``"scramp==1.5.0; python_version >= '3.8'"`` -> ("scramp", "python_version >= '3.8'")."""
    head, _, marker = spec.partition(";")
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", head)
    if match is None:
        raise PackagingError(f"cannot read the requirement {spec!r}")
    return match.group(1), marker.strip() or None


def _marker_applies(marker: str | None) -> bool | None:
    """True/False when the marker can be evaluated here; None when it cannot (no `packaging` lib)."""
    if marker is None:
        return True
    if "extra" in marker:
        return False  # optional extras are never bundled
    try:
        from packaging.markers import Marker
    except ImportError:
        return None
    return bool(Marker(marker).evaluate())


def _distribution_files(dist: metadata.Distribution) -> dict[str, bytes]:
    """A distribution's installed files (relative to site-packages), refusing compiled code."""
    name = dist.metadata["Name"]
    listed = dist.files
    if listed is None:
        raise PackagingError(f"{name} was installed without a file list (RECORD); reinstall it with pip")
    files: dict[str, bytes] = {}
    compiled: list[str] = []
    for entry in listed:
        relative = entry.as_posix()
        parts = relative.split("/")
        if parts[0] == ".." or "__pycache__" in parts or relative.endswith((".pyc", ".pyo")):
            continue  # console scripts outside site-packages, and bytecode caches
        if parts[0].endswith(".dist-info") and parts[-1] in _SKIPPED_METADATA:
            continue  # installer bookkeeping: differs between installs, not needed at run time
        if _COMPILED.search(parts[-1]):
            compiled.append(relative)
            continue
        files[relative] = Path(str(dist.locate_file(entry))).read_bytes()
    if compiled:
        raise PackagingError(
            f"{name} {dist.version} contains compiled extension(s) ({', '.join(sorted(compiled)[:5])}); "
            f"Lambda bundles are built without Docker, so only pure-Python dependencies can be "
            f"vendored: use a pure-Python alternative, or ship it in a layer built for the function's "
            f"architecture")
    return files


def dependency_files(requirements: Iterable[str]) -> dict[str, bytes]:
    """Files of ``requirements`` and everything they require, from the installed environment."""
    files: dict[str, bytes] = {}
    seen: set[str] = set()
    pending = [_requirement(r) for r in requirements]
    while pending:
        name, marker = pending.pop(0)
        applies = _marker_applies(marker)
        if applies is False or _normalise(name) in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if applies is None:
                continue  # a conditional requirement this environment did not need
            raise PackagingError(
                f"{name} is needed in the bundle but is not installed in this environment "
                f"(install the project with its extras: pip install -e '.[cdk]' or '.[pulumi]')") from None
        seen.add(_normalise(name))
        files.update(_distribution_files(dist))
        pending.extend(_requirement(r) for r in dist.requires or ())
    return files


def driver_for(engine: str) -> str:
    """The driver distribution the runtime needs for ``engine`` (``"postgres"``, ``"aurora-mysql"``...)."""
    from .budget import parse_engine

    return DRIVERS["postgres" if parse_engine(engine).is_postgres else "mysql"]


def bundle_files(kind: str, *, catalog_json: str | None = None,
                 engine: str = "postgres", migrations_dir: str | os.PathLike[str] | None = None
                 ) -> dict[str, bytes]:
    """The complete file map of a Lambda bundle (relative POSIX path -> bytes).

    ``engine`` chooses the vendored driver (:func:`driver_for`): a function for a
    MySQL-family database without PyMySQL would fail on its first query, not at synth.
    ``migrations_dir`` (``migrate`` only; default: the examples' :data:`SAMPLE_MIGRATIONS_DIR`):
    its ``*.sql`` files go to ``deploy_paradigms/runtime/migrations/``, where the handler reads them.
    """
    if kind not in KINDS:
        raise PackagingError(f"kind={kind!r} is not one of {', '.join(KINDS)}")
    if catalog_json is not None and kind != "data_endpoint":
        raise PackagingError(f"catalog_json applies to the 'data_endpoint' bundle only, not {kind!r}")
    if migrations_dir is not None and kind != "migrate":
        raise PackagingError(f"migrations_dir applies to the 'migrate' bundle only, not {kind!r}")
    files = _package_files(kind)
    if kind == "migrate":
        migrations_dir = SAMPLE_MIGRATIONS_DIR if migrations_dir is None else migrations_dir
        from .runtime.migrate import MigrationError, load_migrations

        try:
            migrations = load_migrations(migrations_dir)  # bad names fail at synth, not in the deploy
        except MigrationError as exc:
            raise PackagingError(str(exc)) from None
        for migration in migrations:
            files[f"deploy_paradigms/runtime/migrations/{migration.version}.sql"] = migration.sql.encode()
    if kind == "data_endpoint":
        from .catalog import QueryCatalog, sample_catalog

        # Re-serialised: equivalent JSON gives identical bytes, and a bad
        # catalog fails here, at synth, not in the function.
        catalog = QueryCatalog.from_json(catalog_json) if catalog_json is not None else sample_catalog()
        files["deploy_paradigms/runtime/catalog.json"] = catalog.to_json().encode("utf-8")
    if kind != "edge":  # Lambda@Edge gets no third-party code: 1 MB viewer package limit
        for path, data in dependency_files((driver_for(engine),)).items():
            if path in files:
                raise PackagingError(f"dependency file {path} collides with a bundled module")
            files[path] = data
    return files


def container_files(*, engine: str = "postgres") -> dict[str, bytes]:
    """The PaaS image's Docker build context (Dockerfile, requirements.txt, runtime package)."""
    files = _package_files("container")
    files["Dockerfile"] = _source("runtime/Dockerfile")
    driver = driver_for(engine)
    try:
        driver_version = metadata.version(driver)
    except metadata.PackageNotFoundError:
        raise PackagingError(
            f"{driver} is not installed; install the project with the cdk or pulumi extra so the "
            f"image pins the driver version the constructs were tested with") from None
    # Pinned to the version installed here (the one the tests ran against); pip
    # resolves its pure-Python dependencies inside the image.
    files["requirements.txt"] = f"{driver}=={driver_version}\n".encode()
    return files


# --------------------------------------------------------------------------- content addressing


def content_hash(files: Mapping[str, bytes]) -> str:
    """SHA-256 over sorted (path, content hash) pairs: the identity of a bundle."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(f"{path}\0{hashlib.sha256(files[path]).hexdigest()}\n".encode())
    return digest.hexdigest()


def directory_files(path: str | os.PathLike[str]) -> dict[str, bytes]:
    """Every regular file under ``path`` (caches excluded), by relative POSIX path."""
    root = Path(path)
    files: dict[str, bytes] = {}
    for item in sorted(root.rglob("*")):
        relative = item.relative_to(root).as_posix()
        if item.is_file() and "__pycache__" not in relative.split("/") and item.suffix != ".pyc":
            files[relative] = item.read_bytes()
    return files


def directory_hash(path: str | os.PathLike[str]) -> str:
    """:func:`content_hash` of a directory on disk."""
    return content_hash(directory_files(path))


def cache_root() -> Path:
    """Where bundles are written: ``$DEPLOY_PARADIGMS_BUNDLE_DIR`` or the user cache directory."""
    configured = os.environ.get(ENV_BUNDLE_DIR)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deploy-paradigms" / "bundles"


def _cache_path(files: Mapping[str, bytes], name: str, cache_dir: str | os.PathLike[str] | None,
                suffix: str = "") -> Path:
    """``<cache>/<name>-<content hash prefix><suffix>``: where ``files`` are (or will be) written."""
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    return root / f"{name}-{content_hash(files)[:24]}{suffix}"


def materialise(files: Mapping[str, bytes], name: str, *,
                cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write ``files`` to ``<cache>/<name>-<hash>`` unless it exists; return that directory.

    Written into a temporary sibling and renamed into place, so a directory
    that exists is complete (and concurrent builds of the same bundle agree).
    """
    target = _cache_path(files, name, cache_dir)
    if target.is_dir():
        return target
    root = target.parent
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        for relative in sorted(files):
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(files[relative])
            path.chmod(0o644)
            os.utime(path, (_FIXED_EPOCH, _FIXED_EPOCH))
        for directory in sorted((p for p in staging.rglob("*") if p.is_dir()), reverse=True):
            directory.chmod(0o755)
            os.utime(directory, (_FIXED_EPOCH, _FIXED_EPOCH))
        staging.chmod(0o755)
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # not a lost race: a real failure
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def lambda_bundle(kind: str, *, catalog_json: str | None = None, engine: str = "postgres",
                  cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Build (or reuse) the bundle directory for ``kind`` and return its path.

    ``catalog_json`` (``QueryCatalog.to_json()``) is baked into the
    ``data_endpoint`` bundle; without it the sample catalog is used. ``engine``
    (default ``postgres``) chooses the vendored driver: pg8000 or PyMySQL.
    """
    return materialise(bundle_files(kind, catalog_json=catalog_json, engine=engine), kind,
                       cache_dir=cache_dir)


def container_context(*, engine: str = "postgres",
                      cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Build (or reuse) the PaaS image's Docker build context and return its path.

    ``engine`` (default ``postgres``) chooses the driver pinned in ``requirements.txt``.
    """
    return materialise(container_files(engine=engine), "container", cache_dir=cache_dir)


# --------------------------------------------------------------------------- zip


def _zip_files(files: Mapping[str, bytes]) -> bytes:
    """A deterministic zip: sorted entries, fixed timestamps and modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for relative in sorted(files):
            info = zipfile.ZipInfo(relative, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100644 & 0xFFFF) << 16
            info.create_system = 3  # Unix, so the mode above is honoured
            archive.writestr(info, files[relative], compresslevel=9)
    return buffer.getvalue()


def zip_bytes(path: str | os.PathLike[str]) -> bytes:
    """A deterministic zip of a directory: sorted entries, fixed timestamps and modes."""
    return _zip_files(directory_files(path))


def zipped_size(path: str | os.PathLike[str]) -> int:
    """Bytes of :func:`zip_bytes` for ``path`` (what Lambda's package limits are measured on)."""
    return len(zip_bytes(path))


def lambda_archive(kind: str, *, catalog_json: str | None = None, engine: str = "postgres",
                   cache_dir: str | os.PathLike[str] | None = None,
                   migrations_dir: str | os.PathLike[str] | None = None) -> Path:
    """Build (or reuse) the bundle for ``kind`` as one deterministic .zip and return its path.

    The same files as :func:`lambda_bundle`. A CDK app should prefer this for the
    bundles that vendor a driver (``sample``, ``data_endpoint``): asset staging then
    fingerprints and copies one file instead of about 1,400, which is most of what
    these constructs add to ``cdk synth`` (BENCHMARKS.md). Pair it with
    :func:`archive_hash` as the asset's custom hash: deflate output differs between
    zlib builds, the files inside do not.
    """
    files = bundle_files(kind, catalog_json=catalog_json, engine=engine, migrations_dir=migrations_dir)
    target = _cache_path(files, kind, cache_dir, ".zip")
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{kind}-", suffix=".zip", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(_zip_files(files))
        os.chmod(staging, 0o644)
        os.replace(staging, target)  # atomic: a .zip that exists is complete
    finally:
        if os.path.exists(staging):
            os.unlink(staging)
    return target


def archive_hash(path: str | os.PathLike[str]) -> str:
    """:func:`content_hash` of the files inside a .zip (the same as of the directory it came from)."""
    with zipfile.ZipFile(path) as archive:
        return content_hash({name: archive.read(name) for name in archive.namelist()
                             if not name.endswith("/")})
