"""Sample Lambda@Edge viewer-request handler: an HTML page of recent posts, rendered at the edge.

Handler string: ``deploy_paradigms.runtime.edge_handler.handler``. Standard
library only, so the bundle stays a few KB (viewer triggers allow a 1 MB
package).

For ``/`` (and ``/index.html``) it fetches
``https://<host>/data/recent_posts?limit=5`` *through the same CloudFront
distribution*, so the edge cache answers (the data endpoint marks that query
``max-age=60, stale-while-revalidate=300``) and the database sees about one
query per minute per edge location, whatever the traffic. The host comes from
the request's ``Host`` header because Lambda@Edge has no environment
variables. Every other URI (``/favicon.ico``, ``/robots.txt``, scanners) gets a
small 404 page from the function itself, so it never reaches an origin; only a
``/data/`` URI (which the distribution routes to its own behaviour, not here) is
passed through untouched.

Limits it respects: viewer triggers get 5 s in total. The fetch has one
deadline of 3 s for everything (connect, TLS, headers, a body that drips in
byte by byte): at the deadline its socket is shut down. Redirects are not
followed (a 3xx is a failure). Responses are at most 40 KB generated (the page
is capped at 32 KB, everything escaped). Any failure, including a malformed
answer from the origin (bad status line, bad chunked encoding, over 100
headers, JSON nested too deeply) and anything unexpected in this module,
renders the 502 page.

Tests set :data:`BASE_URL` and/or :data:`FETCH` (or pass ``base_url``/``fetch``
to :func:`handle`).
"""

from __future__ import annotations

import contextlib
import html
import http.client
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

DATA_PATH = "/data/recent_posts?limit=5"
PAGE_URIS = ("/", "/index.html")
FETCH_TIMEOUT_S = 3.0  # the whole fetch; viewer-request triggers have 5 s in total
MAX_DATA_BYTES = 256 * 1024
MAX_BODY_BYTES = 32 * 1024  # viewer triggers may generate at most 40 KB (body and headers)
MAX_TITLE_CHARS = 200
MAX_EXCERPT_CHARS = 280
USER_AGENT = "deploy-paradigms-edge/1"

Fetch = Callable[[str, float], Any]

#: Overrides for tests: a base URL instead of https://<host>, and a fetch function.
BASE_URL: str | None = None

_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$")


class DataError(Exception):
    """The data endpoint did not give a usable answer."""


def fetch_json(url: str, timeout: float) -> Any:
    """GET ``url`` and parse its JSON body within ``timeout`` seconds in total; raise
    :class:`DataError` on any failure (never follows a redirect)."""
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DataError("the data URL is not http(s)")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    extra: dict[str, Any] = {"context": ssl.create_default_context()} if parts.scheme == "https" else {}
    conn = kind(parts.hostname, parts.port, timeout=timeout, **extra)
    # One deadline for the whole exchange: a per-read timeout lets a dripping origin run forever.
    watchdog = threading.Timer(timeout, _cut, args=(conn,))
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                     headers={"accept": "application/json", "user-agent": USER_AGENT})
        response = conn.getresponse()
        if response.status != 200:
            raise DataError(f"the data endpoint answered HTTP {response.status}")
        data = b""
        while len(data) <= MAX_DATA_BYTES:
            chunk = response.read1(MAX_DATA_BYTES + 1 - len(data)) if time.monotonic() < deadline else None
            if chunk is None:
                raise DataError(f"the data endpoint did not answer within {timeout:g} s")
            if not chunk:
                break
            data += chunk
        if time.monotonic() >= deadline:
            raise DataError(f"the data endpoint did not answer within {timeout:g} s")
    except DataError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if time.monotonic() >= deadline:
            raise DataError(f"the data endpoint did not answer within {timeout:g} s") from exc
        raise DataError(f"the data endpoint could not be reached or read ({type(exc).__name__})") from exc
    finally:
        watchdog.cancel()
        conn.close()
    if len(data) > MAX_DATA_BYTES:
        raise DataError(f"the data endpoint sent more than {MAX_DATA_BYTES} bytes")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise DataError("the data endpoint did not send JSON") from exc


def _cut(conn: http.client.HTTPConnection) -> None:
    """Unblock a read stuck past the deadline (shutting the socket down wakes it at once)."""
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


FETCH: Fetch = fetch_json


