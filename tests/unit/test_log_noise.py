"""A lost broker is reported at a bounded rate (issue 19, item 7): the Kafka clients' warnings
through :class:`ClientNoise`, Midfield's own retries through :class:`Outage`. The clock is a
plain list the test advances."""

from __future__ import annotations

import logging

from structlog.testing import capture_logs

from midfield.logging import ClientNoise, Outage, get_logger


def _record(
    name: str, level: int = logging.ERROR, msg: str = "Unable connect to %s"
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, ("node 1",), None)


def test_client_warnings_beyond_the_burst_are_held_and_summarised_in_the_next_interval() -> None:
    now = [0.0]
    noise = ClientNoise(interval_s=60, burst=5, clock=lambda: now[0])
    passed = [noise.filter(_record("aiokafka")) for _ in range(3000)]
    assert passed.count(True) == 5
    now[0] = 61.0
    opening = _record("aiokafka.consumer.fetcher")
    assert noise.filter(opening)
    assert "[2995 more Kafka client warnings in the last 60 s not logged" in opening.getMessage()
    assert "'aiokafka': 2995" in opening.getMessage()


def test_other_loggers_and_client_info_lines_always_pass() -> None:
    noise = ClientNoise(interval_s=60, burst=0, clock=lambda: 0.0)
    assert noise.filter(_record("midfield.cli"))
    assert noise.filter(_record("kafka.conn", logging.INFO))
    assert not noise.filter(_record("kafka.net.manager"))


def test_an_outage_is_logged_once_then_once_an_interval_with_a_count_then_once_when_back() -> None:
    now = [0.0]
    with capture_logs() as logs:
        outage = Outage(get_logger("t"), interval_s=60, clock=lambda: now[0])
        for second in range(0, 150):
            now[0] = float(second)
            outage.failed("refused")
        outage.recovered()
        outage.recovered()
    assert [(e["event"], e.get("failures")) for e in logs] == [
        ("broker lost, retrying", None),
        ("broker still unreachable", 61),
        ("broker still unreachable", 121),
        ("broker back", 150),
    ]
