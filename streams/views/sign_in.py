"""Signing in to the dashboard: ``GET/POST /login``, ``POST /logout`` and ``GET /whoami``.

A person signs in with the login and password of the office's directory and gets a session
cookie; the worker's gate (streams/worker/access.py) reads the cookie on every later request, and
sends a page request without one here (``/login?next=…``). Wrong passwords are throttled per login
and address, and every attempt is audited (never the password). Only a path of this site is a
place to go back to after signing in (:func:`_safe_next`).
"""

from __future__ import annotations

import time
from html import escape
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from aiohttp import web

from midfield import metrics
from midfield.access import ANONYMOUS, Policy, Sessions
from schemas.events.audit import Action
from streams.views.pages import page, principal_of

if TYPE_CHECKING:
    from streams.worker.access import Gate
    from streams.worker.app import MidfieldApp

__all__ = ["register_sign_in", "sign_in", "sign_out"]

LOGIN_PAGE = files("streams").joinpath("static/login.html").read_text(encoding="utf-8")


def register_sign_in(app: MidfieldApp) -> None:
    """``GET/POST /login``, ``POST /logout`` and ``GET /whoami``."""
    import faust

    gate = app.gate

    @page(app, "/login", Policy.sign_in(), action=Action.sign_in)
    class Login(faust.web.View):
        async def get(self, request: Any) -> Any:
            return _login_page(_safe_next(request.query.get("next", "/")))

        async def post(self, request: Any) -> Any:
            return await sign_in(gate, request)

    @page(app, "/logout", Policy.authenticated(), action=Action.sign_out)
    class Logout(faust.web.View):
        async def post(self, request: Any) -> Any:
            return await sign_out(gate, request)

    @page(app, "/whoami", Policy.authenticated())
    async def whoami(web_: Any, request: Any) -> Any:
        who = principal_of(request)
        return web_.json(
            {
                "principal": who.id,
                "name": who.name,
                "roles": sorted(who.roles),
                "department": who.department,
            }
        )


async def sign_in(gate: Gate, request: web.Request) -> web.StreamResponse:
    """``POST /login``: a session cookie for the right password, the form again otherwise."""
    form = await request.post()
    login, password = str(form.get("login", ""))[:64], str(form.get("password", ""))[:256]
    target = _safe_next(str(form.get("next", "/")))
    who = f"{login}@{request.remote}"
    if gate.sign_ins.blocked(who, time.time()):
        await gate.record(request, "/login", ANONYMOUS, Action.sign_in, 429, "throttled",
                          target=f"login:{login}")  # fmt: skip
        return _login_page(target, "登录失败次数过多，请稍后再试。", status=429)
    principal = gate.app.directory.sign_in(login, password) if login else None
    if principal is None:
        gate.sign_ins.failed(who, time.time())
        metrics.ACCESS_DENIED.labels("worker", "/login", "401").inc()
        await gate.record(request, "/login", ANONYMOUS, Action.sign_in, 401, "bad-password",
                          target=f"login:{login}")  # fmt: skip
        return _login_page(target, "用户名或密码不正确。", status=401)
    gate.sign_ins.forget(who)
    await gate.record(request, "/login", principal, Action.sign_in, 303)
    response = _see_other(target)
    response.set_cookie(
        Sessions.COOKIE,
        gate.sessions.issue(login, time.time()),
        max_age=int(gate.sessions.ttl_s),
        httponly=True,
        samesite="Strict",
        secure=gate.app.settings.access.secure_cookies,
        path="/",
    )
    return response


async def sign_out(gate: Gate, request: web.Request) -> web.StreamResponse:
    """``POST /logout``: the session ends here, even for a copy of its cookie."""
    token = request.cookies.get(Sessions.COOKIE)
    if token:
        gate.sessions.end(token, time.time())
    response = _see_other("/login")
    response.del_cookie(Sessions.COOKIE, path="/")
    return response


def _see_other(target: str) -> web.Response:
    return web.Response(status=303, headers={"Location": target, "Cache-Control": "no-store"})


def _safe_next(target: str) -> str:
    """Only a path of this site: no scheme, no host, no ``//`` (an open redirect otherwise)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_page(target: str, error: str = "", *, status: int = 200) -> web.Response:
    body = LOGIN_PAGE.replace("{{next}}", escape(target, quote=True)).replace(
        "{{error}}", escape(error)
    )
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )
