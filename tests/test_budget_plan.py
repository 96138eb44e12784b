"""Planner and ledger: table tests for the documented numbers, properties for the promise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deploy_paradigms.budget import (
    BudgetError,
    BudgetExceededError,
    ConnectionLedger,
    Engine,
    describe_connection_limit,
    known_instance_classes,
    peak_tasks,
    plan_containers,
    plan_serverless,
)

M5_LARGE = describe_connection_limit("postgres", "db.m5.large")


def test_serverless_no_reserve_full_proxy_is_the_seed_rule() -> None:
    ledger = ConnectionLedger(M5_LARGE, reserve=0)
    plan = plan_serverless(M5_LARGE, ledger.available, proxy_max_connections_percent=100)
    assert plan.reserved_concurrency == 813
    assert plan.connection_limit == 1
    assert plan.url.query_string() == (
        "connection_limit=1&pool_timeout=10&connect_timeout=5&sslmode=verify-full"
        "&socket_timeout=29&statement_timeout=28000")  # 30 s function


def test_serverless_defaults_keep_85_percent() -> None:
    ledger = ConnectionLedger(M5_LARGE)
    plan = plan_serverless(M5_LARGE, ledger.available)
    assert 0.85 * 813 <= plan.reserved_concurrency <= 813
    assert plan.proxy.idle_client_timeout_s < 1800
    assert plan.proxy.require_tls
    assert plan.proxy.database_connections(M5_LARGE) <= ledger.available


def test_serverless_clamps_to_account_and_refuses_explicit_request() -> None:
    big = describe_connection_limit("postgres", "db.m5.4xlarge")
    plan = plan_serverless(big, ConnectionLedger(big).available)
    assert plan.reserved_concurrency == 900 and plan.limited_by == "account"
    # The proxy shrinks to the smallest share that serves 900 clients; the rest stays free.
    assert plan.proxy.max_connections_percent == 18  # 18 % of 5000 = 900
    assert plan.connections == plan.proxy.database_connections(big) == 900
    with pytest.raises(BudgetError, match="account_concurrency_limit=<new quota>"):
        plan_serverless(big, 4000, reserved_concurrency=950)
    raised = plan_serverless(big, ConnectionLedger(big).available, account_concurrency_limit=5000)
    assert raised.reserved_concurrency > 900


def test_serverless_refuses_more_than_the_database() -> None:
    with pytest.raises(BudgetError, match="exceeds what db.m5.large allows"):
        plan_serverless(M5_LARGE, 772, reserved_concurrency=800)


@pytest.mark.parametrize("percent", [0, 101, -5])
def test_proxy_percent_range(percent: int) -> None:
    with pytest.raises(BudgetError, match="proxy_max_connections_percent"):
        plan_serverless(M5_LARGE, 813, proxy_max_connections_percent=percent)


def test_proxy_percent_beyond_allocation_is_refused() -> None:
    with pytest.raises(BudgetError, match="use at most 93"):
        plan_serverless(M5_LARGE, 772, proxy_max_connections_percent=100)


def test_borrow_timeout_must_undercut_function_timeout() -> None:
    with pytest.raises(BudgetError, match="borrow_timeout_s=30 must be shorter"):
        plan_serverless(M5_LARGE, 772, borrow_timeout_s=30, function_timeout_s=30)


def test_containers_pool_covers_rolling_deploy() -> None:
    plan = plan_containers(M5_LARGE, 772, max_tasks=4)
    assert plan.peak_tasks == 8
    assert plan.pool_size == 96
    assert plan.pool_size * plan.peak_tasks <= 772
    assert plan.url.connection_limit == plan.pool_size


def test_containers_pool_below_one_suggests_ways_out() -> None:
    micro = describe_connection_limit("postgres", "db.t3.micro")
    with pytest.raises(BudgetError) as err:
        plan_containers(micro, ConnectionLedger(micro).available, max_tasks=100)
    msg = str(err.value)
    for hint in ("max_tasks <= 36", "larger instance class", "maximum_percent", "RDS Proxy"):
        assert hint in msg


def test_containers_checks_given_pool() -> None:
    with pytest.raises(BudgetError, match="pool_size=200"):
        plan_containers(M5_LARGE, 772, max_tasks=4, pool_size=200)
    assert plan_containers(M5_LARGE, 772, max_tasks=4, pool_size=10).connections == 80


def test_containers_min_over_max() -> None:
    with pytest.raises(BudgetError, match="min_tasks=5 is greater than max_tasks=2"):
        plan_containers(M5_LARGE, 772, max_tasks=2, min_tasks=5)


def test_ledger_refuses_overallocation_naming_each_consumer() -> None:
    ledger = ConnectionLedger(M5_LARGE, reserve=13)  # 800 available
    ledger.allocate("Api", 500, paradigm="serverless")
    with pytest.raises(BudgetExceededError) as err:
        ledger.allocate("Web", 400, paradigm="containers")
    msg = str(err.value)
    assert "Api (serverless) 500" in msg and "Web (containers) 400" in msg and "800 available" in msg
    assert ledger.remaining == 300


@pytest.mark.parametrize("reserve", [-1, 813, 10_000])
def test_reserve_range(reserve: int) -> None:
    with pytest.raises(BudgetError, match=f"reserve={reserve}"):
        ConnectionLedger(M5_LARGE, reserve=reserve)


def test_ledger_summary_lists_allocations() -> None:
    ledger = ConnectionLedger(M5_LARGE)
    ledger.allocate("Api", 100, paradigm="serverless", detail="cap 100")
    text = ledger.summary()
    assert "| Api | serverless | 100 | cap 100 |" in text and "max_connections 823" in text


# --- properties: no plan ever exceeds what it was given -------------------------------

_LIMITS = [describe_connection_limit(e, c) for e in Engine for c in known_instance_classes(e)
           if c != "db.serverless"]
limits = st.sampled_from(_LIMITS)


@settings(max_examples=300, deadline=None)
@given(limit=limits, reserve_frac=st.floats(0, 0.5), percent=st.one_of(st.none(), st.integers(1, 100)),
       conn_limit=st.integers(1, 5), account=st.integers(101, 20_000))
def test_serverless_plan_never_exceeds(limit, reserve_frac, percent, conn_limit, account) -> None:  # type: ignore[no-untyped-def]
    ledger = ConnectionLedger(limit, reserve=int(limit.usable * reserve_frac))
    try:
        plan = plan_serverless(limit, ledger.available, proxy_max_connections_percent=percent,
                               connection_limit=conn_limit, account_concurrency_limit=account)
    except BudgetError:
        return
    assert plan.reserved_concurrency * plan.connection_limit <= plan.connections <= ledger.available
    assert plan.proxy.database_connections(limit) <= plan.connections
    # The proxy can serve every client it admits (worst case: each one pinned).
    assert plan.proxy.database_connections(limit) >= plan.reserved_concurrency * plan.connection_limit
    assert plan.reserved_concurrency <= account - 100
    ledger.allocate("fn", plan.connections, paradigm="serverless")


@settings(max_examples=300, deadline=None)
@given(limit=limits, max_tasks=st.integers(1, 400), maximum_percent=st.integers(100, 200),
       pool=st.one_of(st.none(), st.integers(1, 200)))
def test_container_plan_never_exceeds(limit, max_tasks, maximum_percent, pool) -> None:  # type: ignore[no-untyped-def]
    ledger = ConnectionLedger(limit)
    try:
        plan = plan_containers(limit, ledger.available, max_tasks=max_tasks, pool_size=pool,
                               maximum_percent=maximum_percent, minimum_healthy_percent=50)
    except BudgetError:
        return
    assert plan.pool_size >= 1
    assert plan.pool_size * peak_tasks(max_tasks, maximum_percent) <= ledger.available
    assert plan.largest_max_tasks >= max_tasks
    assert peak_tasks(plan.largest_max_tasks, maximum_percent) * plan.pool_size <= ledger.available


@settings(max_examples=100, deadline=None)
@given(limit=limits)
def test_defaults_keep_85_percent_of_the_usable_budget(limit) -> None:  # type: ignore[no-untyped-def]
    ledger = ConnectionLedger(limit)
    plan = plan_serverless(limit, ledger.available, account_concurrency_limit=100_000)
    assert plan.reserved_concurrency >= 0.85 * limit.usable
