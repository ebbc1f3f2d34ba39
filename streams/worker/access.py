"""The worker's gate to its HTTP port: who is asking, may they, and the audit record of it.

Every view declares its :class:`~midfield.access.Policy` next to its path
(:func:`streams.views.pages.page`); one aiohttp middleware (installed before faust builds its web
application) finds the caller's principal — an API key (``Authorization: Bearer``) or the
dashboard's session cookie — and lets the request through only when the route's policy allows
it. A route without a policy answers 403, and :func:`check_policies` stops the worker before it
serves one (deny by default). faust's own table and router pages are switched off
(streams/worker/app.py). The sign-in pages that issue the session cookie are
streams/views/sign_in.py; the gate keeps the sessions and the throttles they use.

Each request but ``/health`` and ``/ready`` becomes an :class:`AuditRecorded` on
``office.audit.v1``: who, what route, which entity, from where, the outcome — never a body, a
query value or a key.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

from aiohttp import web

from midfield import access, metrics
from midfield.errors import ConfigError
from midfield.logging import get_logger
from midfield.oidc import OidcVerifier, looks_like_jwt
from midfield.settings import AccessSettings
from schemas.envelope import Envelope
from schemas.events.audit import Action, AuditRecorded, Outcome
from streams.views.pages import PRINCIPAL
from streams.worker.emit import send

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["Gate", "check_policies"]

log = get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Gate:
    """The worker's access check: policies by route, principals by credential, audit records."""

    def __init__(self, app: MidfieldApp) -> None:
        self.app = app
        settings = app.settings.access
        self.policies: dict[str, tuple[access.Policy, Action]] = {}
        self.sessions = access.Sessions(
            settings.session_key.get_secret_value(), settings.session_hours * 3600
        )
        self.sign_ins = access.Throttle(settings.sign_in_attempts, settings.sign_in_lockout_s)
        self.failures = access.Throttle(
            settings.failed_credentials, settings.failed_credentials_window_s
        )
        self.scrape_token = settings.scrape_token.get_secret_value()
        self.oidc = _oidc(settings)
        if not self.sessions.shared:
            log.warning(
                "no MIDFIELD_ACCESS_SESSION_KEY: sessions end when this worker stops and "
                "are not shared with other workers"
            )

    def declare(self, path: str, policy: access.Policy, action: Action) -> None:
        if path in self.policies:
            raise ConfigError(f"route {path} declared twice", reason="route-policy")
        self.policies[path] = (policy, action)

    # -- who -------------------------------------------------------------------------------------
    async def identify(self, request: web.Request) -> tuple[access.Principal, bool]:
        """The caller, and whether a credential was given (a wrong one makes ``anonymous``)."""
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme:
            key = key.strip()
            if scheme.lower() != "bearer" or not key:
                return access.ANONYMOUS, True
            if self.scrape_token and access.constant_time_equal(key, self.scrape_token):
                return _SCRAPER, True
            found = self.app.directory.authenticate(key)
            if found is None and self.oidc is not None and looks_like_jwt(key):
                found = await self._single_sign_on(key)
            return found or access.ANONYMOUS, True
        token = request.cookies.get(access.Sessions.COOKIE)
        if token:
            login = self.sessions.login_of(token, time.time())
            person = self.app.directory.person(login) if login else None
            return person or access.ANONYMOUS, True
        return access.ANONYMOUS, False

    async def _single_sign_on(self, token: str) -> access.Principal | None:
        """The directory's person the provider's token names (keys fetched off the loop)."""
        assert self.oidc is not None
        loop = asyncio.get_running_loop()
        login = await loop.run_in_executor(None, self.oidc.login, token)
        return self.app.directory.person(login) if login else None

    # -- the middleware --------------------------------------------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        route = _route(request)
        found = self.policies.get(route) if route else None
        if route is None:  # 404 and 405 from the router: nothing to guard, nothing served
            return await handler(request)
        remote = request.remote or "-"
        if self.failures.blocked(remote, time.time()) and not (found and found[0].open):
            return await self._refuse(request, route, access.ANONYMOUS, 429, "too-many-failures",
                                      Action.read)  # fmt: skip
        principal, credential = await self.identify(request)
        request[PRINCIPAL] = principal
        if credential and not principal.authenticated:
            self.failures.failed(remote, time.time())
        if found is None:
            return await self._refuse(request, route, principal, 403, "no-policy", Action.read)
        policy, action = found
        if not policy.allows(principal):
            if principal.authenticated:
                return await self._refuse(request, route, principal, 403, "forbidden", action)
            reason = "bad-credential" if credential else "unauthenticated"
            return await self._refuse(request, route, principal, 401, reason, action)
        response = await handler(request)
        if policy.audited and action is not Action.sign_in:  # sign-in records itself
            await self.record(request, route, principal, action, response.status)
        return response

    async def _refuse(self, request: web.Request, route: str, principal: access.Principal,
                      status: int, reason: str, action: Action) -> web.StreamResponse:  # fmt: skip
        metrics.ACCESS_DENIED.labels("worker", route, str(status)).inc()
        log.info("access refused", route=route, principal=principal.id, status=status,
                 reason=reason, remote=request.remote)  # fmt: skip
        await self.record(request, route, principal, action, status, reason)
        if status == 401 and _wants_page(request):
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")
        message = {
            401: "sign in, or send Authorization: Bearer <key>",
            403: f"{principal.id} may not call {route}",
            429: "too many wrong credentials from this address: wait, then fix the credential",
        }[status]
        response = web.json_response({"error": reason, "message": message}, status=status)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="midfield"'
        if status == 429:
            response.headers["Retry-After"] = str(int(self.failures.window_s))
        return response

    async def record(self, request: web.Request, route: str, principal: access.Principal,
                     action: Action, status: int, reason: str = "", *,
                     target: str | None = None) -> None:  # fmt: skip
        """Put the audit record of this request on ``office.audit.v1``."""
        now = self.app.clock()
        event = AuditRecorded(
            principal=principal.id,
            roles=tuple(sorted(principal.roles)),
            service="worker",
            action=action,
            method=request.method,
            route=route,
            target=_target(request) if target is None else target[:200],
            outcome=Outcome.of(status),
            status=status,
            reason=reason,
            remote=(request.remote or "")[:64],
            at=now,
        )
        who = principal.id if principal.authenticated else f"anonymous@{request.remote or '-'}"
        day = now.astimezone(self.app.settings.office.zone).date().isoformat()
        envelope = Envelope.wrap(
            event,
            source=f"midfield://worker/{self.app.conf.id}",
            position=str(uuid.uuid4()),  # every request is an occurrence of its own
            subject=f"{day}/{who}",
            time=now,
        )
        await send(self.app.audit_topic, envelope)


