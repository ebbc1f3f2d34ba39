"""The changelog records handed to the Kafka client, checked before any offset is committed.

A batch's records are handed to the client (streams/worker/table.py ``write``) and its offsets
committed later, after faust's commit has flushed the client. A flush waits for every record
to be delivered *or refused*, and says nothing of which: a record the broker refused (a record
batch larger than a changelog's ``segment.bytes``, as a test's topic had) was lost while the
offsets of the batch that made it were committed, and the books it carried were gone after a
restart (tests/integration/test_changelog_compaction.py, on Apache Kafka). Each record's future
is kept here until the commit: one refused, and the worker stops before committing, so the
batch is read again from the changelog that was written.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["ChangelogNotWritten", "Sends"]


class ChangelogNotWritten(RuntimeError):
    """A changelog record the client could not deliver: the worker stops, committing nothing."""


class Sends:
    """The futures of the changelog records handed to the client since the last commit."""

    def __init__(self) -> None:
        self.pending: list[asyncio.Future[Any]] = []

    def add(self, sent: Any) -> None:
        if isinstance(sent, asyncio.Future):
            self.pending.append(sent)

    def check(self) -> None:
        """Raise :class:`ChangelogNotWritten` if a record handed over was refused; forget
        those delivered (called once faust's commit has flushed the client)."""
        for sent in self.pending:
            if sent.done() and (sent.cancelled() or sent.exception() is not None):
                error = None if sent.cancelled() else sent.exception()
                raise ChangelogNotWritten(
                    f"a changelog record was not written ({error!r}): the worker stops without "
                    "committing, and the batch is read again"
                ) from error
        self.pending = [sent for sent in self.pending if not sent.done()]
