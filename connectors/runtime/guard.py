"""Who may call an intake's routes, and the audit record of each call (DESIGN §6 "Access").

Every route of an HTTP intake is declared with :func:`allow` and one of the policies below, next
to its definition; :func:`check_routes` refuses to serve an application with a route that has
none (deny by default). The handlers authenticate as each intake's protocol says (a signature,
an API key); this middleware then:

* answers ``/metrics`` only to the scrape token or an ``ops`` key (:data:`SCRAPE`);
* counts and logs every 401 and 403, and refuses an address that failed to authenticate
  ``failed_credentials`` times within ``failed_credentials_window_s`` (429) before any handler
  runs — one sender guessing keys cannot keep the intake busy checking them;
* puts an :class:`AuditRecorded` on ``office.audit.v1`` for every call but ``/health`` and
  ``/ready``: who (the principal the handler found), route, entity, address, outcome; never
  the body. A denied department is counted there, and the worker raises one grouped alert for
  repeated denials (streams/audit.py) — not one alert per request.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from midfield import metrics
from midfield.access import Principal, Role, Sessions, Throttle, constant_time_equal
from midfield.departments import Directory
from midfield.errors import BrokerError, ConfigError
from midfield.logging import get_logger
from midfield.settings import AccessSettings
from schemas.envelope import Envelope
from schemas.events.audit import Action, AuditRecorded, Outcome

if TYPE_CHECKING:
    from connectors.runtime.http import HttpSource
    from connectors.runtime.intake import Intake

__all__ = [
    "ACTOR",
    "KEYED",
    "OPEN",
    "PERSON",
    "SCRAPE",
    "SESSION",
    "SIGNED",
    "Guard",
    "IntakePolicy",
    "allow",
    "check_routes",
]

log = get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ACTOR = web.RequestKey("actor", str)
"""Who the audit record names: ``office``, ``department:<code>``, ``person:<login>``…"""
PERSON = web.RequestKey("person", str)
"""A signed-in person's name: what an event records as its recorder (duty, tasks)."""
SESSION = web.RequestKey("session", Principal)
"""The person of a live dashboard session cookie, when the request carries one."""


@dataclass(frozen=True)
class IntakePolicy:
    """How a route authenticates, in a phrase (docs/security.md lists them per route)."""

    name: str
    description: str
    audited: bool = True
    action: Action = Action.write


OPEN = IntakePolicy("open", "anyone (liveness, readiness, a blank form)", audited=False)
SCRAPE = IntakePolicy("scrape", "the scrape token, or an API key with the ops role", False,
                      Action.read)  # fmt: skip
"""An allowed scrape reads no book and is not audited; a refused one is (every refusal is)."""
SIGNED = IntakePolicy("signed", "the sending system's signature, checked by the handler")
KEYED = IntakePolicy("keyed", "an API key of the office or a department, checked by the handler")
KEYED_READ = IntakePolicy("keyed-read", KEYED.description, True, Action.read)


def allow(policy: IntakePolicy, route: web.RouteDef) -> web.RouteDef:
    """``route`` with its policy declared (read by the middleware and :func:`check_routes`)."""
    handler = route.handler

    async def guarded(request: web.Request) -> web.StreamResponse:
        return await handler(request)

    guarded.policy = policy  # type: ignore[attr-defined]
    return web.RouteDef(route.method, route.path, guarded, route.kwargs)


def policy_of(handler: Any) -> IntakePolicy | None:
    found = getattr(handler, "policy", None)
    return found if isinstance(found, IntakePolicy) else None


def check_routes(app: web.Application) -> None:
    """Refuse to serve when a route was added without :func:`allow`."""
    missing = sorted(
        {f"{r.method} {r.resource.canonical}" for r in app.router.routes()
         if r.resource is not None and policy_of(r.handler) is None and r.method != "HEAD"}
    )  # fmt: skip
    if missing:
        raise ConfigError(f"routes without an access policy: {', '.join(missing)}",
                          reason="route-policy")  # fmt: skip


