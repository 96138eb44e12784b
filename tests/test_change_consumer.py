"""The change consumer against a real PostgreSQL (wal_level=logical) and a stub EventBridge that
checks SigV4: the event shape, commit order, batching limits, partial and total PutEvents
failures, a consumer killed between PutEvents and the slot advance, bootstrap and teardown."""

from __future__ import annotations

import http.server
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy_paradigms.plans.changes import event_pattern
from deploy_paradigms.runtime import aws_sigv4, change_consumer, connection
from deploy_paradigms.runtime.change_consumer import (
    ChangeConsumer,
    ChangeStreamError,
    EventTarget,
    PgOutputDecoder,
    RowChange,
    batches,
    entry_size,
)
from deploy_paradigms.runtime.settings import DatabaseSettings
from tests.support.stub_eventbridge import StubEventBridge

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = aws_sigv4.AwsCredentials("AKIDCHANGESTREAM", "change-stream-test-secret")
SOURCE = "deploy-paradigms.changes"
_names = itertools.count()


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubEventBridge]:
    with StubEventBridge(CREDENTIALS) as stub:
        monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", stub.url)
        monkeypatch.setenv("AWS_REGION", "eu-west-1")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS.access_key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS.secret_access_key)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        aws_sigv4.reset_default_credentials()
        yield stub
        aws_sigv4.reset_default_credentials()


