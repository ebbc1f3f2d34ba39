"""The runtime of sources whose input is HTTP requests (tasks, duty, WeChat, board, hotline).

An :class:`HttpSource` declares its routes; the runtime serves them on 127.0.0.1 with what every
intake shares (DESIGN §6, §10):

* a request is acknowledged only after the broker has its event (``acks=all``): a broker that
  is down answers **503** with ``Retry-After``, so the sender retries and nothing is lost;
* bodies over ``max_body_bytes`` answer **413**; a :class:`Rejected` answers its status with the
  reason as JSON (``{"error": reason, "message": …}``);
* malformed input is also kept as a dead letter (:meth:`Intake.dead_letter`), with no personal
  data in clear (connectors/runtime/privacy.py);
* ``/health``, ``/ready`` and ``/metrics`` on the same port; request counts and times are
  recorded by middleware, never by handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from connectors.runtime.guard import (
    ACTOR,
    OPEN,
    PERSON,
    SCRAPE,
    SESSION,
    Guard,
    allow,
    check_routes,
)
from connectors.runtime.privacy import Kept, Redactor
from connectors.runtime.producer import EventProducer, OutRecord, delivery_error
from connectors.runtime.source import Connector, SourceOptions
from midfield import metrics
from midfield.access import Principal, Role
from midfield.admin import broker_answers
from midfield.departments import OFFICE, Directory
from midfield.errors import BrokerError, BrokerUnavailable, ParseError, Rejected
from midfield.logging import Outage, get_logger
from midfield.ports import require_free
from midfield.settings import AccessSettings, KafkaSettings, Settings
from midfield.shutdown import exit_within
from schemas.catalog import DEADLETTER
from schemas.deadletter import DeadLetter
from schemas.envelope import Envelope
from schemas.errors import field_errors

__all__ = [
    "HttpSource",
    "HttpSourceOptions",
    "Intake",
    "Invalid",
    "bearer_principal",
    "field_errors",
    "json_error",
    "json_object",
    "make_app",
    "serve",
    "validated",
]

log = get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)


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


def json_error(status: int, reason: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": reason, "message": message, **extra}, status=status)


def bearer_principal(request: web.Request, directory: Directory) -> str:
    """Who acts: the office or a department code. From ``Authorization: Bearer <key>``, or from
    a person signed in to the dashboard (the session the access middleware found: an office
    role acts as the office, a department clerk as the department, and the person's name is
    what the event records, in ``request[PERSON]``). 401 for no or an unknown credential,
    403 for a person whose roles act for nobody. The audit trail records the principal
    (connectors/runtime/guard.py)."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    person = request.get(SESSION) if not scheme else None
    if person is not None:
        return _acting_person(request, person)
    principal = directory.principal(key.strip()) if scheme.lower() == "bearer" else None
    if principal is None:
        raise Rejected(
            "missing or unknown API key (Authorization: Bearer <key>), and no sign-in",
            reason="unauthenticated",
            status=401,
        )
    request[ACTOR] = principal if principal == OFFICE else f"department:{principal}"
    return principal


_OFFICE_ROLES = frozenset({Role.director, Role.duty_officer, Role.supervision})


def _acting_person(request: web.Request, person: Principal) -> str:
    request[ACTOR] = person.id
    request[PERSON] = person.name
    if person.department is not None and Role.department in person.roles:
        return person.department
    if not person.roles.isdisjoint(_OFFICE_ROLES):
        return OFFICE
    raise Rejected(f"{person.id} acts for no office or department", reason="role", status=403)


class Invalid(Rejected):
    """422 with field-level reasons (``fields``: ``[{"field", "message"}]``)."""

    def __init__(self, fields: list[dict[str, str]]) -> None:
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        super().__init__(summary, reason="invalid-request", status=422)
        self.fields = fields


MAX_JSON_DEPTH = 32
"""No intake's body nests more than a few levels. A deeper one is refused as ``bad-json``: a value
nested near Python's recursion limit still parses, then breaks whatever prints it (a 500 from a
duty ``kind`` nested 965 deep; tests/integration/test_hostile_inputs.py)."""


async def json_object(intake: Intake, raw: bytes, where: str) -> dict[str, Any]:
    """The body as a JSON object; 400 ``bad-json`` and a dead letter otherwise."""
    try:
        body = json.loads(raw or b"{}")
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        if _depth(body) > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        return body
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than Python goes
        await intake.dead_letter(raw, ParseError("bad-json", str(exc)), where)
        raise Rejected(f"body is not a JSON object: {exc}", reason="bad-json") from exc


