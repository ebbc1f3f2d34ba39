"""The public-message processor: the ``messages`` table behind the reply tallies, and the early
warning timer (DESIGN §5, "Reply tallies").

The agent applies each event of ``office.intake.message.v1`` with :func:`streams.books.replies.apply`;
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
from streams.books import replies
from streams.emit import raw_topic, send, tables_settled

if TYPE_CHECKING:
    from streams.agents import Effects
    from streams.app import MidfieldApp

__all__ = ["add_messages"]

log = get_logger(__name__)


def add_messages(app: MidfieldApp, schema: faust.Schema[str, Any], effects: Effects) -> Any:
    """Add the messages table, its agent and the warning timer to ``app``; return the topic."""
    rules = app.settings.replies
    app.messages = app.Table("messages", default=None, schema=schema)
    channel = raw_topic(app, topic(PublicMessageReceived.topic).name)
    proposed: set[str] = set()

    @app.agent(channel, name="messages")
    async def take_messages(stream: Any) -> None:
        await effects.consume(stream, channel.get_topic_name())

    @app.timer(interval=rules.check_interval_s)  # type: ignore[untyped-decorator]
    async def warn() -> None:
        if not tables_settled(app):
            return
        books = [book for _, book in app.messages.items()]
        for warning in replies.due_warnings(books, app.clock(), rules, source=effects.source):
            if warning.id not in proposed:
                await send(effects.alerts, warning)
                proposed.add(warning.id)

    return channel
