"""Delivering one record to a webhook, pure where it can be: the structured CloudEvent body, the
Standard Webhooks signature, what an answer means, the back-off; and the HTTP POST itself, whose
failures are answers, never exceptions. The consumer loop is :mod:`connectors.sinks.department`.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from standardwebhooks.webhooks import Webhook

from midfield.errors import ParseError
from midfield.settings import SinkSettings

__all__ = [
    "CONTENT_TYPE",
    "Answer",
    "Deliver",
    "Verdict",
    "judge",
    "post",
    "retry_delay",
    "signed_headers",
    "structured",
]

CONTENT_TYPE = "application/cloudevents+json"


# -- the pure part: body, signature, verdict ---------------------------------------------------
def structured(headers: Iterable[tuple[str, bytes]] | None, value: bytes | None) -> tuple[str, str]:
    """``(id, body)``: the structured-mode JSON of a binary-mode record (every ``ce_*`` header
    becomes an attribute, the value becomes ``data``); ``ParseError`` if it is not a CloudEvent."""
    attrs = {k[3:]: v.decode("utf-8", "replace") for k, v in headers or () if k.startswith("ce_")}
    if attrs.get("specversion") != "1.0" or not all(map(attrs.get, ("id", "source", "type"))):
        found = ", ".join(sorted(attrs)) or "none"
        raise ParseError("not-cloudevent", f"needs ce_specversion 1.0, ce_id, ce_source, ce_type; "
                         f"ce_* attributes found: {found}")  # fmt: skip
    if not (attrs["id"].isascii() and attrs["id"].isprintable()):  # it travels as a header
        raise ParseError("bad-event-id", f"ce_id must be printable ASCII: {attrs['id']!r}")
    try:
        data = json.loads(value or b"")
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise ParseError("not-cloudevent", f"the value is not JSON: {exc}") from exc
    event = attrs | {"datacontenttype": "application/json", "data": data}
    return attrs["id"], json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def signed_headers(webhook: Webhook, event_id: str, body: str, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of ``body`` signed at ``now`` (timezone-aware)."""
    now = now.astimezone(UTC)  # sign() reads the datetime as UTC whatever its zone says
    return {
        "content-type": CONTENT_TYPE,
        "user-agent": "midfield-department-sink",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": webhook.sign(event_id, now, body),
    }


class Verdict(StrEnum):
    delivered = "delivered"
    retry = "retry"
    rejected = "delivery-rejected"
    failed = "delivery-failed"


def judge(status: int | None, attempt: int, attempts: int) -> Verdict:
    """What an answer means: ``status`` None is no answer; ``attempt`` counts from 1."""
    if status is not None and 200 <= status < 300:
        return Verdict.delivered
    if status is None or status in (408, 429) or status >= 500:
        return Verdict.retry if attempt < attempts else Verdict.failed
    return Verdict.rejected


def retry_delay(settings: SinkSettings, attempt: int) -> float:
    """The wait after failed attempt number ``attempt``: the first back-off, doubling, capped."""
    return min(settings.backoff_max_s, settings.backoff_first_s * 2.0 ** min(attempt - 1, 60))


# -- HTTP ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    """What the endpoint said: a status with the start of its body, or ``None`` and why not."""

    status: int | None
    detail: str = ""

    def __str__(self) -> str:
        if self.status is None:
            return self.detail
        return f"HTTP {self.status}: {self.detail}" if self.detail else f"HTTP {self.status}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Work is posted to the URL the office configured, never elsewhere: a 3xx is an answer."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)

Deliver = Callable[[str, bytes, Mapping[str, str], float], Answer]


def post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> Answer:
    """POST ``body``; HTTP and network failures are answers, not exceptions."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            return Answer(response.status)
    except urllib.error.HTTPError as exc:
        try:
            return Answer(exc.code, _start_of(exc))
        finally:
            exc.close()
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        why = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return Answer(None, why if isinstance(why, str) else f"{type(why).__name__}: {why}")


def _start_of(answer: urllib.error.HTTPError, chars: int = 200) -> str:
    try:
        text = answer.read(chars * 4).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return ""
    return " ".join(text.split())[:chars]
