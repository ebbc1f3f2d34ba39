"""FaxLogSource.parse: xferfaxlog lines (HylaFAX, HylaFAX+, GOfax.IP) to FaxReceived events.

Sample lines live in tests/fixtures/xferfaxlog/; the format is HylaFAX's xferfaxlog(5F).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.runtime.source import RawRecord, Skip
from connectors.sources.fax_log import FaxLogSource
from midfield.errors import ParseError
from schemas.envelope import Envelope
from schemas.events.fax import FaxFormat, FaxReceived
from tests.fuzzing import parsed_or_refused

FIXTURES = Path(__file__).parent.parent / "fixtures" / "xferfaxlog"
SHANGHAI = ZoneInfo("Asia/Shanghai")
INGESTED = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)
# The example line of the domain notes (NOTES.md, "Fax — HylaFAX"), its tabs written out.
NOTES_EXAMPLE = (
    '03/14/25 09:41\tRECV\t000000123\tttyS0\trecvq/fax000000123.tif\t""\tfax\t"05511234567"\t'
    '"+86 551 2345678"\t65576\t3\t00:01:12\t00:01:05\t""\t""\t"05512345678"\t""\t""\t""'
)


@pytest.fixture
def source() -> FaxLogSource:
    return FaxLogSource(
        path=FIXTURES / "unused.log", instance="hylafax-main", zone=SHANGHAI, clock=lambda: INGESTED
    )


def record(line: str | bytes, offset: int = 0) -> RawRecord:
    raw = line.encode() if isinstance(line, str) else line
    return RawRecord(raw=raw, where=f"inode 1 offset {offset}", resume={"inode": 1, "offset": 1})


def fixture_line(name: str, index: int) -> bytes:
    """Line ``index`` of a fixture file, without its ``\\n`` (a CRLF file keeps the ``\\r``)."""
    return (FIXTURES / name).read_bytes().split(b"\n")[index]


def received(source: FaxLogSource, line: str | bytes) -> FaxReceived:
    envelope = source.parse(record(line))
    assert isinstance(envelope, Envelope)
    assert isinstance(envelope.data, FaxReceived)
    return envelope.data


def with_field(index: int, value: str, line: str = NOTES_EXAMPLE) -> str:
    fields = line.split("\t")
    fields[index] = value
    return "\t".join(fields)


def reason_of(source: FaxLogSource, line: str | bytes) -> str:
    with pytest.raises(ParseError) as caught:
        source.parse(record(line))
    return caught.value.reason


# --- the variants ---------------------------------------------------------------------------


def test_notes_example_line_parses_into_a_hylafax_plus_reception(source: FaxLogSource) -> None:
    assert received(source, NOTES_EXAMPLE) == FaxReceived(
        commid="000000123",
        device="ttyS0",
        document="recvq/fax000000123.tif",
        remote_station="+86 551 2345678",
        pages=3,
        duration_s=72,
        connect_s=65,
        status="",
        caller_name="",
        caller_number="05512345678",
        call_id="",
        params="65576",
        log_format=FaxFormat.hylafax_plus,
        line="05511234567",
    )


def test_notes_example_fixture_line_is_the_notes_example() -> None:
    assert fixture_line("hylafax-plus.log", 0) == NOTES_EXAMPLE.encode()


def test_hylafax_plus_line_maps_cid_name_number_and_callid(source: FaxLogSource) -> None:
    data = received(source, fixture_line("hylafax-plus.log", 1))

    assert (data.caller_name, data.caller_number, data.call_id) == (
        "ZHANG SAN",
        "05516350123",
        "2001::7",
    )


def test_recv_line_names_the_receiving_line_from_the_dest_column(source: FaxLogSource) -> None:
    """An office with a duty fax and a general fax tells which one rang by the dest column."""
    duty, general = '"05511234567"', '"05517654321"'
    assert received(source, with_field(7, duty)).line == "05511234567"
    assert received(source, with_field(7, general)).line == "05517654321"


def test_classic_line_carries_its_receiving_line(source: FaxLogSource) -> None:
    assert received(source, fixture_line("classic-hylafax.log", 2)).line == "05511234567"


def test_classic_14_field_line_parses_without_caller_id(source: FaxLogSource) -> None:
    data = received(source, fixture_line("classic-hylafax.log", 2))

    assert data.log_format is FaxFormat.hylafax
    assert (data.commid, data.remote_station, data.pages) == ("000000120", "+86 551 2345678", 5)
    assert (data.caller_name, data.caller_number, data.call_id) == ("", "", "")


def test_classic_fmttime_durations_become_seconds(source: FaxLogSource) -> None:
    data = received(source, fixture_line("classic-hylafax.log", 2))  # 0:03:02 and 0:02:55

    assert (data.duration_s, data.connect_s) == (182, 175)


def test_failed_reception_keeps_its_status_text(source: FaxLogSource) -> None:
    data = received(source, fixture_line("classic-hylafax.log", 3))

    assert data.status == "RSPREC error/got DCN (receiver abort)"


def test_hylafax_plus_20_field_line_with_empty_jobinfo_parses(source: FaxLogSource) -> None:
    line = fixture_line("hylafax-plus-jobinfo.log", 1)
    assert line.endswith(b'"00 46 1F 01 00 00 20 01"\t')

    data = received(source, line)

    assert (data.commid, data.caller_name, data.log_format) == (
        "000000301",
        "WANG WU",
        FaxFormat.hylafax_plus,
    )


def test_recv_line_with_doubled_quotes_parses_cid_number(source: FaxLogSource) -> None:
    data = received(source, fixture_line("gofaxip.log", 0))

    assert (data.caller_name, data.caller_number) == ("ZHANG SAN", "05512345678")
    assert data.log_format is FaxFormat.gofaxip


def test_gofaxip_ok_status_means_the_fax_arrived_whole(source: FaxLogSource) -> None:
    assert received(source, fixture_line("gofaxip.log", 0)).status == ""


def test_gofaxip_empty_doubled_quotes_give_an_empty_caller_name(source: FaxLogSource) -> None:
    data = received(source, fixture_line("gofaxip.log", 1))

    assert (data.caller_name, data.caller_number) == ("", "13805510000")


def test_doubled_quote_inside_a_field_is_one_quote(source: FaxLogSource) -> None:
    data = received(source, with_field(8, '"ACME ""West"" Branch"'))

    assert data.remote_station == 'ACME "West" Branch'
    assert data.log_format is FaxFormat.gofaxip


def test_backslash_escaped_quotes_in_csi_are_unescaped(source: FaxLogSource) -> None:
    data = received(source, with_field(8, r'"ACME \"West\" Branch"'))

    assert data.remote_station == 'ACME "West" Branch'
    assert data.log_format is FaxFormat.hylafax_plus


def test_unquoted_fields_are_taken_verbatim(source: FaxLogSource) -> None:
    data = received(source, with_field(13, "Missing EOL after 5 seconds", with_field(8, "FAX")))

    assert (data.remote_station, data.status) == ("FAX", "Missing EOL after 5 seconds")


def test_quote_inside_an_unquoted_field_is_kept(source: FaxLogSource) -> None:
    assert received(source, with_field(3, 'tty"S0')).device == 'tty"S0'


def test_crlf_residue_is_ignored(source: FaxLogSource) -> None:
    line = fixture_line("crlf.log", 0)
    assert line.endswith(b'""\r')

    assert received(source, line).commid == "000000150"


def test_crlf_residue_does_not_reach_the_last_field(source: FaxLogSource) -> None:
    line = fixture_line("classic-hylafax.log", 3) + b"\r"

    assert received(source, line).status == "RSPREC error/got DCN (receiver abort)"


def test_recv_time_is_the_office_local_time(source: FaxLogSource) -> None:
    envelope = source.parse(record(NOTES_EXAMPLE))

    assert isinstance(envelope, Envelope)
    assert envelope.time == datetime(2025, 3, 14, 9, 41, tzinfo=SHANGHAI)
    assert envelope.time.utcoffset() == timedelta(hours=8)
    assert envelope.time.astimezone(UTC) == datetime(2025, 3, 14, 1, 41, tzinfo=UTC)


def test_envelope_names_source_subject_and_connector(source: FaxLogSource) -> None:
    envelope = source.parse(record(NOTES_EXAMPLE))

    assert isinstance(envelope, Envelope)
    assert envelope.source == "midfield://fax-log/hylafax-main"
    assert envelope.subject == "000000123"
    assert envelope.type == FaxReceived.type
    assert envelope.topic == "office.intake.fax.v1"
    assert (envelope.connector_version, envelope.ingested_at) == ("1", INGESTED)


# --- ids ------------------------------------------------------------------------------------


def test_same_line_gives_same_id_wherever_it_was_read(source: FaxLogSource) -> None:
    first = source.parse(record(NOTES_EXAMPLE, offset=0))
    again = source.parse(record(NOTES_EXAMPLE, offset=9000))

    assert isinstance(first, Envelope) and isinstance(again, Envelope)
    assert first.id == again.id


def test_different_commid_gives_different_id(source: FaxLogSource) -> None:
    first = source.parse(record(NOTES_EXAMPLE))
    other = source.parse(record(with_field(2, "000000124")))

    assert isinstance(first, Envelope) and isinstance(other, Envelope)
    assert first.id != other.id


def test_same_commid_on_another_day_gives_different_id(source: FaxLogSource) -> None:
    first = source.parse(record(NOTES_EXAMPLE))
    other = source.parse(record(with_field(0, "03/15/25 09:41")))

    assert isinstance(first, Envelope) and isinstance(other, Envelope)
    assert first.id != other.id


# --- skips ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "reason"),
    [
        (0, "record-type-submit"),
        (1, "record-type-send"),
        (2, "record-type-call"),
        (4, "record-type-poll"),
        (5, "record-type-page"),
        (6, "record-type-unsent"),
        (7, "record-type-proxy"),
    ],
)
def test_other_record_types_are_skipped_with_their_reason(
    source: FaxLogSource, index: int, reason: str
) -> None:
    assert source.parse(record(fixture_line("mixed.log", index))) == Skip(reason=reason)


def test_send_line_with_a_non_utf8_jobtag_is_still_skipped(source: FaxLogSource) -> None:
    line = fixture_line("classic-hylafax.log", 0).replace(b"urgent", "紧急".encode("gbk"))

    assert source.parse(record(line)) == Skip(reason="record-type-send")


@pytest.mark.parametrize("line", [b"", b"\r", b"   ", b"\t\t"])
def test_blank_line_is_skipped(source: FaxLogSource, line: bytes) -> None:
    assert source.parse(record(line)) == Skip(reason="blank-line")


# --- rejections -----------------------------------------------------------------------------


def test_unknown_record_type_is_rejected(source: FaxLogSource) -> None:
    assert reason_of(source, with_field(1, "FOO")) == "unknown-record-type"


def test_lowercase_recv_is_an_unknown_record_type(source: FaxLogSource) -> None:
    assert reason_of(source, with_field(1, "recv")) == "unknown-record-type"


def test_invalid_utf8_in_a_recv_line_is_rejected(source: FaxLogSource) -> None:
    line = NOTES_EXAMPLE.encode().replace(b"+86", "+86 张".encode("gbk"))

    assert reason_of(source, line) == "not-utf8"


@pytest.mark.parametrize("count", [13, 15, 18, 21])
def test_recv_with_another_field_count_is_rejected_saying_how_many(
    source: FaxLogSource, count: int
) -> None:
    fields = (NOTES_EXAMPLE + '\t""\t""').split("\t")[:count]

    with pytest.raises(ParseError, match=f"RECV has {count} fields") as caught:
        source.parse(record("\t".join(fields)))
    assert caught.value.reason == "bad-field-count"


def test_line_without_a_tab_is_rejected_as_bad_field_count(source: FaxLogSource) -> None:
    assert reason_of(source, "03/14/25 09:41 RECV 000000123") == "bad-field-count"


def test_malformed_fixture_line_is_a_bad_field_count(source: FaxLogSource) -> None:
    assert reason_of(source, fixture_line("malformed.log", 1)) == "bad-field-count"


@pytest.mark.parametrize(
    "date", ["2025-03-14 09:41", "03/14/2025 09:41", "13/14/25 09:41", "02/30/25 09:41",
             "03/14/25 24:00", "03/14/25 9:41", "03/14/25"],
)  # fmt: skip
def test_bad_date_is_rejected(source: FaxLogSource, date: str) -> None:
    assert reason_of(source, with_field(0, date)) == "bad-date"


@pytest.mark.parametrize("commid", ["", '""', "  "])
def test_empty_commid_is_rejected(source: FaxLogSource, commid: str) -> None:
    assert reason_of(source, with_field(2, commid)) == "bad-commid"


@pytest.mark.parametrize("pages", ["", "three", "-1", "2.5", "١٢"])
def test_page_count_that_is_not_a_non_negative_integer_is_rejected(
    source: FaxLogSource, pages: str
) -> None:
    assert reason_of(source, with_field(10, pages)) == "bad-page-count"


@pytest.mark.parametrize("duration", ["", "72", "1:12", "00:01:60", "00:61:00", "??:??:??"])
def test_duration_not_in_h_mm_ss_is_rejected(source: FaxLogSource, duration: str) -> None:
    assert reason_of(source, with_field(11, duration)) == "bad-duration"


def test_conntime_not_in_h_mm_ss_is_rejected(source: FaxLogSource) -> None:
    assert reason_of(source, with_field(12, "1 min")) == "bad-duration"


def test_mm_ss_duration_is_accepted(source: FaxLogSource) -> None:
    assert received(source, with_field(11, "01:12")).duration_s == 72


@pytest.mark.parametrize("csi", ['"+86 551', '+86 551"', '"'])
def test_unbalanced_quotes_are_rejected(source: FaxLogSource, csi: str) -> None:
    assert reason_of(source, with_field(8, csi)) == "bad-quoting"


def test_event_the_model_refuses_is_rejected_as_invalid_event() -> None:
    """The clock here returns a naive time, which the envelope refuses."""
    naive = FaxLogSource(
        path=FIXTURES / "unused.log",
        instance="t",
        zone=SHANGHAI,
        clock=lambda: datetime(2025, 1, 1),
    )

    assert reason_of(naive, NOTES_EXAMPLE) == "invalid-event"


def test_error_detail_names_the_field_and_truncates_the_value(source: FaxLogSource) -> None:
    with pytest.raises(ParseError) as caught:
        source.parse(record(with_field(10, "x" * 500)))

    assert caught.value.detail.startswith("npages='xxx")
    assert len(caught.value.detail) < 120


# --- properties -----------------------------------------------------------------------------

_VALUES = st.sampled_from(
    ['""', '""""', '"05512345678"', '""ZHANG SAN""', '"a""b"', r'"\"x\""', '"', "3", "0",
     "00:01:12", "0:01:12", "01:12", "ttyS0", "recvq/fax000000123.tif", "65576", "fax"]
)  # fmt: skip
_NOISE = st.text(st.characters(codec="utf-8", exclude_characters="\t\n"), max_size=12)


@st.composite
def recv_lines(draw: st.DrawFn) -> bytes:
    """The NOTES example cut to some field count, with a few fields replaced."""
    count = draw(st.sampled_from([14, 19, 20]) | st.integers(2, 22))
    fields = (NOTES_EXAMPLE.split("\t") + ['""'] * 3)[:count]
    for index in draw(st.lists(st.integers(0, count - 1), max_size=3)):
        fields[index] = draw(_VALUES | _NOISE)
    fields[1] = "RECV"
    return "\t".join(fields).encode()


def assert_parses_or_rejects(source: FaxLogSource, raw: bytes) -> None:
    """(Any bytes at all: the source contract, tests/unit/test_source_contract.py.)"""
    result = parsed_or_refused(lambda: source.parse(record(raw)))
    assert isinstance(result, Envelope | Skip) or result.detail


@settings(max_examples=300, deadline=None)
@given(raw=recv_lines())
def test_any_recv_shaped_line_parses_or_raises_parse_error(raw: bytes) -> None:
    assert_parses_or_rejects(
        FaxLogSource(path=FIXTURES / "unused.log", instance="p", zone=SHANGHAI), raw
    )
