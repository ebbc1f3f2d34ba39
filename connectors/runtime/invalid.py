"""The one place where pydantic's ``ValidationError`` becomes a connector's ``ParseError``.

A source validates its input into pydantic models; what does not validate is a dead letter whose
``dlq.reason`` is the source's reason (``invalid-event``, ``invalid-sheet``…) and whose
``dlq.error`` names the first failing field and why (``commid: String should match pattern``).
"""

from __future__ import annotations

from pydantic import ValidationError

from midfield.errors import ParseError

__all__ = ["field_errors", "parse_error"]


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Every failing field as ``{"field", "message"}`` (``body`` for the whole input)."""
    return [
        {"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]}
        for e in exc.errors(include_input=False, include_url=False)
    ]


def parse_error(exc: ValidationError, reason: str, *, root: str | None = "event") -> ParseError:
    """``ParseError(reason, "<field>: <message>")`` of the first failing field; the field is
    ``root`` when the whole input failed, and left out when ``root`` is ``None``."""
    first = exc.errors(include_input=False, include_url=False)[0]
    if root is None:
        return ParseError(reason, str(first["msg"]))
    where = ".".join(map(str, first["loc"])) or root
    return ParseError(reason, f"{where}: {first['msg']}")
