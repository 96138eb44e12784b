"""The example Pulumi program: one network, one database, one paradigm.

Used by ``pulumi up`` (``stacks/pulumi_program/__main__.py``) and by the
offline preview (:mod:`deploy_paradigms.pulumi.preview`). Config (project
namespace ``deploy-paradigms``, see Pulumi.yaml):

``paradigm``        serverless | paas | edge | changes (default serverless)
``engine``          default postgres
``instanceClass``   default db.t3.micro
``maxConnections``  optional: max_connections of the parameter group
``maxAcu``          optional: Aurora Serverless v2 maximum ACU (instanceClass db.serverless)
``reserve``         optional: connections kept free for admin and migrations
``multiAz``         optional: true for a Multi-AZ database (default false)

Each paradigm lives in ``deploy_paradigms.pulumi.examples.<paradigm>`` and
defines ``build(network, database, config) -> None`` and ``CONFIG_KEYS`` (the
keys it reads, each with what it means); it reads them with :func:`config_int`
/ :func:`config_bool` / ``config.get``. A project key that neither the program
nor the chosen example reads is refused before any resource is declared: a typo
such as ``instance_class`` would otherwise fall back to a default in silence.

Only keys with a default are declared in ``Pulumi.yaml``: the Pulumi CLI treats a
declared key without a default as required, and stops before the program runs.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Protocol, cast

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from ..budget import InputError
from .budget_check import BudgetCheck, BudgetCheckArgs
from .database import Database, DatabaseArgs
from .network import Network

PROJECT = "deploy-paradigms"
PARADIGMS = ("serverless", "paas", "edge", "changes")
DEFAULT_PARADIGM = "serverless"

#: Project config keys the program itself reads (the examples add their own ``CONFIG_KEYS``).
CONFIG_KEYS: Mapping[str, str] = {
    "paradigm": "serverless (default), paas, edge or changes",
    "engine": "postgres (default), mysql, mariadb, aurora-postgresql or aurora-mysql",
    "instanceClass": "database class, default db.t3.micro (db.serverless with maxAcu)",
    "maxConnections": "max_connections of the parameter group (default: the engine's for the class)",
    "maxAcu": "Aurora Serverless v2 maximum ACU, such as 8 or 2.5 (with instanceClass db.serverless)",
    "reserve": "connections kept free for admin sessions and migrations (default 5 %, at least 3)",
    "multiAz": "true for a Multi-AZ database (a standby for RDS, a reader for Aurora)",
    "accountConcurrencyLimit": "the account's Lambda concurrency quota in the Region (default 1000; read it "
                               "with `aws lambda get-account-settings`)",
}


class Example(Protocol):
    """What ``deploy_paradigms.pulumi.examples.<paradigm>`` provides."""

    CONFIG_KEYS: Mapping[str, str]

    def build(self, network: Network, database: Database, config: pulumi.Config) -> None: ...


def _raw(config: pulumi.Config, key: str) -> str | None:
    value = config.get(key)
    return None if value is None or value.strip() == "" else value.strip()


def config_int(config: pulumi.Config, key: str, default: int | None = None) -> int | None:
    """A whole-number config value; a non-number raises InputError naming the key."""
    raw = _raw(config, key)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InputError(f"config {key}={raw!r} must be a whole number; for example "
                          f"`pulumi config set {key} 100`") from None


def config_float(config: pulumi.Config, key: str, default: float | None = None) -> float | None:
    """A numeric config value; a non-number raises InputError naming the key."""
    raw = _raw(config, key)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise InputError(f"config {key}={raw!r} must be a number; for example "
                          f"`pulumi config set {key} 8`") from None


def config_bool(config: pulumi.Config, key: str, default: bool = False) -> bool:
    """``true``/``false`` (also yes/no, 1/0); anything else raises InputError naming the key."""
    raw = _raw(config, key)
    if raw is None:
        return default
    value = raw.lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    raise InputError(f"config {key}={raw!r} must be true or false")


def check_paradigm(paradigm: str) -> str:
    if paradigm not in PARADIGMS:
        raise InputError(f"paradigm={paradigm!r} is not known; use one of: {', '.join(PARADIGMS)}")
    return paradigm


def load_example(paradigm: str) -> Example:
    """Import ``deploy_paradigms.pulumi.examples.<paradigm>``; unknown names raise InputError."""
    check_paradigm(paradigm)
    module_name = f"{__package__}.examples.{paradigm}"
    try:
        module: ModuleType = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        raise InputError(f"paradigm={paradigm!r} has no Pulumi example yet ({module_name} is "
                          f"missing)") from None
    if not callable(getattr(module, "build", None)) or not isinstance(getattr(module, "CONFIG_KEYS", None),
                                                                        Mapping):
        raise InputError(f"{module_name} defines no build(network, database, config) and CONFIG_KEYS")
    return cast(Example, module)


def project_config_keys() -> list[str]:
    """The project's (``deploy-paradigms:``) config keys this program run was given."""
    prefix = f"{PROJECT}:"
    given: Iterable[str] = {*CONFIG.get(), *get_config_env()}
    return sorted(key[len(prefix):] for key in given if key.startswith(prefix))


def check_config_keys(given: Iterable[str], example: Example) -> None:
    """Refuse project keys that neither the program nor ``example`` reads, suggesting the near one."""
    known = {**CONFIG_KEYS, **example.CONFIG_KEYS}
    for key in given:
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise InputError(f"config key {key!r} is not read by this program; {hint}known keys: "
                             f"{', '.join(sorted(known))} (e.g. `pulumi config set instanceClass "
                             f"db.m5.large`)")


def run(paradigm: str | None = None) -> None:
    """Build the example stack for ``paradigm`` (default: the ``paradigm`` config value)."""
    config = pulumi.Config()
    chosen = check_paradigm(paradigm or _raw(config, "paradigm") or DEFAULT_PARADIGM)
    example = load_example(chosen)
    check_config_keys(project_config_keys(), example)
    # The database (and its budget checks) before the example's resources.
    network = Network("network")
    database = Database("database", DatabaseArgs(
        network=network,
        engine=_raw(config, "engine") or "postgres",
        instance_class=_raw(config, "instanceClass") or "db.t3.micro",
        max_connections=config_int(config, "maxConnections"),
        max_acu=config_float(config, "maxAcu"),
        reserve=config_int(config, "reserve"),
        multi_az=config_bool(config, "multiAz"),
        logical_replication=chosen == "changes",  # the change stream reads logical replication
    ))
    example.build(network, database, config)
    # After each `pulumi up`, the live database, proxies and Lambda quota meet the plan; the
    # default fail mode fails the update on a shortfall (docs/composition.md).
    BudgetCheck("budget-check", BudgetCheckArgs(database=database))
    pulumi.export("paradigm", chosen)
    pulumi.export("connectionBudget", database.summary())
