"""``python -m bench connections|devloop|cache|coldstart|faults|changes|readme`` (see BENCHMARKS.md)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20,22")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM unwinds like Ctrl-C: every `with`/`finally` stops what it started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    conn = sub.add_parser("connections", help="the connection budget under load (PostgreSQL + PgBouncer)")
    conn.add_argument("--instance-class", default="db.t3.micro",
                      help="PostgreSQL class to model (default db.t3.micro, 76 usable connections; large "
                           "classes start proportionally more threads and server processes and take longer)")
    conn.add_argument("--duration", type=float, default=6.0,
                      help="measured seconds of load per scenario (default 6)")
    conn.add_argument("--warmup", type=float, default=3.0,
                      help="seconds of load before the measured window (default 3)")
    conn.add_argument("--only", default="abcdefg", help="scenarios to run, e.g. 'cd' (default abcdefg)")
    conn.add_argument("--json-out", type=Path, default=None,
                      help="where to write the JSON (default bench/results/connections-<class>.json)")

    dev = sub.add_parser("devloop", help="synth vs empty CDK app, synth profile, test suite, Lambda packages")
    dev.add_argument("--repeat", type=int, default=3, help="CLI synth runs of each app (default 3; median)")
    dev.add_argument("--skip-tests", action="store_true", help="do not time the test suite")
    dev.add_argument("--json-out", type=Path, default=None, help="default bench/results/devloop.json")

    chg = sub.add_parser("changes", help="the change stream: events/s, commit-to-publish latency, a kill")
    chg.add_argument("--rows", type=int, default=5000, help="rows for the throughput run (default 5000)")
    chg.add_argument("--rate", type=float, default=50.0, help="commits per second while measuring latency "
                                                             "and during the kill (default 50)")
    chg.add_argument("--duration", type=float, default=10.0, help="seconds of writes (default 10)")
    chg.add_argument("--json-out", type=Path, default=None, help="default bench/results/changes.json")
    cache = sub.add_parser("cache", help="read-after-write staleness at the edge: tags vs TTL only")
    cache.add_argument("--duration", type=float, default=1800.0, help="virtual seconds (default 1800)")
    cache.add_argument("--write-interval", type=float, default=20.0,
                       help="mean virtual seconds between writes (default 20)")
    cache.add_argument("--read-interval", type=float, default=0.5, help="virtual seconds between reads (0.5)")
    cache.add_argument("--probe-interval", type=float, default=0.25,
                       help="virtual seconds between probes of a written post (default 0.25: the resolution)")
    cache.add_argument("--invalidation-latency", type=float, default=2.0,
                       help="virtual seconds from CreateInvalidation to the purge (CloudFront's propagation; "
                            "a parameter, default 2)")
    cache.add_argument("--json-out", type=Path, default=None, help="default bench/results/cache.json")

    cold = sub.add_parser("coldstart", help="fresh process to first query: the runtime vs boto3 + pg8000")
    cold.add_argument("--runs", type=int, default=20, help="fresh processes per path (default 20)")
    cold.add_argument("--json-out", type=Path, default=None, help="default bench/results/coldstart.json")

    faults = sub.add_parser("faults", help="database restart and crash under load: serverless and container")
    faults.add_argument("--downtime", type=float, default=2.0,
                        help="seconds the database stays down in each fault (default 2)")
    faults.add_argument("--after", type=float, default=3.0,
                        help="seconds of load after the database is back (default 3)")
    faults.add_argument("--json-out", type=Path, default=None, help="default bench/results/faults.json")

    sub.add_parser("readme", help="rewrite README.md's benchmark table from bench/results/*.json")

    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    from bench.stack_settings import BenchError

    try:
        if args.command == "connections":
            if not 1 <= args.duration <= 120 or not 0 <= args.warmup <= 60:
                parser.error("--duration must be 1-120 seconds and --warmup 0-60 seconds")
            if not args.only or set(args.only) - set("abcdefg"):
                parser.error("--only takes letters from 'abcdefg'")
            from bench import connections

            connections.check_instance_class(args.instance_class)
            return connections.run(args.instance_class, duration_s=args.duration, warmup_s=args.warmup,
                                   json_out=args.json_out, only=args.only)
        if args.command == "devloop":
            if not 1 <= args.repeat <= 10:
                parser.error("--repeat must be between 1 and 10")
            from bench import devloop

            return devloop.run(repeat=args.repeat, skip_tests=args.skip_tests, json_out=args.json_out)
        if args.command == "changes":
            if (not 100 <= args.rows <= 1_000_000 or not 1 <= args.rate <= 1000
                    or not 2 <= args.duration <= 120):
                parser.error("--rows 100-1000000, --rate 1-1000 per second, --duration 2-120 seconds")
            from bench import changes

            return changes.run(rows=args.rows, rate=args.rate, duration_s=args.duration,
                               json_out=args.json_out)
        if args.command == "cache":
            if not 60 <= args.duration <= 86_400 or min(args.write_interval, args.read_interval,
                                                         args.probe_interval) <= 0 \
                    or args.invalidation_latency < 0:
                parser.error("--duration must be 60-86400 s; intervals positive; latency >= 0")
            from bench import cache as cache_bench

            return cache_bench.run(cache_bench.Workload(
                duration_s=args.duration, write_interval_s=args.write_interval,
                read_interval_s=args.read_interval, probe_interval_s=args.probe_interval,
                invalidation_latency_s=args.invalidation_latency), json_out=args.json_out)
        if args.command == "coldstart":
            if not 1 <= args.runs <= 200:
                parser.error("--runs must be between 1 and 200")
            from bench import coldstart

            return coldstart.run(runs=args.runs, json_out=args.json_out)
        if args.command == "faults":
            if not 0.5 <= args.downtime <= 60 or not 1 <= args.after <= 60:
                parser.error("--downtime must be 0.5-60 seconds and --after 1-60 seconds")
            from bench import faults

            return faults.run(downtime_s=args.downtime, after_s=args.after, json_out=args.json_out)
        from bench import readme

        return readme.run()
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; everything it started has been stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
