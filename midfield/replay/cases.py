"""Processor cases as data: input events and the books they must give, one YAML file per case.

As in Redpanda Connect's config tests, a case is data, and one runner takes them all: the real
processors, in a read-only worker on a private embedded broker that holds nothing but the cases'
events. It runs twice over: ``tests/integration/test_processor_cases.py`` runs every case in
``tests/cases/`` with today's code, and ``midfield replay shadow --cases DIR --module M`` runs
them with the new code first, so a change shows which documented behaviours it alters before it
is tried on the live input.

A case file::

    name: progress that lags the time elapsed turns a task yellow
    at: 2025-03-20T10:00:00+08:00        # the moment the books are read at (lights, due times)
    events:                              # produced in this order, each to its event's topic
      - type: TaskCreated                # the event class (or its CloudEvents type)
        subject: DC-case-1               # the key; default: the data's first field
        time: 2025-03-01T09:00:00+08:00  # default: ``at``
        position: created                # default: its index; repeat one to repeat the event id
        data: {task_id: DC-case-1, actor: office, title: 修路, lead_department: edu,
               deadline: 2025-04-30}
    expect:                              # book -> entity -> the fields that must have these values
      ledger:
        DC-case-1: {status: in_progress, light: yellow}

    decided:                             # optional: what the books decided, in event order
      refused: [completion-before-signing]  # the reasons of the refusals (dead letters)
      alerts: [overdue/item/F-1]         # the ids of the alerts raised or resolved
      notices: [edu]                     # the departments whose outbox got a notice

Only the fields named are compared (a case documents one behaviour, not every field); a field may
be a dotted path (``entries.0.channel``); an entity expected as ``null`` must be absent. Keep
entity ids unique across cases: they run together on a broker.

Two runners: :func:`apply_cases` applies each case's events, in file order, with
:func:`streams.books.registry.process` on plain dicts — no broker, every case on books of its
own, ``decided`` checked too; :func:`run_cases` produces them all to a private broker and reads
the books a real (read-only) worker made of them, where ``decided`` is not compared (a read-only
worker sends no side effect).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from midfield.broker import EmbeddedBroker
from midfield.bus.clients import client_config
from midfield.bus.producer import Producer
from midfield.bus.topics import create_topics
from midfield.errors import ConfigError
from midfield.replay.books import NAMES, Snapshot, render
from midfield.replay.replay_worker import ReplayWorker
from midfield.replay.run import Progress, plan
from midfield.settings import KafkaSettings, Settings
from schemas.envelope import Envelope, EventData, event_types
from streams.books.registry import process

__all__ = ["Case", "CaseResult", "apply_cases", "check", "load_cases", "run_cases"]


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    at: datetime
    events: list[Envelope]
    expect: dict[str, dict[str, dict[str, Any] | None]]
    decided: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class CaseResult:
    case: Case
    mismatches: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.mismatches

    def line(self) -> str:
        head = f"{'ok  ' if self.passed else 'DIFF'} {self.case.path.name}: {self.case.name}"
        return "\n".join([head, *(f"     {m}" for m in self.mismatches)])


def load_cases(directory: Path) -> list[Case]:
    """Every ``*.yaml`` case in ``directory``, checked; ``ConfigError`` names a bad file."""
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise ConfigError(f"no *.yaml cases in {directory}", reason="no-cases")
    return [_load(path) for path in paths]


def _load(path: Path) -> Case:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        at = _moment(raw["at"])
        events = [_envelope(path, n, step, at) for n, step in enumerate(raw["events"])]
        expect = raw["expect"]
        unknown = set(expect) - set(NAMES)
        if unknown:
            raise ValueError(f"unknown books {sorted(unknown)}; the books are {list(NAMES)}")
        decided = {k: [str(v) for v in vs] for k, vs in (raw.get("decided") or {}).items()}
        if set(decided) - set(_DECIDED):
            raise ValueError(f"decided takes {list(_DECIDED)}, not {sorted(decided)}")
        return Case(str(raw["name"]), path, at, events, expect, decided)
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"case {path}: {exc}", reason="bad-case") from exc


def _moment(value: Any) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return when


def _envelope(path: Path, n: int, step: dict[str, Any], at: datetime) -> Envelope:
    by_name = {cls.__name__: cls for cls in event_types().values()} | dict(event_types())
    cls: type[EventData] | None = by_name.get(step["type"])
    if cls is None:
        raise ValueError(f"event {n}: unknown type {step['type']!r}")
    try:
        data = cls.model_validate(step["data"])
    except ValidationError as exc:
        raise ValueError(f"event {n} ({step['type']}): {exc}") from exc
    subject = step.get("subject") or str(next(iter(step["data"].values())))
    return Envelope.wrap(
        data,
        source=f"midfield://cases/{path.stem}",
        position=str(step.get("position", n)),
        subject=subject,
        time=_moment(step.get("time", at)),
    )


def check(case: Case, books: Snapshot) -> CaseResult:
    """Compare the fields ``case`` names with ``books`` (a snapshot read at ``case.at``)."""
    result = CaseResult(case)
    for book, entities in case.expect.items():
        for key, fields in entities.items():
            found = books.get(book, {}).get(key)
            if fields is None:
                if found is not None:
                    result.mismatches.append(f"{book} {key}: expected absent, found")
                continue
            if found is None:
                result.mismatches.append(f"{book} {key}: expected, absent")
                continue
            for name, want in fields.items():
                got = _field(found, name)
                if _plain(got) != _plain(want):
                    result.mismatches.append(f"{book} {key}: {name} {got!r}, expected {want!r}")
    return result


def _field(entity: Any, path: str) -> Any:
    """``status``, or a dotted path into lists and objects: ``entries.0.channel``."""
    for part in path.split("."):
        if isinstance(entity, list) and part.isdigit() and int(part) < len(entity):
            entity = entity[int(part)]
        elif isinstance(entity, dict):
            entity = entity.get(part)
        else:
            return None
    return entity


def _plain(value: Any) -> Any:
    """YAML reads dates and times as objects, the books hold ISO text: compare as text."""
    return value.isoformat() if isinstance(value, date) else value


_DECIDED = ("refused", "alerts", "notices")


def apply_cases(cases: list[Case], settings: Settings) -> list[CaseResult]:
    """Each case's events through the books' pure ``process``, in file order, on books of its
    own; the snapshot at ``case.at`` and the decisions compared with what the case expects."""
    results = []
    for case in cases:
        tables: dict[str, dict[str, Any]] = {name: {} for name in NAMES}
        decided: dict[str, list[str]] = {name: [] for name in _DECIDED}
        for envelope in case.events:
            out = process(tables, envelope.topic, envelope, settings, source="midfield://cases")
            for (book, key), value in out.writes.items():
                tables[book][key] = value
            decided["refused"] += [r.reason for r in out.refusals]
            decided["alerts"] += [a.subject for a in out.alerts]
            decided["notices"] += [department for department, _ in out.notices]
        result = check(case, render(tables, case.at, settings))
        for name, want in case.decided.items():
            if decided[name] != want:
                result.mismatches.append(f"decided {name}: {decided[name]}, expected {want}")
        results.append(result)
    return results


def run_cases(
    cases: list[Case],
    settings: Settings,
    workdir: Path,
    *,
    module: str | None = None,
    report: Callable[[Progress], None] = lambda p: None,
) -> list[CaseResult]:
    """Run ``cases`` through the real processors (``module``'s code) on a private broker."""
    with EmbeddedBroker(workdir / "broker").running() as status:
        kafka = KafkaSettings(bootstrap_servers=status.bootstrap, profile="embedded")
        private = Settings(kafka=kafka, topics=settings.topics, office=settings.office)
        create_topics(kafka, settings.topics)
        _produce(kafka, [e for case in cases for e in case.events])
        worker = ReplayWorker(
            private,
            "cases",
            workdir / "worker",
            module=module,
            env={"KAFKA_BOOTSTRAP_SERVERS": status.bootstrap, "MIDFIELD_KAFKA_PROFILE": "embedded"},
        )
        with worker.running_to(plan(private, "cases"), report=report):
            snapshots = {at: worker.snapshot(at) for at in {case.at for case in cases}}
    return [check(case, snapshots[case.at]) for case in cases]


def _produce(kafka: KafkaSettings, envelopes: list[Envelope]) -> None:
    producer = Producer(client_config(kafka), acks="all")
    try:
        sent = [
            producer.send(e.topic, key=e.key(), value=e.value(), headers=e.headers())
            for e in envelopes
        ]
        producer.acknowledge(sent, timeout_s=30)
    finally:
        producer.close(timeout_s=5)
