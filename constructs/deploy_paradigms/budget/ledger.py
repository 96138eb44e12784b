"""One database's connection budget, shared by every construct attached to it.

Fair-share policy (the same in CDK and Pulumi, documented in docs/composition.md):
a consumer that gives ``connections=`` gets exactly that, booked when it is constructed;
one that omits it gets a *default share*, settled once the program has declared every
consumer: what the explicit shares leave, divided equally among the default-share
consumers of the database (in the order they were declared; each takes
``left // consumers still to settle``, so rounding leftovers go to the later ones).
``consumers=N`` on the database is a minimum: with fewer default-share consumers than N,
each still gets 1/N and the rest stays free for consumers added later.

Until the ledger settles, a default-share consumer's plan is *provisional*: the share it
would get if no further consumer joined. :meth:`ConnectionLedger.settle` (called by the
app's :class:`~deploy_paradigms.budget.deployment.Deployment` before synth / after the
Pulumi program body) books them for good and tells each consumer its final plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

from .errors import BudgetError, BudgetExceededError, InputError
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


class SharePlan(Protocol):
    """What the ledger reads from a consumer's plan (ServerlessPlan, ContainerPlan, ...)."""

    @property
    def connections(self) -> int: ...

    @property
    def compute_model(self) -> str: ...

    @property
    def deploy_strategy(self) -> str: ...

    def summary(self) -> str: ...


PlanT = TypeVar("PlanT")


def _itself(plan: Any) -> SharePlan:
    return cast(SharePlan, plan)


class Booking(Generic[PlanT]):
    """One consumer's share of a ledger and the plan made from it.

    ``connections=`` given: planned and booked at once (:meth:`ConnectionLedger.book`).
    Omitted: *pending* until the ledger settles; :attr:`plan` is provisional until then (the
    plan if no further consumer joined), :meth:`when_settled` runs once the share is final.
    """

    def __init__(self, ledger: ConnectionLedger, consumer: str, paradigm: str,
                 plan_for: Callable[[int, int], PlanT], commit: Callable[[PlanT], None] | None,
                 default_share: bool, budget_of: Callable[[PlanT], SharePlan]) -> None:
        self.ledger = ledger
        #: The connection plan inside a consumer's plan (the plan itself, or e.g. ``.budget``).
        self.budget_of = budget_of
        self.consumer = consumer
        self.paradigm = paradigm
        self.default_share = default_share
        self._plan_for = plan_for
        self._commit = commit
        self._plan: PlanT | None = None
        self._allocation: Allocation | None = None
        self._listeners: list[Callable[[PlanT], None]] = []

    @property
    def settled(self) -> bool:
        return self._plan is not None

    @property
    def plan(self) -> PlanT:
        """The settled plan; before settlement, the plan if no further consumer joined."""
        if self._plan is not None:
            return self._plan
        plan = self.ledger.provisional(self)
        if isinstance(plan, InputError):
            raise plan
        return plan

    @property
    def allocation(self) -> Allocation:
        """The allocation on the ledger (provisional, like :attr:`plan`, until settled)."""
        return self._allocation if self._allocation is not None else self._allocation_of(self.plan)

    def when_settled(self, listener: Callable[[PlanT], None]) -> None:
        """Call ``listener`` with the final plan: now when settled, else when the ledger settles."""
        if self._plan is not None:
            listener(self._plan)
        else:
            self._listeners.append(listener)

    def _allocation_of(self, plan: PlanT) -> Allocation:
        budget = self.budget_of(plan)
        return Allocation(self.consumer, self.paradigm, budget.connections, budget.summary(),
                          self.default_share, budget.deploy_strategy, budget.compute_model)

    def _settle(self, plan: PlanT) -> None:
        if self._commit is not None:  # e.g. the account's reserved concurrency: refused before booking
            self._commit(plan)
        self._allocation = self.ledger._record(self._allocation_of(plan))
        self._plan = plan
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener(plan)


