"""Reserved concurrency is an account-wide budget: one per account and Region.

Lambda's concurrency quota (1,000 by default, 10 on some new accounts) is shared
by every function in an account and Region, and at least 100 must stay
unreserved (Lambda developer guide, "Lambda quotas"). A function's reserved
concurrency therefore competes with every other function of the app, in every
stack: :class:`AccountConcurrency` books them all and refuses the sum over
``quota - 100`` with each function listed. Read your quota with
``aws lambda get-account-settings`` (``AccountLimit.ConcurrentExecutions``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import BudgetExceededError
from .plan import DEFAULT_ACCOUNT_CONCURRENCY, UNRESERVED_CONCURRENCY_MINIMUM, check_whole

#: What to tell a user about the quota input, in every message that names it.
QUOTA_HOW_TO = ("read the quota with `aws lambda get-account-settings` (AccountLimit.ConcurrentExecutions) "
                "and pass it as the `deploy-paradigms:accountConcurrencyLimit` CDK context / Pulumi config "
                "or account_concurrency_limit=")


@dataclass(frozen=True)
class Reservation:
    """Reserved concurrency one function holds in an account and Region."""

    function: str
    concurrency: int


class AccountConcurrency:
    """The reserved concurrency of every function in one account and Region."""

    def __init__(self, account: str, region: str, quota: int = DEFAULT_ACCOUNT_CONCURRENCY) -> None:
        self.account = account
        self.region = region
        self.quota = check_whole(
            "account_concurrency_limit", quota, minimum=UNRESERVED_CONCURRENCY_MINIMUM + 1,
            fix="pass your account's Lambda concurrent-executions quota (default 1000)")
        self._reservations: list[Reservation] = []

    @property
    def where(self) -> str:
        return f"account {self.account}, Region {self.region}"

    @property
    def reservable(self) -> int:
        """What all functions together may reserve: the quota minus the 100 kept unreserved."""
        return self.quota - UNRESERVED_CONCURRENCY_MINIMUM

    @property
    def reserved(self) -> int:
        return sum(r.concurrency for r in self._reservations)

    @property
    def remaining(self) -> int:
        return self.reservable - self.reserved

    @property
    def reservations(self) -> tuple[Reservation, ...]:
        return tuple(self._reservations)

    def holders(self) -> str:
        held = "; ".join(f"{r.function} {r.concurrency}" for r in self._reservations)
        return (f"reserved in {self.where}: {held or 'nothing yet'}; left {self.remaining} of "
                f"{self.reservable} reservable (quota {self.quota} - {UNRESERVED_CONCURRENCY_MINIMUM} "
                f"unreserved)")

    def reserve(self, function: str, concurrency: int) -> Reservation:
        """Book ``concurrency`` for ``function``; over the reservable total raises, listing every function."""
        check_whole(f"reserved concurrency of {function!r}", concurrency, minimum=1)
        if concurrency > self.remaining:
            listed = "; ".join(f"{r.function} {r.concurrency}"
                               for r in (*self._reservations, Reservation(function, concurrency)))
            raise BudgetExceededError(
                f"reserved concurrency in {self.where} adds up to {self.reserved + concurrency}, over the "
                f"{self.reservable} reservable (quota {self.quota} - {UNRESERVED_CONCURRENCY_MINIMUM} that "
                f"must stay unreserved): {listed}; left {self.remaining} before {function}; fix: give "
                f"functions smaller reserved_concurrency= or connections=, or raise the quota: "
                f"{QUOTA_HOW_TO}")
        reservation = Reservation(function, concurrency)
        self._reservations.append(reservation)
        return reservation

    def requote(self, quota: int, requested_by: str = "") -> None:
        """Replace a quota nothing has depended on yet (see ``Deployment.account``); the
        reservations made so far must fit the new one."""
        check_whole("account_concurrency_limit", quota, minimum=UNRESERVED_CONCURRENCY_MINIMUM + 1,
                    fix="pass your account's Lambda concurrent-executions quota (default 1000)")
        if self.reserved > quota - UNRESERVED_CONCURRENCY_MINIMUM:
            listed = "; ".join(f"{r.function} {r.concurrency}" for r in self._reservations)
            raise BudgetExceededError(
                f"account_concurrency_limit={quota} on {requested_by} leaves "
                f"{quota - UNRESERVED_CONCURRENCY_MINIMUM} reservable in {self.where}, fewer than the "
                f"{self.reserved} already reserved: {listed}; {QUOTA_HOW_TO}")
        self.quota = quota

    def summary(self) -> str:
        lines = [f"**Lambda reserved concurrency, {self.where}**: quota {self.quota}, "
                 f"{self.reservable} reservable ({UNRESERVED_CONCURRENCY_MINIMUM} stay unreserved).", "",
                 "| function | reserved concurrency |", "|---|---:|"]
        lines += [f"| {r.function} | {r.concurrency} |" for r in self._reservations]
        lines += [f"| **left** | {self.remaining} |"]
        return "\n".join(lines) + "\n"
