"""Reading the HylaFAX transfer log: a cursor over its lines, and where to resume.

The log is tailed by inode and byte offset, the resume position of every record; if it was
rotated while we were stopped, the position names another inode and the new file is read from
its start. The waiting, rotation and truncation that drive the cursor are the source's
(:mod:`connectors.sources.fax_log`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from io import FileIO

from connectors.runtime.source import Position, RawRecord

__all__ = ["LogCursor", "resume_offset"]

_CHUNK = 64 * 1024


@dataclass(slots=True)
class LogCursor:
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


def resume_offset(position: Position | None, inode: int, size: int) -> int:
    """Where to start in the file with ``inode``: 0 unless ``position`` is within it."""
    if position is None or position.get("inode") != inode:
        return 0  # first run, or rotated while stopped: the new file from its start
    offset = position.get("offset")
    if isinstance(offset, int) and 0 <= offset <= size:
        return offset
    return 0  # truncated while stopped