class Guard:
    """The intake's middleware (see the module docstring)."""

    def __init__(self, source: HttpSource, intake: Intake, access: AccessSettings) -> None:
        self.source, self.intake = source, intake
        self.scrape_token = access.scrape_token.get_secret_value()
        self.failures = Throttle(access.failed_credentials, access.failed_credentials_window_s)
        session_key = access.session_key.get_secret_value()
        # a person signed in to the dashboard may use the office's APIs (the duty form): only
        # with the workers' own session key, never a key of this process's making
        self.sessions = Sessions(session_key, access.session_hours * 3600) if session_key else None
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def directory(self) -> Directory | None:
        found = getattr(self.source, "directory", None)
        return found if isinstance(found, Directory) else None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        info = request.match_info
        if info.http_exception is not None or info.route.resource is None:
            return await handler(request)  # 404, 405: the router's own answer
        route = info.route.resource.canonical
        policy = policy_of(info.handler)
        remote = request.remote or "-"
        if policy is None:
            return self._refuse(request, route, KEYED, 403, "no-policy")
        if policy is not OPEN and self.failures.blocked(remote, time.time()):
            return self._refuse(request, route, policy, 429, "too-many-failures")
        if policy is SCRAPE and (status := self._scraper(request)) != 200:
            return self._refuse(request, route, policy, status, "scrape-token")
        self._session(request)
        response = await handler(request)
        if response.status in (401, 403):
            self._denied(request, route, response.status)
        if policy.audited:
            self.record(request, route, policy, response.status)
        return response

    def _session(self, request: web.Request) -> None:
        """:data:`SESSION`: the signed-in person of a live session cookie, if any."""
        token = request.cookies.get(Sessions.COOKIE)
        if self.sessions is None or self.directory is None or not token:
            return
        login = self.sessions.login_of(token, time.time())
        person = self.directory.person(login) if login else None
        if person is not None:
            request[SESSION] = person

    def _scraper(self, request: web.Request) -> int:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return 401
        if self.scrape_token and constant_time_equal(key, self.scrape_token):
            request[ACTOR] = "system:scrape-token"
            return 200
        who = self.directory.authenticate(key) if self.directory else None
        if who is None:
            return 401
        request[ACTOR] = who.id
        return 200 if Role.ops in who.roles else 403

    def _refuse(self, request: web.Request, route: str, policy: IntakePolicy, status: int,
                reason: str) -> web.Response:  # fmt: skip
        self._denied(request, route, status, reason)
        self.record(request, route, policy, status, reason)
        messages = {
            401: "missing or wrong credential",
            403: "not allowed",
            429: "too many failed credentials from this address: wait, then fix the credential",
        }
        response = web.json_response({"error": reason, "message": messages[status]}, status=status)
        if status == 429:
            response.headers["Retry-After"] = str(int(self.failures.window_s))
        return response

    def _denied(self, request: web.Request, route: str, status: int, reason: str = "") -> None:
        remote = request.remote or "-"
        if status == 401:
            self.failures.failed(remote, time.time())
        metrics.ACCESS_DENIED.labels(self.source.name, route, str(status)).inc()
        log.warning("access refused", route=route, status=status, remote=remote,
                    principal=request.get(ACTOR, "anonymous"), reason=reason)  # fmt: skip

    def record(self, request: web.Request, route: str, policy: IntakePolicy, status: int,
               reason: str = "") -> None:  # fmt: skip
        """Send the audit record of this request in the background (the answer does not wait;
        a broker that is down loses the record, logged)."""
        principal = self._principal(request, policy, status)
        now = self.source.clock()
        who = principal if principal != "anonymous" else f"anonymous@{request.remote or '-'}"
        event = AuditRecorded(
            principal=principal,
            service=self.source.name,
            action=policy.action,
            method=request.method,
            route=route,
            target="/".join(str(v) for v in request.match_info.values())[:200],
            outcome=Outcome.of(status),
            status=status,
            reason=reason,
            remote=(request.remote or "")[:64],
            at=now,
        )
        day = now.astimezone(self.source.zone).date().isoformat()
        envelope = Envelope.wrap(event, source=self.source.uri, position=str(uuid.uuid4()),
                                 subject=f"{day}/{who}", time=now)  # fmt: skip
        task = asyncio.create_task(self._send(envelope))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _principal(self, request: web.Request, policy: IntakePolicy, status: int) -> str:
        given = request.get(ACTOR)
        if given:
            return str(given)
        if policy is SIGNED and status not in (401, 403, 429):
            return f"system:{self.source.name}"
        return "anonymous"

    async def _send(self, envelope: Envelope) -> None:
        try:
            await self.intake.publish(envelope)
        except BrokerError as exc:
            log.error("audit record lost: broker unavailable", route=envelope.data.route,  # type: ignore[attr-defined]
                      error=str(exc))  # fmt: skip

    async def drain(self) -> None:
        """Wait for the audit records still being sent (at shutdown)."""
        if self._pending:
            await asyncio.wait(self._pending, timeout=5)
