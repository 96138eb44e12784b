"""One module per paradigm, loaded lazily by :func:`deploy_paradigms.pulumi.program.run`.

Each module defines::

    def build(network: Network, database: Database, config: pulumi.Config) -> None

``network`` and ``database`` are already created (the database owns the
connection ledger: call ``database.allocate(...)`` / ``database.allow_from(...)``
through your components); read extra settings from ``config`` with
``program.config_int`` / ``config_bool`` / ``config.get``; export outputs with
``pulumi.export``.
"""

__all__: list[str] = []  # the modules are the API: program.run imports them by name