def _depth(value: Any) -> int:
    """How deep ``value`` nests (``{}`` is 1), counted without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            todo.extend((child, depth + 1) for child in children)
    return deepest


async def validated(
    intake: Intake, raw: bytes, model: type[M], data: dict[str, Any], where: str
) -> M:
    """``model`` from ``data``; 422 with the fields and a dead letter when it does not validate."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = field_errors(exc)
        await intake.dead_letter(raw, ParseError("invalid-request", fields[0]["message"]), where)
        raise Invalid(fields) from exc


class Intake:
    """What handlers use to hand input to the bus. The producer is made lazily and retried, so
    the endpoint serves (503) while the broker is away and recovers by itself."""

    def __init__(self, source: HttpSource, kafka: KafkaSettings, privacy_key: bytes = b"") -> None:
        self.source = source
        self.kafka = kafka
        self.redactor = Redactor(privacy_key or os.urandom(32))
        self._producer: EventProducer | None = None
        self.broker_error: str | None = None
        """Why the broker is unusable (from the last send or probe); ``None`` when it is fine."""

    async def publish(self, *envelopes: Envelope, within_s: float | None = None) -> None:
        """Produce ``envelopes`` and wait until the broker has every one; raises
        :class:`BrokerError` (answered 503 by the middleware) when it cannot, within
        ``within_s`` when given (WeChat wants an answer in 5 s)."""
        records = [(e.topic, e.key(), e.value(), e.headers()) for e in envelopes]
        await self.send(records, within_s=within_s)
        for envelope in envelopes:
            metrics.EVENTS_OUT.labels(envelope.topic, envelope.source).inc()
            metrics.saw_event(envelope.source)

    async def send(self, records: list[OutRecord], *, within_s: float | None = None) -> None:
        """Send and wait, bounded: whatever the client library does while the broker hangs,
        the request is answered (503) within the request timeout plus a second."""
        loop = asyncio.get_running_loop()
        limit = within_s or self.kafka.request_timeout_ms / 1000 + 1
        try:
            await asyncio.wait_for(loop.run_in_executor(None, self._send_and_wait, records), limit)
            self.broker_error = None
        except TimeoutError as exc:
            self.broker_error = f"no acknowledgement in {limit:.0f} s"
            raise BrokerUnavailable(self.broker_error) from exc
        except BrokerError as exc:
            self.broker_error = str(exc)
            raise

    def _send_and_wait(self, records: list[OutRecord]) -> None:
        producer = self._connect()
        deliveries = [producer.send(record) for record in records]
        producer.flush(timeout_s=self.kafka.request_timeout_ms / 1000)
        for delivery in deliveries:
            if not delivery.is_done:
                raise BrokerUnavailable("the broker did not answer in time")
            if delivery.failed():
                raise delivery_error(delivery) or BrokerUnavailable("delivery failed")

    async def watch_broker(self, interval_s: float = 10.0) -> None:
        """Keep :attr:`broker_error` true while idle, for ``/ready``."""
        loop = asyncio.get_running_loop()
        bootstrap = ",".join(self.kafka.bootstrap_list)
        outage = Outage(log.bind(connector=self.source.name))
        while True:
            answers = await loop.run_in_executor(None, broker_answers, self.kafka)
            self.broker_error = None if answers else f"no metadata from {bootstrap}"
            if answers:
                outage.recovered()
            else:
                outage.failed(self.broker_error)
            if answers and self._producer is None:  # connect before the first request needs it
                with contextlib.suppress(BrokerError):
                    await loop.run_in_executor(None, self._connect)
            await asyncio.sleep(interval_s)

    def _connect(self) -> EventProducer:
        if self._producer is None:
            self._producer = EventProducer(self.kafka, linger_ms=5)
        return self._producer

    async def dead_letter(
        self, raw: bytes, error: ParseError, where: str, meta: dict[str, str] | None = None
    ) -> None:
        """Keep input that could not become an event, with the reason, redacted (no personal
        data in clear; best effort: the request is answered 4xx either way)."""
        kept, digest = self.source.redacted(raw, self.redactor), self.redactor.digest(raw)
        letter = DeadLetter.redacted(
            kept.raw,
            redaction=kept.redaction,
            size=len(raw),
            keyed_digest=digest,
            reason=error.reason,
            error=self.redactor.scrubbed(str(error)),
            source=self.source.uri,
            # the body's digest makes the letter's id one per distinct request: a re-sent
            # request is the same letter, two different bad requests are two
            position=f"{where} hmac:{digest[:16]}",
            connector=self.source.name,
            first_seen=self.source.clock(),
            meta=meta or {},
        )
        try:
            await self.send([(DEADLETTER, letter.key(), letter.value(), letter.headers())])
        except BrokerError as exc:
            log.error("dead letter lost: broker unavailable", reason=error.reason, error=str(exc))
            return
        metrics.DEAD_LETTERS.labels(error.reason, self.source.name).inc()  # only what was kept

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close()


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
