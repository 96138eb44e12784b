"""One ledger for a whole deployment: every database's ledger and every account's concurrency.

A CDK app (all its stacks) or a Pulumi program owns one :class:`Deployment`. Each
``Database`` registers its :class:`ConnectionLedger` here and each function books
its reserved concurrency on the :class:`AccountConcurrency` of its account and
Region, so limits hold across stacks, and :meth:`Deployment.report` is the
app-wide budget report (what the PR summary shows).
"""

from __future__ import annotations

from .account import QUOTA_HOW_TO, AccountConcurrency
from .errors import BudgetError
from .ledger import ConnectionLedger
from .plan import DEFAULT_ACCOUNT_CONCURRENCY, UNRESERVED_CONCURRENCY_MINIMUM, check_whole

#: CDK context key / Pulumi config key holding the account's Lambda concurrency quota.
ACCOUNT_CONCURRENCY_KEY = "deploy-paradigms:accountConcurrencyLimit"


class Deployment:
    """The ledgers of one app: databases by path, reserved concurrency by account and Region."""

    def __init__(self, *, account_concurrency_limit: int | None = None) -> None:
        self.default_quota = account_concurrency_limit
        self.ledgers: dict[str, ConnectionLedger] = {}
        self._accounts: dict[tuple[str, str], AccountConcurrency] = {}
        self._explicit_quota: dict[tuple[str, str], str] = {}

    def register(self, path: str, ledger: ConnectionLedger) -> None:
        """Record a database's ledger under its construct path / Pulumi name."""
        self.ledgers[path] = ledger  # paths / Pulumi names are unique in an app; the engines enforce it

    def account(self, account: str, region: str, *, quota: int | None = None,
                requested_by: str = "") -> AccountConcurrency:
        """The concurrency ledger of ``account``/``region``. ``quota`` given by a construct
        must agree with any other given for the same account and Region."""
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
            source = f"{first} set it" if first else (
                f"the app's {ACCOUNT_CONCURRENCY_KEY} setting" if self.default_quota else "the default")
            raise BudgetError(
                f"account_concurrency_limit={quota} on {requested_by} disagrees with the quota "
                f"{existing.quota} already used for {existing.where} ({source}); one account has one quota: "
                f"{QUOTA_HOW_TO}")
        elif quota is not None:
            self._explicit_quota.setdefault(key, requested_by)
        return existing

    @property
    def accounts(self) -> tuple[AccountConcurrency, ...]:
        return tuple(self._accounts.values())

    def report(self) -> str:
        """Markdown: every database's ledger, then reserved concurrency per account and Region."""
        parts = ["## Connection budget (whole app)", ""]
        for path, ledger in sorted(self.ledgers.items()):
            parts += [f"### `{path}`", "", ledger.summary()]
        for account in self.accounts:
            parts += [account.summary()]
        return "\n".join(parts)
