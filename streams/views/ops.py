"""Views for running the hub and overseeing its use: ``/health``, ``/ready``, ``/metrics``, the
audit trail (``/audit``) and the books as a replay reads them (``/replay/books``).

``/health`` and ``/ready`` answer anyone (probes, not audited); the rest name their readers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from midfield import metrics
from midfield.access import Policy
from midfield.access import Role as R
from streams.books import audit, snapshot
from streams.books.registry import NAMES
from streams.views.pages import bad_request, office_json, page

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["readiness", "register_ops_views"]


def readiness(app: MidfieldApp) -> tuple[bool, str]:
    """Ready = partitions assigned and every table recovered; else the reason why not.

    faust sets ``recovery.completed`` only after an assignment's changelogs are read to their
    high watermark (generation ids are no signal: Tansu hands out generation 0).
    """
    recovery = cast(Any, app.tables).recovery  # TableManager's, not in its typed interface
    if app.broker_watch.error:
        return False, f"broker unreachable: {app.broker_watch.error}"
    if app.rebalancing:
        return False, "rebalancing"
    if app.in_recovery:
        return False, "recovering tables from changelogs"
    if not recovery.completed.is_set():
        return False, "waiting for partition assignment"
    return True, "ready"


def register_ops_views(app: MidfieldApp) -> None:
    zone = app.settings.office.zone

    @page(app, "/health", Policy.anyone())
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "app": app.conf.id})

    @page(app, "/ready", Policy.anyone())
    async def ready(web: Any, request: Any) -> Any:
        ok, reason = readiness(app)
        return web.json({"ready": ok, "reason": reason}, status=200 if ok else 503)

    @page(app, "/metrics", Policy.telemetry(R.ops))
    async def metrics_view(web: Any, request: Any) -> Any:
        app.broker_watch.count_tables()
        return web.bytes(metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE_LATEST})

    @page(app, "/audit", Policy.of(R.director))
    async def audit_view(web: Any, request: Any) -> Any:
        raw = request.query.get("date")
        try:
            day = date.fromisoformat(raw) if raw else app.clock().astimezone(zone).date()
        except ValueError:
            return bad_request(web, "bad-date", f"date must be YYYY-MM-DD, got {raw!r}")
        found = audit.on_day(
            app.table(audit.BOOK).items(), day, request.query.get("principal") or None
        )
        denied = sum(b["denied"] for b in found)
        return office_json(
            web,
            {"date": day.isoformat(), "principals": len(found), "denied": denied, "books": found},
            zone,
        )

    @page(app, "/replay/books", Policy.of(R.replay))
    async def books_view(web: Any, request: Any) -> Any:
        raw = request.query.get("at")
        try:
            at = datetime.fromisoformat(raw) if raw else app.clock()
        except ValueError:
            return bad_request(web, "bad-time", f"at must be an ISO time, got {raw!r}")
        if at.tzinfo is None:
            at = at.replace(tzinfo=zone)
        tables = {name: dict(app.books[name].items()) for name in NAMES}
        return web.json(snapshot.render(tables, at, app.settings))
