"""The Lambda@Edge sample against a local HTTP server standing in for CloudFront's /data/*."""

from __future__ import annotations

import ast
import contextlib
import json
import socket
import sys
import threading
import time
import types
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from deploy_paradigms.runtime import edge_handler
from deploy_paradigms.runtime.edge_handler import MAX_BODY_BYTES, handle
from tests.support.local_postgres import free_port

VIEWER_GENERATED_RESPONSE_LIMIT = 40 * 1024  # Lambda@Edge viewer triggers


class DataServer:
    """Answers /data/recent_posts with whatever a test sets; records the paths requested."""

    def __init__(self) -> None:
        self.status = 200
        self.body: bytes = b'{"rows": []}'
        self.delay = 0.0
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's naming
                outer.paths.append(self.path)
                time.sleep(outer.delay)
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up
                    self.wfile.write(outer.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def rows(self, rows: list[dict[str, Any]]) -> None:
        self.status, self.body = 200, json.dumps({"query": "recent_posts", "rows": rows}).encode()


@pytest.fixture(scope="module")
def data_server() -> Iterator[DataServer]:
    server = DataServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def data(data_server: DataServer) -> DataServer:
    data_server.status, data_server.body, data_server.delay = 200, b'{"rows": []}', 0.0
    data_server.paths.clear()
    return data_server


def viewer_event(uri: str = "/", host: str | None = "d111111abcdef8.cloudfront.net") -> dict[str, Any]:
    headers = {"host": [{"key": "Host", "value": host}]} if host else {}
    return {"Records": [{"cf": {
        "config": {"distributionDomainName": "d111111abcdef8.cloudfront.net", "eventType": "viewer-request"},
        "request": {"uri": uri, "method": "GET", "querystring": "", "clientIp": "203.0.113.1",
                    "headers": headers},
    }}]}


def header(response: dict[str, Any], name: str) -> str:
    return str(response["headers"][name][0]["value"])


def test_renders_recent_posts_with_everything_escaped(data: DataServer) -> None:
    data.rows([{"id": 1, "title": "<script>alert('x')</script>", "body": "a & b \"quoted\"",
                "created_at": "2024-05-01T12:00:00+00:00"},
               {"id": 2, "title": "Second", "body": "plain", "created_at": "2024-05-01T11:00:00+00:00"}])
    response = handle(viewer_event(), base_url=data.url)
    assert data.paths == ["/data/recent_posts?limit=5"]
    assert response["status"] == "200" and response["statusDescription"] == "OK"
    assert header(response, "content-type") == "text/html; charset=utf-8"
    page = response["body"]
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "a &amp; b &quot;quoted&quot;" in page and "<h2>Second</h2>" in page
    assert page.index("&lt;script&gt;") < page.index("Second")  # the endpoint's order is kept
    assert header(response, "x-content-type-options") == "nosniff"


def test_empty_result(data: DataServer) -> None:
    data.rows([])
    assert "No posts yet." in handle(viewer_event(), base_url=data.url)["body"]


def test_page_stays_under_the_generated_response_limit(data: DataServer) -> None:
    huge = {"title": "T" * 2_000, "body": "\u00e9" * 5_000, "created_at": "x" * 500}
    data.rows([dict(huge, id=i) for i in range(5)])
    response = handle(viewer_event(), base_url=data.url)
    size = len(response["body"].encode("utf-8")) + len(json.dumps(response["headers"]))
    assert response["status"] == "200" and size < VIEWER_GENERATED_RESPONSE_LIMIT
    assert "T" * 199 + "\u2026" in response["body"]  # clipped, not dropped
    # An answer larger than the handler reads is refused rather than buffered.
    data.rows([dict(huge, body="y" * 300_000)])
    refused = handle(viewer_event(), base_url=data.url)
    assert refused["status"] == "502" and "more than" in refused["body"]
    many = [dict(huge, id=i) for i in range(1000)]
    body = handle(viewer_event(), fetch=lambda url, timeout: {"rows": many})["body"]
    assert len(body.encode("utf-8")) <= MAX_BODY_BYTES


@pytest.mark.parametrize(("status", "body", "message"), [
    (500, b'{"error": {"code": "query_failed"}}', "HTTP 500"),
    (503, b'{"error": {"code": "database_unavailable"}}', "HTTP 503"),
    (200, b"<html>not json</html>", "did not send JSON"),
    (200, b'{"error": {"code": "x", "message": "<b>bad</b>"}}', "reported an error"),
    (200, b'{"rows": "nope"}', "has no rows"),
])
def test_data_errors_render_a_502_page(data: DataServer, status: int, body: bytes, message: str) -> None:
    data.status, data.body = status, body
    response = handle(viewer_event(), base_url=data.url)
    assert response["status"] == "502" and response["statusDescription"] == "Bad Gateway"
    assert header(response, "cache-control") == "no-store"
    assert message in response["body"] and "<b>" not in response["body"]


def test_timeout_and_unreachable_render_502(data: DataServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edge_handler, "FETCH_TIMEOUT_S", 0.2)
    data.delay = 1.0
    started = time.monotonic()
    response = handle(viewer_event(), base_url=data.url)
    assert response["status"] == "502" and time.monotonic() - started < 0.9
    assert "did not answer within 0.2 s" in response["body"]
    closed = handle(viewer_event(), base_url=f"http://127.0.0.1:{free_port()}")
    assert closed["status"] == "502"


def test_fetches_through_the_distribution_named_by_the_host_header(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, float]] = []

    def fetch(url: str, timeout: float) -> Any:
        seen.append((url, timeout))
        return {"rows": []}

    monkeypatch.setattr(edge_handler, "FETCH", fetch)
    assert edge_handler.handler(viewer_event(host="www.example.com"), None)["status"] == "200"
    assert edge_handler.handler(viewer_event(host=None), None)["status"] == "200"  # config fallback
    assert seen == [("https://www.example.com/data/recent_posts?limit=5", 3.0),
                    ("https://d111111abcdef8.cloudfront.net/data/recent_posts?limit=5", 3.0)]
    assert seen[0][1] < 5  # the viewer trigger's whole budget is 5 s
    bad = edge_handler.handler(viewer_event(host="evil.com/@x"), None)
    assert bad["status"] == "502" and len(seen) == 2


