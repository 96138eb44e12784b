"""One database's connection budget, shared by every construct attached to it.

Fair-share policy (the same in CDK and Pulumi, documented in docs/composition.md):
a consumer that gives ``connections=`` gets exactly that; one that omits it gets
its *default share*: the connections left after the explicit shares, divided
equally among the default-share consumers the database expects (``consumers``,
default 1) that have not booked yet. Decisions are taken when each consumer is
constructed (both engines render numbers, not placeholders), so a database shared
by several default-share consumers says how many: ``Database(consumers=3)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import BudgetError, BudgetExceededError
from .limits import ConnectionLimit
from .plan import check_whole, default_reserve

#: The ``paradigm`` of shares handed to another app (``external_consumers=``).
EXTERNAL = "another app"


@dataclass(frozen=True)
class Allocation:
    """Connections one consumer (a function, a service) may hold."""

    consumer: str
    paradigm: str
    connections: int
    detail: str = ""
    default_share: bool = False
    deploy_strategy: str = ""  # e.g. "rolling", "blue-green": how far a deploy surges
    compute_model: str = ""  # e.g. "fargate", "lambda (1 request per environment)"


class ConnectionLedger:
    """Hands out a database's usable connections and refuses to overspend.

    ``reserve`` connections stay free for admin sessions and migrations
    (default: 5 % of the usable connections, at least 3). Consumers call
    :meth:`allocate`; allocations that together exceed ``limit.usable - reserve``
    raise :class:`BudgetExceededError` naming every consumer and its share.

    ``share``: the ledger of a database owned by another app, which handed this app
    ``share`` connections (its ``external_consumers``); the reserve is the owner's, so
    everything this app books comes out of the share. ``consumers``: how many consumers
    will take a default share (see the module docs).
    """

    def __init__(self, limit: ConnectionLimit, *, reserve: int | None = None, share: int | None = None,
                 consumers: int | None = None, name: str = "") -> None:
        self.limit = limit
        self.name = name or f"{limit.engine.value} {limit.instance_class}"
        self.share = share
        if share is not None:
            check_whole("share", share, minimum=1, maximum=limit.usable,
                        fix=f"the share another app handed you, at most the {limit.usable} usable "
                            f"connections of {limit.instance_class}")
            if reserve:
                raise BudgetError(f"reserve={reserve} with share={share}: the owner of the database keeps "
                                  f"the reserve; omit reserve")
            reserve = limit.usable - share
        elif reserve is None:
            reserve = default_reserve(limit)
        self.reserve = check_whole(
            "reserve", reserve, minimum=0, maximum=limit.usable - 1,
            fix=f"{limit.instance_class} has {limit.usable} usable connections; keep at least one "
                f"for the application")
        self.consumers = check_whole("consumers", 1 if consumers is None else consumers, minimum=1,
                                     fix="the number of consumers that omit connections= on this database")
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

    def default_share(self, consumer: str = "this consumer") -> int:
        """Connections the next consumer that omits ``connections=`` gets (module docs).

        One more default-share consumer than the database expects is refused: the earlier ones
        already took their shares, and it would get only the crumbs."""
        taken = [a for a in self._allocations if a.default_share]
        if len(taken) >= self.consumers:
            names = ", ".join(f"{a.consumer} {a.connections}" for a in taken)
            raise BudgetError(
                f"{consumer} omits connections=, but {self.name} expects {self.consumers} consumer(s) "
                f"with a default share and {names} already took it; {self.holders()}; fix: declare "
                f"consumers={len(taken) + 1} on the database so default shares split it equally, or pass "
                f"connections=<n> (at most {self.remaining}) to {consumer}")
        return self.remaining // (self.consumers - len(taken))

    def holders(self) -> str:
        """Who holds connections and what is left, for error messages."""
        held = "; ".join(f"{a.consumer} ({a.paradigm}) {a.connections}" for a in self._allocations)
        return (f"holding connections on {self.name}: {held or 'nobody yet'}; left {self.remaining} of "
                f"{self.available} available ({self._available_why()})")

    def _available_why(self) -> str:
        if self.share is not None:
            return f"this app's share of the {self.limit.usable} usable"
        return f"{self.limit.usable} usable - {self.reserve} reserve"

    def fixes(self) -> str:
        """What a user can change when a consumer does not fit."""
        defaults = [a.consumer for a in self._allocations if a.default_share]
        ways = []
        if defaults:
            ways.append(f"declare every default-share consumer on the database (consumers="
                        f"{sum(1 for a in self._allocations if a.default_share) + 1}) so they split it "
                        f"equally")
        ways.append("give consumers explicit smaller `connections=`")
        if self.share is None:
            ways.append("lower the reserve")
            ways.append("use a larger instance class")
        else:
            ways.append("ask the database's owner for a larger share (its external_consumers=)")
        return "fix: " + ", or ".join(ways)

    @contextmanager
    def explaining(self) -> Iterator[None]:
        """Budget errors raised inside name every holder, what is left and the fixes."""
        try:
            yield
        except BudgetError as err:
            if not self._allocations or "holding connections on" in str(err):
                raise
            raise type(err)(f"{err}; {self.holders()}; {self.fixes()}") from None

    def allocate(self, consumer: str, connections: int, *, paradigm: str, detail: str = "",
                 default_share: bool = False, deploy_strategy: str = "",
                 compute_model: str = "") -> Allocation:
        if any(a.consumer == consumer for a in self._allocations):
            raise BudgetError(f"consumer {consumer!r} already has an allocation on this database; "
                              f"give each consumer a unique name")
        check_whole(f"connections for {consumer!r}", connections, minimum=1)
        if self.allocated + connections > self.available:
            shares = "; ".join(f"{a.consumer} ({a.paradigm}) {a.connections}"
                               for a in (*self._allocations, Allocation(consumer, paradigm, connections)))
            raise BudgetExceededError(
                f"allocations on {self.name} add up to {self.allocated + connections}"
                f" connections, over the {self.available} available ({self._available_why()}): {shares}; "
                f"left {self.remaining} before {consumer}; {self.fixes()}")
        allocation = Allocation(consumer, paradigm, connections, detail, default_share,
                                deploy_strategy, compute_model)
        self._allocations.append(allocation)
        return allocation

    def book_external(self, shares: Mapping[str, int]) -> None:
        """Book the shares handed to other apps (``external_consumers={"billing": 40}``)."""
        for consumer, connections in shares.items():
            if not isinstance(consumer, str) or not consumer:
                raise BudgetError(f"external_consumers key {consumer!r} must be the consuming app's name")
            check_whole(f"external_consumers[{consumer!r}]", connections, minimum=1,
                        fix="the connections that app may hold (its from_existing(..., share=N))")
            self.allocate(consumer, connections, paradigm=EXTERNAL,
                          detail=f"declared share; that app imports the database with share={connections}")

    def one_line(self) -> str:
        """The ledger as one line (for a CloudFormation output or a log line)."""
        lim = self.limit
        shares = "".join(f"; {a.consumer} ({a.paradigm}) {a.connections}" for a in self._allocations)
        kept = f"share {self.share} of another app's database" if self.share is not None else (
            f"reserve {self.reserve}")
        return (f"{lim.engine.value} {lim.instance_class}: {lim.usable} usable connections, "
                f"{kept}{shares}; left {self.remaining}")

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
        ]
        if self.share is not None:
            lines.append(f"| (other apps and the owner's reserve) | - | {self.reserve} | not this app's: "
                         f"imported with share={self.share} | | |")
        else:
            lines.append(f"| (reserve: admin, migrations) | - | {self.reserve} | kept free | | |")
        lines += [f"| {a.consumer} | {a.paradigm} | {a.connections} | {a.detail} | "
                  f"{a.deploy_strategy or '-'} | {a.compute_model or '-'} |"
                  for a in self._allocations]
        lines += [f"| **left** | | {self.remaining} | of {self.available} available | | |"]
        return "\n".join(lines) + "\n"
