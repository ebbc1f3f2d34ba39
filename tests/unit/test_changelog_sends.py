"""A changelog record the broker refused stops the commit (streams/worker/sends.py): faust's
flush waits for every record delivered or refused and says nothing of which, and the offsets of
the batch whose books were lost were committed (tests/integration/test_changelog_compaction.py,
a record batch over its topic's ``segment.bytes``)."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import RecordTooLargeError

from midfield.settings import Settings
from streams.worker.app import create_app
from streams.worker.sends import ChangelogNotWritten, Sends


async def test_a_refused_record_raises_before_the_commit_and_delivered_ones_are_forgotten() -> None:
    loop = asyncio.get_running_loop()
    sends = Sends()
    delivered, waiting, refused = (loop.create_future() for _ in range(3))
    for sent in (delivered, waiting, refused):
        sends.add(sent)
    delivered.set_result(None)
    sends.check()
    assert sends.pending == [waiting, refused]
    refused.set_exception(RecordTooLargeError("larger than segment.bytes"))
    with pytest.raises(ChangelogNotWritten, match="not written") as caught:
        sends.check()
    assert isinstance(caught.value.__cause__, RecordTooLargeError)


async def test_the_worker_s_consumer_checks_the_sends_before_it_commits() -> None:
    app = create_app(Settings())
    refused = asyncio.get_running_loop().create_future()
    refused.set_exception(RecordTooLargeError("larger than segment.bytes"))
    app.changelog_sends.add(refused)
    consumer = app.consumer
    with pytest.raises(ChangelogNotWritten):
        await consumer._commit({})
