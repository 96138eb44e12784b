"""Budget summaries for review: one markdown file per example stack and Pulumi program.

Each summary is rendered from the plan objects the constructs used (the
database's ledger, each consumer's ``ServerlessPlan`` / ``ContainerPlan``),
never from the template, and compared with the committed file under
``tests/__snapshots__/test_budget_summaries/``. A pull request that changes a
connection budget therefore shows the change in those files; ``make snapshots``
(``pytest --snapshot-update``) rewrites them. CDK stacks come from the session's
default-context synth; Pulumi programs are rendered offline with the default config.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from deploy_paradigms.budget import ConnectionLedger, ContainerPlan, ServerlessPlan

CDK_STACKS = ("Serverless", "Paas", "Edge")
PULUMI_PARADIGMS = ("serverless", "paas", "edge")


class MarkdownSnapshot(SingleFileSnapshotExtension):
    """One readable ``.md`` file per test: a PR diff shows the budget change line by line."""

    _write_mode = WriteMode.TEXT
    file_extension = "md"


# --------------------------------------------------------------------------- rendering


Plan = ServerlessPlan | ContainerPlan


def render_summary(title: str, ledger: ConnectionLedger, plans: dict[str, Plan]) -> str:
    """Markdown from the ledger and the consumers' plans (``plans`` keyed by ledger consumer name).

    Only reads decisions; computes nothing but the presentation.
    """
    lines = [f"# Connection budget: {title}", "", ledger.summary().rstrip("\n"), ""]
    consumers = [a.consumer for a in ledger.allocations]
    missing = [c for c in consumers if c not in plans]
    assert not missing, f"allocations without a plan object: {missing}"
    serverless = [(c, plans[c]) for c in consumers if isinstance(plans[c], ServerlessPlan)]
    containers = [(c, plans[c]) for c in consumers if isinstance(plans[c], ContainerPlan)]
    if serverless:
        lines += [
            "## Lambda behind RDS Proxy",
            "",
            "| consumer | reserved concurrency (cap) | connection_limit | proxy MaxConnectionsPercent "
            "| proxy DB connections | idle client timeout | borrow timeout | function timeout | cap set by |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for name, plan in serverless:
            assert isinstance(plan, ServerlessPlan)
            proxy = plan.proxy
            lines.append(
                f"| {name} | {plan.reserved_concurrency} | {plan.connection_limit} "
                f"| {proxy.max_connections_percent} % (idle {proxy.max_idle_connections_percent} %) "
                f"| {proxy.database_connections(plan.limit)} | {proxy.idle_client_timeout_s} s "
                f"| {proxy.borrow_timeout_s} s | {plan.function_timeout_s} s | {plan.limited_by} |")
        lines += ["", *_url_lines(serverless), ""]
    if containers:
        lines += [
            "## Containers behind a load balancer",
            "",
            "| consumer | pool per task | tasks (min-max) | deploy maximum % | peak tasks "
            "| pool x peak tasks | most max tasks at this pool |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, plan in containers:
            assert isinstance(plan, ContainerPlan)
            lines.append(
                f"| {name} | {plan.pool_size} | {plan.min_tasks}-{plan.max_tasks} | {plan.maximum_percent} % "
                f"| {plan.peak_tasks} | {plan.pool_size} x {plan.peak_tasks} = {plan.connections} "
                f"| {plan.largest_max_tasks} |")
        lines += ["", *_url_lines(containers), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _url_lines(plans: list[tuple[str, Plan]]) -> list[str]:
    return [f"- `{name}` URL parameters: `{plan.url.query_string()}`" for name, plan in plans]


def consumer_plans(objects: Iterable[Any]) -> dict[str, Plan]:
    """Ledger consumer name -> plan, for every object that allocated on a ledger."""
    plans: dict[str, Plan] = {}
    for obj in objects:
        allocation = getattr(obj, "allocation", None)
        plan = getattr(obj, "plan", None)
        if allocation is not None and isinstance(plan, ServerlessPlan | ContainerPlan):
            plans[allocation.consumer] = plan
    return plans


# --------------------------------------------------------------------------- CDK


def _app_of(assembly: Any) -> Any:
    """The ``cdk.App`` that produced ``assembly`` (the session synth keeps only the assembly).

    Uses ``conftest.app_of`` when the shared fixtures provide it; otherwise finds the
    app among the objects jsii keeps alive (it never frees an object created from
    Python), by its output directory.
    """
    import conftest

    app_of: Callable[[Any], Any] | None = getattr(conftest, "app_of", None)
    if app_of is not None:
        return app_of(assembly)
    import aws_cdk as cdk
    from jsii import _reference_map

    apps = [obj for obj in list(_reference_map._refs._refs.values())
            if isinstance(obj, cdk.App) and obj.outdir == assembly.directory]
    assert len(apps) == 1, f"cannot find the app of {assembly.directory}"
    return apps[0]


def _walk(construct: Any) -> Iterator[Any]:
    yield construct
    for child in construct.node.children:
        yield from _walk(child)


@pytest.fixture(scope="module")
def cdk_app(synth: Callable[..., Any]) -> Any:
    return _app_of(synth(CDK_STACKS))


@pytest.mark.parametrize("stack_name", CDK_STACKS)
def test_cdk_budget_summary(cdk_app: Any, stack_name: str, snapshot: Any) -> None:
    from deploy_paradigms.cdk.database import Database

    stack = cdk_app.node.find_child(stack_name)
    constructs = list(_walk(stack))
    databases = [c for c in constructs if isinstance(c, Database)]
    assert len(databases) == 1, f"{stack_name}: expected one Database, found {len(databases)}"
    summary = render_summary(f"CDK stack `{stack_name}` (default context)", databases[0].ledger,
                             consumer_plans(constructs))
    assert summary == snapshot(extension_class=MarkdownSnapshot)


# --------------------------------------------------------------------------- Pulumi


def _pulumi_components(paradigm: str, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Render the example program offline and keep every budget-carrying component it builds."""
    from deploy_paradigms.pulumi import ContainerService, Database, ServerlessFunction
    from deploy_paradigms.pulumi.preview import render

    built: list[Any] = []
    for cls in (Database, ServerlessFunction, ContainerService):
        original = cls.__init__

        def recording(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> None:
            __original(self, *args, **kwargs)
            built.append(self)

        monkeypatch.setattr(cls, "__init__", recording)
    render(paradigm)
    monkeypatch.undo()
    return built


@pytest.mark.parametrize("paradigm", PULUMI_PARADIGMS)
def test_pulumi_budget_summary(paradigm: str, snapshot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from deploy_paradigms.pulumi import Database

    components = _pulumi_components(paradigm, monkeypatch)
    databases = [c for c in components if isinstance(c, Database)]
    assert len(databases) == 1, f"{paradigm}: expected one Database, found {len(databases)}"
    summary = render_summary(f"Pulumi program, paradigm `{paradigm}` (default config)", databases[0].ledger,
                             consumer_plans(components))
    assert summary == snapshot(extension_class=MarkdownSnapshot)


def test_summaries_agree_between_cdk_and_pulumi(cdk_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same defaults, same budget: the allocations differ only in the consumers' names."""
    from deploy_paradigms.cdk.database import Database as CdkDatabase
    from deploy_paradigms.pulumi import Database as PulumiDatabase

    for stack_name, paradigm in zip(CDK_STACKS, PULUMI_PARADIGMS, strict=True):
        cdk_ledger = next(c for c in _walk(cdk_app.node.find_child(stack_name))
                          if isinstance(c, CdkDatabase)).ledger
        pulumi_ledger = next(c for c in _pulumi_components(paradigm, monkeypatch)
                             if isinstance(c, PulumiDatabase)).ledger
        assert cdk_ledger.reserve == pulumi_ledger.reserve
        assert ([(a.paradigm, a.connections, a.detail) for a in cdk_ledger.allocations]
                == [(a.paradigm, a.connections, a.detail) for a in pulumi_ledger.allocations]), stack_name


def test_cdk_app_wide_report(cdk_app: Any, snapshot: Any) -> None:
    """One ledger for the whole app: every database (SharedDatabase's spans two stacks) and the
    reserved concurrency of every function in the account, as the PR summary shows them."""
    from deploy_paradigms.cdk.database import deployment_of

    report = deployment_of(cdk_app).report()
    assert "### `SharedDatabase/Database`" in report and "| SharedApps/Function | serverless |" in report
    assert "Lambda reserved concurrency, account (deploying account), Region eu-west-1" in report
    assert report == snapshot(extension_class=MarkdownSnapshot)
