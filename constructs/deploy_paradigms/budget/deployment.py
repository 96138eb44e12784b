"""One ledger for a whole deployment: every database's ledger and every account's concurrency.

A CDK app (all its stacks) or a Pulumi program owns one :class:`Deployment`. Each
``Database`` registers its :class:`ConnectionLedger` here and each function books
its reserved concurrency on the :class:`AccountConcurrency` of its account and
Region, so limits hold across stacks, and :meth:`Deployment.report` is the
app-wide budget report (what the PR summary shows).

It also settles the default shares (:meth:`Deployment.settle`): once the program has
declared every consumer (CDK: before synth; Pulumi: after the program body), every
pending default-share consumer of every ledger is settled in the order it was declared,
so reserved concurrency is booked on the account in that order too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .account import QUOTA_HOW_TO, AccountConcurrency
from .errors import BudgetError, BudgetExceededError
from .ledger import Allocation, Booking, ConnectionLedger
from .plan import (
    DEFAULT_ACCOUNT_CONCURRENCY,
    DEFAULT_FUNCTION_TIMEOUT_S,
    UNRESERVED_CONCURRENCY_MINIMUM,
    ProxySettings,
    ServerlessPlan,
    check_whole,
    plan_serverless,
)

#: CDK context key / Pulumi config key holding the account's Lambda concurrency quota.
ACCOUNT_CONCURRENCY_KEY = "deploy-paradigms:accountConcurrencyLimit"


def parse_quota(raw: object, *, source: str, example: str) -> int | None:
    """The quota from a CDK context value / Pulumi config string (None when unset); what the
    constructs and BudgetGuard both read. ``source`` names where it came from, ``example`` how to set it."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw)
    raise BudgetError(f"{source} {ACCOUNT_CONCURRENCY_KEY}={raw!r} must be a whole number: your "
                      f"account's Lambda concurrency quota, e.g. {example}")


