"""FaxMailSource.parse: T.37 fax mails (RFC 3965) to FaxReceived events, on real mails whose
TIFF-F pages Pillow drew (tests/mail_samples.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.runtime.documents import DocumentStore, digest_of
from connectors.runtime.source import RawRecord, Skip
from connectors.sources.fax_mail import FaxMailOptions, FaxMailSource
from connectors.sources.fax_mail_format import mail_headers
from connectors.sources.maildir_folder import MaildirFolder
from midfield.demo.fax_samples import fax_mail, png_image
from midfield.errors import ParseError
from schemas.envelope import Envelope, event_id
from schemas.events.fax import FaxFormat, FaxReceived
from tests.fuzzing import parsed_or_refused
from tests.mail_samples import WHEN, bad_mails, cut_base64, good_mail, tiff

SHANGHAI = ZoneInfo("Asia/Shanghai")
READ_AT = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)


def make_source(tmp_path: Path, instance: str = "t37-main") -> FaxMailSource:
    folder = MaildirFolder(tmp_path / "Maildir", poll_interval_s=0.05, max_bytes=1 << 20)
    return FaxMailSource(folder=folder, documents=DocumentStore(tmp_path / "documents"),
                         instance=instance, zone=SHANGHAI, clock=lambda: READ_AT)  # fmt: skip


@pytest.fixture
def source(tmp_path: Path) -> FaxMailSource:
    return make_source(tmp_path)


def envelope_of(source: FaxMailSource, raw: bytes, **meta: str) -> Envelope:
    result = source.parse(RawRecord(raw, "mail x", {"processed": ["k"]}, meta))
    assert isinstance(result, Envelope)
    assert isinstance(result.data, FaxReceived)
    return result


def fax_of(source: FaxMailSource, raw: bytes) -> FaxReceived:
    data = envelope_of(source, raw).data
    assert isinstance(data, FaxReceived)
    return data


def reason_for(source: FaxMailSource, raw: bytes, **meta: str) -> str:
    with pytest.raises(ParseError) as caught:
        source.parse(RawRecord(raw, "mail x", {}, meta))
    return caught.value.reason


def test_one_page_mail_becomes_a_fax_event_naming_the_tiff_by_digest(
    source: FaxMailSource,
) -> None:
    envelope = envelope_of(source, good_mail(1))
    fax = envelope.data
    assert isinstance(fax, FaxReceived)
    assert (fax.commid, fax.pages, fax.remote_station) == ("fax-1@gw.test", 1, "+86 551 2345678")
    assert fax.document == digest_of(tiff(1))
    assert fax.documents == (digest_of(tiff(1)),)
    assert fax.size_bytes == len(tiff(1))
    assert fax.device == "fax@office.example.gov.cn"
    assert fax.log_format is FaxFormat.t37_mail
    assert envelope.subject == "fax-1@gw.test"
    assert envelope.time == WHEN
    assert envelope.source == "midfield://fax-mail/t37-main"


def test_the_to_address_is_the_receiving_line(source: FaxMailSource) -> None:
    """A T.37 mail's To names the office's fax line that took it, as dest does in xferfaxlog."""
    assert fax_of(source, good_mail(1)).line == "fax@office.example.gov.cn"


def test_two_page_tiff_counts_two_pages(source: FaxMailSource) -> None:
    assert fax_of(source, good_mail(2, pages=2)).pages == 2


def test_several_tiffs_sum_their_pages_and_sizes_and_the_first_is_the_document(
    source: FaxMailSource,
) -> None:
    raw = fax_mail(station="+86 551 1", when=WHEN, tiffs=[tiff(2), tiff(1)], message_id="m@gw")
    fax = fax_of(source, raw)
    assert fax.pages == 3
    assert fax.documents == (digest_of(tiff(2)), digest_of(tiff(1)))
    assert fax.document == digest_of(tiff(2))
    assert fax.size_bytes == len(tiff(2)) + len(tiff(1))


@pytest.mark.parametrize("charset", ["utf-8", "gb2312"])
def test_encoded_word_chinese_subject_is_decoded_to_the_station(
    source: FaxMailSource, charset: str
) -> None:
    raw = good_mail(3, subject="传真来自 +86 551 7654321（2页）", subject_charset=charset)
    assert f"=?{charset}?B?".encode() in raw  # really an RFC 2047 encoded word on the wire
    assert fax_of(source, raw).remote_station == "+86 551 7654321"


@pytest.mark.parametrize(
    ("subject", "station"),
    [
        ("Fax from +86 551 2345678 (2 pages)", "+86 551 2345678"),
        ("Facsimile received from COUNTY WATER", "COUNTY WATER"),
        ("New fax from: 05512345678", "05512345678"),
        ("来自 +86 551 1234567 的传真", "+86 551 1234567"),
        ("Scanned document", ""),
    ],
)
def test_station_is_read_from_the_usual_gateway_subjects(
    source: FaxMailSource, subject: str, station: str
) -> None:
    assert fax_of(source, good_mail(4, subject=subject)).remote_station == station


def test_a_station_header_wins_over_the_subject(source: FaxMailSource) -> None:
    raw = good_mail(5, subject="Fax from someone", headers={"X-Fax-TSI": "+86 551 9999999"})
    assert fax_of(source, raw).remote_station == "+86 551 9999999"


def test_id_comes_from_source_and_message_id_not_from_where_it_was_read(
    tmp_path: Path, source: FaxMailSource
) -> None:
    raw = good_mail(6)
    first = source.parse(RawRecord(raw, "mail a", {"processed": ["1"]}, {"maildir_key": "1"}))
    again = source.parse(RawRecord(raw, "mail b", {"last_uid": 9}, {"imap_uid": "9"}))
    elsewhere = make_source(tmp_path, instance="other").parse(RawRecord(raw, "mail a", {}))
    assert isinstance(first, Envelope) and isinstance(again, Envelope)
    assert isinstance(elsewhere, Envelope)
    assert first.id == again.id == event_id("midfield://fax-mail/t37-main", "mail fax-6@gw.test")
    assert elsewhere.id != first.id


def test_mail_without_message_id_is_named_by_its_digest(source: FaxMailSource) -> None:
    raw = fax_mail(station="+86 551 1", when=WHEN, tiffs=[tiff(1)])
    assert fax_of(source, raw).commid == digest_of(raw)
    assert mail_headers(raw)["message_id"] == digest_of(raw)


def test_date_without_zone_is_office_time(source: FaxMailSource) -> None:
    raw = good_mail(7).replace(b"+0800", b"-0000")  # RFC 5322: -0000 means "zone unknown"
    assert envelope_of(source, raw).time == datetime(2025, 3, 14, 9, 41, tzinfo=SHANGHAI)


def test_mail_without_date_takes_the_reading_time(source: FaxMailSource) -> None:
    raw = b"\n".join(line for line in good_mail(8).split(b"\n") if not line.startswith(b"Date:"))
    assert envelope_of(source, raw).time == READ_AT


@pytest.mark.parametrize("reason", sorted(bad_mails()))
def test_each_bad_sample_is_rejected_with_its_reason(source: FaxMailSource, reason: str) -> None:
    assert reason_for(source, bad_mails()[reason]) == reason


def test_base64_cut_at_a_quartet_decodes_to_a_tiff_cut_short(source: FaxMailSource) -> None:
    assert reason_for(source, cut_base64(good_mail(9, pages=2), 4 * 100)) == "bad-tiff"


def test_tiff_header_over_other_bytes_is_a_bad_tiff(source: FaxMailSource) -> None:
    raw = fax_mail(station="x", when=WHEN, tiffs=[b"II*\x00" + png_image()], message_id="h@gw")
    assert reason_for(source, raw) == "bad-tiff"


def test_octet_stream_named_tif_is_taken_as_the_fax(source: FaxMailSource) -> None:
    raw = good_mail(10, content_type="application/octet-stream")
    assert fax_of(source, raw).pages == 1


@pytest.mark.parametrize(
    "raw",
    [b"", b"just some text", b"\xff\xfe\x00binary", b"Content-Type: multipart/mixed\n\nno parts"],
)
def test_what_is_not_a_mail_is_a_bad_mail(source: FaxMailSource, raw: bytes) -> None:
    assert reason_for(source, raw) == "bad-mail"


def test_a_mail_the_reader_found_too_large_is_rejected_as_such(source: FaxMailSource) -> None:
    assert reason_for(source, good_mail(11)[:100], problem="too-large") == "too-large"


def test_options_take_exactly_one_input() -> None:
    with pytest.raises(ValueError, match="exactly one input"):
        FaxMailOptions()
    with pytest.raises(ValueError, match="exactly one input"):
        FaxMailOptions(maildir=Path("m"), imap="imap://fax@127.0.0.1/INBOX")
    with pytest.raises(ValueError, match="imap:// or imaps://"):
        FaxMailOptions(imap="http://fax@127.0.0.1/INBOX")
    assert FaxMailOptions(imap="imaps://fax@127.0.0.1/Fax").once is False


# -- properties: any input parses or raises ParseError, never anything else --------------------
MAIL_REASONS = {"bad-mail", "no-attachment", "bad-base64", "not-tiff", "bad-tiff", "invalid-event"}


def _parses_or_rejects(source: FaxMailSource, raw: bytes, reasons: set[str] = MAIL_REASONS) -> None:
    result = parsed_or_refused(lambda: source.parse(RawRecord(raw, "mail x", {})))
    assert isinstance(result, Envelope | Skip) or result.reason in reasons, result


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=2000))
def test_any_bytes_parse_or_raise_parse_error(raw: bytes) -> None:
    _parses_or_rejects(make_source(Path("/nonexistent")), raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_damaged_tiff_in_a_real_mail_parses_or_raises_parse_error(data: st.DataObject) -> None:
    damaged = bytearray(tiff(2))
    for _ in range(data.draw(st.integers(1, 12))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(8, len(damaged)))
    raw = fax_mail(station="x", when=WHEN, tiffs=[bytes(damaged[:cut])], message_id="d@gw")
    _parses_or_rejects(make_source(Path("/nonexistent")), raw, {"not-tiff", "bad-tiff"})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.text(max_size=80), max_size=12), cut=st.integers(0, 4000))
def test_mangled_headers_and_cut_mails_parse_or_raise_parse_error(
    lines: list[str], cut: int
) -> None:
    raw = good_mail(12, pages=2)
    head = "\n".join(lines).encode("utf-8", "surrogateescape")
    _parses_or_rejects(make_source(Path("/nonexistent")), head + b"\n" + raw[:cut])