def _header(request: dict[str, Any], name: str) -> str | None:
    values = (request.get("headers") or {}).get(name) or []
    return str(values[0].get("value")) if values else None


def _posts(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict) and "error" in data:
        raise DataError(f"the data endpoint reported an error ({str(data['error'])[:200]})")
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise DataError("the data endpoint's answer has no rows")
    return [row for row in rows if isinstance(row, dict)]


def _clip(value: Any, limit: int) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _document(title: str, main: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}"
        "li{margin-bottom:1rem}time{color:#666;font-size:.9em}</style>"
        f"</head><body>{main}</body></html>"
    )


def render_posts(posts: list[dict[str, Any]]) -> str:
    """The page for ``posts``, every value escaped, never above :data:`MAX_BODY_BYTES`."""
    footer = "<footer><p>Rendered by Lambda@Edge from <code>/data/recent_posts</code>.</p></footer>"
    items: list[str] = []
    budget = MAX_BODY_BYTES - len(_document("Recent posts", f"<h1>Recent posts</h1><ul></ul>{footer}"))
    for post in posts:
        created = html.escape(_clip(post.get("created_at"), 40))
        item = (f"<li><h2>{html.escape(_clip(post.get('title'), MAX_TITLE_CHARS))}</h2>"
                f'<time datetime="{created}">{created}</time>'
                f"<p>{html.escape(_clip(post.get('body'), MAX_EXCERPT_CHARS))}</p></li>")
        size = len(item.encode("utf-8"))
        if size > budget:
            break
        items.append(item)
        budget -= size
    listing = "".join(items) if items else "<li>No posts yet.</li>"
    return _document("Recent posts", f"<h1>Recent posts</h1><ul>{listing}</ul>{footer}")


def _page(status: int, description: str, body: str, cache_control: str) -> dict[str, Any]:
    def header(key: str, value: str) -> list[dict[str, str]]:
        return [{"key": key, "value": value}]

    return {
        "status": str(status),
        "statusDescription": description,
        "headers": {
            "content-type": header("Content-Type", "text/html; charset=utf-8"),
            "cache-control": header("Cache-Control", cache_control),
            "x-content-type-options": header("X-Content-Type-Options", "nosniff"),
            "content-security-policy": header("Content-Security-Policy",
                                              "default-src 'none'; style-src 'unsafe-inline'"),
        },
        "body": body,
    }


def error_page(message: str) -> dict[str, Any]:
    """The 502 response (the message is escaped)."""
    main = f"<h1>Data temporarily unavailable</h1><p>{html.escape(_clip(message, 300))}</p>"
    return _page(502, "Bad Gateway", _document("Data temporarily unavailable", main), "no-store")


def not_found_page() -> dict[str, Any]:
    """The 404 response for every URI this site does not serve (answered at the edge)."""
    main = "<h1>Not found</h1><p>This site serves <a href=\"/\">one page</a>.</p>"
    return _page(404, "Not Found", _document("Not found", main), "public, max-age=300")


def handle(event: dict[str, Any], *, fetch: Fetch | None = None,
           base_url: str | None = None) -> dict[str, Any]:
    """Answer one viewer-request event: a generated page, a 502 or 404 page, or (``/data/``) the
    request unchanged."""
    cf = event["Records"][0]["cf"]
    request: dict[str, Any] = cf["request"]
    uri = str(request.get("uri", "/"))
    if uri.startswith("/data/"):
        return request  # the data behaviour's: let CloudFront continue to the cache/origin
    if uri not in PAGE_URIS:
        return not_found_page()
    base = base_url or BASE_URL
    if base is None:
        host = _header(request, "host") or (cf.get("config") or {}).get("distributionDomainName")
        if not host or not _HOST.match(str(host)):
            return error_page("the request has no usable Host header")
        base = f"https://{host}"
    try:
        posts = _posts((fetch or FETCH)(base.rstrip("/") + DATA_PATH, FETCH_TIMEOUT_S))
    except DataError as exc:
        return error_page(str(exc))
    return _page(200, "OK", render_posts(posts), "public, max-age=10")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda@Edge entry point: whatever goes wrong, the viewer gets the 502 page in time."""
    try:
        return handle(event)
    except Exception:  # last resort: details in the log
        request_id = str(getattr(context, "aws_request_id", "") or "")[:64]
        logger.exception("request %s failed", request_id)
        return error_page(f"the page could not be rendered (request {request_id})")