class Stream:
    """One table, publication and slot of its own on the shared server."""

    def __init__(self, server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        n = next(_names)
        self.server = server
        self.table = f"orders_{n}"
        self.slot = self.publication = f"dp_test_{n}"
        self.settings = DatabaseSettings(host=server.host, port=server.port, name=server.dbname,
                                         user=server.user, url_params=(("sslmode", "disable"),))
        connection.set_password_provider(lambda _s: server.password)
        self.sql = server.connect()
        self.sql.run(f"CREATE TABLE {self.table} (id int PRIMARY KEY, status text, total numeric, "
                     f"paid bool, meta jsonb, note text)")
        self.conn = connection.connect(self.settings)
        change_consumer.bootstrap(self.conn, slot=self.slot, publication=self.publication,
                                  tables=[self.table])
        self.env = {**server.environ(), change_consumer.SLOT: self.slot,
                    change_consumer.PUBLICATION: self.publication, change_consumer.TABLES: self.table,
                    change_consumer.EVENT_BUS: "changes", change_consumer.RUN_SECONDS: "0"}

    def consumer(self, **kwargs: Any) -> ChangeConsumer:
        return ChangeConsumer(self.conn, slot=self.slot, publication=self.publication,
                              target=EventTarget("changes", SOURCE, self.slot), sleep=lambda _s: None,
                              **kwargs)

    def slot_position(self) -> str:
        return str(self.sql.run("SELECT confirmed_flush_lsn::text FROM pg_replication_slots "
                                "WHERE slot_name = :s", s=self.slot)[0][0])

    def close(self) -> None:
        change_consumer.teardown(self.conn, slot=self.slot, publication=self.publication)
        self.conn.close()
        self.sql.close()


@pytest.fixture
def stream(logical_postgres: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stream]:
    created = Stream(logical_postgres, monkeypatch)
    yield created
    created.close()
    connection.set_password_provider(None)


def details(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["detail"] for e in events]


def test_insert_update_delete_arrive_with_the_documented_shape(stream: Stream, bus: StubEventBridge) -> None:
    target = bus.subscribe(event_pattern(SOURCE, tables=[f"public.{stream.table}"]))
    stream.sql.run(f"INSERT INTO {stream.table} VALUES (1, 'new', 12.50, false, '{{\"a\": [1]}}', 'x')")
    stream.sql.run(f"UPDATE {stream.table} SET status = 'paid', paid = true WHERE id = 1")
    stream.sql.run(f"DELETE FROM {stream.table} WHERE id = 1")
    stats = stream.consumer().run_once()
    assert stats.events == 3 and stats.caught_up
    insert, update, delete = details(target)
    assert insert["table"] == f"public.{stream.table}" and insert["operation"] == "insert"
    assert insert["key"] == {"id": 1}
    assert insert["new"] == {"id": 1, "status": "new", "total": "12.50", "paid": False, "meta": {"a": [1]},
                             "note": "x"}
    assert insert["old"] is None and insert["old_is"] is None
    assert update["operation"] == "update" and update["new"]["status"] == "paid"
    assert update["new"]["paid"] is True
    assert update["old"] is None  # default replica identity: the key did not change, no old values
    assert delete["operation"] == "delete" and delete["new"] is None
    assert delete["old"] == {"id": 1} and delete["old_is"] == "key" and delete["key"] == {"id": 1}
    for event in target:
        detail = event["detail"]
        assert set(detail) == {"table", "schema", "name", "operation", "key", "new", "old", "old_is",
                               "unchanged", "truncated", "xid", "commit_lsn", "commit_time", "position",
                               "sequence", "idempotency_key"}
        assert event["source"] == SOURCE and event["detail-type"] == "Row change"
        assert detail["idempotency_key"] == f"{stream.slot}:{detail['commit_lsn']}:{detail['position']}"
        assert detail["commit_time"].endswith("Z")
    assert [d["sequence"] for d in details(target)] == sorted(d["sequence"] for d in details(target))
    assert len({d["xid"] for d in details(target)}) == 3
    # The slot moved: a second run finds nothing.
    assert stream.consumer().run_once().events == 0
    assert len(target) == 3


def test_replica_identity_full_sends_the_old_row(stream: Stream, bus: StubEventBridge) -> None:
    stream.sql.run(f"ALTER TABLE {stream.table} REPLICA IDENTITY FULL")
    stream.sql.run(f"INSERT INTO {stream.table} (id, status) VALUES (5, 'a')")
    stream.sql.run(f"UPDATE {stream.table} SET id = 6, status = 'b' WHERE id = 5")
    stream.consumer().run_once()
    update = details(bus.accepted)[-1]
    assert update["old_is"] == "row" and update["old"]["id"] == 5 and update["old"]["status"] == "a"
    assert update["key"] == {"id": 6}


def test_key_change_with_default_identity_sends_the_old_key(stream: Stream, bus: StubEventBridge) -> None:
    stream.sql.run(f"INSERT INTO {stream.table} (id, status) VALUES (7, 'a')")
    stream.sql.run(f"UPDATE {stream.table} SET id = 8 WHERE id = 7")
    stream.consumer().run_once()
    update = details(bus.accepted)[-1]
    assert update["old"] == {"id": 7} and update["old_is"] == "key" and update["key"] == {"id": 8}


def test_multi_statement_transactions_publish_in_commit_order(stream: Stream, bus: StubEventBridge,
                                                               logical_postgres: Any) -> None:
    first, second = logical_postgres.connect(), logical_postgres.connect()
    try:
        first.run("BEGIN")
        first.run(f"INSERT INTO {stream.table} (id, status) VALUES (10, 'first began')")
        second.run("BEGIN")
        second.run(f"INSERT INTO {stream.table} (id, status) VALUES (20, 'second')")
        second.run(f"UPDATE {stream.table} SET status = 'second, updated' WHERE id = 20")
        second.run("COMMIT")  # commits first
        first.run(f"INSERT INTO {stream.table} (id, status) VALUES (11, 'first again')")
        first.run("COMMIT")
    finally:
        first.close()
        second.close()
    stream.consumer().run_once()
    seen = [(d["key"]["id"], d["operation"], d["position"]) for d in details(bus.accepted)]
    assert seen == [(20, "insert", 0), (20, "update", 1), (10, "insert", 0), (11, "insert", 1)]
    commits = [d["commit_lsn"] for d in details(bus.accepted)]
    assert commits[0] == commits[1] != commits[2] == commits[3]


def test_a_large_transaction_is_published_whole_in_batches_within_the_limits(
        stream: Stream, bus: StubEventBridge) -> None:
    rows = 2_345  # more than a cursor fetch (500) and many flushes (100)
    stream.sql.run(f"INSERT INTO {stream.table} (id, note) SELECT g, repeat('x', 300) FROM "
                   f"generate_series(1, {rows}) g")
    stats = stream.consumer().run_once()
    assert stats.events == rows and stats.transactions == 1
    assert [d["key"]["id"] for d in details(bus.accepted)] == list(range(1, rows + 1))
    assert [d["position"] for d in details(bus.accepted)] == list(range(rows))
    assert stats.put_calls == bus.calls == -(-rows // 10)  # full batches of 10; the stub checks the limits


def test_a_backlog_is_read_in_bounded_peeks_in_order(stream: Stream, bus: StubEventBridge,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(change_consumer, "PEEK_ROWS", 40)  # each peek: about 10 transactions of 2 rows
    for n in range(30):
        stream.sql.run(f"INSERT INTO {stream.table} (id) VALUES ({2 * n + 1}), ({2 * n + 2})")
    consumer = stream.consumer()
    runs = [consumer.run_once() for _ in range(5)]
    assert [r.caught_up for r in runs[:2]] == [False, False] and runs[-1].caught_up
    assert [d["key"]["id"] for d in details(bus.accepted)] == list(range(1, 61))  # once each, in order


def test_batches_respect_ten_entries_and_256_kb() -> None:
    entries = [{"Source": "s", "DetailType": "Row change", "Detail": "x" * size}
               for size in (100, 200_000, 70_000, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10)]
    ranges = list(batches(entries))
    assert ranges[0] == (0, 2) and ranges[1] == (2, 12) and ranges[-1][1] == len(entries)
    for start, end in ranges:
        assert end - start <= 10
        assert sum(entry_size(e) for e in entries[start:end]) <= 256 * 1024


def test_a_row_too_large_for_an_event_keeps_its_key(stream: Stream, bus: StubEventBridge) -> None:
    stream.sql.run(f"INSERT INTO {stream.table} (id, note) VALUES (1, repeat('y', 300000))")
    stream.consumer().run_once()
    (detail,) = details(bus.accepted)
    assert detail["truncated"] is True and detail["new"] is None and detail["key"] == {"id": 1}


def test_a_partial_failure_is_retried_in_order_and_the_slot_waits(stream: Stream,
                                                                   bus: StubEventBridge) -> None:
    stream.sql.run(f"INSERT INTO {stream.table} (id) SELECT g FROM generate_series(1, 25) g")
    bus.fail_from_entry = 4  # the first call: entries 0-3 accepted, 4-9 FailedEntryCount
    stats = stream.consumer().run_once()
    ids = [d["key"]["id"] for d in details(bus.accepted)]
    assert ids == list(range(1, 26))  # nothing lost, nothing out of order
    assert stats.retries == 0 and stats.put_calls == 4  # the rest re-sent once, no backoff needed


def test_eventbridge_down_leaves_the_slot_and_the_next_run_redelivers(stream: Stream,
                                                                     bus: StubEventBridge) -> None:
    stream.sql.run(f"INSERT INTO {stream.table} (id) VALUES (1), (2)")
    before = stream.slot_position()
    bus.fail_calls = change_consumer.PUBLISH_ATTEMPTS
    with pytest.raises(ChangeStreamError, match="refused 2 event"):
        stream.consumer().run_once()
    assert stream.slot_position() == before and bus.accepted == []
    stream.consumer().run_once()
    assert [d["key"]["id"] for d in details(bus.accepted)] == [1, 2]


def test_a_bad_signature_is_refused_and_nothing_is_published(stream: Stream, bus: StubEventBridge,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    aws_sigv4.reset_default_credentials()
    stream.sql.run(f"INSERT INTO {stream.table} (id) VALUES (1)")
    before = stream.slot_position()
    with pytest.raises(ChangeStreamError):
        stream.consumer().run_once()
    assert bus.rejected and all("signature does not match" in r for r in bus.rejected)
    assert bus.accepted == [] and stream.slot_position() == before


def test_killed_after_putevents_before_the_advance_redelivers_without_a_gap(
        stream: Stream, bus: StubEventBridge) -> None:
    """The Done-when scenario: insert, update and delete arrive at a subscribed target in order
    after the consumer process is killed between EventBridge accepting a batch and the advance."""
    target = bus.subscribe(event_pattern(SOURCE, tables=[f"public.{stream.table}"],
                                         operations=["insert", "update", "delete"]))
    stream.sql.run(f"INSERT INTO {stream.table} (id, status) SELECT g, 'new' FROM generate_series(1, 15) g")
    stream.sql.run(f"UPDATE {stream.table} SET status = 'paid' WHERE id = 3")
    stream.sql.run(f"DELETE FROM {stream.table} WHERE id = 4")
    env = {**os.environ, **stream.env, "DP_TEST_DATABASE_PASSWORD": stream.server.password,
           "AWS_ENDPOINT_URL_EVENTBRIDGE": bus.url, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "tests.support.run_change_consumer"], env=env,
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # The second PutEvents (inserts 11-15, the update, the delete) is accepted, then the process
    # dies before it hears back, so before it can advance the slot past any of the three.
    calls = itertools.count(1)
    bus.after_accept = lambda _events: (os.kill(process.pid, signal.SIGKILL)
                                        if next(calls) == 2 else None)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert len(target) == 17
    bus.after_accept = None
    rerun = subprocess.run([sys.executable, "-m", "tests.support.run_change_consumer"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    seen = [(d["operation"], d["key"]["id"]) for d in details(target)]
    # at least once: everything after the last advance again, in commit order, nothing missing
    expected = [("insert", i) for i in range(1, 16)] + [("update", 3), ("delete", 4)]
    assert seen == expected + expected
    keys = [d["idempotency_key"] for d in details(target)]
    assert len(set(keys)) == 17 and keys[:17] == keys[17:]  # redelivered events carry the same keys
    emf = json.loads(rerun.stdout.splitlines()[0])
    assert emf["EventsPublished"] == 17 and emf["SlotLagBytes"] >= 0


def test_other_tables_do_not_hold_the_slot_back(stream: Stream, bus: StubEventBridge) -> None:
    stream.sql.run(f"CREATE TABLE IF NOT EXISTS unrelated_{stream.slot} (id int)")
    stream.sql.run(f"INSERT INTO unrelated_{stream.slot} SELECT g FROM generate_series(1, 1000) g")
    consumer = stream.consumer()
    stats = consumer.run_once()
    assert stats.events == 0 and stats.caught_up
    assert consumer.lag()["SlotLagBytes"] < 1024  # advanced to the flush position, not left behind


def test_a_table_created_after_the_bootstrap_joins_on_the_next_run(logical_postgres: Any,
                                                                    bus: StubEventBridge,
                                                                    stream: Stream) -> None:
    later = f"later_{stream.slot}"
    stream_env = change_consumer.StreamSettings.from_env(
        {**stream.env, change_consumer.TABLES: f"{stream.table},{later}"})
    change_consumer.consume(stream.conn, stream_env, remaining_s=lambda: 60.0, emit=lambda _line: None)
    stream.sql.run(f"CREATE TABLE {later} (id int PRIMARY KEY)")
    change_consumer.consume(stream.conn, stream_env, remaining_s=lambda: 60.0, emit=lambda _line: None)
    stream.sql.run(f"INSERT INTO {later} VALUES (1)")
    change_consumer.consume(stream.conn, stream_env, remaining_s=lambda: 60.0, emit=lambda _line: None)
    assert [d["table"] for d in details(bus.accepted)] == [f"public.{later}"]


def test_bootstrap_is_idempotent_and_teardown_drops_the_slot(logical_postgres: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    stream = Stream(logical_postgres, monkeypatch)
    again = change_consumer.bootstrap(stream.conn, slot=stream.slot, publication=stream.publication,
                                      tables=[stream.table, "not_there_yet"])
    assert again["SlotCreated"] == "false" and again["TablesMissing"] == "not_there_yet"
    stream.close()
    admin = logical_postgres.admin()
    try:
        assert admin.run("SELECT count(*) FROM pg_replication_slots WHERE slot_name = :s",
                         s=stream.slot) == [[0]]
        assert admin.run("SELECT count(*) FROM pg_publication WHERE pubname = :p", p=stream.slot) == [[0]]
    finally:
        admin.close()


def test_bootstrap_refuses_a_server_without_logical_wal(postgres_server: Any) -> None:
    settings = DatabaseSettings(host=postgres_server.host, port=postgres_server.port,
                                name=postgres_server.dbname, user=postgres_server.user,
                                url_params=(("sslmode", "disable"),))
    conn = connection.connect(settings, postgres_server.password)
    try:
        with pytest.raises(ChangeStreamError, match="rds.logical_replication=1"):
            change_consumer.bootstrap(conn, slot="dp_nope", publication="dp_nope", tables=["t"])
    finally:
        conn.close()


class _ResponseCatcher(http.server.BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]] = []

    def do_PUT(self) -> None:  # noqa: N802
        self.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_cloudformation_custom_resource_creates_and_deletes(logical_postgres: Any, bus: StubEventBridge,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    stream = Stream(logical_postgres, monkeypatch)
    stream.close()  # the custom resource creates it again
    for key, value in stream.env.items():
        monkeypatch.setenv(key, value)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ResponseCatcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _ResponseCatcher.bodies = []
    base = {"ResponseURL": f"http://127.0.0.1:{server.server_address[1]}/r", "StackId": "stack",
            "RequestId": "req", "LogicalResourceId": "Bootstrap"}
    try:
        connection.set_password_provider(lambda _s: logical_postgres.password)
        change_consumer.handler({**base, "RequestType": "Create"}, None)
        created = _ResponseCatcher.bodies[-1]
        assert created["Status"] == "SUCCESS" and created["PhysicalResourceId"] == stream.slot
        assert created["Data"]["SlotCreated"] == "true"
        assert change_consumer.handler({"tf": {"action": "update"}}, None)["SlotCreated"] == "false"
        change_consumer.handler({**base, "RequestType": "Delete", "PhysicalResourceId": stream.slot}, None)
        assert _ResponseCatcher.bodies[-1]["Status"] == "SUCCESS"
        admin = logical_postgres.admin()
        try:
            assert admin.run("SELECT count(*) FROM pg_replication_slots WHERE slot_name = :s",
                             s=stream.slot) == [[0]]
        finally:
            admin.close()
        monkeypatch.setenv(change_consumer.SLOT, "dp_bad_wal")
        monkeypatch.setenv("DATABASE_PORT", "1")  # nothing listens: the failure reaches CloudFormation
        change_consumer.handler({**base, "RequestType": "Create"}, None)
        assert _ResponseCatcher.bodies[-1]["Status"] == "FAILED"
        assert "unavailable" in _ResponseCatcher.bodies[-1]["Reason"]
    finally:
        server.shutdown()
        server.server_close()
        connection.set_password_provider(None)


def test_decoder_reads_every_message_kind_it_meets() -> None:
    decoder = PgOutputDecoder()
    assert decoder.feed(b"Y\x00\x00\x00\x01") is None  # a Type message carries no row
    relation = (b"R\x00\x00@\x02public\x00t\x00d\x00\x03\x01id\x00\x00\x00\x00\x14\xff\xff\xff\xff"
                b"\x00f\x00\x00\x00\x02\xbd\xff\xff\xff\xff\x00big\x00\x00\x00\x00\x19\xff\xff\xff\xff")
    assert decoder.feed(relation) is None
    begin = b"B" + (0x1000).to_bytes(8, "big") + (0).to_bytes(8, "big") + (9).to_bytes(4, "big")
    assert decoder.feed(begin) is None
    row = b"I\x00\x00@\x02N\x00\x03t\x00\x00\x00\x0242t\x00\x00\x00\x03NaNu"
    change = decoder.feed(row)
    assert isinstance(change, RowChange)
    assert change.new == {"id": 42, "f": "NaN"} and change.unchanged == ("big",)
    assert change.commit_time.year == 2000 and change.sequence == "0000000000001000-00000000"


def test_emf_record_is_cloudwatch_embedded_metric_format() -> None:
    stats = change_consumer.RunStats(events=3, latencies_s=[0.2, 0.5])
    record = change_consumer.emf_record(namespace="NS", slot="dp_x", stats=stats,
                                        lag={"SlotLagBytes": 10, "RetainedWalBytes": 20}, now=1.0)
    directive = record["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "NS" and directive["Dimensions"] == [["Slot"]]
    assert {m["Name"] for m in directive["Metrics"]} <= set(record)
    assert record["SlotLagBytes"] == 10 and record["CommitToPublishMaxSeconds"] == 0.5


def test_stream_settings_refuse_a_bad_slot_name() -> None:
    with pytest.raises(ChangeStreamError, match="slot='Bad-Name'"):
        change_consumer.StreamSettings.from_env({change_consumer.SLOT: "Bad-Name",
                                                 change_consumer.PUBLICATION: "p",
                                                 change_consumer.EVENT_BUS: "b"})
    with pytest.raises(ChangeStreamError, match="CHANGE_EVENT_BUS"):
        change_consumer.StreamSettings.from_env({change_consumer.SLOT: "s", change_consumer.PUBLICATION: "p"})


def test_commit_to_publish_latency_is_measured(stream: Stream, bus: StubEventBridge) -> None:
    stream.sql.run(f"INSERT INTO {stream.table} (id) VALUES (1)")
    time.sleep(0.05)
    stats = stream.consumer().run_once()
    assert len(stats.latencies_s) == 1 and 0.05 <= stats.latencies_s[0] < 30


def test_the_example_stack_delivers_insert_update_delete_in_order_across_a_kill(
        synth: Any, logical_postgres: Any, bus: StubEventBridge, monkeypatch: pytest.MonkeyPatch) -> None:
    """Done when: the `Changes` example's own settings (its slot, tables, consumer environment and
    subscription pattern, read from the synthesized template) against a real database: insert,
    update and delete arrive at the subscribed target in order after a consumer kill, no gap."""
    from conftest import template_of

    template = template_of(synth(("Changes",)), "Changes")
    resources = template["Resources"].values()
    (slot,) = [r["Properties"] for r in resources if r["Type"] == "Custom::ChangeStreamSlot"]
    (consumer,) = [r["Properties"] for r in resources if r["Type"] == "AWS::Lambda::Function"
                   and r["Properties"].get("Handler") == "deploy_paradigms.runtime.change_consumer.handler"]
    (pattern,) = [r["Properties"]["EventPattern"] for r in resources
                  if r["Type"] == "AWS::Events::Rule" and "EventPattern" in r["Properties"]]
    env = {k: v for k, v in consumer["Environment"]["Variables"].items() if isinstance(v, str)}
    env.update(logical_postgres.environ(), **{change_consumer.EVENT_BUS: "changes",
                                              change_consumer.RUN_SECONDS: "0"})
    sql = logical_postgres.connect()
    sql.run("CREATE TABLE IF NOT EXISTS public.orders (id int PRIMARY KEY, status text)")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    connection.set_password_provider(lambda _s: logical_postgres.password)
    target = bus.subscribe(pattern)
    # CloudFormation's Create: the custom resource makes the publication and the slot.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ResponseCatcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    request = {"ResponseURL": f"http://127.0.0.1:{server.server_address[1]}/r", "StackId": "Changes",
               "RequestId": "1", "LogicalResourceId": "StreamSlot", "ResourceProperties": slot}
    try:
        change_consumer.handler({**request, "RequestType": "Create"}, None)
        assert _ResponseCatcher.bodies[-1]["PhysicalResourceId"] == slot["Slot"] == "dp_changes_stream"
        sql.run("INSERT INTO orders VALUES (1, 'new')")
        sql.run("UPDATE orders SET status = 'paid' WHERE id = 1")
        sql.run("DELETE FROM orders WHERE id = 1")
        run_env = {**os.environ, **env, "DP_TEST_DATABASE_PASSWORD": logical_postgres.password,
                   "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen([sys.executable, "-m", "tests.support.run_change_consumer"], env=run_env,
                                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        bus.after_accept = lambda _events: os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
        bus.after_accept = None
        subprocess.run([sys.executable, "-m", "tests.support.run_change_consumer"], env=run_env, cwd=ROOT,
                       check=True, capture_output=True, timeout=60)
        unique = list({e["detail"]["idempotency_key"]: e["detail"] for e in target}.values())
        assert [(d["operation"], d["key"], d["new"], d["old"]) for d in unique] == [
            ("insert", {"id": 1}, {"id": 1, "status": "new"}, None),
            ("update", {"id": 1}, {"id": 1, "status": "paid"}, None),
            ("delete", {"id": 1}, None, {"id": 1})]
        assert [d["sequence"] for d in unique] == sorted(d["sequence"] for d in unique)
        assert len(target) == 6  # the killed run's batch again: at least once, no gap
        # CloudFormation's Delete (the construct removed): the slot is dropped.
        delete = {**request, "RequestType": "Delete", "PhysicalResourceId": slot["Slot"]}
        change_consumer.handler(delete, None)
        assert _ResponseCatcher.bodies[-1]["Status"] == "SUCCESS"
        assert sql.run("SELECT count(*) FROM pg_replication_slots WHERE slot_name = :s",
                       s=slot["Slot"]) == [[0]]
    finally:
        server.shutdown()
        server.server_close()
        sql.close()
        connection.set_password_provider(None)


def test_a_replaced_slot_resource_drops_the_old_slot_not_the_new_one(
        logical_postgres: Any, bus: StubEventBridge, monkeypatch: pytest.MonkeyPatch) -> None:
    old = Stream(logical_postgres, monkeypatch)  # the slot a renamed construct leaves behind
    new = Stream(logical_postgres, monkeypatch)
    for key, value in new.env.items():
        monkeypatch.setenv(key, value)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ResponseCatcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        connection.set_password_provider(lambda _s: logical_postgres.password)
        change_consumer.handler({"ResponseURL": f"http://127.0.0.1:{server.server_address[1]}/r",
                                 "StackId": "s", "RequestId": "r", "LogicalResourceId": "Slot",
                                 "RequestType": "Delete", "PhysicalResourceId": old.slot}, None)
        assert _ResponseCatcher.bodies[-1]["Status"] == "SUCCESS"
        slots = {r[0] for r in new.sql.run("SELECT slot_name FROM pg_replication_slots")}
        publications = {r[0] for r in new.sql.run("SELECT pubname FROM pg_publication")}
        assert old.slot not in slots and old.publication not in publications
        assert new.slot in slots and new.publication in publications
    finally:
        server.shutdown()
        server.server_close()
        old.conn.close()
        old.sql.close()
        new.close()
        connection.set_password_provider(None)
