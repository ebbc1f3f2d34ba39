"""connectors.sources.info_view: what the information reports intake knows of each report, read
back from its topic, and how it tells a retry from a reused Idempotency-Key."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.runtime.idempotency import Seen
from connectors.sources.info_view import InfoView, KnownReport
from schemas.envelope import Envelope
from schemas.events.info import InfoEvent, InfoReportDrafted, InfoReportProposed, InfoStatus

SOURCE = "midfield://info/t"
AT = datetime(2025, 6, 20, 2, tzinfo=UTC)
EDU = {"actor": "edu", "by": "person:wangming", "by_name": "王明"}
PROPOSED = InfoReportProposed(report_id="XX-1", source="by_hand", title="线索", **EDU)
DRAFTED = InfoReportDrafted(report_id="XX-1", title="标题", text="正文", **EDU)


def _request(event: InfoEvent, key: str) -> Envelope:
    """The envelope the intake makes of a request with ``Idempotency-Key: key``."""
    return Envelope.wrap(event, source=SOURCE, position=f"{event.by}/{key}",
                         subject=event.report_id, time=AT)  # fmt: skip


def _restarted(*accepted: Envelope) -> InfoView:
    """A new view (a restarted intake) that has read ``accepted`` back from the topic."""
    view = InfoView()
    for envelope in accepted:
        view.take(Envelope.from_record(envelope.headers(), envelope.value()))
    return view


def test_a_report_read_back_is_known_with_its_status_and_owner() -> None:
    view = _restarted(_request(PROPOSED, "p"), _request(DRAFTED, "d"))
    assert view.get("XX-1") == KnownReport(InfoStatus.drafted, "edu")
    assert view.get("XX-2") is None


def test_a_step_the_book_would_refuse_is_left_out() -> None:
    office_draft = DRAFTED.model_copy(update={"actor": "health", "by": "department:health"})
    view = _restarted(_request(DRAFTED, "d"), _request(PROPOSED, "p"), _request(office_draft, "o"))
    assert view.get("XX-1") == KnownReport(InfoStatus.candidate, "edu")


def test_a_retry_is_a_retry_and_a_key_reused_for_another_request_is_reused() -> None:
    view = _restarted(_request(PROPOSED, "p"))
    assert view.claim(_request(PROPOSED, "p")) is Seen.retry
    assert view.claim(_request(DRAFTED, "p")) is Seen.reused
