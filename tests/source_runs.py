"""Running a registered source on one input as ``midfield connect`` would, without a broker: what
the contract suite (tests/unit/test_source_contract.py) and the fuzz tests share.

A file source is built from its options (``from_options``, ``--once``) over its sample's place
under a temporary folder, read to the end, and each record parsed. An HTTP intake is served on
127.0.0.1 with the real app; a recording intake keeps what it would produce.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from connectors.runtime.http import HttpSource, make_app
from connectors.runtime.intake import Intake
from connectors.runtime.producer import OutRecord
from connectors.runtime.source import RawRecord, Skip, Source
from connectors.sources import SOURCES
from midfield.errors import StoreError
from midfield.settings import AccessSettings, KafkaSettings
from schemas.catalog import DEADLETTER
from schemas.envelope import Envelope
from schemas.events.audit import AuditRecorded
from tests.fuzzing import parsed_or_refused
from tests.source_samples import SAMPLES, FileSample, HttpSample, contract_settings

__all__ = ["RecordingIntake", "events", "parse_raw", "read_once", "serve"]


def _file_source(name: str, sample: FileSample, raw: bytes, tmp: Path) -> Source:
    cls = SOURCES[name]
    tmp.mkdir(parents=True, exist_ok=True)
    options = cls.options(**sample.place(tmp, raw), once=True)
    source = cls.from_options(options, contract_settings(tmp / "settings"))
    assert isinstance(source, Source)
    return source


def read_once(name: str, raw: bytes, tmp: Path, sample: FileSample | None = None) -> list[Any]:
    """What ``midfield connect <name> --once`` makes of ``raw`` placed as ``sample`` (the
    source's first by default): per record an envelope, a list of them, a skip or a
    ``ParseError``; a ``StoreError`` last when the input cannot be read."""
    source = _file_source(name, sample or _first(name), raw, tmp)
    outcomes: list[Any] = []
    try:
        for record in source.read(None, follow=False):
            if record is not None:
                outcomes.append(parsed_or_refused(lambda r=record: source.parse(r)))
    except StoreError as exc:
        assert exc.reason, "a StoreError without a reason"
        outcomes.append(exc)
    return outcomes


def parse_raw(name: str, raw: bytes) -> Any:
    """``parse`` (pure) of a record whose bytes are ``raw``, the rest (position, the reader's
    meta) as its reader gave it for the source's first sample."""
    sample = _first(name)
    with TemporaryDirectory() as tmp:
        source = _file_source(name, sample, sample.raw, Path(tmp))
        first = next(r for r in source.read(None, follow=False) if r is not None)
        record = RawRecord(raw, first.where, first.resume, first.meta)
        return parsed_or_refused(lambda: source.parse(record))


def events(outcomes: list[Any]) -> list[Envelope]:
    """The envelopes among ``outcomes``, each checked to read back from its Kafka record."""
    found: list[Envelope] = []
    for out in outcomes:
        if not isinstance(out, Exception | Skip):
            found += out if isinstance(out, list) else [out]
    for event in found:
        assert Envelope.from_record(event.headers(), event.value()) == event
    return found


class RecordingIntake(Intake):
    """An intake whose ``send`` keeps the records instead of producing them."""

    def __init__(self, source: HttpSource) -> None:
        super().__init__(source, KafkaSettings())
        self.sent: list[OutRecord] = []

    async def send(self, records: list[OutRecord], *, within_s: float | None = None) -> None:
        self.sent.extend(records)


def serve(name: str, requests: list[tuple[HttpSample, bytes]], tmp: Path) -> list[Any]:
    """(status, answer, events) of each request, sent in turn to a fresh ``name`` intake."""
    cls = SOURCES[name]
    source = cls.from_options(cls.options(), contract_settings(tmp))
    assert isinstance(source, HttpSource)
    intake = RecordingIntake(source)
    # a fuzzed request may be refused 401; no throttle here (tests/integration/test_access.py)
    app = make_app(source, intake, 256 * 1024, AccessSettings(failed_credentials=10**9))

    async def send_all() -> list[Any]:
        answers = []
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            for sample, body in requests:
                path, headers = sample.sign(sample.path, body)
                before = len(intake.sent)
                response = await client.post(path, data=body, headers=headers)
                answer = await response.read()
                made = [Envelope.from_record(h, v) for topic, _, v, h in intake.sent[before:]
                        if topic not in (DEADLETTER, AuditRecorded.topic)]  # fmt: skip
                answers.append((response.status, answer, made))
        return answers

    return asyncio.run(send_all())


def _first(name: str) -> FileSample:
    sample = SAMPLES[name][0]
    assert isinstance(sample, FileSample)
    return sample
