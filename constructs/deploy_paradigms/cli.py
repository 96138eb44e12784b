"""``deploy-paradigms``: the connection budget from the command line.

    deploy-paradigms budget --engine postgres --instance-class db.m5.large [--json]
    deploy-paradigms budget --instance-class db.t3.micro --client prisma7
    deploy-paradigms preview serverless [--config key=value ...]

Bad input exits with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from .budget import (
    DEFAULT_ACCOUNT_CONCURRENCY,
    ConnectionLedger,
    InputError,
    describe_connection_limit,
    plan_containers,
    plan_serverless,
)
from .budget.plan import DEFAULT_MAXIMUM_PERCENT
from .budget.recipes import CLIENTS, recipe


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2, no usage dump
        self.exit(2, f"deploy-paradigms: error: {message}\n")


def _budget_report(args: argparse.Namespace) -> dict[str, Any]:
    limit = describe_connection_limit(args.engine, args.instance_class,
                                      max_connections=args.max_connections, max_acu=args.max_acu)
    ledger = ConnectionLedger(limit, reserve=args.reserve)
    serverless = plan_serverless(limit, ledger.available,
                                 proxy_max_connections_percent=args.proxy_percent,
                                 account_concurrency_limit=args.account_concurrency)
    containers = plan_containers(limit, ledger.available, max_tasks=args.tasks,
                                 maximum_percent=args.maximum_percent)
    return {
        "database": {
            "engine": limit.engine.value,
            "instance_class": limit.instance_class,
            "max_connections": limit.max_connections,
            "reserved_by_engine": limit.reserved,
            "usable": limit.usable,
            "estimate": limit.estimate,
            "source": limit.source,
            "reserve": ledger.reserve,
            "available": ledger.available,
        },
        "serverless": {
            "reserved_concurrency": serverless.reserved_concurrency,
            "connection_limit": serverless.connection_limit,
            "proxy_max_connections_percent": serverless.proxy.max_connections_percent,
            "proxy_database_connections": serverless.proxy.database_connections(limit),
            "proxy_idle_client_timeout_s": serverless.proxy.idle_client_timeout_s,
            "proxy_borrow_timeout_s": serverless.proxy.borrow_timeout_s,
            "cap_set_by": serverless.limited_by,
            "url_parameters": serverless.url.query_string(),
        },
        "containers": {
            "max_tasks": containers.max_tasks,
            "maximum_percent": containers.maximum_percent,
            "peak_tasks": containers.peak_tasks,
            "pool_per_task": containers.pool_size,
            "connections_at_peak": containers.connections,
            "url_parameters": containers.url.query_string(),
        },
        "edge": {
            "note": "the edge reaches data over HTTP; its data endpoint is a serverless "
                    "function and gets the serverless numbers above when it is the only consumer",
        },
        "pool_contract": {
            "serverless": serverless.pool.environment(),
            "containers": containers.pool.environment(),
        },
        "recipes": {} if not args.client else {
            "serverless": recipe(args.client, serverless.pool, postgres=limit.engine.is_postgres).as_dict(),
            "containers": recipe(args.client, containers.pool, postgres=limit.engine.is_postgres).as_dict(),
        },
    }


def _print_budget(report: dict[str, Any]) -> None:
    db, sls, ctr = report["database"], report["serverless"], report["containers"]
    est = " (estimate: formula on nominal memory; pass --max-connections for the real value)" \
        if db["estimate"] else ""
    print(f"{db['engine']} {db['instance_class']}: max_connections {db['max_connections']}{est}")
    print(f"  source: {db['source']}")
    print(f"  usable by applications   {db['usable']}  ({db['reserved_by_engine']} reserved by the engine)")
    print(f"  reserve (admin, migrate) {db['reserve']}")
    print(f"  available to the app     {db['available']}")
    print("serverless (Lambda + RDS Proxy)")
    print(f"  reserved concurrency     {sls['reserved_concurrency']}  (connection_limit="
          f"{sls['connection_limit']}; set by {sls['cap_set_by']})")
    print(f"  proxy MaxConnectionsPercent {sls['proxy_max_connections_percent']}%"
          f"  (= {sls['proxy_database_connections']} DB connections)")
    print(f"  proxy idle client timeout {sls['proxy_idle_client_timeout_s']} s, borrow timeout "
          f"{sls['proxy_borrow_timeout_s']} s")
    print(f"  URL parameters           {sls['url_parameters']}")
    print(f"containers (ECS service, {ctr['max_tasks']} max tasks, deploys at {ctr['maximum_percent']}%)")
    print(f"  pool per task            {ctr['pool_per_task']}  (x {ctr['peak_tasks']} tasks at peak = "
          f"{ctr['connections_at_peak']})")
    print(f"  URL parameters           {ctr['url_parameters']}")
    print("edge (HTTP data endpoint)")
    print(f"  {report['edge']['note']}")
    for paradigm, env in report["pool_contract"].items():
        print(f"pool contract ({paradigm}): " + " ".join(f"{k}={v}" for k, v in env.items()))
    for paradigm, rec in report["recipes"].items():
        print(f"\n{rec['title']}, {paradigm} (per process):")
        for s in rec["settings"]:
            unit = f" {s['unit']}" if s["unit"] else ""
            print(f"  {s['option']:<30} {s['value']}{unit}  <- {s['variable']}")
    if report["recipes"]:
        rec = report["recipes"]["containers"]
        print("\n" + rec["code"].rstrip())
        for note in rec["notes"]:
            print(f"- {note}")


def _parse_config(pairs: Sequence[str]) -> dict[str, str]:
    config: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--config {pair!r} is not key=value; "
                              f"for example --config instanceClass=db.m5.large")
        config[key.strip()] = value.strip()
    return config


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="deploy-paradigms", description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    budget = sub.add_parser("budget", help="connection budget per paradigm for one database")
    budget.add_argument("--engine", default="postgres",
                        help="postgres, mysql, mariadb, aurora-postgresql, aurora-mysql (default postgres)")
    budget.add_argument("--instance-class", help="for example db.m5.large or m5.large")
    budget.add_argument("--max-connections", type=int,
                        help="max_connections of a custom parameter group (overrides the table)")
    budget.add_argument("--max-acu", type=float, help="Aurora Serverless v2 maximum capacity")
    budget.add_argument("--reserve", type=int,
                        help="connections kept free for admin and migrations (default 5%%, at least 3)")
    budget.add_argument("--proxy-percent", type=int,
                        help="RDS Proxy MaxConnectionsPercent (default: derived from the budget)")
    budget.add_argument("--tasks", type=int, default=4, help="max container tasks (default 4)")
    budget.add_argument("--maximum-percent", type=int, default=DEFAULT_MAXIMUM_PERCENT,
                        help="ECS deployment maximum percent (default 200)")
    budget.add_argument("--account-concurrency", type=int, default=DEFAULT_ACCOUNT_CONCURRENCY,
                        help="Lambda concurrent-executions quota of the account (default 1000)")
    budget.add_argument("--client", choices=CLIENTS,
                        help="print what to set in this client's pool from the plan")
    budget.add_argument("--json", action="store_true", help="machine-readable output")

    preview = sub.add_parser("preview", help="render the Pulumi program offline as JSON")
    preview.add_argument("paradigm", choices=["serverless", "paas", "edge", "changes"])
    preview.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                         help="Pulumi config, e.g. --config instanceClass=db.m5.large (repeatable)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "budget":
            report = _budget_report(args)
            if args.json:
                print(json.dumps(report, indent=2, sort_keys=True))
            else:
                _print_budget(report)
        else:
            from .pulumi.preview import preview_json  # needs pulumi; imported only here

            print(preview_json(args.paradigm, _parse_config(args.config)))
    except InputError as err:
        print(f"deploy-paradigms: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `deploy-paradigms ... | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
