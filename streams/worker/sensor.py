"""The worker's metrics, recorded by a faust sensor and, for the books' batches, by the intake
(streams/worker/intake.py): agents and views never count themselves."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import faust
from faust.types import TP

from midfield import metrics

__all__ = ["MetricsSensor", "taken_in", "taken_out"]


def _source_of(event: Any) -> str:
    headers = event.headers or {}
    pairs = headers.items() if isinstance(headers, dict) else headers
    for key, value in pairs:
        if key == "ce_source":
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return "unknown"


def taken_in(events: Sequence[Any]) -> float:
    """Count a batch the intake took (streams/worker/intake.py), as faust's sensor calls
    :meth:`MetricsSensor.on_stream_event_in` for each event a stream takes; when it was taken."""
    counted: dict[tuple[str, str], int] = {}
    for event in events:
        source = _source_of(event)
        counted[(event.message.topic, source)] = counted.get((event.message.topic, source), 0) + 1
    now = time.time()
    for (topic, source), n in counted.items():
        metrics.EVENTS_IN.labels(topic, source).inc(n)
        metrics.saw_event(source, now)
    return time.perf_counter()


def taken_out(events: Sequence[Any], taken: float) -> None:
    """Each event of a batch taken at ``taken`` (:func:`taken_in`) took until now to apply."""
    if not events:
        return
    seconds = time.perf_counter() - taken
    for event in events:
        metrics.PROCESSING_SECONDS.labels(event.message.topic).observe(seconds)


class MetricsSensor(faust.Sensor):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._arrived: dict[tuple[TP, int], float] = {}
        """When each event in flight came in: faust hands a batch's events back (acknowledged
        after the batch is applied) without the state :meth:`on_stream_event_in` returned."""

    def on_stream_event_in(self, tp: TP, offset: int, stream: Any, event: Any) -> dict[str, Any]:
        source = _source_of(event)
        metrics.EVENTS_IN.labels(tp.topic, source).inc()
        metrics.saw_event(source)
        start = self._arrived[(tp, offset)] = time.perf_counter()
        return {"start": start}

    def on_stream_event_out(
        self, tp: TP, offset: int, stream: Any, event: Any, state: dict[str, Any] | None = None
    ) -> None:
        start = self._arrived.pop((tp, offset), None)
        if start is not None:
            metrics.PROCESSING_SECONDS.labels(tp.topic).observe(time.perf_counter() - start)

    def on_web_request_end(
        self, app: Any, request: Any, response: Any, state: dict[str, Any], *, view: Any = None
    ) -> None:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        status = str(response.status) if response is not None else "500"
        metrics.HTTP_REQUESTS.labels(name, status).inc()
        metrics.HTTP_SECONDS.labels(name).observe(time.monotonic() - state["time_start"])
