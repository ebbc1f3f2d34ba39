"""The public-message processor: the ``messages`` table behind the reply tallies, and the early
warning timer (DESIGN §5, "Reply tallies").

The agent applies each event of ``office.intake.message.v1`` with :func:`streams.replies.apply`;
a first reply to a message old enough to have been warned about resolves its alert. The timer
proposes the warning alerts to ``office.alerts.v1`` with ids fixed per message and threshold;
the alerts book applies each once, so a proposal repeated (every check, or after a restart)
changes nothing. The proposals already made are remembered in memory, only to spare the topic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import faust

from midfield.logging import get_logger
from schemas.catalog import topic
from schemas.events.message import PublicMessageReceived
from streams import replies
from streams.dead_letters import dead_letter, decode_or_dead_letter
from streams.emit import raw_topic, send, tables_settled

if TYPE_CHECKING:
    from streams.app import MidfieldApp

__all__ = ["add_messages"]

log = get_logger(__name__)


def add_messages(app: MidfieldApp, schema: faust.Schema[str, Any], deadletters: Any,
                 alerts: Any) -> Any:  # fmt: skip
    """Add the messages table, its agent and the warning timer to ``app``; return the topic."""
    rules = app.settings.replies
    source = f"midfield://worker/{app.conf.id}"
    app.messages = app.Table("messages", default=None, schema=schema)
    channel = raw_topic(app, topic(PublicMessageReceived.topic).name)
    proposed: set[str] = set()

    @app.agent(channel, name="messages")
    async def take_messages(stream: Any) -> None:
        async for event in stream.events():
            envelope = await decode_or_dead_letter(event, deadletters, app.conf.id)
            if envelope is None:
                continue
            before = app.messages.get(envelope.subject)
            try:
                after = replies.apply(before, envelope)
            except ValueError as exc:
                await dead_letter(event, deadletters, app.conf.id, "unexpected-type", str(exc),
                                  connector="messages")  # fmt: skip
                continue
            if after is None:
                continue
            resolved = replies.resolution(before, after, envelope, rules, source=source)
            if resolved is not None:
                await send(alerts, resolved)
            app.messages[envelope.subject] = after

    @app.timer(interval=rules.check_interval_s)  # type: ignore[untyped-decorator]
    async def warn() -> None:
        if not tables_settled(app):
            return
        books = [book for _, book in app.messages.items()]
        for warning in replies.due_warnings(books, app.clock(), rules, source=source):
            if warning.id not in proposed:
                await send(alerts, warning)
                proposed.add(warning.id)

    return channel
