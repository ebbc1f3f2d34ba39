"""Waiting for a directory to change: a tailing reader sleeps here between looks.

On Linux the wait ends as soon as something in the directory is written, created, renamed in
or removed (inotify, through ``inotify_simple``); the poll interval is only the longest wait,
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

from inotify_simple import INotify
from inotify_simple import flags as _flags

from midfield.logging import get_logger

__all__ = ["DirectoryWatch"]

log = get_logger(__name__)

_CHANGES = (
    _flags.MODIFY | _flags.CLOSE_WRITE | _flags.CREATE | _flags.MOVED_TO | _flags.MOVED_FROM
    | _flags.DELETE | _flags.ATTRIB
)  # fmt: skip


class DirectoryWatch:
    """``wait()`` returns when ``directory`` changes or after ``poll_interval_s``."""

    def __init__(self, directory: Path, poll_interval_s: float) -> None:
        self.directory = Path(directory)
        self.poll_interval_s = poll_interval_s
        self._inotify: INotify | None = None
        self._watching = False
        self._unavailable = False

    def wait(self) -> None:
        if not self._watching:
            self._start()
        if self._inotify is None or not self._watching:
            time.sleep(self.poll_interval_s)
            return
        events = self._inotify.read(timeout=max(1, round(self.poll_interval_s * 1000)))
        if any(event.mask & _flags.IGNORED for event in events):
            self._watching = False  # the directory went away: watch it again once it is back

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
