"""The HylaFAX transfer log's line format (xferfaxlog(5F)): pure, no I/O.

Format: the HylaFAX xferfaxlog(5F) man page and its writer, ``faxd/FaxAcctInfo.c++``. One
tab-separated line per record: ``MM/DD/YY HH:MM`` in local time, then the record type. Classic
HylaFAX writes 14 fields; HylaFAX+ 19 (adds CIDName, CIDNumber, callid, owner, dcs) and, since
2006, a 20th (jobinfo), which is empty on RECV lines, so those lines end with a tab. GOfax.IP
(``gofaxlib/xferfaxlog.go``) writes the 19-field layout with CIDName and CIDNumber quoted twice.
Only RECV lines become :class:`FaxReceived`; the other record types are documented skips. On a
RECV line the csi column is the sender's TSI (``remote_station``) and dest the receiving modem's
own number (``line``: which of the office's fax lines rang).

Kept apart from the source (:mod:`connectors.sources.fax_log`) so that the format's quirks are
read, and tested, on their own.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from connectors.runtime.source import Skip
from midfield.errors import ParseError
from schemas.events.fax import FaxFormat, FaxReceived

__all__ = ["fax_received", "recv_line"]

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


def recv_line(raw: bytes) -> str | Skip:
    """A log line's text when it is a RECV record; a :class:`Skip` for blank lines and the
    record types that are not receptions; :class:`ParseError` for anything else."""
    raw = raw.rstrip(b"\r\n")
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
    return _decode(raw)


def fax_received(line: str, zone: ZoneInfo) -> tuple[FaxReceived, datetime, str]:
    """The event of a RECV line, with its aware time and that time's ISO form (for the id).

    :class:`ParseError` for a line that breaks the format; pydantic's ``ValidationError`` for
    values the event model refuses (the source turns it into ``invalid-event``)."""
    fields = line.split("\t")
    layout = _LAYOUTS.get(len(fields))
    if layout is None:
        raise ParseError(
            "bad-field-count",
            f"RECV has {len(fields)} fields; expected 14 (HylaFAX) or 19/20 (HylaFAX+)",
        )
    when, iso = _local_time(fields[0], zone)
    if _PLAIN.fullmatch(line):
        v, doubled = line.replace('"', "").split("\t"), False
    else:
        v, doubled = _unquote_all(fields)
    if not v[2].strip():
        raise ParseError("bad-commid", f"commid={_show(v[2])}: empty")
    caller = v[14:17] if len(v) > 14 else ["", "", ""]
    data = FaxReceived(
        commid=v[2], device=v[3], document=v[4], remote_station=v[8], params=v[9],
        pages=_count("npages", v[10]), duration_s=_seconds("jobtime", v[11]),
        connect_s=_seconds("conntime", v[12]), status=_status(v[13]), caller_name=caller[0],
        caller_number=caller[1], call_id=caller[2], line=v[7],
        log_format=FaxFormat.gofaxip if doubled else layout,
    )  # fmt: skip
    return data, when, iso


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
