"""What every entry point tells a caller when something fails: little, bounded, with a request id.

Public error bodies never carry a host, port, user, ARN, SQL or driver text;
those go to the logs next to the same request id, so an operator can find the
details of the answer a caller quotes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

#: Lambda time kept back from a query's deadline to answer (and log) before the function is killed.
DEADLINE_MARGIN_S = 1.0


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def request_id_of(event: Mapping[str, Any] | None = None, context: Any = None) -> str:
    """The Lambda request id, else the HTTP API's, else a new one (what logs and answers share)."""
    found = getattr(context, "aws_request_id", None)
    if not found and isinstance(event, Mapping):
        request_context = event.get("requestContext")
        if isinstance(request_context, Mapping):
            found = request_context.get("requestId")
    text = str(found) if found else ""
    return clip(text, 64) if text else uuid.uuid4().hex


def lambda_deadline(context: Any, margin_s: float = DEADLINE_MARGIN_S) -> float | None:
    """``time.monotonic()`` by which a query must be over: the invocation's remaining time minus
    ``margin_s`` (None outside Lambda)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    try:
        left_s = float(remaining()) / 1000.0
    except (TypeError, ValueError):
        return None
    return time.monotonic() + max(left_s - margin_s, 0.0)
