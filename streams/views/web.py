"""The HTTP views the worker serves (DESIGN §6), one module per subject; :func:`register_views`
is the one entry the worker calls (streams/worker/app.py).

- streams/views/sign_in.py: ``/login``, ``/logout``, ``/whoami``;
- streams/views/ops.py: ``/health``, ``/ready``, ``/metrics``, ``/audit``, ``/replay/books``;
- streams/views/duty.py: ``/duty-log``, ``/alerts``, ``/items/{item_id}``, ``/duty-report``;
- streams/views/public_requests.py: ``/reply-rate``, ``/work-order-rates``,
  ``/work-orders/{number}``;
- streams/views/dashboard.py: ``/`` and ``/dashboard.json``;
- streams/views/supervision.py: ``/ledger``, ``/ledger.xlsx``, ``/ledger/{task_id}``;
- streams/views/information.py: ``/info-reports``, ``/info-reports/tallies``.
- streams/views/brief.py: ``/brief``, ``/brief.docx`` (the weekly brief);
- streams/views/suggestions.py: ``/suggestions/{subject}`` (suggested departments).

Views read the books; the figures are computed by the books' pure modules. Each view names who
may call it (streams/views/pages.py), a department's principal sees only its own share, and
citizens' personal data is masked for roles that do not need it (streams/views/masking.py).
docs/security.md has the whole table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from streams.views.brief import register_brief_views
from streams.views.dashboard import register_dashboard
from streams.views.duty import register_duty_views
from streams.views.information import register_information_views
from streams.views.ops import register_ops_views
from streams.views.public_requests import register_public_request_views
from streams.views.sign_in import register_sign_in
from streams.views.suggestions import register_suggestion_views
from streams.views.supervision import register_ledger_views

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["register_views"]


def register_views(app: MidfieldApp) -> None:
    """Declare every view of the worker, each with who may call it."""
    register_sign_in(app)
    register_ops_views(app)
    register_duty_views(app)
    register_public_request_views(app)
    register_dashboard(app)
    register_ledger_views(app)
    register_information_views(app)
    register_brief_views(app)
    register_suggestion_views(app)
