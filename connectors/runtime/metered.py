"""A source wrapped with metrics: the runtime's middleware, so sources never count themselves."""

from __future__ import annotations

import time
from typing import Any

from connectors.runtime.source import Position, RawRecord, Reading, Skip, Source
from midfield import metrics
from midfield.errors import ParseError
from midfield.settings import Settings
from schemas.envelope import Envelope

__all__ = ["Metered"]


class Metered(Source):
    """Delegates to ``inner``; times each parse and counts events, skips and dead letters."""

    def __init__(self, inner: Source) -> None:
        super().__init__(instance=inner.instance, zone=inner.zone, clock=inner.clock)
        self.inner = inner
        self.name = inner.name  # type: ignore[misc]
        self.version = inner.version  # type: ignore[misc]
        self._parse_seconds = metrics.PARSE_SECONDS.labels(inner.name)

    @classmethod
    def from_options(cls, options: Any, settings: Settings) -> Source:
        raise NotImplementedError("wrap a source instead")

    def parse(self, record: RawRecord) -> Envelope | list[Envelope] | Skip:
        start = time.perf_counter()
        try:
            result = self.inner.parse(record)
        except ParseError as exc:
            metrics.DEAD_LETTERS.labels(exc.reason, self.name).inc()
            raise
        finally:
            self._parse_seconds.observe(time.perf_counter() - start)
        if isinstance(result, Skip):
            metrics.SKIPPED.labels(result.reason, self.name).inc()
            return result
        for event in result if isinstance(result, list) else [result]:
            metrics.EVENTS_OUT.labels(event.topic, event.source).inc()
            metrics.saw_event(event.source)
        return result

    def read(self, position: Position | None, *, follow: bool) -> Reading:
        return self.inner.read(position, follow=follow)

    def committed(self, position: Position) -> None:
        self.inner.committed(position)
