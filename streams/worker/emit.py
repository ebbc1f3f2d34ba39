"""How processors and their timers put events on the bus, and when a timer may act."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from schemas.envelope import Envelope

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["raw_topic", "send", "tables_settled"]


def raw_topic(app: MidfieldApp, name: str) -> Any:
    """A faust topic of raw bytes: records are decoded as envelopes by the processors themselves."""
    return app.topic(
        name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


async def send(channel: Any, envelope: Envelope) -> None:
    """Produce ``envelope`` to ``channel`` (a faust topic) as a binary-mode CloudEvent; nothing
    in a read-only replay (the live workers already sent it)."""
    if channel.app.settings.replay.read_only:
        return
    await channel.send(key=envelope.key(), value=envelope.value(), headers=envelope.headers())


def tables_settled(app: MidfieldApp) -> bool:
    """Tables recovered and partitions assigned: a timer acting earlier would read half a book.
    Never in a read-only replay, whose timers stay idle."""
    if app.settings.replay.read_only:
        return False
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    return bool(recovery.completed.is_set()) and not app.rebalancing
