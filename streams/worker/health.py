"""The worker's periodic look at the broker: its lag, table sizes, and whether it answers.

A look-up runs in a thread and never blocks the timer: a broker that hangs (no error, no answer)
is declared unreachable once a look-up has been pending longer than ``deadline_s``. ``/ready``
reads :attr:`BrokerWatch.error`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from midfield import metrics
from midfield.bus.lag import PartitionLag, group_lag
from midfield.errors import BrokerError
from midfield.logging import get_logger

__all__ = ["BrokerWatch"]

log = get_logger(__name__)


class BrokerWatch:
    def __init__(
        self,
        config: dict[str, Any],
        group: str,
        topics: list[str],
        *,
        deadline_s: float,
        tables: Callable[[], dict[str, int]],
    ) -> None:
        self.config, self.group, self.topics = config, group, topics
        self.deadline_s = deadline_s
        self.tables = tables
        self.error: str | None = None
        self.lags: list[PartitionLag] = []
        """The last lag measured, per partition (for the dashboard)."""
        self._pending: asyncio.Future[list[PartitionLag]] | None = None
        self._started = 0.0

    def count_tables(self) -> None:
        """Each book's size into ``midfield_table_entries``: at every tick and every scrape of
        ``/metrics`` (a length per book: nothing is read)."""
        for table, size in self.tables().items():
            metrics.TABLE_ENTRIES.labels(table).set(size)

    async def tick(self) -> None:
        """Collect the last look-up if it finished, start the next one if none is pending."""
        self.count_tables()
        if self._pending is not None and not self._pending.done():
            if time.monotonic() - self._started > self.deadline_s:
                self.error = f"no answer from the broker in {self.deadline_s:.0f} s"
            return
        if self._pending is not None:
            self._collect(self._pending)
        self._started = time.monotonic()
        self._pending = asyncio.ensure_future(
            asyncio.to_thread(group_lag, self.config, self.group, topics=self.topics)
        )

    def _collect(self, done: asyncio.Future[list[PartitionLag]]) -> None:
        try:
            lags = done.result()
        except BrokerError as exc:
            if self.error is None:
                log.warning("broker unreachable", error=str(exc))
            self.error = str(exc)
            return
        self.error = None
        self.lags = lags
        for lag in lags:
            labels = (lag.group, lag.topic, str(lag.partition))
            metrics.LAG.labels(*labels).set(lag.lag)
            metrics.LAG_SECONDS.labels(*labels).set(lag.lag_seconds)
