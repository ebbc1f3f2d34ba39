"""Which dead letters ``midfield replay redrive`` parses again, and with what
(midfield/replay/reparse.py), and which ones its filters take (midfield/replay/redrive.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from midfield.errors import NotRedrivable, ParseError
from midfield.replay.redrive import Filter
from midfield.replay.reparse import reparser
from midfield.settings import Settings
from schemas.deadletter import MAX_RAW, DeadLetter
from tests.samples import fax_envelope, fax_line

SEEN = datetime(2025, 3, 14, 1, 0, tzinfo=UTC)


def _letter(raw: bytes, *, connector: str = "fax-log", position: str = "inode 1 offset 0",
            reason: str = "bad-field-count", meta: dict[str, str] | None = None,
            seen: datetime = SEEN) -> DeadLetter:  # fmt: skip
    return DeadLetter.of(raw, reason=reason, error=reason, source=f"midfield://{connector}/main",
                         position=position, connector=connector, first_seen=seen,
                         meta=meta)  # fmt: skip


REPARSE = reparser(Settings())


def test_a_fax_log_letter_is_parsed_by_todays_fax_log_parser() -> None:
    (event,) = REPARSE(_letter(fax_line(7).encode()))
    assert event.subject == "000000007" and event.source == "midfield://fax-log/main"


def test_a_fax_log_letter_that_still_fails_raises_its_parse_error() -> None:
    with pytest.raises(ParseError) as caught:
        REPARSE(_letter(b"03/14/25 09:41\tRECV\tbroken"))
    assert caught.value.reason == "bad-field-count"
    assert not isinstance(caught.value, NotRedrivable)


@pytest.mark.parametrize(
    ("letter", "why"),
    [
        (_letter(b"{}", connector="board", position="POST /board/messages"), "http-intake"),
        (_letter(b"<xml/>", connector="wechat", position="POST /wechat"), "http-intake"),
        (_letter(b"mail", connector="fax-mail", position="mail <a@b>"), "document-intake"),
        (_letter(b"{}", connector="telegram", position="t.json"), "document-intake"),
        (_letter(b"x" * (MAX_RAW + 1)), "input-cut"),
        (_letter(b"{}", connector="worker", reason="illegal-step"), "verdict"),
        (_letter(b"{}", connector="supervision", reason="illegal-step"), "verdict"),
    ],
)
def test_letters_that_are_not_parsed_again_say_why(letter: DeadLetter, why: str) -> None:
    with pytest.raises(NotRedrivable) as caught:
        REPARSE(letter)
    assert caught.value.reason == why


def test_a_worker_decode_letter_is_read_again_from_its_headers_and_value() -> None:
    envelope = fax_envelope("000000042", SEEN)
    meta = {k: v.decode() for k, v in envelope.headers()}
    letter = _letter(envelope.value(), connector="worker", reason="unknown-type", meta=meta,
                     position="office.intake.fax.v1/0@17")  # fmt: skip
    (again,) = REPARSE(letter)
    assert again.id == envelope.id and again.value() == envelope.value()


def test_filters_take_the_oldest_letters_of_a_reason_source_and_time() -> None:
    letters = [
        _letter(b"a", seen=SEEN + timedelta(hours=2), position="p1"),
        _letter(b"b", seen=SEEN, position="p2"),
        _letter(b"c", seen=SEEN + timedelta(hours=1), position="p3", reason="bad-date"),
        _letter(b"d", seen=SEEN + timedelta(hours=3), position="p4", connector="board"),
    ]
    assert [x.raw for x in Filter().select(letters)] == ["b", "c", "a", "d"]
    assert [x.raw for x in Filter(reason="bad-field-count").select(letters)] == ["b", "a", "d"]
    assert [x.raw for x in Filter(source="fax-log", limit=2).select(letters)] == ["b", "c"]
    assert [x.raw for x in Filter(source="midfield://board/main").select(letters)] == ["d"]
    since = Filter(since=SEEN + timedelta(minutes=30)).select(letters)
    assert [x.raw for x in since] == ["c", "a", "d"]
