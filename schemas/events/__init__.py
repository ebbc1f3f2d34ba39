"""One module per area, one pydantic model per CloudEvents ``type``; importing registers them."""

from schemas.events import audit, brief, duty, info, message, quarantine, task, telegram, workorder
from schemas.events.alert import AlertRaised, Severity
from schemas.events.fax import FaxFormat, FaxReceived

__all__ = [
    "AlertRaised",
    "FaxFormat",
    "FaxReceived",
    "Severity",
    "audit",
    "brief",
    "duty",
    "info",
    "message",
    "quarantine",
    "task",
    "telegram",
    "workorder",
]
