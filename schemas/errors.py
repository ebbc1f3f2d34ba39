"""The root of Midfield's errors, here because ``schemas`` depends on nothing of ours.

    MidfieldError
    ├── ParseError             input that cannot become an event -> dead letter
    │   └── DecodeError        a record that is no valid Midfield event (the worker's letters)
    └── RuleError              an event its entity's lifecycle does not allow
        ├── IllegalTransition  a supervised task's (schemas/events/task_lifecycle.py)
        └── WrongStep          a hotline work order's (schemas/events/workorder.py)

``midfield.errors`` adds the rest (configuration, requests refused, stores, the broker) under the
same root. Every error carries a machine-readable ``reason`` (kebab-case) that dead letters, HTTP
answers and metrics use as their category; ``str(error)`` is the human message. A ``ValueError``
or ``TypeError`` is a bug, never a verdict on input: the books answer refusals as values, and the
worker lets anything else stop it.
"""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["DecodeError", "MidfieldError", "ParseError", "RuleError", "invalid", "summary"]


class MidfieldError(Exception):
    """Root of every error Midfield raises on purpose."""

    default_reason = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or self.default_reason


class ParseError(MidfieldError):
    """Input that cannot become an event. ``reason`` names the category, ``detail`` the spot."""

    default_reason = "malformed"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}", reason=reason)
        self.detail = detail


class DecodeError(ParseError):
    """A record that is not a valid Midfield event; ``reason`` is its dead-letter category."""


class RuleError(MidfieldError):
    """An event its entity's lifecycle does not allow; ``reason`` is its dead-letter category."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}", reason=reason)
        self.detail = detail


def summary(exc: ValidationError) -> str:
    """pydantic's first complaint, where it is, and how many more: one line for a dead letter
    or an HTTP answer (never the input's values, which may be personal)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "event"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def invalid(exc: ValidationError, reason: str = "invalid-event") -> ParseError:
    """The one mapping of pydantic's ``ValidationError`` to a :class:`ParseError`."""
    return ParseError(reason, summary(exc))
