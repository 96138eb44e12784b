"""One database's connection budget, shared by every construct attached to it."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import BudgetError, BudgetExceededError
from .limits import ConnectionLimit
from .plan import check_whole, default_reserve


@dataclass(frozen=True)
class Allocation:
    """Connections one consumer (a function, a service) may hold."""

    consumer: str
    paradigm: str
    connections: int
    detail: str = ""
    deploy_strategy: str = ""  # e.g. "rolling", "blue-green": how far a deploy surges
    compute_model: str = ""  # e.g. "fargate", "lambda (1 request per environment)"


class ConnectionLedger:
    """Hands out a database's usable connections and refuses to overspend.

    ``reserve`` connections stay free for admin sessions and migrations
    (default: 5 % of the usable connections, at least 3). Consumers call
    :meth:`allocate`; allocations that together exceed ``limit.usable - reserve``
    raise :class:`BudgetExceededError` naming every consumer and its share.
    """

    def __init__(self, limit: ConnectionLimit, *, reserve: int | None = None) -> None:
        self.limit = limit
        if reserve is None:
            reserve = default_reserve(limit)
        self.reserve = check_whole(
            "reserve", reserve, minimum=0, maximum=limit.usable - 1,
            fix=f"{limit.instance_class} has {limit.usable} usable connections; keep at least one "
                f"for the application")
        self._allocations: list[Allocation] = []

    @property
    def available(self) -> int:
        """Connections the application side may use in total."""
        return self.limit.usable - self.reserve

    @property
    def allocated(self) -> int:
        return sum(a.connections for a in self._allocations)

    @property
    def remaining(self) -> int:
        return self.available - self.allocated

    @property
    def allocations(self) -> tuple[Allocation, ...]:
        return tuple(self._allocations)

    def allocate(self, consumer: str, connections: int, *, paradigm: str, detail: str = "",
                 deploy_strategy: str = "", compute_model: str = "") -> Allocation:
        if any(a.consumer == consumer for a in self._allocations):
            raise BudgetError(f"consumer {consumer!r} already has an allocation on this database; "
                              f"give each consumer a unique name")
        check_whole(f"connections for {consumer!r}", connections, minimum=1)
        if self.allocated + connections > self.available:
            shares = "; ".join(f"{a.consumer} ({a.paradigm}) {a.connections}"
                               for a in (*self._allocations, Allocation(consumer, paradigm, connections)))
            raise BudgetExceededError(
                f"allocations on {self.limit.instance_class} add up to {self.allocated + connections}"
                f" connections, over the {self.available} available ({self.limit.usable} usable - "
                f"{self.reserve} reserve): {shares}; give consumers explicit smaller "
                f"`connections=`, lower the reserve, or use a larger instance class")
        allocation = Allocation(consumer, paradigm, connections, detail, deploy_strategy, compute_model)
        self._allocations.append(allocation)
        return allocation

    def one_line(self) -> str:
        """The ledger as one line (for a CloudFormation output or a log line)."""
        lim = self.limit
        shares = "".join(f"; {a.consumer} ({a.paradigm}) {a.connections}" for a in self._allocations)
        return (f"{lim.engine.value} {lim.instance_class}: {lim.usable} usable connections, "
                f"reserve {self.reserve}{shares}; left {self.remaining}")

    def summary(self) -> str:
        """Markdown: the database, its limit, the reserve and who got what."""
        lim = self.limit
        lines = [
            f"**{lim.engine.value} {lim.instance_class}**: max_connections {lim.max_connections}, "
            f"{lim.reserved} reserved by the engine, {lim.usable} usable"
            f"{' (estimate)' if lim.estimate else ''}; source: {lim.source}.",
            "",
            "| consumer | paradigm | connections | detail | deploy strategy | compute model |",
            "|---|---|---:|---|---|---|",
            f"| (reserve: admin, migrations) | - | {self.reserve} | kept free | | |",
        ]
        lines += [f"| {a.consumer} | {a.paradigm} | {a.connections} | {a.detail} | "
                  f"{a.deploy_strategy or '-'} | {a.compute_model or '-'} |"
                  for a in self._allocations]
        lines += [f"| **left** | | {self.remaining} | of {self.available} available | | |"]
        return "\n".join(lines) + "\n"
