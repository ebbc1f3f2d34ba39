"""Fault injection for chaos tests: named points where a process can be made to die.

``MIDFIELD_FAULTS="connector.before-commit=kill@3"`` SIGKILLs the process the third time it
reaches that point; ``worker.effects-sent=raise@1`` raises :class:`Fault` there the first time
(an error the process lives through, as a send timing out); ``worker.seek=sleep@3`` makes every
pass through that point take 3 s more (a slow broker, a window made wide enough for a test to
hit). Unset (the default, and always in production) every point is a no-op costing one dict
look-up. Points in use:

* ``connector.before-commit``: the broker acknowledged a batch, the position is not yet saved.
* ``sink.before-commit``: a department webhook answered 2xx, the consumer offset is not yet
  committed (the record is delivered again, with the same ``webhook-id``).
* ``worker.effects-sent``: a batch's dead letters, alerts and notices are sent, its books not
  yet written (the batch comes again: same ids, applied once).
* ``worker.batch-written``: a batch's books are written, its offsets not yet committed.
* ``worker.seek`` (sleep): the worker seeks its stream partitions to their committed offsets
  after a recovery (streams/worker/transport.py).
* ``worker.deliver`` (drop): the worker's consumer has read a stream record and hands it to its
  intake; ``drop@N`` drops the N-th unread, as faust does when its flow stops mid-delivery
  (streams/worker/offsets.py). ``MIDFIELD_FAULTS_MATCH=text`` counts only the records whose value
  or a header holds ``text`` (one test's records on a shared broker).
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterable

from schemas.errors import MidfieldError

__all__ = ["Fault", "armed", "delay_s", "drop", "point"]

_hits: Counter[str] = Counter()


def _plan(verb: str) -> dict[str, float]:
    plan = {}
    for item in filter(None, os.environ.get("MIDFIELD_FAULTS", "").split(",")):
        name, _, action = item.partition("=")
        said, _, number = action.partition("@")
        if said == verb:
            plan[name.strip()] = float(number or 1)
    return plan


class Fault(MidfieldError):
    """The error a ``raise`` fault raises: one the process lives through (a worker's batch is
    read again)."""

    default_reason = "fault"


_PLAN = _plan("kill")
_RAISES = _plan("raise")
_DELAYS = _plan("sleep")
_DROPS = _plan("drop")
_MATCH = os.environ.get("MIDFIELD_FAULTS_MATCH", "").encode()


def armed(name: str) -> bool:
    """Whether the plan names ``name`` at all (a point with a cost to set up, set up only then)."""
    return any(name in plan for plan in (_PLAN, _RAISES, _DELAYS, _DROPS))


def delay_s(name: str) -> float:
    """How long the plan says to wait at ``name`` (0: no wait)."""
    return _DELAYS.get(name, 0.0)


def drop(name: str, parts: Iterable[bytes | None]) -> bool:
    """Whether the plan says to drop here the record made of ``parts`` (its value and header
    values): once, at the N-th record one of whose parts holds ``MIDFIELD_FAULTS_MATCH``."""
    if name not in _DROPS or not any(_MATCH in (part or b"") for part in parts):
        return False
    _hits[name] += 1
    return _hits[name] == _DROPS[name]


def point(name: str) -> None:
    """Die here, or raise :class:`Fault`, if the fault plan says so."""
    if name not in _PLAN and name not in _RAISES:
        return
    _hits[name] += 1
    if _hits[name] == _PLAN.get(name):
        os.kill(os.getpid(), signal.SIGKILL)
    if _hits[name] == _RAISES.get(name):
        raise Fault(f"fault: {name} raised at pass {_hits[name]}")
