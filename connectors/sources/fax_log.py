"""The ``fax-log`` source: fax receptions from HylaFAX's ``etc/xferfaxlog``; the one to copy.

A source in three modules, as every file source may be: this one holds its options, its
registration (``name``, ``deployment``) and the :class:`Source` class, whose ``parse`` is pure
and whose ``read`` does the I/O; the line format is :mod:`connectors.sources.fax_log_format`
(RECV lines become :class:`FaxReceived`, other record types are documented skips) and the
cursor over the file :mod:`connectors.sources.fax_log_tail`.

The reader tails the file by inode and byte offset. If the log was rotated while we were
stopped, the position names another inode and we read the new file from its start.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from io import FileIO
from pathlib import Path
from typing import ClassVar, Unpack

from pydantic import Field, ValidationError

from connectors.runtime import source as contract
from connectors.runtime.deployment import Deployment, Input
from connectors.runtime.watch import DirectoryWatch
from connectors.sources.fax_log_format import fax_received, recv_line
from connectors.sources.fax_log_tail import LogCursor, resume_offset
from midfield.errors import StoreError
from midfield.logging import get_logger
from midfield.settings import Settings
from schemas.envelope import Envelope
from schemas.errors import parse_error
from schemas.events.fax import FaxReceived

__all__ = ["FaxLogSource"]

log = get_logger(__name__)

_Opening = Generator[contract.RawRecord | None, None, LogCursor]


class FaxLogOptions(contract.ReadOnceOptions):
    path: Path = Field(
        description="The HylaFAX transfer log to follow.",
        examples=["/var/spool/hylafax/etc/xferfaxlog"],
    )
    instance: str = Field(
        "hylafax-main", description="Names this connector in event sources and its offset file."
    )


class FaxLogSource(contract.Source):
    """Follow a HylaFAX transfer log: RECV lines become fax events, other records are skipped."""

    name: ClassVar[str] = "fax-log"
    version: ClassVar[str] = "1"
    options = FaxLogOptions
    deployment = Deployment(
        note="HylaFAX's transfer log, read-only from the fax server's spool: faxes.",
        writes=(FaxReceived.topic,),
        args=("--path", "/var/spool/hylafax/etc/xferfaxlog"),
        inputs=(Input("spool", "/var/spool/hylafax/etc", claim="hylafax-spool", read_only=True,
                      host="${HYLAFAX_SPOOL:-/var/spool/hylafax}/etc"),),
    )  # fmt: skip

    @classmethod
    def reparser(cls, instance: str, settings: Settings) -> FaxLogSource:
        return cls(path=contract.NO_INPUT, **contract.at_office(instance, settings))

    @classmethod
    def from_options(cls, options: FaxLogOptions, settings: Settings) -> FaxLogSource:
        if options.once and not options.path.is_file():  # say so before waiting for a broker
            raise StoreError(f"fax log {options.path} does not exist", reason="input-missing")
        return cls(path=options.path, poll_interval_s=settings.connect.poll_interval_s,
                   **contract.at_office(options.instance, settings))  # fmt: skip

    def __init__(
        self, *, path: Path, poll_interval_s: float = 0.2, **place: Unpack[contract.Place]
    ) -> None:
        super().__init__(**place)
        self.path = path
        self.poll_interval_s = poll_interval_s
        # wakes the tail when the log (or a file rotated in under its name) changes
        self._watch = DirectoryWatch(path.parent, poll_interval_s, names=frozenset({path.name}))

    def parse(self, record: contract.RawRecord) -> Envelope | contract.Skip:
        line = recv_line(record.raw)
        if isinstance(line, contract.Skip):
            return line
        try:
            data, when, iso = fax_received(line, self.zone)
            return self.envelope(
                data,
                position=f"RECV {data.commid} {iso}",
                subject=data.commid,
                time=when,
                ingested_at=self.clock(),
            )
        except ValidationError as exc:
            raise parse_error(exc, "invalid-event") from exc

    def read(self, position: contract.Position | None, *, follow: bool) -> contract.Reading:
        """A generator: closing it closes the file."""
        tail = self._tail(position, follow)
        return contract.unreadable_stops(tail, f"fax log {self.path}", then=self._watch.close)

    def _tail(self, position: contract.Position | None, follow: bool) -> contract.Reading:
        cursor = yield from self._open(position, follow)
        try:
            while True:
                yield from cursor.lines()
                if not follow:
                    return  # a partial last line stays unconsumed, outside the resume offset
                cursor = yield from self._after_eof(cursor)
        finally:
            cursor.file.close()

    def _open(self, position: contract.Position | None, follow: bool) -> _Opening:
        """Open the log, waiting for it to appear when following (logged once)."""
        waiting = False
        while True:
            try:
                file = FileIO(self.path, "rb")
            except FileNotFoundError:
                if not follow:
                    raise StoreError(
                        f"fax log {self.path} does not exist", reason="input-missing"
                    ) from None
                if not waiting:
                    waiting = True
                    log.info("waiting for the fax log to appear", path=str(self.path))
                yield None
                self._watch.wait()
                continue
            stat = os.fstat(file.fileno())
            offset = resume_offset(position, stat.st_ino, stat.st_size)
            file.seek(offset)
            return LogCursor(file, (stat.st_dev, stat.st_ino), offset, str(self.path))

    def _after_eof(self, cursor: LogCursor) -> _Opening:
        """At EOF while following: notice truncation and rotation, else idle one tick."""
        if os.fstat(cursor.file.fileno()).st_size < cursor.file.tell():
            cursor.file.seek(0)  # truncated in place (e.g. logrotate copytruncate)
            cursor.offset, cursor.pending = 0, b""
            return cursor
        if self._path_id() not in (None, cursor.file_id):
            yield from cursor.lines()  # what was written before the rename
            yield from cursor.tail()
            cursor.file.close()
            return (yield from self._open(None, follow=True))
        yield None
        self._watch.wait()
        return cursor

    def _path_id(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None  # mid-rotation: keep reading the open file until a new one appears
        return (stat.st_dev, stat.st_ino)
