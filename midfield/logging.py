"""structlog set-up: pretty on a terminal, JSON lines otherwise (production, CI, files).

The Kafka clients (kafka-python, aiokafka, and faust's transport around them) log every failed
connection, fetch and metadata refresh: with the broker gone that was ~4 000 lines a minute from
one worker. :class:`ClientNoise` is the one place that bounds it: per interval
(``MIDFIELD_LOG_CLIENT_INTERVAL_S``, 60 s) the first ``MIDFIELD_LOG_CLIENT_BURST`` (5) warnings
and errors of those loggers pass, the rest are counted and summarised in one line when the next
interval starts. Midfield's own code reports a lost broker with :class:`Outage` (once, then
every interval with a count, then once when it is back).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Literal

import structlog

__all__ = ["CLIENT_LOGGERS", "ClientNoise", "Outage", "configure_logging", "get_logger"]

Format = Literal["auto", "json", "console"]

CLIENT_LOGGERS = (
    "kafka",
    "aiokafka",
    "faust.transport",
    "streams.worker.transport",
    "mode.threads",
)
"""Loggers of the Kafka clients and of faust's transport around them (prefixes)."""


class ClientNoise(logging.Filter):
    """At most ``burst`` client-library warnings per ``interval_s``, then one summary line.

    ``clock`` is injectable for tests. Records of other loggers, and client records below
    WARNING, pass unchanged.
    """

    def __init__(
        self,
        *,
        interval_s: float = 60.0,
        burst: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.interval_s, self.burst, self.clock = interval_s, burst, clock
        self._lock = threading.Lock()
        self._window_start = -float("inf")
        self._passed = 0
        self._held: Counter[str] = Counter()
        self._last = ""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(CLIENT_LOGGERS):
            return True
        with self._lock:
            now = self.clock()
            if now - self._window_start >= self.interval_s:
                self._summarise(record)
                self._window_start, self._passed = now, 0
            if self._passed < self.burst:
                self._passed += 1
                return True
            self._held[record.name] += 1
            self._last = _message(record)
            return False

    def _summarise(self, record: logging.LogRecord) -> None:
        """Fold the held count into ``record``'s message (it passes: it opens a new window)."""
        if not self._held:
            return
        total = sum(self._held.values())
        summary = (
            f"[{total} more Kafka client warnings in the last {self.interval_s:.0f} s not "
            f"logged: {dict(self._held.most_common(5))}; last: {self._last[:200]}]"
        )
        record.msg, record.args = f"{_message(record)} {summary}", ()
        self._held.clear()


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except (TypeError, ValueError):  # a library's bad format string: keep the template
        return str(record.msg)


class Outage:
    """Reports one lost dependency (the broker) at a bounded rate: ``failed`` logs the first
    failure, then at most one line per ``interval_s`` with the count; ``recovered`` logs once
    that it is back. Not thread-safe: one per loop or thread that retries."""

    def __init__(
        self,
        log: structlog.stdlib.BoundLogger,
        what: str = "broker",
        *,
        interval_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log, self.what, self.interval_s, self.clock = log, what, interval_s, clock
        self.since: float | None = None
        self.failures = 0
        self._reported = 0.0

    def failed(self, error: object, **context: Any) -> None:
        now = self.clock()
        self.failures += 1
        if self.since is None:
            self.since, self._reported = now, now
            self.log.warning(f"{self.what} lost, retrying", error=str(error), **context)
        elif now - self._reported >= self.interval_s:
            self._reported = now
            for_s = round(now - self.since)
            self.log.warning(f"{self.what} still unreachable", error=str(error),
                             failures=self.failures, for_s=for_s, **context)  # fmt: skip

    def recovered(self, **context: Any) -> None:
        if self.since is not None:
            self.log.info(f"{self.what} back", after_s=round(self.clock() - self.since, 1),
                          failures=self.failures, **context)  # fmt: skip
        self.since, self.failures = None, 0


def configure_logging(
    level: str = "INFO",
    fmt: Format = "auto",
    *,
    client_interval_s: float = 60.0,
    client_burst: int = 5,
) -> None:
    """Route structlog and the standard library (faust, aiokafka) through one renderer, the
    Kafka clients' warnings through :class:`ClientNoise`, and exceptions that end a thread
    through the same log."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json
        else structlog.dev.ConsoleRenderer()
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    handler.addFilter(ClientNoise(interval_s=client_interval_s, burst=client_burst))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The Kafka clients narrate every connection at INFO; their warnings are what matters.
    for noisy in ("kafka", "aiokafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    threading.excepthook = _thread_ended


def _thread_ended(args: threading.ExceptHookArgs) -> None:
    """A thread's uncaught exception as one log record (not a bare traceback on stderr); a
    client thread cancelled while the process stops is expected and logged as such."""
    name = args.thread.name if args.thread else "?"
    log = get_logger("midfield.threads")
    if isinstance(args.exc_value, asyncio.CancelledError):
        log.info("thread cancelled while stopping", thread=name)
        return
    exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
    log.error("thread ended by an exception", thread=name, exc_info=exc_info)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