class ConnectionLedger:
    """Hands out a database's usable connections and refuses to overspend.

    ``reserve`` connections stay free for admin sessions and migrations
    (default: 5 % of the usable connections, at least 3). Consumers call
    :meth:`book` (or :meth:`allocate` for a fixed number); allocations that together exceed
    ``limit.usable - reserve`` raise :class:`BudgetExceededError` naming every consumer and
    its share.

    ``share``: the ledger of a database owned by another app, which handed this app
    ``share`` connections (its ``external_consumers``); the reserve is the owner's, so
    everything this app books comes out of the share. ``consumers``: the least number of
    default-share consumers to split among (see the module docs; omitted, 1).

    :attr:`allocations`, :attr:`allocated` and :attr:`remaining` include the provisional
    shares of pending default-share consumers (the ledger as it would settle now);
    :attr:`unclaimed` is what the explicit shares leave for them.
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
                                     fix="the least number of consumers that omit connections= to split "
                                         "this database among (omit it to split among those declared)")
        self._allocations: list[Allocation] = []
        self._pending: list[Booking[Any]] = []
        self._defaults_settled = 0
        #: Why default shares can no longer be added (set when the ledger settles).
        self.settled_by = ""
        #: Called with each new pending booking (the deployment schedules settlement).
        self.on_pending: Callable[[Booking[Any]], None] | None = None

    @property
    def available(self) -> int:
        """Connections the application side may use in total."""
        return self.limit.usable - self.reserve

    @property
    def unclaimed(self) -> int:
        """Connections no settled consumer holds: what the default shares split."""
        return self.available - sum(a.connections for a in self._allocations)

    @property
    def allocations(self) -> tuple[Allocation, ...]:
        """Settled allocations, then the provisional ones of pending default-share consumers."""
        provisional = [b._allocation_of(plan) for b, plan in self._simulate()
                       if not isinstance(plan, InputError)]
        return (*self._allocations, *provisional)

    @property
    def allocated(self) -> int:
        return sum(a.connections for a in self.allocations)

    @property
    def remaining(self) -> int:
        return self.available - self.allocated

    @property
    def pending(self) -> tuple[str, ...]:
        """Default-share consumers waiting for the ledger to settle."""
        return tuple(b.consumer for b in self._pending)

    # -- booking -----------------------------------------------------------------------------------
    def book(self, consumer: str, *, paradigm: str, connections: int | None,
             plan_for: Callable[[int, int], PlanT],
             commit: Callable[[PlanT], None] | None = None,
             budget_of: Callable[[PlanT], SharePlan] | None = None) -> Booking[PlanT]:
        """Book ``consumer``: ``plan_for(share, unclaimed)`` makes its plan from a share.

        ``connections`` given: planned, committed (``commit(plan)``, e.g. the account's
        concurrency) and allocated now; over what is left raises, naming every holder.
        ``None``: a default share, pending until :meth:`settle`. ``budget_of``: where the connection
        plan is in the consumer's plan (omitted: the plan is one, a ServerlessPlan say)."""
        self._check_new(consumer)
        booking: Booking[PlanT] = Booking(self, consumer, paradigm, plan_for, commit, connections is None,
                                          budget_of or _itself)
        if connections is not None:
            if isinstance(connections, int) and not isinstance(connections, bool) and (
                    connections > self.unclaimed):
                self._refuse(consumer, connections, paradigm)
            with self.explaining():
                plan = plan_for(connections, self.unclaimed)
            booking._settle(plan)
            return booking
        if self.settled_by:
            raise BudgetError(
                f"{consumer} omits connections=, but the ledger of {self.name} was already settled "
                f"({self.settled_by}), so the other consumers' shares are final; {self.holders()}; fix: pass "
                f"connections=<n> (at most {self.unclaimed}) to {consumer}, or create it before "
                f"the ledger settles")
        if self.unclaimed < 1:
            raise BudgetExceededError(
                f"{consumer} omits connections=, but nothing is left for a default share; "
                f"{self.holders()}; {self.fixes()}")
        self._pending.append(booking)
        provisional = self.provisional(booking)
        if isinstance(provisional, InputError):  # more consumers only shrink it: refuse it now
            self._pending.pop()
            raise provisional
        if self.on_pending is not None:
            self.on_pending(booking)
        return booking

    def provisional(self, booking: Booking[PlanT]) -> PlanT | InputError:
        """The plan ``booking`` would get if the ledger settled now (or why it would fail)."""
        for pending, plan in self._simulate():
            if pending is booking:
                return cast("PlanT | InputError", plan)
        raise ValueError(f"{booking.consumer} is not pending on {self.name}")

    def _share(self, index: int) -> int:
        """The default share of the ``index``-th pending consumer once those before it settled."""
        divisor = max(self.consumers, self._defaults_settled + len(self._pending))
        return divisor - self._defaults_settled - index

    def _simulate(self) -> list[tuple[Booking[Any], Any]]:
        left = self.unclaimed
        out: list[tuple[Booking[Any], Any]] = []
        for index, booking in enumerate(self._pending):
            try:
                plan = self._default_plan(booking, left, self._share(index))
            except InputError as err:
                out.append((booking, err))
                continue
            out.append((booking, plan))
            left -= booking.budget_of(plan).connections
        return out

    def _default_plan(self, booking: Booking[Any], left: int, splitting: int) -> Any:
        """``booking``'s plan from its default share of ``left``; a refusal says how the share came about
        and names every holder, what is left and the fixes."""
        share = left // splitting
        why = (f"{booking.consumer} omits connections=, so it gets a default share: {share} of the {left} "
               f"connection(s) the explicit shares leave, split among {splitting} default-share "
               f"consumer(s) still to settle")
        with self.explaining():
            if share < 1:
                raise BudgetExceededError(f"{why}; that is no connection at all")
            try:
                return booking._plan_for(share, left)
            except BudgetError as err:
                if "holding connections on" in str(err):
                    raise
                raise type(err)(f"{why}; with it: {err}") from None

    def settle_next(self, booking: Booking[Any]) -> None:
        """Settle ``booking``, the first pending consumer of this ledger."""
        if not self._pending or self._pending[0] is not booking:
            raise ValueError(f"{booking.consumer} is not the next pending consumer of {self.name}")
        left = self.unclaimed
        splitting = self._share(0)
        booking._settle(self._default_plan(booking, left, splitting))
        self._pending.pop(0)
        self._defaults_settled += 1

    def settle(self, why: str = "settled") -> None:
        """Settle every pending default share, in the order they were booked (module docs)."""
        while self._pending:
            self.settle_next(self._pending[0])
        self.settled_by = why

    # -- messages ----------------------------------------------------------------------------------
    def holders(self) -> str:
        """Who holds connections and what is left, for error messages."""
        held = "; ".join(f"{a.consumer} ({a.paradigm}) {a.connections}" for a in self._allocations)
        waiting = (f"; waiting for a default share: {', '.join(self.pending)}" if self._pending else "")
        return (f"holding connections on {self.name}: {held or 'nobody yet'}{waiting}; left {self.unclaimed} "
                f"of {self.available} available ({self._available_why()})")

    def _available_why(self) -> str:
        if self.share is not None:
            return f"this app's share of the {self.limit.usable} usable"
        return f"{self.limit.usable} usable - {self.reserve} reserve"

    def fixes(self) -> str:
        """What a user can change when a consumer does not fit."""
        ways = []
        explicit = [a for a in self._allocations if not a.default_share and a.paradigm != EXTERNAL]
        if explicit:
            ways.append("give " + ", ".join(f"{a.consumer} (holding {a.connections})" for a in explicit)
                        + " a smaller `connections=`")
        external = [a for a in self._allocations if a.paradigm == EXTERNAL]
        if external:
            ways.append("hand other apps less (external_consumers: "
                        + ", ".join(f"{a.consumer} {a.connections}" for a in external) + ")")
        defaults = [*(a.consumer for a in self._allocations if a.default_share), *self.pending]
        if len(defaults) > 1:
            ways.append(f"attach fewer default-share consumers ({', '.join(defaults)} split what is left)")
        if self.consumers > 1:
            ways.append(f"lower consumers={self.consumers} on the database (it holds back room for "
                        f"{self.consumers} default shares)")
        if self.share is None:
            if self.reserve:
                ways.append(f"lower the reserve (reserve={self.reserve})")
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
            if (not self._allocations and not self._pending) or "holding connections on" in str(err):
                raise
            raise type(err)(f"{err}; {self.holders()}; {self.fixes()}") from None

    def _check_new(self, consumer: str) -> None:
        if any(a.consumer == consumer for a in self._allocations) or consumer in self.pending:
            raise BudgetError(f"consumer {consumer!r} already has an allocation on this database; "
                              f"give each consumer a unique name")

    def _refuse(self, consumer: str, connections: int, paradigm: str) -> None:
        claimed = self.available - self.unclaimed
        shares = "; ".join(f"{a.consumer} ({a.paradigm}) {a.connections}"
                           for a in (*self._allocations, Allocation(consumer, paradigm, connections)))
        waiting = (f"; waiting for a default share of what is left: {', '.join(self.pending)}"
                   if self._pending else "")
        raise BudgetExceededError(
            f"allocations on {self.name} add up to {claimed + connections}"
            f" connections, over the {self.available} available ({self._available_why()}): {shares}"
            f"{waiting}; left {self.unclaimed} before {consumer}; {self.fixes()}")

    def _record(self, allocation: Allocation) -> Allocation:
        if allocation.connections > self.unclaimed:
            self._refuse(allocation.consumer, allocation.connections, allocation.paradigm)
        self._allocations.append(allocation)
        return allocation

    def allocate(self, consumer: str, connections: int, *, paradigm: str, detail: str = "",
                 default_share: bool = False, deploy_strategy: str = "",
                 compute_model: str = "") -> Allocation:
        """Book exactly ``connections`` for ``consumer`` now (one connection of a helper, say)."""
        self._check_new(consumer)
        check_whole(f"connections for {consumer!r}", connections, minimum=1)
        return self._record(Allocation(consumer, paradigm, connections, detail, default_share,
                                       deploy_strategy, compute_model))

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
        shares = "".join(f"; {a.consumer} ({a.paradigm}) {a.connections}" for a in self.allocations)
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
                  for a in self.allocations]
        lines += [f"| **left** | | {self.remaining} | of {self.available} available | | |"]
        return "\n".join(lines) + "\n"
