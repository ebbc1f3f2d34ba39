"""The runtime of sources whose input is HTTP requests (tasks, duty, WeChat, board, hotline).

An :class:`HttpSource` declares its routes; the runtime serves them on 127.0.0.1 with what every
intake shares (DESIGN §6, §10):

* a request is acknowledged only after the broker has its event (``acks=all``): a broker that
  is down answers **503** with ``Retry-After``, so the sender retries and nothing is lost;
* bodies over ``max_body_bytes`` answer **413**; a :class:`Rejected` answers its status with the
  reason as JSON (``{"error": reason, "message": …}``);
* malformed input is also kept as a dead letter (:meth:`Intake.dead_letter`), with no personal
  data in clear (connectors/runtime/privacy.py);
* handlers read requests with :mod:`connectors.runtime.http_requests` and publish through the
  :class:`~connectors.runtime.intake.Intake` (:mod:`connectors.runtime.intake`);
* ``/health``, ``/ready`` and ``/metrics`` on the same port; request counts and times are
  recorded by middleware, never by handlers.
"""

from __future__ import annotations

import asyncio
import signal
import time
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from typing import ClassVar

from aiohttp import web
from pydantic import Field

from connectors.runtime.guard import OPEN, SCRAPE, Guard, allow, check_routes
from connectors.runtime.http_requests import json_error
from connectors.runtime.intake import Intake
from connectors.runtime.privacy import Kept, Redactor
from connectors.runtime.source import Connector, SourceOptions
from midfield import metrics
from midfield.errors import BrokerError, Rejected
from midfield.logging import get_logger
from midfield.ports import require_free
from midfield.settings import AccessSettings, Settings
from midfield.shutdown import exit_within

__all__ = ["HttpSource", "HttpSourceOptions", "make_app", "serve"]

log = get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HttpSourceOptions(SourceOptions):
    host: str = Field("127.0.0.1", description="Address to listen on (loopback by default).")
    port: int = Field(8070, ge=0, le=65535, description="Port to listen on.")
    max_body_bytes: int = Field(
        256 * 1024, ge=1024, description="Larger request bodies are refused with 413."
    )


class HttpSource(Connector):
    """A source served over HTTP. Subclasses set ``name`` and ``options`` and give routes."""

    options: ClassVar[type[SourceOptions]] = HttpSourceOptions

    @abstractmethod
    def routes(self, intake: Intake) -> list[web.RouteDef]:
        """The source's endpoints; handlers publish through ``intake``."""

    async def start(self, settings: Settings) -> None:
        """Called before serving (e.g. to start following a topic)."""

    async def stop(self) -> None:
        """Called after serving stopped."""

    def ready(self) -> tuple[bool, str]:
        """Whether the source can take requests, and why not."""
        return True, "ready"

    def redacted(self, raw: bytes, redactor: Redactor) -> Kept:
        """What a dead letter keeps of a request body: JSON redacted by field (a source whose
        bodies are not JSON says how to read them)."""
        return redactor.json_body(raw)


@web.middleware
async def _measured(request: web.Request, handler: Handler) -> web.StreamResponse:
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics.HTTP_REQUESTS.labels(route, str(status)).inc()
        metrics.HTTP_SECONDS.labels(route).observe(time.perf_counter() - start)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Rejected as exc:
        fields = getattr(exc, "fields", None)  # field-level reasons of a 422
        return json_error(
            exc.status, exc.reason, str(exc), **({"fields": fields} if fields else {})
        )
    except BrokerError as exc:
        response = json_error(503, "broker-unavailable", f"try again later: {exc}")
        response.headers["Retry-After"] = "5"
        return response
    except web.HTTPRequestEntityTooLarge as exc:
        return json_error(413, "body-too-large", exc.text or "request body too large")


GUARD = web.AppKey("guard", Guard)
"""The application's access middleware (its audit records are drained at shutdown)."""


def make_app(
    source: HttpSource, intake: Intake, max_body_bytes: int, access: AccessSettings | None = None
) -> web.Application:
    """The intake's application: its routes and /health, /ready, /metrics, each with its access
    policy (connectors/runtime/guard.py); a route without one stops it here."""
    guard = Guard(source, intake, access or AccessSettings())
    app = web.Application(
        client_max_size=max_body_bytes, middlewares=[_measured, guard.middleware, _errors]
    )
    app[GUARD] = guard
    app.add_routes(source.routes(intake))

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "source": source.uri})

    async def ready(request: web.Request) -> web.Response:
        ok, reason = source.ready()
        if ok and intake.broker_error:
            ok, reason = False, f"broker unreachable: {intake.broker_error}"
        return web.json_response({"ready": ok, "reason": reason}, status=200 if ok else 503)

    async def metrics_view(request: web.Request) -> web.Response:
        return web.Response(
            body=metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE_LATEST}
        )

    app.add_routes(
        [
            allow(OPEN, web.get("/health", health)),
            allow(OPEN, web.get("/ready", ready)),
            allow(SCRAPE, web.get("/metrics", metrics_view)),
        ]
    )
    check_routes(app)
    return app


def serve(source: HttpSource, options: HttpSourceOptions, settings: Settings) -> None:
    """Serve ``source`` until SIGINT or SIGTERM, then exit within the shutdown timeout
    (``MIDFIELD_CONNECT_SHUTDOWN_TIMEOUT_S``) whatever the broker does. A busy port fails
    here, before anything starts, naming what holds it."""
    require_free(options.host, options.port, what=f"connect {source.name}")
    asyncio.run(_serve(source, options, settings))


async def _serve(source: HttpSource, options: HttpSourceOptions, settings: Settings) -> None:
    key = settings.privacy.key.get_secret_value().encode()
    if not key:
        log.warning("MIDFIELD_PRIVACY_KEY is not set: dead-letter digests hold for this run only")
    intake = Intake(source, settings.kafka, key)
    await source.start(settings)
    app = make_app(source, intake, options.max_body_bytes, settings.access)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        stop.set()
        exit_within(settings.connect.shutdown_timeout_s, what=f"connect {source.name}")

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    watch = asyncio.create_task(intake.watch_broker())
    try:
        await web.TCPSite(runner, options.host, options.port).start()
        log.info("serving", source=source.uri, url=f"http://{options.host}:{options.port}")
        await stop.wait()
    finally:
        watch.cancel()
        await app[GUARD].drain()
        await runner.cleanup()
        await source.stop()
        intake.close()
