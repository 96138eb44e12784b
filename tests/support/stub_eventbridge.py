"""A local EventBridge ``PutEvents`` endpoint for tests and benchmarks.

    with StubEventBridge(credentials) as bus:
        monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", bus.url)
        target = bus.subscribe(event_pattern("deploy-paradigms.changes", operations=["delete"]))
        ...                                   # the runtime calls PutEvents
        assert [e["detail"]["operation"] for e in target] == ["delete"]

What it checks like the real service: the SigV4 signature (recomputed from the request
with the runtime's signer, for the one access key it knows; a bad signature, an unknown key,
another Region or service scope, or a request older than 5 minutes is answered 400/403 and
nothing is accepted), the ``X-Amz-Target``, at most 10 entries and 256 KB per request, the
required entry fields. Accepted entries are kept in order (``accepted``) and delivered to
every subscription whose event pattern matches (exact values, nested ``detail``), wrapped in
EventBridge's envelope.

Failure injection: ``fail_calls`` (the next N calls answer 500), ``fail_from_entry`` (in the
next call, entries from that index on fail with ``InternalFailure``: a partial failure,
``FailedEntryCount`` > 0), ``after_accept`` (called with the accepted entries before the
answer is sent; a test kills the consumer process there).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from deploy_paradigms.runtime import aws_sigv4
from tests.support.stub_http import StubHttpServer

MAX_ENTRIES = 10
MAX_BYTES = 256 * 1024
_AUTH = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                   r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$")


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """EventBridge matching for exact-value patterns: every key's value is one of the listed
    values (or, for a nested object, matches recursively)."""
    for key, wanted in pattern.items():
        if key not in event:
            return False
        value = event[key]
        if isinstance(wanted, Mapping):
            if not isinstance(value, Mapping) or not matches(wanted, value):
                return False
        elif isinstance(value, list):
            if not set(map(json.dumps, value)) & set(map(json.dumps, wanted)):
                return False
        elif value not in wanted:
            return False
    return True


class StubEventBridge(StubHttpServer):
    """See the module docstring."""

    def __init__(self, credentials: aws_sigv4.AwsCredentials, *, region: str = "eu-west-1",
                 account: str = "123456789012") -> None:
        super().__init__()
        self.credentials = credentials
        self.region = region
        self.account = account
        self.accepted: list[dict[str, Any]] = []
        self.calls = 0
        self.rejected: list[str] = []
        self.fail_calls = 0
        self.fail_from_entry: int | None = None
        self.after_accept: Callable[[list[dict[str, Any]]], None] | None = None
        self._subscriptions: list[tuple[Mapping[str, Any], list[dict[str, Any]]]] = []
        self._lock = threading.Lock()

    def subscribe(self, pattern: Mapping[str, Any]) -> list[dict[str, Any]]:
        """A rule with ``pattern``; its target is the returned list (events appended in order)."""
        target: list[dict[str, Any]] = []
        self._subscriptions.append((pattern, target))
        return target

    # -- the API --------------------------------------------------------------------------

    def _signature_problem(self, method: str, path: str, headers: Mapping[str, str],
                           body: bytes) -> str | None:
        lower = {k.lower(): v for k, v in headers.items()}
        match = _AUTH.match(lower.get("authorization", ""))
        if not match:
            return "MissingAuthenticationToken"
        key_id, day, region, service, signed_names, _signature = match.groups()
        if key_id != self.credentials.access_key_id:
            return "UnrecognizedClientException"
        if region != self.region or service != "events":
            return "InvalidSignatureException: wrong credential scope"
        amz_date = lower.get("x-amz-date", "")
        try:
            when = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        except ValueError:
            return "IncompleteSignature: bad X-Amz-Date"
        if day != amz_date[:8] or abs((dt.datetime.now(dt.UTC) - when).total_seconds()) > 300:
            return "InvalidSignatureException: signature expired"
        # Recompute over the headers the client says it signed (the signer adds host, date, token).
        extra = {name: lower[name] for name in signed_names.split(";")
                 if name not in ("host", "x-amz-date", "x-amz-security-token") and name in lower}
        expected = aws_sigv4.sign_headers(method=method, url=f"http://{lower.get('host', '')}{path}",
                                          region=region, service=service, credentials=self.credentials,
                                          headers=extra, body=body, now=when)
        if expected["Authorization"] != lower["authorization"]:
            return "InvalidSignatureException: the request signature does not match"
        return None

    THREAD_NAME = "stub-eventbridge"

    def handle(self, method: str, path: str, headers: Mapping[str, str],
               body: bytes) -> tuple[int, bytes, str]:
        status, answer = self._answer(method, path, headers, body)
        return status, json.dumps(answer).encode(), "application/x-amz-json-1.1"

    def _answer(self, method: str, path: str, headers: Mapping[str, str],
                body: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls += 1
            problem = self._signature_problem(method, path, headers, body)
            if problem:
                self.rejected.append(problem)
                return 403, {"__type": problem.split(":")[0], "message": problem}
            target = {k.lower(): v for k, v in headers.items()}.get("x-amz-target")
            if target != "AWSEvents.PutEvents":
                return 400, {"__type": "UnknownOperationException", "message": str(target)}
            if self.fail_calls:
                self.fail_calls -= 1
                return 500, {"__type": "InternalException", "message": "injected failure"}
            entries = json.loads(body)["Entries"]
            size = sum(len(str(e.get(k, "")).encode()) for e in entries for k in ("Source", "DetailType",
                                                                                   "Detail"))
            if not 1 <= len(entries) <= MAX_ENTRIES or size > MAX_BYTES:
                return 400, {"__type": "ValidationException",
                             "message": f"{len(entries)} entries, {size} bytes (limits 10, 262144)"}
            fail_from = self.fail_from_entry
            self.fail_from_entry = None
            results: list[dict[str, Any]] = []
            newly: list[dict[str, Any]] = []
            for index, entry in enumerate(entries):
                if not all(entry.get(k) for k in ("Source", "DetailType", "Detail")):
                    results.append({"ErrorCode": "MalformedDetail", "ErrorMessage": "missing field"})
                elif fail_from is not None and index >= fail_from:
                    results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "injected"})
                else:
                    event_id = str(uuid.uuid4())
                    results.append({"EventId": event_id})
                    newly.append(self._deliver(entry, event_id))
            self.accepted.extend(newly)
            if self.after_accept is not None:
                self.after_accept(newly)
            failed = sum(1 for r in results if "ErrorCode" in r)
            return 200, {"FailedEntryCount": failed, "Entries": results}

    def _deliver(self, entry: Mapping[str, Any], event_id: str) -> dict[str, Any]:
        event = {"version": "0", "id": event_id, "detail-type": entry["DetailType"],
                 "source": entry["Source"],
                 "account": self.account, "time": entry.get("Time") or dt.datetime.now(dt.UTC).isoformat(),
                 "region": self.region, "resources": list(entry.get("Resources", [])),
                 "detail": json.loads(entry["Detail"])}
        for pattern, target in self._subscriptions:
            if matches(pattern, event):
                target.append(event)
        return event