_SCRAPER = access.Principal("system:scrape-token", "Prometheus", frozenset({access.Role.ops}))
"""Who presents MIDFIELD_ACCESS_SCRAPE_TOKEN: ops, for /metrics."""


def _oidc(settings: AccessSettings) -> OidcVerifier | None:
    if not settings.oidc_issuer:
        return None
    if not (settings.oidc_audience and settings.oidc_jwks_url):
        raise ConfigError(
            "single sign-on needs MIDFIELD_ACCESS_OIDC_AUDIENCE and MIDFIELD_ACCESS_OIDC_JWKS_URL "
            "with MIDFIELD_ACCESS_OIDC_ISSUER",
            reason="oidc-settings",
        )
    return OidcVerifier(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        jwks_url=settings.oidc_jwks_url,
        login_claim=settings.oidc_login_claim,
    )


def _route(request: web.Request) -> str | None:
    info = request.match_info
    if info.http_exception is not None:
        return None
    resource = info.route.resource
    return resource.canonical if resource is not None else None


def _target(request: web.Request) -> str:
    """The entity a path names (``/ledger/{task_id}`` -> the task id); never a query value."""
    return "/".join(str(v) for v in request.match_info.values())[:200]


def _wants_page(request: web.Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("Accept", "")


def check_policies(app: MidfieldApp) -> None:
    """Refuse to serve when a route of the web application has no declared policy."""
    missing = sorted(
        {
            resource.canonical
            for resource in app.web.web_app.router.resources()  # type: ignore[attr-defined]
            if resource.canonical not in app.gate.policies
        }
    )
    if missing:
        raise ConfigError(
            f"routes without an access policy: {', '.join(missing)}", reason="route-policy"
        )
