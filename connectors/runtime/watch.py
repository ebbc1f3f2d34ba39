"""Waiting for a directory to change: a tailing reader sleeps here between looks.

On Linux the wait ends as soon as something in the directory (or, given ``names``, one of those
files) is written, created, renamed in or removed (inotify, through ``inotify_simple``), and
no sooner than ``MIN_GAP_S`` after the last wake-up; the poll interval is only the longest wait,
so a fax line is produced milliseconds after HylaFAX appends it instead of up to a poll
interval later (bench/latency.py). The wake-up is a hint, never the source of truth: the
reader looks at the files again after every wait, so an event inotify drops (queue overflow,
a file system that does not report, such as NFS) costs at most one poll interval. Where
inotify is unavailable (not Linux, no instances left, the directory not there yet) the wait
is a plain sleep of the poll interval.
"""

from __future__ import annotations

import errno
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from inotify_simple import INotify
from inotify_simple import flags as _flags

from midfield.logging import get_logger

__all__ = ["DirectoryWatch"]

log = get_logger(__name__)

# Wake-ups are at least this far apart: a log written line by line at 500 lines/s is then
# looked at <= 50 times a second, not after every line; each look ends in a flush and a position
# commit (fsync), which is what the connector's CPU goes on under load (bench/latency.py: 42% of
# a core waking on every change, 20% with this gap). A line waits at most this much longer.
MIN_GAP_S = 0.02

_OVERFLOW = _flags.Q_OVERFLOW
_CHANGES = (
    _flags.MODIFY | _flags.CLOSE_WRITE | _flags.CREATE | _flags.MOVED_TO | _flags.MOVED_FROM
    | _flags.DELETE | _flags.ATTRIB
)  # fmt: skip


class DirectoryWatch:
    """``wait()`` returns when ``directory`` changes (only a change to one of ``names``, when
    given) or after ``poll_interval_s``."""

    def __init__(
        self, directory: Path, poll_interval_s: float, names: frozenset[str] | None = None
    ) -> None:
        self.directory = Path(directory)
        self.poll_interval_s = poll_interval_s
        self.names = names
        self._inotify: INotify | None = None
        self._watching = False
        self._unavailable = False
        self._woken = 0.0

    def wait(self) -> None:
        if not self._watching:
            self._start()
        if self._inotify is None or not self._watching:
            time.sleep(self.poll_interval_s)
            return
        try:
            self._wait_for_change()
        finally:
            self._woken = time.monotonic()

    def _wait_for_change(self) -> None:
        assert self._inotify is not None
        gap = self._woken + MIN_GAP_S - time.monotonic()
        if gap > 0:
            time.sleep(gap)  # changes meanwhile queue up in the kernel: read below, at once
        deadline = time.monotonic() + self.poll_interval_s
        while (left_ms := round((deadline - time.monotonic()) * 1000)) > 0:
            events = self._inotify.read(timeout=left_ms)
            if any(event.mask & _flags.IGNORED for event in events):
                self._watching = False  # the directory went away: watch it again once it is back
                return
            if any(self._concerns(event) for event in events):
                return

    def _concerns(self, event: Any) -> bool:
        """A change to a watched name, or one inotify could not name (its queue overflowed)."""
        return self.names is None or event.name in self.names or bool(event.mask & _OVERFLOW)

    def _start(self) -> None:
        if self._unavailable:
            return
        try:
            if self._inotify is None:
                self._inotify = INotify()
            self._inotify.add_watch(self.directory, _CHANGES)
            self._watching = True
        except (OSError, AttributeError) as exc:  # AttributeError: a libc without inotify
            if getattr(exc, "errno", None) == errno.ENOENT:
                return  # not there yet: tried again at the next wait
            log.info("inotify unavailable, polling", directory=str(self.directory),
                     error=str(exc))  # fmt: skip
            self._unavailable = True
            self.close()

    @property
    def notified(self) -> bool:
        """Whether waits end on changes (inotify), not only after the poll interval."""
        return self._watching

    def close(self) -> None:
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None
            self._watching = False

    def __enter__(self) -> DirectoryWatch:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
