"""``midfield replay redrive``: dead letters parsed again with today's parsers (DESIGN §8).

The dead-letter topic is a log of letter states: a letter's latest record (by its ``id``, which
is fixed by source and position) is where it stands. A re-drive reads the whole topic, keeps the
letters whose latest record is unresolved and that the filters admit, and for each:

* today's parser makes events of it -> the events go to their topics with the ids they would have
  had the first time, then a ``resolved="redriven"`` record (with those ids) goes to the
  dead-letter topic, so the next re-drive leaves it alone;
* today's parser skips it -> a ``resolved="skipped"`` record;
* today's parser still fails -> the letter again, ``attempts`` + 1, with today's reason and error;
* the letter is not re-drivable (``NotRedrivable`` from the parser) -> nothing is written.

Events are acknowledged by the broker before their letter's resolution is written: a re-drive
stopped between the two produces the same ids again next time, which the books apply once.

The parsers come from the caller (``midfield/cli/replay.py`` passes
:func:`midfield.replay.reparse.reparser`), so a test can give its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from midfield.bus.producer import Delivery, Producer
from midfield.errors import NotRedrivable, ParseError
from midfield.replay.offsets import scan
from schemas.catalog import DEADLETTER
from schemas.deadletter import OUTBOX_META, DeadLetter
from schemas.envelope import DecodeError, Envelope

__all__ = ["Filter", "Summary", "open_letters", "redrive"]

Reparse = Callable[[DeadLetter], "list[Envelope] | Any"]
"""A letter -> its events, or a skip (anything that is not a list); raises ``ParseError``."""


@dataclass(frozen=True)
class Filter:
    """Which open letters a re-drive takes; every option left out admits all."""

    reason: str | None = None
    source: str | None = None
    """A connector name (``fax-log``) or a source URI (``midfield://fax-log/main``)."""
    since: datetime | None = None
    """Letters first seen at or after this moment."""
    limit: int | None = None
    """At most this many letters, the oldest first."""

    def admits(self, letter: DeadLetter) -> bool:
        return (
            (self.reason is None or letter.reason == self.reason)
            and (self.source is None or self.source in (letter.source, letter.connector))
            and (self.since is None or letter.first_seen >= self.since)
        )

    def select(self, letters: Iterable[DeadLetter]) -> list[DeadLetter]:
        chosen = sorted(filter(self.admits, letters), key=lambda x: (x.first_seen, x.id))
        return chosen if self.limit is None else chosen[: self.limit]


@dataclass
class Summary:
    """What a re-drive did, per reason the letters had before it."""

    dry_run: bool = False
    open: int = 0
    """Unresolved letters on the topic (before the filters)."""
    unreadable: int = 0
    """Records on the dead-letter topic that are no dead letter at all."""
    events: int = 0
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    """reason -> outcome (``redriven``, ``skipped``, ``failing``, ``not-redrivable:<why>``) ->
    letters."""

    def count(self, reason: str, outcome: str) -> None:
        self.outcomes.setdefault(reason, Counter())[outcome] += 1

    def total(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.outcomes.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "open_letters": self.open,
            "taken": sum(sum(c.values()) for c in self.outcomes.values()),
            "redriven": self.total("redriven"),
            "skipped": self.total("skipped"),
            "failing": self.total("failing"),
            "events": self.events,
            "unreadable_records": self.unreadable,
            "by_reason": {r: dict(sorted(c.items())) for r, c in sorted(self.outcomes.items())},
        }

    def text(self) -> str:
        head = "would re-drive (dry run)" if self.dry_run else "re-drove"
        lines = [f"{head}: {self.as_json()['taken']} of {self.open} open letters"]
        for reason, outcomes in sorted(self.outcomes.items()):
            parts = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
            lines.append(f"  {reason}: {parts}")
        lines.append(f"events {'to produce' if self.dry_run else 'produced'}: {self.events}")
        return "\n".join(lines)


def open_letters(config: Mapping[str, Any], summary: Summary | None = None) -> list[DeadLetter]:
    """The letters whose latest record on the dead-letter topic is unresolved."""
    latest: dict[str, DeadLetter] = {}
    for record in scan(config, [DEADLETTER]):
        try:
            letter = DeadLetter.from_value(record.value or b"")
        except DecodeError:
            if summary is not None:
                summary.unreadable += 1
            continue
        latest[letter.id] = letter  # one source, one partition: offsets order its records
    return [letter for letter in latest.values() if letter.resolved is None]


def redrive(
    config: Mapping[str, Any],
    reparse: Reparse,
    chosen: Filter,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> Summary:
    """Re-drive the open letters ``chosen`` admits (see the module docstring)."""
    summary = Summary(dry_run=dry_run)
    letters = open_letters(config, summary)
    summary.open = len(letters)
    taken = chosen.select(letters)
    with _Out(config, dry_run) as out:
        for n, letter in enumerate(taken, start=1):
            _one(letter, reparse, out, summary)
            progress(n, len(taken))
    return summary


def _one(letter: DeadLetter, reparse: Reparse, out: _Out, summary: Summary) -> None:
    try:
        result = reparse(letter)
    except ParseError as exc:
        if isinstance(exc, NotRedrivable):
            summary.count(letter.reason, f"not-redrivable:{exc.reason}")
            return
        summary.count(letter.reason, "failing")
        out.later(letter.model_copy(
            update={"attempts": letter.attempts + 1, "reason": exc.reason, "error": str(exc)}
        ))  # fmt: skip
        return
    if isinstance(result, list):
        summary.count(letter.reason, "redriven")
        summary.events += len(result)
        out.events(result, topic=letter.meta.get(OUTBOX_META))
        ids = [event.id for event in result]
        out.later(letter.model_copy(update={"resolved": "redriven", "redriven_ids": ids}))
    else:
        summary.count(letter.reason, "skipped")
        out.later(letter.model_copy(update={"resolved": "skipped"}))


class _Out:
    """The producer: events at once; the letters' new records once every event is acknowledged."""

    def __init__(self, config: Mapping[str, Any], dry_run: bool) -> None:
        self.producer: Producer | None = None
        if not dry_run:
            self.producer = Producer(config, acks="all", linger_ms=20)
        self.sent: list[Delivery] = []
        self.letters: list[DeadLetter] = []

    def __enter__(self) -> _Out:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.flush()
        finally:
            if self.producer is not None:
                self.producer.close(timeout_s=10)

    def events(self, envelopes: list[Envelope], *, topic: str | None = None) -> None:
        """Each envelope to ``topic``, or to its type's topic (a notice's is per department)."""
        if self.producer is None:
            return
        for e in envelopes:
            delivery = self.producer.send(
                topic or e.topic, key=e.key(), value=e.value(), headers=e.headers()
            )
            self.sent.append(delivery)

    def later(self, letter: DeadLetter) -> None:
        self.letters.append(letter)
        if len(self.letters) >= 500:
            self.flush()

    def flush(self) -> None:
        """Every event acknowledged (an error stops here, before any letter is written), then
        the letters' new records, acknowledged too."""
        if self.producer is not None:
            self.producer.acknowledge(self.sent, timeout_s=60)
            letters = [
                self.producer.send(DEADLETTER, key=x.key(), value=x.value(), headers=x.headers())
                for x in self.letters
            ]
            self.producer.acknowledge(letters, timeout_s=60)
        self.sent.clear()
        self.letters.clear()
