"""Hotline work orders in a real worker: one order's history, a refused step dead-lettered, and
the unit's figures over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from schemas.envelope import Envelope
from schemas.events.workorder import Satisfaction, WorkOrderStepped
from tests.harness import Broker, WorkerProcess, dead_letters, produce

ZONE = ZoneInfo("Asia/Shanghai")


def _steps(number: str, unit: str) -> list[Envelope]:
    start = datetime.now(ZONE) - timedelta(days=1)
    steps = [
        ("accepted", 0, {"category": "help"}),
        ("dispatched", 0, {"units": (unit,)}),
        ("signed", 1, {"unit": unit}),
        ("replied", 5, {"unit": unit}),
        ("callback", 6, {"satisfaction": Satisfaction.basically_satisfied}),
        ("callback", 7, {"satisfaction": Satisfaction.satisfied}),  # refused: already called back
        ("closed", 8, {}),
    ]
    return [
        Envelope.wrap(
            WorkOrderStepped(order_number=number, step=step, **fields),  # type: ignore[arg-type]
            source="midfield://hotline/test",
            position=f"{number}/{n}",
            subject=number,
            time=start + timedelta(hours=hours),
        )
        for n, (step, hours, fields) in enumerate(steps)
    ]


def test_order_history_refused_step_and_unit_figures(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    number, unit = f"12345-{unique}", f"w{unique}"
    envelopes = _steps(number, unit)
    with WorkerProcess(catalog_topics, workdir, app_id=f"orders-{unique}").running() as worker:
        produce(catalog_topics, envelopes)
        # a fresh app id reads the shared broker's whole history first
        order = worker.wait_for_status(f"/work-orders/{number}", "closed", timeout=90)
        assert [h["step"] for h in order["history"]] == [
            "accepted",
            "dispatched",
            "signed",
            "replied",
            "callback",
            "closed",
        ]
        assert order["callback"]["satisfaction"] == "basically_satisfied"
        status, rates = worker.get(f"/work-order-rates?department={unit}&period=all")
        assert status == 200
        figures = rates["total"]
        assert figures["on_time_sign_for"] == {"numerator": 1, "denominator": 1, "rate": 1.0}
        assert figures["satisfaction"] == {"numerator": 1, "denominator": 1, "rate": 1.0}
        assert worker.get("/work-orders/no-such-order")[0] == 404
    letters = dead_letters(catalog_topics)
    [refused] = [d for d in letters if d.meta.get("ce_id") == envelopes[5].id]
    assert (refused.reason, refused.connector) == ("illegal-step", "work-orders")
