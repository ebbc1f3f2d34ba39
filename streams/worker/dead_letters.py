"""Records the worker cannot use go to ``office.deadletter.v1``, whole, with the reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from faust.types import EventT

from midfield.errors import ParseError
from midfield.logging import get_logger
from schemas.deadletter import DeadLetter
from schemas.envelope import DecodeError, Envelope

__all__ = ["dead_letter", "decode_or_dead_letter", "send_dead_letter"]

log = get_logger(__name__)


async def decode_or_dead_letter(
    event: EventT[Any], deadletters: Any, app_id: str
) -> Envelope | None:
    """The event's envelope; a record that is no valid event goes to the dead-letter topic.
    ``None`` for those, and for records past a replay's stop offsets."""
    headers: Any = event.headers or []
    pairs: list[tuple[str, bytes]] = (
        list(headers.items()) if isinstance(headers, dict) else list(headers)
    )
    if _beyond_stop(event):
        return None
    try:
        return Envelope.from_record(pairs, event.value)
    except (DecodeError, ParseError) as exc:
        await dead_letter(event, deadletters, app_id, exc.reason, str(exc), connector="worker")
        return None


async def dead_letter(
    event: EventT[Any], deadletters: Any, app_id: str, reason: str, error: str, *, connector: str
) -> None:
    """Send the record behind ``event`` to the dead-letter topic, whole, with ``reason``."""
    headers: Any = event.headers or []
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers)
    message = event.message
    position = f"{message.topic}/{message.partition}@{message.offset}"
    letter = DeadLetter.of(
        event.value if isinstance(event.value, bytes) else str(event.value).encode(),
        reason=reason,
        error=error,
        source=f"midfield://worker/{app_id}",
        position=position,
        connector=connector,
        first_seen=datetime.now(UTC),
        meta={k: v.decode("utf-8", "replace") for k, v in pairs},
    )
    log.warning("record dead-lettered", reason=reason, position=position, connector=connector)
    await send_dead_letter(deadletters, letter)


async def send_dead_letter(deadletters: Any, letter: DeadLetter) -> None:
    """Produce ``letter``; nothing in a read-only replay (the live workers already sent it)."""
    if deadletters.app.settings.replay.read_only:
        return
    await deadletters.send(key=letter.key(), value=letter.value(), headers=letter.headers())


def _beyond_stop(event: EventT[Any]) -> bool:
    """At or after the replay's stop offset for its partition (``replay as-of``): read, not
    applied."""
    stops: dict[tuple[str, int], int] = event.app.replay_stops  # type: ignore[attr-defined]
    if not stops:
        return False
    message = event.message
    stop = stops.get((message.topic, message.partition))
    return stop is not None and message.offset >= stop