@dataclass
class ProxyShare:
    """An RDS Proxy a consumer created: the database connections it may open (booked once, on
    the database's ledger, by its owner) and the clients (reserved concurrency x connection_limit)
    of every function that uses it, booked here and not again on the database's ledger."""

    owner: str
    ledger: ConnectionLedger
    connections: int
    clients: list[tuple[str, int]] = field(default_factory=list)
    settings: ProxySettings | None = None  # the owner's proxy settings (what a client plans with)

    @classmethod
    def created(cls, owner: str, ledger: ConnectionLedger, plan: ServerlessPlan) -> ProxyShare:
        """The share of the proxy ``owner`` created from ``plan``, ``owner``'s clients booked."""
        return cls(owner, ledger, plan.proxy.database_connections(ledger.limit),
                   [(owner, plan.reserved_concurrency * plan.connection_limit)], plan.proxy)

    @property
    def remaining(self) -> int:
        return self.connections - sum(n for _, n in self.clients)

    def check_database(self, function: str, ledger: ConnectionLedger) -> None:
        """A function may share only a proxy in front of its own database."""
        if ledger is not self.ledger:
            raise BudgetError(
                f"{function}: proxy= is the RDS Proxy of {self.owner}, in front of {self.ledger.name}, not "
                f"{ledger.name}; its connections would be booked on the wrong ledger: pass database= that "
                f"database, or omit proxy to create one for {ledger.name}")

    def holders(self) -> str:
        held = "; ".join(f"{name} {n}" for name, n in self.clients)
        return f"held by {held or 'nobody yet'}; left {self.remaining}"

    def _refuse(self, function: str, clients: int) -> BudgetExceededError:
        return BudgetExceededError(
            f"{function} shares the RDS Proxy of {self.owner}, which opens {self.connections} database "
            f"connections: its {clients} client(s) do not fit ({self.holders()}); "
            f"fix: give {function} connections={max(self.remaining, 0)} or fewer (or a smaller "
            f"reserved_concurrency), create {self.owner} with a larger proxy_max_connections_percent (or "
            f"smaller reserved_concurrency) so the proxy has room for both, or omit proxy so {function} "
            f"gets its own")

    def plan_client(self, function: str, *, connections: int | None = None,
                    reserved_concurrency: int | None = None,
                    function_timeout_s: int = DEFAULT_FUNCTION_TIMEOUT_S,
                    account: AccountConcurrency | None = None) -> ServerlessPlan:
        """Plan ``function`` as a client of this proxy: ``connections`` of what it has left (omitted:
        all of it), the proxy's settings unchanged. Nothing is booked on the database's ledger: the
        owner booked the proxy's database connections."""
        wanted = self.remaining if connections is None else connections
        if self.remaining < 1 or (isinstance(wanted, int) and wanted > self.remaining):
            raise self._refuse(function, wanted if isinstance(wanted, int) and wanted > 0 else 1)
        plan = plan_serverless(self.ledger.limit, self.remaining, connections=wanted,
                               reserved_concurrency=reserved_concurrency,
                               function_timeout_s=function_timeout_s, account=account,
                               shared_proxy=self.settings)
        return replace(plan, proxy_connections=self.connections, shared_proxy_of=self.owner)

    def book(self, function: str, plan: ServerlessPlan) -> Allocation:
        """Book ``function``'s clients; more than the proxy opens raises, naming every client. The
        allocation returned is on this proxy, not on the database's ledger."""
        clients = plan.reserved_concurrency * plan.connection_limit
        if clients > self.remaining:
            raise self._refuse(function, clients)
        self.clients.append((function, clients))
        return Allocation(function, "serverless", clients,
                          f"{plan.summary()}; {clients} client(s) of the RDS Proxy of {self.owner}, whose "
                          f"{self.connections} database connections {self.owner} holds",
                          deploy_strategy=plan.deploy_strategy, compute_model=plan.compute_model)

    def summary(self) -> str:
        """One line for the app-wide report."""
        return (f"RDS Proxy of {self.owner} on {self.ledger.name}: {self.connections} database connections; "
                f"clients: {self.holders()}")

    def resize(self, owner_connections: int, owner_clients: int) -> None:
        """The owner's settled plan: what its proxy opens and its own clients (a default share)."""
        self.connections = owner_connections
        self.clients[0] = (self.owner, owner_clients)

    def check_settled(self) -> None:
        """After settlement: every client still fits what the proxy opens."""
        if self.remaining < 0:
            held = "; ".join(f"{name} {n}" for name, n in self.clients)
            raise BudgetExceededError(
                f"the RDS Proxy of {self.owner} opens {self.connections} database connections once its "
                f"default share settled, fewer than the clients of the functions sharing it ({held}); fix: "
                f"give {self.owner} connections= and proxy_max_connections_percent= large enough for "
                f"every function behind it, or lower their reserved_concurrency")


def book_check_connection(ledger: ConnectionLedger, consumer: str) -> None:
    """BudgetCheck's one connection, once per deploy: an admin session out of the reserve kept for
    admin sessions and migrations (as the role bootstrap's and the migrations' are), so a check
    added after every consumer fits. A ledger without a reserve of its own (an import's ``share``)
    books it like a consumer."""
    if ledger.share is not None:
        with ledger.explaining():
            ledger.allocate(consumer, 1, paradigm="budget check", detail="one connection, once per deploy")
    elif ledger.reserve < 1:
        raise BudgetError(f"{consumer}: {ledger.name} keeps reserve=0, which leaves no connection for the "
                          f"budget check's one admin session; keep a reserve of at least 1 (omit reserve "
                          f"for the default)")