def test_base_url_override(data: DataServer, monkeypatch: pytest.MonkeyPatch) -> None:
    data.rows([{"title": "via override"}])
    monkeypatch.setattr(edge_handler, "BASE_URL", data.url + "/")
    assert "via override" in edge_handler.handler(viewer_event(), None)["body"]


def must_not_fetch(url: str, timeout: float) -> Any:
    raise AssertionError("fetched")


def test_data_uris_pass_through_untouched() -> None:
    event = viewer_event("/data/recent_posts")
    assert handle(event, fetch=must_not_fetch) is event["Records"][0]["cf"]["request"]


@pytest.mark.parametrize("uri", ["/static/app.css", "/favicon.ico", "/robots.txt", "/wp-login.php"])
def test_other_uris_are_answered_at_the_edge_and_never_reach_an_origin(uri: str) -> None:
    response = handle(viewer_event(uri), fetch=must_not_fetch)
    assert response["status"] == "404"
    assert "uri" not in response  # a response, not the request CloudFront would forward
    assert len(response["body"].encode()) < 40 * 1024


def test_handler_uses_only_the_standard_library() -> None:
    tree = ast.parse(Path(edge_handler.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    assert imported - {"__future__"} <= set(sys.stdlib_module_names), imported


# ----------------------------------------------------------------------------- hostile origins


class RawOrigin:
    """A TCP server that answers every connection with ``script(sock)``: malformed HTTP on purpose."""

    def __init__(self, script: Any) -> None:
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(sock,), daemon=True).start()

    def _answer(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError), sock:
            sock.recv(65536)
            self.script(sock)

    def close(self) -> None:
        self.listener.close()


def _send(payload: bytes) -> Any:
    return lambda sock: sock.sendall(payload)


def _drip(sock: socket.socket) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(200):  # a byte every 50 ms for 10 s: never idle for a whole read timeout
        sock.sendall(b" ")
        time.sleep(0.05)


def _redirect(sock: socket.socket) -> None:
    sock.sendall(b"HTTP/1.1 302 Found\r\nLocation: /data/recent_posts?limit=5\r\nContent-Length: 0\r\n\r\n")


DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
DEEP_JSON_REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(DEEP_JSON) + DEEP_JSON
MANY_HEADERS = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(150)) + b"\r\n{}"


@pytest.mark.parametrize(("name", "script"), [
    ("bad status line", _send(b"HTTZ/9 banana\r\n\r\n")),
    ("bad chunked encoding", _send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n")),
    ("over 100 headers", _send(MANY_HEADERS)),
    ("deeply nested JSON", _send(DEEP_JSON_REPLY)),
    ("a redirect", _redirect),
    ("a dripping body", _drip),
])
def test_a_hostile_origin_gets_the_502_page_within_the_deadline(name: str, script: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edge_handler, "FETCH_TIMEOUT_S", 1.0)
    origin = RawOrigin(script)
    try:
        started = time.monotonic()
        response = handle(viewer_event(), base_url=origin.url)
        elapsed = time.monotonic() - started
    finally:
        origin.close()
    assert response["status"] == "502", name
    assert elapsed < 2.0, f"{name}: {elapsed:.1f} s"  # one 1 s deadline for the whole fetch
    assert origin.connections == 1, "a redirect was followed"


def test_an_unexpected_exception_still_answers_the_502_page(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(url: str, timeout: float) -> Any:
        raise KeyError("surprise")

    monkeypatch.setattr(edge_handler, "FETCH", broken)
    response = edge_handler.handler(viewer_event(), types.SimpleNamespace(aws_request_id="edge-1"))
    assert response["status"] == "502" and "edge-1" in response["body"] and "surprise" not in response["body"]
