"""A department's webhook endpoint for tests: a real aiohttp server on 127.0.0.1 that checks every
signature with the Standard Webhooks package and answers what the test says; and
:func:`signed`, the headers a sender (the board, the hotline platform) signs a request with."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = ["Answerer", "Got", "Receiver", "signed", "whsec"]


def whsec(secret: str) -> str:
    """An old shared secret as a Standard Webhooks one (docs/board.md)."""
    return "whsec_" + base64.b64encode(secret.encode()).decode()


def signed(
    secret: str, body: bytes, *, msg_id: str | None = None, at: float | None = None
) -> dict[str, str]:
    """Standard Webhooks headers for ``body`` as a sender signs it: with the
    ``standardwebhooks`` package, or by the spec's formula for a body that is not UTF-8 (the
    package signs text). The id defaults to one per body, so a body sent again is a retry."""
    msg_id = msg_id or "msg_" + hashlib.sha256(body).hexdigest()[:24]
    when = datetime.fromtimestamp(int(time.time() if at is None else at), UTC)
    try:
        signature = Webhook(secret).sign(msg_id, when, body.decode())
    except UnicodeDecodeError:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed_content = f"{msg_id}.{int(when.timestamp())}.".encode() + body
        digest = hmac.new(key, signed_content, hashlib.sha256).digest()
        signature = "v1," + base64.b64encode(digest).decode()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }


Answerer = Callable[[dict[str, Any], int], int]
"""``(event, nth delivery of its webhook-id) -> status`` the receiver answers."""


@dataclass(frozen=True)
class Got:
    headers: dict[str, str]  # names lowercased
    event: dict[str, Any] | None  # None: the signature did not verify
    status: int
    at: float  # time.monotonic()

    @property
    def task(self) -> str:
        return self.event["data"]["task_id"] if self.event else ""


class Receiver:
    """A department's webhook endpoint in its own thread and event loop."""

    def __init__(self, answer: Answerer = lambda event, nth: 200, delay_s: float = 0) -> None:
        self.secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
        self.answer, self.delay_s = answer, delay_s
        self.got: list[Got] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        self._runner = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        return runner

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            event = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            event = None
        nth = 1 + sum(g.headers["webhook-id"] == headers.get("webhook-id") for g in self.got)
        status = self.answer(event, nth) if event is not None else 401
        self.got.append(Got(headers, event, status, time.monotonic()))
        await asyncio.sleep(self.delay_s)
        location = {"location": "/elsewhere"} if 300 <= status < 400 else {}
        return web.Response(status=status, text=f"status {status} from the test receiver",
                            headers=location)  # fmt: skip

    def delivered(self) -> list[Got]:
        return [g for g in self.got if 200 <= g.status < 300]
