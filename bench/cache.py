"""``python -m bench cache``: read-after-write staleness at the edge, tag invalidation vs TTL only.

One seeded workload, run twice against a real PostgreSQL through the real data
endpoint (the sample catalog: reads cached 60 s + 300 s stale-while-revalidate)
behind :class:`bench.edge_cache.CachingProxy`:

- ``ttl-only``: no distribution configured; cached reads expire by TTL.
- ``tags``: the endpoint sends its SigV4-signed ``CreateInvalidation`` to
  :class:`bench.edge_cache.StubCloudFront`, which purges the proxy's tagged
  objects ``--invalidation-latency`` seconds later (CloudFront's propagation to
  its edge locations is not measurable here: it is this parameter).

Time is virtual (the proxy's clock), so 15 minutes of TTLs run in seconds;
database work, signing and the stub's HTTP round trip are real. Workload: a
read of a random post every ``--read-interval`` s, the recent list every 4th
read, an ``update_post`` on a random post every ``--write-interval`` s (Poisson).
After each write, the written post is probed every ``--probe-interval`` s until a
read through the proxy shows the new title: the visibility lag of that write
(resolution: the probe interval). Hit ratio and stale reads count the users'
reads only (probes go through the same cache but are not counted).
"""

from __future__ import annotations

import heapq
import io
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import machine
from bench.edge_cache import CachingProxy, StubCloudFront
from deploy_paradigms.catalog import sample_catalog
from deploy_paradigms.runtime import aws_sigv4, connection
from deploy_paradigms.runtime.aws_sigv4 import AwsCredentials
from deploy_paradigms.runtime.data_endpoint import DataEndpoint
from deploy_paradigms.runtime.invalidation import Invalidator

DISTRIBUTION = "EBENCHDISTRIB"
KEYS = AwsCredentials("AKIDBENCH", "bench-secret-key")
MODES = ("ttl-only", "tags")


@dataclass(frozen=True)
class Workload:
    posts: int = 20
    duration_s: float = 1800.0
    read_interval_s: float = 0.5
    write_interval_s: float = 20.0
    probe_interval_s: float = 0.25
    invalidation_latency_s: float = 2.0
    seed: int = 16


@dataclass
class ModeResult:
    reads: int = 0
    hits: int = 0
    stale_reads: int = 0
    writes: int = 0
    lags_s: list[float] = field(default_factory=list)
    write_ms: list[float] = field(default_factory=list)
    invalidations: int = 0
    invalidation_items: int = 0
    origin_calls: int = 0
    hit_ratio: float = 0.0

    def summary(self) -> dict[str, Any]:
        def pct(values: list[float], q: float) -> float | None:
            if not values:
                return None
            ordered = sorted(values)
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

        return {
            "reads": self.reads, "stale_reads": self.stale_reads,
            "stale_read_share": round(self.stale_reads / self.reads, 4) if self.reads else None,
            "hit_ratio": round(self.hit_ratio, 4), "origin_calls": self.origin_calls,
            "writes": self.writes, "lag_p50_s": pct(self.lags_s, 0.5), "lag_p99_s": pct(self.lags_s, 0.99),
            "lag_max_s": round(max(self.lags_s), 3) if self.lags_s else None,
            "lag_mean_s": round(statistics.fmean(self.lags_s), 3) if self.lags_s else None,
            "write_ms_p50": pct(self.write_ms, 0.5), "write_ms_p99": pct(self.write_ms, 0.99),
            "invalidations": self.invalidations, "invalidation_items": self.invalidation_items,
        }


