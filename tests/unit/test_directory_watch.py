"""A tailing reader's wait (connectors/runtime/watch.py) ends when its directory changes, not a
poll interval later; without a directory to watch it is a plain sleep. Real inotify on real
files; the poll interval is long (30 s) so that a wait ending early can only be the change."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from connectors.runtime.watch import DirectoryWatch
from connectors.sources.fax_log import FaxLogSource

FIXTURE = Path(__file__).parent.parent / "fixtures" / "xferfaxlog" / "hylafax-plus.log"
LINE_A, LINE_B = FIXTURE.read_bytes().splitlines(keepends=True)[:2]

LONG_POLL_S = 30.0


def _later(seconds: float, action: object) -> threading.Thread:
    thread = threading.Timer(seconds, action)  # type: ignore[arg-type]
    thread.start()
    return thread


def test_an_append_ends_the_wait(tmp_path: Path) -> None:
    log = tmp_path / "xferfaxlog"
    log.write_bytes(b"")
    with DirectoryWatch(tmp_path, LONG_POLL_S) as watch:
        started = time.monotonic()
        writer = _later(0.3, lambda: log.open("ab").write(b"line\n"))
        watch.wait()
        writer.join()
        assert watch.notified
        assert time.monotonic() - started < LONG_POLL_S / 3


def test_changes_to_other_files_do_not_end_a_named_wait(tmp_path: Path) -> None:
    # HylaFAX's etc/ holds more than the log; a connector's own log file may sit next to it.
    log, other = tmp_path / "xferfaxlog", tmp_path / "worker.log"
    log.write_bytes(b"")
    with DirectoryWatch(tmp_path, 1.0, names=frozenset({log.name})) as watch:
        started = time.monotonic()
        writer = _later(0.1, lambda: other.write_bytes(b"noise\n"))
        watch.wait()
        writer.join()
        assert time.monotonic() - started >= 0.95  # the whole poll interval
        writer = _later(0.3, lambda: log.open("ab").write(b"line\n"))
        started = time.monotonic()
        watch.wait()
        writer.join()
        assert time.monotonic() - started < 0.9


def test_a_rename_into_the_directory_ends_the_wait(tmp_path: Path) -> None:
    (tmp_path / "new").mkdir()
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "1.mail").write_bytes(b"Subject: x\n\n")
    with DirectoryWatch(tmp_path / "new", LONG_POLL_S) as watch:
        started = time.monotonic()
        writer = _later(0.3, lambda: (tmp_path / "tmp" / "1.mail").rename(tmp_path / "new" / "1"))
        watch.wait()
        writer.join()
        assert time.monotonic() - started < LONG_POLL_S / 3


def test_without_its_directory_the_wait_is_the_poll_interval(tmp_path: Path) -> None:
    with DirectoryWatch(tmp_path / "not-yet", 0.2) as watch:
        started = time.monotonic()
        watch.wait()
        assert not watch.notified
        assert time.monotonic() - started >= 0.2
        (tmp_path / "not-yet").mkdir()
        watch.wait()  # the directory is there now: watched from this wait on
        assert watch.notified


def test_the_fax_log_tail_yields_an_appended_line_without_waiting_a_poll(tmp_path: Path) -> None:
    log = tmp_path / "xferfaxlog"
    log.write_bytes(LINE_A)
    source = FaxLogSource(path=log, instance="t", zone=ZoneInfo("UTC"), poll_interval_s=LONG_POLL_S)
    reading = source.read(None, follow=True)
    try:
        assert next(reading).raw == LINE_A.rstrip(b"\n")  # type: ignore[union-attr]
        assert next(reading) is None  # idle: the runner drains, then the reader waits
        started = time.monotonic()
        writer = _later(0.3, lambda: log.open("ab").write(LINE_B))
        record = next(reading)
        writer.join()
        assert record is not None and record.raw == LINE_B.rstrip(b"\n")
        assert time.monotonic() - started < LONG_POLL_S / 3
    finally:
        reading.close()
