"""The root of Midfield's errors, here because ``schemas`` depends on nothing of ours.

    MidfieldError
    ├── ParseError             input that cannot become an event -> dead letter
    │   └── DecodeError        a record that is no valid Midfield event (the worker's letters)
    └── RuleError              an event its entity's lifecycle does not allow
        ├── IllegalTransition  a supervised task's (schemas/events/task_lifecycle.py)
        └── WrongStep          a hotline work order's (schemas/events/workorder.py)

pydantic's ``ValidationError`` becomes a ``ParseError`` here only (:func:`parse_error`).
``midfield.errors`` adds the rest (configuration, requests refused, stores, the broker) under the
same root. Every error carries a machine-readable ``reason`` (kebab-case) that dead letters, HTTP
answers and metrics use as their category; ``str(error)`` is the human message. A ``ValueError``
or ``TypeError`` is a bug, never a verdict on input: the books answer refusals as values, and the
worker lets anything else stop it.
"""

from __future__ import annotations

from pydantic import ValidationError

__all__ = [
    "DecodeError",
    "MidfieldError",
    "ParseError",
    "RuleError",
    "detail",
    "field_errors",
    "parse_error",
]


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


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Every failing field as ``{"field", "message"}`` (``body`` for the whole input): what an
    HTTP intake answers a sender, without the input's values."""
    return [
        {"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]}
        for e in exc.errors(include_input=False, include_url=False)
    ]


def detail(exc: ValidationError, *, root: str | None = "event", more: bool = False) -> str:
    """pydantic's first complaint in one line for a dead letter: ``<field>: <message>``, the
    field being ``root`` when the whole input failed and left out when ``root`` is ``None``;
    ``more`` adds how many other fields failed. Never the input's values (they may be
    personal)."""
    first = exc.errors(include_input=False, include_url=False)[0]
    text = str(first["msg"])
    if root is not None:
        text = f"{'.'.join(map(str, first['loc'])) or root}: {text}"
    if more and exc.error_count() > 1:
        text += f" (+{exc.error_count() - 1} more)"
    return text


def parse_error(exc: ValidationError, reason: str, *, root: str | None = "event") -> ParseError:
    """The one mapping of pydantic's ``ValidationError`` to a :class:`ParseError`: the source's
    ``reason`` and the first failing field (:func:`detail`)."""
    return ParseError(reason, detail(exc, root=root))
