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
defines ``build(network, database, config) -> None``; it reads its own config
keys with :func:`config_int` / :func:`config_bool` / ``config.get``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Protocol, cast

import pulumi

from ..budget import BudgetError
from .database import Database, DatabaseArgs
from .network import Network

PROJECT = "deploy-paradigms"
PARADIGMS = ("serverless", "paas", "edge", "changes")
DEFAULT_PARADIGM = "serverless"


class Example(Protocol):
    """What ``deploy_paradigms.pulumi.examples.<paradigm>`` provides."""

    def build(self, network: Network, database: Database, config: pulumi.Config) -> None: ...


def _raw(config: pulumi.Config, key: str) -> str | None:
    value = config.get(key)
    return None if value is None or value.strip() == "" else value.strip()


def config_int(config: pulumi.Config, key: str, default: int | None = None) -> int | None:
    """A whole-number config value; a non-number raises BudgetError naming the key."""
    raw = _raw(config, key)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise BudgetError(f"config {key}={raw!r} must be a whole number; for example "
                          f"`pulumi config set {key} 100`") from None


def config_float(config: pulumi.Config, key: str, default: float | None = None) -> float | None:
    """A numeric config value; a non-number raises BudgetError naming the key."""
    raw = _raw(config, key)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise BudgetError(f"config {key}={raw!r} must be a number; for example "
                          f"`pulumi config set {key} 8`") from None


def config_bool(config: pulumi.Config, key: str, default: bool = False) -> bool:
    """``true``/``false`` (also yes/no, 1/0); anything else raises BudgetError naming the key."""
    raw = _raw(config, key)
    if raw is None:
        return default
    value = raw.lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    raise BudgetError(f"config {key}={raw!r} must be true or false")


def check_paradigm(paradigm: str) -> str:
    if paradigm not in PARADIGMS:
        raise BudgetError(f"paradigm={paradigm!r} is not known; use one of: {', '.join(PARADIGMS)}")
    return paradigm


def load_example(paradigm: str) -> Example:
    """Import ``deploy_paradigms.pulumi.examples.<paradigm>``; unknown names raise BudgetError."""
    check_paradigm(paradigm)
    module_name = f"{__package__}.examples.{paradigm}"
    try:
        module: ModuleType = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        raise BudgetError(f"paradigm={paradigm!r} has no Pulumi example yet ({module_name} is "
                          f"missing)") from None
    if not callable(getattr(module, "build", None)):
        raise BudgetError(f"{module_name} defines no build(network, database, config)")
    return cast(Example, module)


def run(paradigm: str | None = None) -> None:
    """Build the example stack for ``paradigm`` (default: the ``paradigm`` config value)."""
    config = pulumi.Config()
    chosen = check_paradigm(paradigm or _raw(config, "paradigm") or DEFAULT_PARADIGM)
    # The database (and its budget checks) first, so a bad config fails before any example import.
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
    load_example(chosen).build(network, database, config)
    pulumi.export("paradigm", chosen)
    pulumi.export("connectionBudget", database.summary())
