"""A parser fix for the re-drive test (``midfield replay redrive --module``): a fax server that
ends its RECV lines with one more, empty, field (21 fields), which today's fax-log parser refuses
with ``bad-field-count``. ``configure`` installs the fix in the re-driving process only."""

from __future__ import annotations

from typing import Any

from connectors.runtime.source import RawRecord
from connectors.sources.fax_log import FaxLogSource
from midfield.settings import Settings

_today = FaxLogSource.parse


def fixed_parse(self: FaxLogSource, record: RawRecord) -> Any:
    raw = record.raw.rstrip(b"\r\n")
    if raw.count(b"\t") == 20 and raw.endswith(b"\t"):
        record = RawRecord(raw[:-1], record.where, record.resume, record.meta)
    return _today(self, record)


def configure(settings: Settings) -> None:
    FaxLogSource.parse = fixed_parse  # type: ignore[method-assign]