class Deployment:
    """The ledgers of one app: databases by path, reserved concurrency by account and Region."""

    def __init__(self, *, account_concurrency_limit: int | None = None) -> None:
        self.default_quota = account_concurrency_limit
        self.ledgers: dict[str, ConnectionLedger] = {}
        self._accounts: dict[tuple[str, str], AccountConcurrency] = {}
        self._explicit_quota: dict[tuple[str, str], str] = {}
        #: Accounts whose quota something depended on (a consumer that plans with it).
        self._pinned: set[tuple[str, str]] = set()
        self._proxies: dict[int, tuple[Any, ProxyShare]] = {}
        self._pending: list[Booking[Any]] = []
        #: Why the deployment settled ("" until then); later default shares are refused.
        self.settled_by = ""
        #: Called once when the first default share waits (Pulumi schedules :meth:`settle`).
        self.schedule: Callable[[], None] | None = None
        self._scheduled = False

    def register_proxy(self, proxy: Any, share: ProxyShare) -> None:
        """Record a proxy a consumer created (keyed by the object; the object is kept alive)."""
        self._proxies[id(proxy)] = (proxy, share)

    def proxy_share(self, proxy: Any) -> ProxyShare | None:
        """The share of a proxy this app created; None for a proxy made elsewhere."""
        found = self._proxies.get(id(proxy))
        return found[1] if found is not None and found[0] is proxy else None

    def register(self, path: str, ledger: ConnectionLedger) -> None:
        """Record a database's ledger under its construct path / Pulumi name."""
        self.ledgers[path] = ledger  # paths / Pulumi names are unique in an app; the engines enforce it
        ledger.on_pending = self._pending_share

    def _pending_share(self, booking: Booking[Any]) -> None:
        self._pending.append(booking)
        if self.schedule is not None and not self._scheduled:
            self._scheduled = True
            self.schedule()

    @property
    def pending(self) -> tuple[str, ...]:
        """Default-share consumers of every ledger waiting for :meth:`settle`."""
        return tuple(b.consumer for b in self._pending)

    def settle(self, why: str = "settled") -> None:
        """Settle every pending default share, in the order the consumers were declared (each
        ledger splits what its explicit shares leave; see ``budget.ledger``). Idempotent; a
        budget error names the consumer, its share, every holder and the fixes."""
        while self._pending:
            booking = self._pending.pop(0)
            booking.ledger.settle_next(booking)
        for ledger in self.ledgers.values():
            ledger.settle(why)
        self.settled_by = why
        for _, share in self._proxies.values():
            share.check_settled()

    def account(self, account: str, region: str, *, quota: int | None = None,
                requested_by: str = "", provisional: bool = False) -> AccountConcurrency:
        """The concurrency ledger of ``account``/``region``. ``quota`` given by a construct
        must agree with any other given for the same account and Region.

        ``provisional``: the caller's booking does not depend on the quota (a helper function's
        fixed reserved concurrency of 1, booked when its database is created), so the default
        quota it finds is not fixed by it: a later consumer's explicit quota replaces it."""
        key = (account, region)
        if quota is not None:
            check_whole("account_concurrency_limit", quota, minimum=UNRESERVED_CONCURRENCY_MINIMUM + 1,
                        fix="pass your account's Lambda concurrent-executions quota (default 1000)")
        existing = self._accounts.get(key)
        if existing is None:
            existing = AccountConcurrency(account, region,
                                          quota or self.default_quota or DEFAULT_ACCOUNT_CONCURRENCY)
            self._accounts[key] = existing
            if quota is not None:
                self._explicit_quota[key] = requested_by
        elif quota is not None and quota != existing.quota:
            first = self._explicit_quota.get(key)
            if first is None and not self.default_quota and key not in self._pinned:
                existing.requote(quota, requested_by)  # only provisional bookings used the default
                self._explicit_quota[key] = requested_by
            else:
                source = f"{first} set it" if first else (
                    f"the app's {ACCOUNT_CONCURRENCY_KEY} setting" if self.default_quota else "the default")
                raise BudgetError(
                    f"account_concurrency_limit={quota} on {requested_by} disagrees with the quota "
                    f"{existing.quota} already used for {existing.where} ({source}); one account has one "
                    f"quota: {QUOTA_HOW_TO}")
        elif quota is not None:
            self._explicit_quota.setdefault(key, requested_by)
        if not provisional:
            self._pinned.add(key)
        return existing

    @property
    def accounts(self) -> tuple[AccountConcurrency, ...]:
        return tuple(self._accounts.values())

    def report(self) -> str:
        """Markdown: every database's ledger, then reserved concurrency per account and Region."""
        parts = ["## Connection budget (whole app)", ""]
        for path, ledger in sorted(self.ledgers.items()):
            parts += [f"### `{path}`", "", ledger.summary()]
        shared = [share for _, share in self._proxies.values() if len(share.clients) > 1]
        if shared:
            parts += ["### Shared RDS Proxies", "", *(f"- {share.summary()}" for share in shared), ""]
        for account in self.accounts:
            parts += [account.summary()]
        return "\n".join(parts)
