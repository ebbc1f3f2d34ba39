"""Reply tallies and the early warning in a real worker; then every book rebuilt by a second
worker (new app id, from the beginning of the topics) equals the live one."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from schemas.envelope import Envelope
from schemas.events.message import MessageChannel, PublicMessageReceived, PublicMessageReplied
from tests.harness import Broker, RunWorker, departments_file, produce, wait_for

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime.now(ZONE)


def _wrap(
    event: PublicMessageReceived | PublicMessageReplied, step: str, days_ago: float
) -> Envelope:
    return Envelope.wrap(
        event,
        source="midfield://board/test",
        position=f"{event.message_id}/{step}",
        subject=event.message_id,
        time=NOW - timedelta(days=days_ago),
    )


def _received(mid: str, department: str, days_ago: float) -> Envelope:
    event = PublicMessageReceived(
        message_id=mid, channel=MessageChannel.board, title=f"留言{mid}", department=department
    )
    return _wrap(event, "received", days_ago)


def _replied(mid: str, department: str, days_ago: float) -> Envelope:
    event = PublicMessageReplied(message_id=mid, department=department, reply="已答复")
    return _wrap(event, "replied", days_ago)


def test_reply_rate_early_warning_and_resolution(
    catalog_topics: Broker, workdir: Path, unique: str, run_worker: RunWorker
) -> None:
    dept = f"r{unique}"
    old, quick, late = f"{unique}-old", f"{unique}-quick", f"{unique}-late"
    directory = departments_file(workdir / "departments.toml", {dept: "k"})
    with run_worker("replies", directory, MIDFIELD_REPLIES_CHECK_INTERVAL_S="0.5") as worker:
        produce(
            catalog_topics,
            [
                _received(old, dept, 65),
                _received(quick, dept, 10),
                _replied(quick, dept, 9),
                _received(late, dept, 9),
                _replied(late, dept, 1),
            ],
        )

        def figures() -> dict:
            status, body = worker.get(f"/reply-rate?department={dept}&period=all")
            assert status == 200, body
            return body["total"]

        total = wait_for(  # the five events sit on several partitions: wait for all of them
            lambda: (f := figures())["received"] == 3 and f["replied"] >= 2 and f,
            timeout=30,
            what="three messages and two replies",
        )
        assert (total["replied"], total["reply_rate"], total["on_time"]) == (2, 0.6667, 1)
        assert total["oldest_unanswered"]["message_id"] == old

        def alert() -> dict | None:
            found = [
                a
                for a in worker.every("/alerts?open=false", "alerts")
                if a["alert_id"] == f"unanswered/{old}"
            ]
            return found[0] if found else None

        raised = wait_for(
            lambda: (a := alert()) and a["level"] == 60 and a, timeout=30, what="the 60-day warning"
        )
        assert (raised["open"], raised["severity"], raised["count"]) == (True, "warning", 1)

        produce(catalog_topics, [_replied(old, dept, 0)])
        resolved = wait_for(
            lambda: (a := alert()) and not a["open"] and a, timeout=30, what="the warning resolved"
        )
        assert resolved["resolution"] == "replied"
        assert worker.get("/reply-rate?period=2025-13")[0] == 400