def simulate(endpoint: DataEndpoint, stub: StubCloudFront | None, work: Workload) -> ModeResult:
    """Run the workload once; ``stub`` None means TTL only."""
    now = [0.0]
    proxy = CachingProxy(endpoint.handle, clock=lambda: now[0])
    rng = random.Random(work.seed)
    events: list[tuple[float, int, str, Any]] = []
    counter = iter(range(10**9))

    def at(moment: float, kind: str, payload: Any = None) -> None:
        heapq.heappush(events, (moment, next(counter), kind, payload))

    if stub is not None:
        stub.subscribers[:] = [lambda record: at(now[0] + work.invalidation_latency_s, "purge", record.items)]
    result = ModeResult()
    latest: dict[int, str] = {}
    pending: dict[int, list[float]] = {}  # post id -> commit times of writes not yet seen
    for post in range(1, work.posts + 1):
        status, _, body, _ = proxy.post("/data/create_post", {"title": f"p{post}v0", "body": "b"})
        assert status == 200, body
        latest[post] = f"p{post}v0"
    if stub is not None:
        stub.invalidations.clear()
    events.clear()  # the seeding writes' purges: the cache is empty anyway
    at(0.0, "read")
    at(rng.expovariate(1 / work.write_interval_s), "write")
    version = 0

    def read_post(post: int, *, probe: bool) -> None:
        status, _, body, cache = proxy.get("/data/post_by_id", {"id": post})
        assert status == 200, body
        title = body["rows"][0]["title"]
        if not probe:  # the users' reads: probes would weigh stale windows by how often they probe
            result.reads += 1
            result.hits += cache != "Miss"
            result.stale_reads += title != latest[post]
        if title == latest[post] and pending.get(post):
            result.lags_s.extend(now[0] - t for t in pending.pop(post))

    reads = 0
    while events:
        moment, _, kind, payload = heapq.heappop(events)
        if moment > work.duration_s:
            break
        now[0] = moment
        if kind == "read":
            reads += 1
            read_post(rng.randint(1, work.posts), probe=False)
            if reads % 4 == 0:
                result.reads += 1
                result.hits += proxy.get("/data/recent_posts", {})[3] != "Miss"
            at(moment + work.read_interval_s, "read")
        elif kind == "write":
            post = rng.randint(1, work.posts)
            version += 1
            title = f"p{post}v{version}"
            started = time.perf_counter()
            status, _, body, _ = proxy.post("/data/update_post", {"id": post, "title": title, "body": "b"})
            result.write_ms.append((time.perf_counter() - started) * 1000)
            assert status == 200, body
            result.writes += 1
            latest[post] = title
            first = post not in pending or not pending[post]
            pending.setdefault(post, []).append(moment)
            if first:
                at(moment + work.probe_interval_s, "probe", post)
            at(moment + rng.expovariate(1 / work.write_interval_s), "write")
        elif kind == "probe":
            read_post(payload, probe=True)
            if pending.get(payload):
                at(moment + work.probe_interval_s, "probe", payload)
        elif kind == "purge":
            proxy.purge(payload)
    result.hit_ratio = result.hits / result.reads if result.reads else 0.0
    result.origin_calls = proxy.stats.origin_calls
    if stub is not None:
        result.invalidations = len(stub.invalidations)
        result.invalidation_items = sum(len(r.items) for r in stub.invalidations)
    return result


def run(work: Workload, json_out: Path | None = None, log: Callable[[str], None] = print) -> int:
    from tests.support.local_postgres import LocalPostgres, empty_sample_posts

    started = time.perf_counter()
    host = machine.machine()
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL_CLOUDFRONT", "AWS_ACCESS_KEY_ID",
                                             "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    server = LocalPostgres(user="dp_app", dbname="dp_bench")
    server.start()
    try:
        for key, value in server.environ().items():
            os.environ[key] = value
        connection.set_password_provider(lambda _settings: server.password)
        results: dict[str, Any] = {}
        with StubCloudFront(KEYS, distributions={DISTRIBUTION}) as stub:
            os.environ["AWS_ENDPOINT_URL_CLOUDFRONT"] = stub.url
            os.environ["AWS_ACCESS_KEY_ID"] = KEYS.access_key_id
            os.environ["AWS_SECRET_ACCESS_KEY"] = KEYS.secret_access_key
            os.environ.pop("AWS_SESSION_TOKEN", None)
            aws_sigv4.reset_default_credentials()
            for mode in MODES:
                empty_sample_posts(server)
                invalidator = (Invalidator(DISTRIBUTION, metrics=io.StringIO()) if mode == "tags" else None)
                endpoint = DataEndpoint(sample_catalog(), invalidator=invalidator)
                outcome = simulate(endpoint, stub if mode == "tags" else None, work).summary()
                results[mode] = outcome
                log(f"{mode:9} lag p50 {outcome['lag_p50_s']} s, p99 {outcome['lag_p99_s']} s, hit ratio "
                    f"{outcome['hit_ratio']:.1%}, stale reads {outcome['stale_read_share']:.1%}, write p50 "
                    f"{outcome['write_ms_p50']} ms ({outcome['writes']} writes, {outcome['reads']} reads)")
            if stub.rejected:
                raise RuntimeError(f"the stub refused requests: {stub.rejected}")
    finally:
        connection.close_connection()
        connection.set_password_provider(None)
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        aws_sigv4.reset_default_credentials()
    catalog = sample_catalog()["post_by_id"]
    report = {
        "command": "python -m bench cache",
        "elapsed_s": round(time.perf_counter() - started, 1),
        "machine": host,
        "workload": {**work.__dict__, "cache_control": catalog.cache_control()},
        "modes": results,
    }
    path = machine.write_json(json_out or machine.RESULTS / "cache.json", report)
    log(f"wrote {path}")
    return 0


def table(report: dict[str, Any]) -> str:
    """The BENCHMARKS.md table for one cache report."""
    lines = ["| mode | lag p50 | lag p99 | lag max | stale reads | hit ratio | origin calls "
             "| write p50 / p99 "
             "| invalidations (tags) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for mode, m in report["modes"].items():
        lines.append(f"| {mode} | {m['lag_p50_s']} s | {m['lag_p99_s']} s | {m['lag_max_s']} s "
                     f"| {m['stale_read_share']:.1%} | {m['hit_ratio']:.1%} | {m['origin_calls']} "
                     f"| {m['write_ms_p50']} / {m['write_ms_p99']} ms | {m['invalidations']} "
                     f"({m['invalidation_items']}) |")
    return "\n".join(lines)
