"""A morning's HylaFAX+ transfer log (xferfaxlog) for ``midfield demo`` and the tests: RECV
records from the county's usual senders, one SEND (which the fax-log source skips) and one
malformed line (a dead letter), with what the duty log must then show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Expected", "recv_line", "sample_lines"]

_STATIONS = [
    ("+86 551 62345678", "县应急管理局"),
    ("+86 551 63456789", "县公安局"),
    ("+86 551 64567890", "市政府办公室"),
    ("+86 551 65678901", "县卫生健康委"),
    ("+86 551 66789012", "县教育局"),
    ("+86 551 67890123", "县财政局"),
]


@dataclass(frozen=True)
class Expected:
    entries: int
    dead_letters: int


def recv_line(
    commid: int,
    *,
    when: str,
    tsi: str = "+86 551 2345678",
    pages: int = 3,
    caller_name: str = "",
    caller_number: str = "05512345678",
) -> str:
    """A RECV record as HylaFAX+ writes it to xferfaxlog (19 tab-separated fields)."""
    fields = [
        when,
        "RECV",
        f"{commid:09d}",
        "ttyS0",
        f"recvq/fax{commid:09d}.tif",
        '""',
        "fax",
        '"05511234567"',
        f'"{tsi}"',
        "65576",
        str(pages),
        "00:01:12",
        "00:01:05",
        '""',
        f'"{caller_name}"',
        f'"{caller_number}"',
        '""',
        '""',
        '""',
    ]
    return "\t".join(fields) + "\n"


def sample_lines(now: datetime) -> tuple[list[str], Expected]:
    """A morning's transfer log: RECV lines, one SEND (skipped), one malformed (dead letter)."""
    when = now.strftime("%m/%d/%y %H:%M")
    lines = [
        recv_line(
            n,
            when=when,
            tsi=tsi,
            pages=n % 4 + 1,
            caller_name=unit,
            caller_number="0" + tsi[4:].replace(" ", ""),
        )
        for n, (tsi, unit) in enumerate(_STATIONS, start=1)
    ]
    send = recv_line(90, when=when).replace("\tRECV\t", "\tSEND\t")
    malformed = f"{when}\tRECV\t000000099\tttyS0\n"
    lines[2:2] = [send]
    lines[4:4] = [malformed]
    return lines, Expected(entries=len(_STATIONS), dead_letters=1)
