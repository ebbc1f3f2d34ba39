"""Fax receptions from HylaFAX's ``etc/xferfaxlog``; the source to copy when adding one.

Format: the HylaFAX xferfaxlog(5F) man page and its writer, ``faxd/FaxAcctInfo.c++``. One
tab-separated line per record: ``MM/DD/YY HH:MM`` in local time, then the record type. Classic
HylaFAX writes 14 fields; HylaFAX+ 19 (adds CIDName, CIDNumber, callid, owner, dcs) and, since
2006, a 20th (jobinfo), which is empty on RECV lines, so those lines end with a tab. GOfax.IP
(``gofaxlib/xferfaxlog.go``) writes the 19-field layout with CIDName and CIDNumber quoted twice.
Only RECV lines become :class:`FaxReceived`; the other record types are documented skips. On a
RECV line the csi column is the sender's TSI (``remote_station``) and dest the receiving modem's
own number (``line``: which of the office's fax lines rang).

The reader tails the file by inode and byte offset. If the log was rotated while we were
stopped, the position names another inode and we read the new file from its start.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from io import FileIO
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError

from connectors.runtime.deployment import Deployment, Input
from connectors.runtime.source import (
    NO_INPUT,
    Clock,
    Position,
    RawRecord,
    ReadOnceOptions,
    Skip,
    Source,
    SourceOptions,
    utc_now,
)
from connectors.runtime.watch import DirectoryWatch
from midfield.errors import ParseError, StoreError
from midfield.logging import get_logger
from midfield.settings import Settings
from schemas.envelope import Envelope
from schemas.errors import parse_error
from schemas.events.fax import FaxFormat, FaxReceived

__all__ = ["FaxLogSource"]

log = get_logger(__name__)

_CHUNK = 64 * 1024
_FIELDS = ("date", "type", "commid", "device", "qfile", "jobtag", "sender", "dest", "csi",
           "params", "npages", "jobtime", "conntime", "status", "cidname", "cidnumber",
           "callid", "owner", "dcs", "jobinfo")  # fmt: skip
_LAYOUTS = {14: FaxFormat.hylafax, 19: FaxFormat.hylafax_plus, 20: FaxFormat.hylafax_plus}
# Record types FaxAcctInfo::record is called with (faxgetty, faxsend, pagesend, faxq).
_SKIPPED = frozenset({b"SEND", b"POLL", b"PAGE", b"CALL", b"UNSENT", b"SUBMIT", b"PROXY"})
_DATE = re.compile(r"(\d\d)/(\d\d)/(\d\d) (\d\d):(\d\d)", re.ASCII)
# fmtTime() (util/FmtTime.c++) writes H:MM:SS with 1-4 hour digits; GOfax.IP writes HH:MM:SS.
_DURATION = re.compile(r"(?:(\d{1,4}):)?(\d\d):(\d\d)", re.ASCII)
_COUNT = re.compile(r"\d{1,9}", re.ASCII)
# HylaFAX escapes '"' as '\"' (jobtag only); some gateways double it instead.
_ESCAPED_QUOTE = re.compile(r'\\"|""')
# The usual line: every field is "text" or text, no quote inside. Unquoted in one go.
_PLAIN = re.compile(r'(?:"[^\t"]*+"|[^\t"]*+)(?:\t(?:"[^\t"]*+"|[^\t"]*+))*+')
# GOfax.IP writes "OK" for a whole fax where HylaFAX leaves the status empty.
_SUCCESS = frozenset({"", "OK"})
_Reading = Generator[RawRecord | None, None, None]
_Opening = Generator[RawRecord | None, None, "_Cursor"]


class FaxLogOptions(ReadOnceOptions):
    path: Path = Field(
        description="The HylaFAX transfer log to follow.",
        examples=["/var/spool/hylafax/etc/xferfaxlog"],
    )
    instance: str = Field(
        "hylafax-main", description="Names this connector in event sources and its offset file."
    )


class FaxLogSource(Source):
    """Follow a HylaFAX transfer log: RECV lines become fax events, other records are skipped."""

    name: ClassVar[str] = "fax-log"
    version: ClassVar[str] = "1"
    options: ClassVar[type[SourceOptions]] = FaxLogOptions
    deployment = Deployment(
        note="HylaFAX's transfer log, read-only from the fax server's spool: faxes.",
        writes=(FaxReceived.topic,),
        args=("--path", "/var/spool/hylafax/etc/xferfaxlog"),
        inputs=(Input("spool", "/var/spool/hylafax/etc", claim="hylafax-spool", read_only=True,
                      host="${HYLAFAX_SPOOL:-/var/spool/hylafax}/etc"),),
    )  # fmt: skip

    @classmethod
    def reparser(cls, instance: str, settings: Settings) -> FaxLogSource:
        return cls(path=NO_INPUT, instance=instance, zone=settings.office.zone)

    @classmethod
    def from_options(cls, options: FaxLogOptions, settings: Settings) -> FaxLogSource:
        if options.once and not options.path.is_file():  # say so before waiting for a broker
            raise StoreError(f"fax log {options.path} does not exist", reason="input-missing")
        return cls(path=options.path, instance=options.instance, zone=settings.office.zone,
                   poll_interval_s=settings.connect.poll_interval_s)  # fmt: skip

    def __init__(
        self,
        *,
        path: Path,
        instance: str,
        zone: ZoneInfo,
        clock: Clock = utc_now,
        poll_interval_s: float = 0.2,
    ) -> None:
        super().__init__(instance=instance, zone=zone, clock=clock)
        self.path = path
        self.poll_interval_s = poll_interval_s
        # wakes the tail when the log (or a file rotated in under its name) changes
        self._watch = DirectoryWatch(path.parent, poll_interval_s, names=frozenset({path.name}))

    def parse(self, record: RawRecord) -> Envelope | Skip:
        raw = record.raw.rstrip(b"\r\n")
        if not raw.strip():
            return Skip(reason="blank-line")
        parts = raw.split(b"\t", 2)
        if len(parts) < 2:
            raise ParseError("bad-field-count", "1 field: no tab-separated record type")
        if parts[1] in _SKIPPED:
            return Skip(reason=f"record-type-{parts[1].decode('ascii').lower()}")
        if parts[1] != b"RECV":
            kind = parts[1].decode("utf-8", "replace")
            raise ParseError("unknown-record-type", f"type={_show(kind)}")
        return self._received(_decode(raw))

    def _received(self, line: str) -> Envelope:
        fields = line.split("\t")
        layout = _LAYOUTS.get(len(fields))
        if layout is None:
            raise ParseError(
                "bad-field-count",
                f"RECV has {len(fields)} fields; expected 14 (HylaFAX) or 19/20 (HylaFAX+)",
            )
        when, iso = _local_time(fields[0], self.zone)
        if _PLAIN.fullmatch(line):
            v, doubled = line.replace('"', "").split("\t"), False
        else:
            v, doubled = _unquote_all(fields)
        if not v[2].strip():
            raise ParseError("bad-commid", f"commid={_show(v[2])}: empty")
        caller = v[14:17] if len(v) > 14 else ["", "", ""]
        try:
            data = FaxReceived(
                commid=v[2], device=v[3], document=v[4], remote_station=v[8], params=v[9],
                pages=_count("npages", v[10]), duration_s=_seconds("jobtime", v[11]),
                connect_s=_seconds("conntime", v[12]), status=_status(v[13]), caller_name=caller[0],
                caller_number=caller[1], call_id=caller[2], line=v[7],
                log_format=FaxFormat.gofaxip if doubled else layout,
            )  # fmt: skip
            return Envelope.wrap(
                data,
                source=self.uri,
                position=f"RECV {data.commid} {iso}",
                subject=data.commid,
                time=when,
                ingested_at=self.clock(),
                connector_version=self.version,
            )
        except ValidationError as exc:
            raise parse_error(exc, "invalid-event") from exc

    def read(self, position: Position | None, *, follow: bool) -> _Reading:
        """A generator: closing it closes the file."""
        try:
            yield from self._tail(position, follow)
        except OSError as exc:
            raise StoreError(f"fax log {self.path}: {exc}", reason="input-unreadable") from exc
        finally:
            self._watch.close()

    def _tail(self, position: Position | None, follow: bool) -> _Reading:
        cursor = yield from self._open(position, follow)
        try:
            while True:
                yield from cursor.lines()
                if not follow:
                    return  # a partial last line stays unconsumed, outside the resume offset
                cursor = yield from self._after_eof(cursor)
        finally:
            cursor.file.close()

    def _open(self, position: Position | None, follow: bool) -> _Opening:
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
            offset = _resume_offset(position, stat.st_ino, stat.st_size)
            file.seek(offset)
            return _Cursor(file, (stat.st_dev, stat.st_ino), offset, str(self.path))

    def _after_eof(self, cursor: _Cursor) -> _Opening:
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


@dataclass(slots=True)
class _Cursor:
    """An open log file; ``offset`` is just after the last line handed out."""

    file: FileIO
    file_id: tuple[int, int]
    offset: int
    name: str
    pending: bytes = b""

    def lines(self) -> Iterator[RawRecord]:
        """Every complete line up to EOF; an unterminated last line stays pending."""
        while chunk := self.file.read(_CHUNK):
            *lines, self.pending = (self.pending + chunk).split(b"\n")
            start = self.offset
            for line in lines:
                end = start + len(line) + 1
                yield self._record(line[:-1] if line.endswith(b"\r") else line, start, end)
                start = end
            self.offset = start

    def tail(self) -> Iterator[RawRecord]:
        """The unterminated last line of a rotated-away file: nothing will complete it now."""
        if self.pending:
            end = self.offset + len(self.pending)
            yield self._record(self.pending.removesuffix(b"\r"), self.offset, end)
            self.offset, self.pending = end, b""

    def _record(self, raw: bytes, start: int, end: int) -> RawRecord:
        ino = self.file_id[1]
        return RawRecord(
            raw=raw,
            where=f"inode {ino} offset {start}",
            resume={"inode": ino, "offset": end},
            meta={"file": self.name},
        )


def _resume_offset(position: Position | None, inode: int, size: int) -> int:
    """Where to start in the file with ``inode``: 0 unless ``position`` is within it."""
    if position is None or position.get("inode") != inode:
        return 0  # first run, or rotated while stopped: the new file from its start
    offset = position.get("offset")
    if isinstance(offset, int) and 0 <= offset <= size:
        return offset
    return 0  # truncated while stopped


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError("not-utf8", f"invalid UTF-8 at byte {exc.start}") from exc


@lru_cache(maxsize=1024)  # a log's lines share minutes: most dates repeat
def _local_time(text: str, zone: ZoneInfo) -> tuple[datetime, str]:
    """The aware time of an ``MM/DD/YY HH:MM`` date, and its ISO form for the event id."""
    match = _DATE.fullmatch(text)
    if match is None:
        raise ParseError("bad-date", f"date={_show(text)}: not MM/DD/YY HH:MM")
    month, day, year, hour, minute = map(int, match.groups())
    try:
        when = datetime(2000 + year, month, day, hour, minute, tzinfo=zone)
    except ValueError as exc:
        raise ParseError("bad-date", f"date={_show(text)}: {exc}") from exc
    return when, when.isoformat()


def _unquote_all(fields: list[str]) -> tuple[list[str], bool]:
    """Fields after date and type unquoted; the flag says doubled quotes were seen."""
    values, doubled = fields[:2], False
    for name, raw in zip(_FIELDS[2:], fields[2:], strict=False):
        value, double = _unquote(name, raw)
        values.append(value)
        doubled = doubled or double
    return values, doubled


def _unquote(name: str, raw: str) -> tuple[str, bool]:
    if '"' not in raw:
        return raw, False
    opens, closes = raw.startswith('"'), raw.endswith('"')
    if opens != closes or raw == '"':
        raise ParseError("bad-quoting", f"{name}={_show(raw)}: unbalanced quotes")
    if not opens:
        return raw, False  # a quote inside an unquoted field is just a character
    if len(raw) >= 4 and raw.startswith('""') and raw.endswith('""'):
        return _ESCAPED_QUOTE.sub('"', raw[2:-2]), True  # GOfax.IP: ""05512345678""
    inner = raw[1:-1]
    return _ESCAPED_QUOTE.sub('"', inner), '""' in inner


def _status(value: str) -> str:
    """The reception's error text; empty when the fax arrived whole."""
    return "" if value.strip() in _SUCCESS else value


def _count(name: str, text: str) -> int:
    if _COUNT.fullmatch(text) is None:
        raise ParseError("bad-page-count", f"{name}={_show(text)}: not a non-negative integer")
    return int(text)


@lru_cache(maxsize=4096)
def _seconds(name: str, text: str) -> int:
    match = _DURATION.fullmatch(text)
    if match is None or int(match[2]) > 59 or int(match[3]) > 59:
        raise ParseError("bad-duration", f"{name}={_show(text)}: not H:MM:SS or MM:SS")
    return int(match[1] or 0) * 3600 + int(match[2]) * 60 + int(match[3])


def _show(value: str) -> str:
    return repr(value[:60]) + ("..." if len(value) > 60 else "")
