"""Bounded shutdown: after SIGTERM or SIGINT every Midfield process exits within its shutdown
timeout (``MIDFIELD_WORKER_SHUTDOWN_TIMEOUT_S``, ``MIDFIELD_CONNECT_SHUTDOWN_TIMEOUT_S``).

A process first stops the orderly way (flush, commit, close). With the broker gone that can
hang in a client library: faust's consumer thread waited ~60 s, an HTTP intake's producer
thread kept ``asyncio.run`` from returning. :func:`exit_within` arms a daemon timer when the
signal arrives; if the process is still there when it fires, it logs that and exits at once
(status 0: it was asked to stop). Nothing is lost by that: connectors commit a position only
after the broker has the records, and the worker's books ignore re-delivered ids.
:func:`stop_child` is the same bound seen from a parent: a child asked to stop is killed when
it has not within its time.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from typing import Any

from midfield.logging import get_logger

__all__ = ["exit_within", "stop_child"]

log = get_logger(__name__)
_armed = threading.Lock()


def exit_within(timeout_s: float, *, what: str) -> None:
    """Make sure the process ends ``timeout_s`` from now; a second call changes nothing."""
    if not _armed.acquire(blocking=False):
        return
    log.info("stopping", process=what, within_s=timeout_s)
    timer = threading.Timer(timeout_s, _give_up, args=(timeout_s, what))
    timer.daemon = True
    timer.name = "midfield-shutdown-deadline"
    timer.start()


def _give_up(timeout_s: float, what: str) -> None:
    log.warning("did not stop in time, exiting now", process=what, timeout_s=timeout_s)
    for handler in logging.getLogger().handlers:  # os._exit skips the usual flush
        handler.flush()
    os._exit(0)


def stop_child(
    proc: subprocess.Popen[Any], *, timeout_s: float, sig: int = signal.SIGTERM
) -> int | None:
    """Stop a child process that is still running: ``sig``, then SIGKILL if it has not exited
    within ``timeout_s``; its exit status."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
