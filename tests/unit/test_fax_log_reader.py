"""FaxLogSource.read: tailing a real xferfaxlog in tmp_path (no fakes).

Following readers are driven by calling ``next()`` by hand with a 10 ms poll interval, so every
step (idle tick, append, rotation, truncation) happens at a known point without threads.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import closing
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connectors.runtime.source import RawRecord, Skip
from connectors.sources.fax_log import FaxLogSource
from midfield.errors import StoreError
from schemas.envelope import Envelope

FIXTURES = Path(__file__).parent.parent / "fixtures" / "xferfaxlog"


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "xferfaxlog"


def source_for(path: Path) -> FaxLogSource:
    return FaxLogSource(
        path=path, instance="test", zone=ZoneInfo("Asia/Shanghai"), poll_interval_s=0.01
    )


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as file:
        file.write(data)


def raws(records: Iterable[RawRecord | None]) -> list[bytes | None]:
    return [r.raw if r is not None else None for r in records]


def take(reader: Iterator[RawRecord | None], n: int) -> list[RawRecord | None]:
    return [next(reader) for _ in range(n)]


def following(path: Path, content: bytes) -> Iterator[RawRecord | None]:
    """A reader following ``path``, written with ``content``, once it has handed out the
    complete lines and then found nothing new (``None``)."""
    path.write_bytes(content)
    reader = source_for(path).read(None, follow=True)
    lines = content.split(b"\n")[:-1]
    assert raws(take(reader, len(lines) + 1)) == [*lines, None]
    return reader


def read_all(path: Path, position: dict[str, int] | None = None) -> list[RawRecord]:
    return [r for r in source_for(path).read(position, follow=False) if r is not None]


# --- reading and resuming -------------------------------------------------------------------


def test_reads_complete_lines_with_resume_offsets_after_each_terminator(log: Path) -> None:
    log.write_bytes(b"one\ntwo\n\nfour\n")
    inode = log.stat().st_ino

    records = read_all(log)

    assert raws(records) == [b"one", b"two", b"", b"four"]
    assert [r.resume for r in records] == [
        {"inode": inode, "offset": 4},
        {"inode": inode, "offset": 8},
        {"inode": inode, "offset": 9},
        {"inode": inode, "offset": 14},
    ]


def test_where_names_the_inode_and_the_line_start(log: Path) -> None:
    log.write_bytes(b"one\ntwo\n")

    records = read_all(log)

    assert [r.where for r in records] == [
        f"inode {log.stat().st_ino} offset 0",
        f"inode {log.stat().st_ino} offset 4",
    ]


def test_crlf_lines_are_yielded_without_cr_and_offsets_count_it(log: Path) -> None:
    log.write_bytes(b"one\r\ntwo\r\n")

    records = read_all(log)

    assert raws(records) == [b"one", b"two"]
    assert records[-1].resume["offset"] == 10


def test_resumes_after_the_committed_offset(log: Path) -> None:
    log.write_bytes(b"one\ntwo\nthree\n")
    committed = read_all(log)[0].resume

    assert raws(read_all(log, committed)) == [b"two", b"three"]


def test_lines_across_many_chunks_are_read_whole_and_in_order(log: Path) -> None:
    lines = [f"{i:06d} ".encode() + b"x" * (i % 300) for i in range(3000)]  # ~450 KiB
    log.write_bytes(b"\n".join(lines) + b"\n")

    records = read_all(log)

    assert raws(records) == lines
    assert records[-1].resume["offset"] == log.stat().st_size


def test_position_of_another_inode_starts_at_zero(log: Path) -> None:
    """After a rotation while we were stopped, the new file is read from its start."""
    log.write_bytes(b"new-one\nnew-two\n")
    stale = {"inode": log.stat().st_ino + 1, "offset": 8}

    assert raws(read_all(log, stale)) == [b"new-one", b"new-two"]


def test_position_beyond_the_end_of_the_same_inode_starts_at_zero(log: Path) -> None:
    log.write_bytes(b"one\n")

    assert raws(read_all(log, {"inode": log.stat().st_ino, "offset": 400})) == [b"one"]


def test_partial_last_line_is_withheld_at_eof_without_follow(log: Path) -> None:
    log.write_bytes(b"one\ntw")

    records = read_all(log)

    assert raws(records) == [b"one"]
    assert records[-1].resume["offset"] == 4


def test_missing_file_without_follow_raises_store_error(log: Path) -> None:
    with pytest.raises(StoreError, match="does not exist") as caught:
        read_all(log)

    assert caught.value.reason == "input-missing"


def test_closing_the_reader_closes_the_file(log: Path) -> None:
    log.write_bytes(b"one\ntwo\n")
    with closing(source_for(log).read(None, follow=True)) as reader:
        next(reader)

    open_paths = [os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")]
    assert str(log.resolve()) not in open_paths


# --- following ------------------------------------------------------------------------------


def test_following_yields_none_when_idle_then_new_lines(log: Path) -> None:
    reader = following(log, b"one\n")  # its first line, then None: nothing new yet

    append(log, b"two\n")
    assert raws(take(reader, 2)) == [b"two", None]


def test_partial_last_line_is_yielded_once_completed_when_following(log: Path) -> None:
    reader = following(log, b"one\npart")

    append(log, b"ial\n")
    completed = next(reader)

    assert completed is not None
    assert (completed.raw, completed.where) == (b"partial", f"inode {log.stat().st_ino} offset 4")


def test_missing_file_when_following_waits_until_it_appears(log: Path) -> None:
    reader = source_for(log).read(None, follow=True)
    assert raws(take(reader, 2)) == [None, None]

    log.write_bytes(b"first\n")

    assert raws(take(reader, 2)) == [b"first", None]


def test_rotation_yields_rest_of_old_file_then_new_file(log: Path) -> None:
    reader = following(log, b"old-1\n")

    append(log, b"old-2\n")
    log.rename(log.with_name("xferfaxlog.1"))
    append(log.with_name("xferfaxlog.1"), b"old-3\n")  # a writer still holding the old file
    log.write_bytes(b"new-1\n")

    records = take(reader, 4)
    assert raws(records) == [b"old-2", b"old-3", b"new-1", None]
    assert records[2] is not None and records[2].resume == {"inode": log.stat().st_ino, "offset": 6}


def test_rotation_hands_out_the_unterminated_tail_of_the_old_file(log: Path) -> None:
    reader = following(log, b"old-1\nold-cut")

    log.rename(log.with_name("xferfaxlog.1"))
    log.write_bytes(b"new-1\n")

    assert raws(take(reader, 3)) == [b"old-cut", b"new-1", None]


def test_file_that_disappears_then_reappears_is_read_from_its_start(log: Path) -> None:
    reader = following(log, b"old-1\n")

    log.unlink()
    assert raws(take(reader, 2)) == [None, None]
    log.write_bytes(b"new-1\n")

    assert raws(take(reader, 2)) == [b"new-1", None]


def test_truncation_rereads_from_start(log: Path) -> None:
    reader = following(log, b"one-long-line\ntwo-long-line\n")

    log.write_bytes(b"fresh\n")  # truncate in place, as logrotate copytruncate does

    record = next(reader)
    assert record is not None
    assert (record.raw, record.resume["offset"]) == (b"fresh", 6)


# --- with parse -----------------------------------------------------------------------------


def test_mixed_fixture_gives_one_event_per_recv_line_and_skips_the_rest(log: Path) -> None:
    log.write_bytes((FIXTURES / "mixed.log").read_bytes())
    source = source_for(log)

    results = [source.parse(r) for r in read_all(log)]

    events = [r for r in results if isinstance(r, Envelope)]
    assert [e.subject for e in events] == ["000000402", "000000406"]
    assert sorted(r.reason for r in results if isinstance(r, Skip)) == [
        "record-type-call", "record-type-page", "record-type-poll", "record-type-proxy",
        "record-type-send", "record-type-submit", "record-type-unsent",
    ]  # fmt: skip


def test_crlf_fixture_read_and_parsed_gives_its_two_receptions(log: Path) -> None:
    log.write_bytes((FIXTURES / "crlf.log").read_bytes())
    source = source_for(log)

    events = [source.parse(r) for r in read_all(log)]

    assert [e.subject for e in events if isinstance(e, Envelope)] == ["000000150", "000000152"]


def test_ids_survive_a_rotation_that_re_sends_the_same_lines(log: Path) -> None:
    line = (FIXTURES / "hylafax-plus.log").read_bytes().split(b"\n")[0] + b"\n"
    log.write_bytes(b"\n" * 7 + line)
    source = source_for(log)
    first = source.parse(read_all(log)[-1])

    log.unlink()
    log.write_bytes(line)
    again = source.parse(read_all(log)[-1])

    assert isinstance(first, Envelope) and isinstance(again, Envelope)
    assert first.id == again.id
