"""Rebuild benchmark: events per second that ``midfield replay rebuild`` applies from the beginning
of the intake topics, against a raw aiokafka consumer reading the same records from the same
broker in the same run; and the live worker on the same records, against a faust worker whose
agents do nothing (bench/noop_worker.py), with the changelog records it wrote per event. The
issue's targets: ``>= 5k events/s`` per worker, ``midfield / raw >= 0.5``, and for the live
worker ``>= 0.5x`` the no-op faust worker and ``<= 0.3`` changelog records per event.

``python -m bench.rebuild [--events N] [--repeat R] [--out PATH] [--no-decode] [--profile K]``.
bench/README.md says how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import platform
import pstats
import random
import resource
import statistics
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.harness import (
    WORKER_SETTINGS,
    command_line,
    office,
    passed,
    produce_all,
    profile_rows,
    progress,
    run_bench,
    throughput,
    workdir,
)
from bench.noop_worker import NoopWorkerProcess
from midfield.broker import EmbeddedBroker
from midfield.bus.clients import client_config
from midfield.bus.watermarks import topic_end_offsets
from midfield.clock import utc_now
from midfield.replay.books import Snapshot, changelog_topic
from midfield.replay.commands import rebuild
from midfield.replay.run import Progress
from midfield.settings import KafkaSettings, Settings, WorkerSettings
from schemas.envelope import Envelope, EventData
from schemas.events.duty import DutyEntryRecorded, EntryKind
from schemas.events.message import (
    MessageCategory,
    MessageChannel,
    PublicMessageReceived,
    PublicMessageReplied,
)
from schemas.events.task import (
    TaskAssigned,
    TaskClosed,
    TaskCompletionReported,
    TaskCreated,
    TaskProgressReported,
    TaskReviewed,
    TaskSigned,
)
from schemas.events.telegram import TelegramGrade, TelegramReceived
from schemas.events.workorder import (
    Satisfaction,
    WorkOrderCategory,
    WorkOrderStep,
    WorkOrderStepped,
)
from streams.books.registry import INDEXES, NAMES
from streams.worker.app import PROCESSED
from tests.harness import Broker, WorkerProcess, scrape
from tests.samples import fax_received

REPO = Path(__file__).resolve().parent.parent
# The targets: the books (the live worker) >= 0.5x a raw consumer; a rebuild >= 5k
# events/s per worker. The rebuild's own ratio is reported against the same 0.5.
TARGET_RATIO = 0.5
TARGET_RATE = 5_000.0  # events/s per worker
# The live worker's own targets (the issue): >= 0.5x a faust worker whose agents do nothing, on
# the same records in the same run, and at most 0.3 changelog records per event applied.
TARGET_LIVE_VS_NOOP = 0.5
TARGET_CHANGELOG_PER_EVENT = 0.3
MIDFIELD, RAW, DECODE = "midfield", "baseline_aiokafka", "baseline_aiokafka_decode"
LIVE = "midfield_live_worker"  # the books as the live faust worker applies them
NOOP = "faust_noop_worker"  # the same faust worker, its agents dropping what they take in
NOOP_LEAN = "noop_midfield_delivery"  # the no-op worker with the live worker's record hand-over
TABLES = (*NAMES, *(index.name for index in INDEXES))  # the live worker's tables (changelogs)
CHUNK = 512  # entities whose steps interleave in the produced log
DEPARTMENTS = ("edu", "housing", "water")


# --- the workload (no broker) -----------------------------------------------------------------

Step = tuple[EventData, str]  # an event and its subject (the Kafka key, the book's entity id)


def _fax(i: int, today: date) -> list[Step]:
    commid = f"{i:09d}"
    return [(fax_received(commid, pages=1 + i % 9), commid)]


def _telegram(i: int, today: date) -> list[Step]:
    number = f"×政办明电〔2025〕{i}号"
    grade = list(TelegramGrade)[i % len(TelegramGrade)]
    event = TelegramReceived(
        number=number,
        issuing_unit="×市人民政府办公室",
        addressees=("各县（区）人民政府",),
        approver="张明",
        grade=grade,
        title="关于做好近期防汛工作的紧急通知",
        pages=3,
    )
    return [(event, number)]


def _duty(i: int, today: date) -> list[Step]:
    entry_id = f"D-bench-{i:06d}"
    event = DutyEntryRecorded(
        entry_id=entry_id,
        kind=(EntryKind.call, EntryKind.visit)[i % 2],
        unit="城关镇人民政府",
        person="张伟",
        phone="0551-6234567",
        content="城关镇东街水管爆裂，已组织抢修",
        recorder="李华",
    )
    return [(event, entry_id)]


def _task(i: int, today: date) -> list[Step]:
    """The whole lifecycle, created to closed: seven events that must apply in order."""
    task, lead = f"DC-bench-{i:05d}", DEPARTMENTS[i % len(DEPARTMENTS)]
    events: list[EventData] = [
        TaskCreated(
            task_id=task,
            actor="office",
            title="城区学校扩容工程",
            lead_department=lead,
            deadline=today + timedelta(days=30),
        ),
        TaskAssigned(task_id=task, actor="office", instruction="请于5个工作日内签收"),
        TaskSigned(task_id=task, actor=lead, person="王明"),
        TaskProgressReported(task_id=task, actor=lead, percent=50, text="主体结构完成过半"),
        TaskCompletionReported(task_id=task, actor=lead, text="已竣工验收"),
        TaskReviewed(task_id=task, actor="office", accepted=True),
        TaskClosed(task_id=task, actor="office", note="办结销号"),
    ]
    return [(event, task) for event in events]


def _message(i: int, today: date) -> list[Step]:
    message_id = f"board-bench-{i:06d}"
    received = PublicMessageReceived(
        message_id=message_id,
        channel=MessageChannel.board,
        category=MessageCategory.consultation,
        title="学区划分咨询",
        content="请问今年城区小学学区如何划分？",
        department="edu",
    )
    replied = PublicMessageReplied(message_id=message_id, department="edu", reply="已公布。")
    return [(received, message_id), (replied, message_id)]


def _order(i: int, today: date) -> list[Step]:
    """A work order from accepted to closed: seven steps that must apply in order."""
    number, unit = f"12345-bench-{i:06d}", DEPARTMENTS[i % len(DEPARTMENTS)]
    T = WorkOrderStep
    steps = [
        WorkOrderStepped(order_number=number, step=T.accepted, category=WorkOrderCategory.help),
        WorkOrderStepped(order_number=number, step=T.dispatched, units=(unit,)),
        *(
            WorkOrderStepped(order_number=number, step=s, unit=unit)
            for s in (T.signed, T.handling, T.replied)
        ),
        WorkOrderStepped(order_number=number, step=T.callback, satisfaction=Satisfaction.satisfied),
        WorkOrderStepped(order_number=number, step=T.closed),
    ]
    return [(event, number) for event in steps]


KINDS: dict[str, tuple[Callable[[int, date], list[Step]], int, float]] = {
    # kind: (its events, events per entity, share of all events); faxes take what is left
    "task": (_task, 7, 0.20),
    "order": (_order, 7, 0.15),
    "message": (_message, 2, 0.10),
    "telegram": (_telegram, 1, 0.10),
    "duty": (_duty, 1, 0.15),
    "fax": (_fax, 1, 0.0),
}


@dataclass(frozen=True)
class Mix:
    """How many entities of each kind make ``events`` events."""

    entities: dict[str, int]

    @classmethod
    def of(cls, events: int) -> Mix:
        counts = {k: round(events * share / per) for k, (_, per, share) in KINDS.items()}
        counts["fax"] = events - sum(counts[k] * KINDS[k][1] for k in counts if k != "fax")
        if counts["fax"] < 0:
            raise SystemExit(f"--events {events} is too few for the mix")
        return cls(counts)

    @property
    def events(self) -> int:
        return sum(n * KINDS[k][1] for k, n in self.entities.items())

    def expected_books(self) -> dict[str, int]:
        """Entities per book when every event applied (streams/duty.py, ledger, …)."""
        n = self.entities
        return {
            "duty_log": n["fax"] + n["telegram"] + n["duty"],
            "items": n["fax"] + n["telegram"],
            "emergencies": 0,
            "ledger": n["task"],
            "alerts": 0,
            "messages": n["message"],
            "work_orders": n["order"],
        }


def ordered(mix: Mix, seed: int = 7) -> Iterator[tuple[str, int, int]]:
    """``(kind, entity, step)`` in the order they are produced: entities shuffled, and in chunks
    of :data:`CHUNK` every entity's first step, then every second step…, so the topics, keys and
    a task's or an order's steps interleave as they would in a working office."""
    entities = [(k, i) for k, n in mix.entities.items() for i in range(n)]
    random.Random(seed).shuffle(entities)
    for start in range(0, len(entities), CHUNK):
        chunk = entities[start : start + CHUNK]
        for step in range(max(KINDS[k][1] for k, _ in chunk)):
            yield from ((k, i, step) for k, i in chunk if step < KINDS[k][1])


def envelopes(mix: Mix, now: datetime) -> Iterator[Envelope]:
    """The workload's events, 60 ms of event time apart, the last one about ``now``."""
    today, base = now.date(), now - timedelta(milliseconds=60 * mix.events)
    steps: dict[tuple[str, int], list[Step]] = {}
    for n, (kind, i, step) in enumerate(ordered(mix)):
        if step == 0:
            steps[(kind, i)] = KINDS[kind][0](i, today)
        data, subject = steps[(kind, i)][step]
        if step == KINDS[kind][1] - 1:
            del steps[(kind, i)]
        at = base + timedelta(milliseconds=60 * n)
        yield Envelope.wrap(
            data,
            source=f"midfield://bench/{kind}",
            position=f"{subject}/{step}",
            subject=subject,
            time=at,
            ingested_at=at,
        )


def produce(kafka: KafkaSettings, mix: Mix) -> float:
    """Send the workload to the catalog topics; seconds, building the events included."""
    return produce_all(kafka, envelopes(mix, utc_now()), mix.events)


# --- the paths --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    path: str
    round: int
    events: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "round": self.round,
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "events_per_s": round(self.rate),
        } | self.extra


Ends = dict[tuple[str, int], int]


async def _consume(kafka: KafkaSettings, ends: Ends, decode: bool) -> tuple[int, float]:
    """Read every partition from the beginning to its end; ``(records, seconds)``, timed from
    the first ``getmany`` (the consumer is started and assigned outside the timing)."""
    config = client_config(kafka)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=config["bootstrap_servers"],
        client_id="midfield-bench",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        pending = {TopicPartition(t, p): end for (t, p), end in ends.items() if end}
        consumer.assign(list(pending))
        await consumer.seek_to_beginning()
        records, start = 0, time.perf_counter()
        while pending:
            if time.perf_counter() - start > 300:
                raise SystemExit(f"raw consumer stalled; still to read: {pending}")
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, batch in batches.items():
                records += len(batch)
                if decode:
                    for r in batch:
                        Envelope.from_record(r.headers, r.value or b"")
                if batch and batch[-1].offset + 1 >= pending.get(tp, 0):
                    pending.pop(tp, None)
                    consumer.pause(tp)
        return records, time.perf_counter() - start
    finally:
        await consumer.stop()


def run_raw(kafka: KafkaSettings, ends: Ends, round_: int, *, decode: bool = False) -> Run:
    records, seconds = asyncio.run(_consume(kafka, ends, decode))
    want = sum(ends.values())
    if records != want:
        raise SystemExit(f"raw consumer read {records:,} records, the topics hold {want:,}")
    return Run(DECODE if decode else RAW, round_, records, seconds)


@dataclass
class Moments:
    """Shows the progress the rebuild reports, every 5 s."""

    shown: float = 0.0

    def __call__(self, p: Progress) -> None:
        if p.elapsed_s - self.shown >= 5 or p.done >= p.total:
            self.shown = p.elapsed_s
            progress("  " + p.line("rebuild"))


def cpu_s() -> float:
    """CPU seconds of this process (the rebuild runs in it; the broker is a child)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def check_books(books: Snapshot, mix: Mix) -> dict[str, int]:
    """Fail loudly unless every entity is there and every lifecycle ran to its end."""
    counts = {name: len(books.get(name, {})) for name in mix.expected_books()}
    problems = [
        f"{name}: {counts[name]:,} entities, expected {want:,}"
        for name, want in mix.expected_books().items()
        if counts[name] != want
    ]
    statuses = {
        "ledger": ("status", "closed"),
        "work_orders": ("status", "closed"),
        "messages": ("replies", 1),
    }
    for name, (key, want) in statuses.items():
        wrong = [k for k, e in books.get(name, {}).items() if e.get(key) != want]
        if wrong:
            problems.append(f"{name}: {len(wrong):,} with {key} != {want!r}, e.g. {wrong[0]}")
    if problems:
        raise SystemExit("the rebuilt books are wrong:\n  " + "\n  ".join(problems))
    return counts


def run_midfield(settings: Settings, mix: Mix, work: Path, round_: int) -> Run:
    """``midfield.replay.commands.rebuild`` from the beginning under a fresh application id, timed
    whole: the plan, applying every record, and publishing the books (changelogs, offsets)."""
    app_id = f"bench-rebuild-{round_}-{uuid.uuid4().hex[:6]}"
    cpu, wall = cpu_s(), time.perf_counter()
    outcome = rebuild(settings, app_id, work / app_id, start="beginning", report=Moments())
    cpu, wall = cpu_s() - cpu, time.perf_counter() - wall
    done = outcome.progress
    if (done.done, done.total) != (mix.events, mix.events):
        raise SystemExit(f"rebuild did {done.done:,}/{done.total:,}, expected {mix.events:,}")
    books = check_books(outcome.books, mix)
    extra = {
        "app_id": app_id,
        "apply_s": round(done.elapsed_s, 2),
        "apply_events_per_s": round(done.rate),
        "changelog_records": outcome.extra["changelog_records"],
        "cpu_s": round(cpu, 2),
        "books": books,
    }
    return Run(MIDFIELD, round_, done.done, wall, extra)


def run_live(broker: Broker, mix: Mix, work: Path, round_: int, timeout_s: float = 900) -> Run:
    """The live path: a ``midfield worker`` under a fresh application id reads the same records
    from the beginning through faust's agents and tables (each entity a batch touched written
    once, one changelog record), timed as :func:`_time_intake` says; then every book must
    reach its expected size (the table gauges, counted at each scrape). The worker measures
    its lag at its default interval (10 s): this bench once set it to 2 s to have
    the gauges sooner, and each measurement's new clients and reads of every lagging
    partition (~60–100 ms of CPU) cost the live worker a share of its CPU the no-op worker,
    which measures nothing, did not pay. Once the worker has stopped (its producer flushed),
    the changelog records it wrote are counted."""
    app_id = f"bench-live-{round_}-{uuid.uuid4().hex[:6]}"
    (work / app_id).mkdir(parents=True)
    worker = WorkerProcess(broker, work / app_id, app_id, env_extra=passed(PASSED))
    expected = mix.expected_books()
    try:
        worker.start()
        worker.wait_ready(timeout=120)
        seconds, before, cpu = _time_intake(worker, mix, timeout_s)
        samples: dict[tuple[str, Any], float] = {}
        tables: dict[str, int] = {}
        for _ in range(120):
            samples = scrape(worker.url + "/metrics")
            tables = {t: int(samples.get(("midfield_table_entries", (("table", t),)), 0))
                      for t in expected}  # fmt: skip
            if tables == expected:
                break
            time.sleep(0.5)
        else:
            raise SystemExit(f"the live worker's books: {tables}, expected {expected}")
        letters = sum(v for (n, _), v in samples.items() if n == "midfield_dead_letters_total")
    finally:
        worker.stop()
    if letters:
        raise SystemExit(f"the live worker dead-lettered {letters:.0f} records")
    changelogs = changelog_records(broker.kafka_settings(), app_id)
    extra = {"app_id": app_id, "events_before_ready": before, "cpu_s": round(cpu, 2),
             "books": tables, "changelog_records": sum(changelogs.values()),
             "changelog_records_by_book": changelogs}  # fmt: skip
    return Run(LIVE, round_, mix.events - before, seconds, extra)


def run_noop(
    broker: Broker, mix: Mix, work: Path, round_: int, timeout_s: float = 900, *,
    handover: str = "faust",
) -> Run:  # fmt: skip
    """The live path's floor: a faust worker whose agents take the same records in the same
    batches and drop them (bench/noop_worker.py), under a fresh application id, timed as the
    live worker is (:func:`_time_intake`). With ``handover="midfield"``, the same worker with the
    live worker's hand-over of each record to faust's conductor (streams/worker/delivery.py):
    not the issue's baseline, said beside it so that the live worker's lead over the baseline
    can be told apart from what the hand-over alone gives."""
    path = NOOP if handover == "faust" else NOOP_LEAN
    app_id = (
        f"bench-{'noop' if handover == 'faust' else 'noop-lean'}-{round_}-{uuid.uuid4().hex[:6]}"
    )
    (work / app_id).mkdir(parents=True)
    env = passed(PASSED) | {"MIDFIELD_WORKER_HANDOVER": handover}
    worker = NoopWorkerProcess(broker, work / app_id, app_id, env_extra=env)
    try:
        worker.start()
        worker.wait_ready(timeout=120)
        seconds, before, cpu = _time_intake(worker, mix, timeout_s)
    finally:
        worker.stop()
    extra = {"app_id": app_id, "events_before_ready": before, "cpu_s": round(cpu, 2)}
    return Run(path, round_, mix.events - before, seconds, extra)


def _time_intake(worker: WorkerProcess, mix: Mix, timeout_s: float) -> tuple[float, int, float]:
    """``(seconds, events in before, worker CPU seconds)`` from the worker's ``/ready`` until
    its ``/metrics`` count every event in (faust's sensor counts an event as the stream takes
    it, so up to a batch per agent may still be applying at the end)."""
    started, before = time.perf_counter(), _events_in(scrape(worker.url + "/metrics"))
    cpu = _cpu_s(worker)
    while (done := _events_in(scrape(worker.url + "/metrics"))) < mix.events:
        if time.perf_counter() - started > timeout_s:
            raise SystemExit(f"{worker.app_id} took in {done:,} of {mix.events:,} events "
                             f"in {timeout_s:.0f} s:\n{worker.log_tail()}")  # fmt: skip
        time.sleep(0.1)
    return time.perf_counter() - started, before, _cpu_s(worker) - cpu


def changelog_records(kafka: KafkaSettings, app_id: str) -> dict[str, int]:
    """Records on each book's (and index's) changelog topic of ``app_id``, by book: the sum of
    the partitions' end offsets, which are fetch high watermarks (Tansu's ListOffsets answers
    too low after a multi-record batch, docs/brokers.md; nothing compacts or deletes here)."""
    topics = {changelog_topic(app_id, name): name for name in TABLES}
    ends = topic_end_offsets(client_config(kafka), topics)
    counts = dict.fromkeys(TABLES, 0)
    for (topic, _), end in ends.items():
        counts[topics[topic]] += end
    return counts


PASSED = (*WORKER_SETTINGS, "MIDFIELD_DEPARTMENTS_FILE")
"""What the workers get of this process's environment: the worker settings under test
(:data:`bench.harness.WORKER_SETTINGS`) and the office's directory."""


def _events_in(samples: dict[tuple[str, Any], float]) -> int:
    return int(sum(v for (name, _), v in samples.items() if name == "midfield_events_in_total"))


def _cpu_s(worker: WorkerProcess) -> float:
    """User + system CPU seconds of the worker process so far, from /proc."""
    assert worker.proc is not None
    fields = Path(f"/proc/{worker.proc.pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- orchestration ----------------------------------------------------------------------------


@contextmanager
def worker_environment(bootstrap: str) -> Iterator[None]:
    """What the rebuild's worker (a child process inheriting ``os.environ``) must see: this
    broker with the embedded timing profile (fast group joins), as tests/harness.py sets it, and
    none of the caller's own MIDFIELD_/KAFKA_ settings but the worker's batch ones
    (``MIDFIELD_WORKER_BATCH_MAX=1`` measures the workers applying one event at a time)."""
    saved = dict(os.environ)
    for name in [n for n in os.environ
                 if n.startswith(("MIDFIELD_", "KAFKA_")) and n not in PASSED]:  # fmt: skip
        del os.environ[name]
    os.environ |= {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MIDFIELD_KAFKA_PROFILE": "embedded",
        "MIDFIELD_LOG_FORMAT": "json",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), saved.get("PYTHONPATH")])),
    }
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


PathFn = Callable[[int], Run]


def paths(
    settings: Settings, mix: Mix, ends: Ends, work: Path, decode: bool, live: bool
) -> list[PathFn]:
    """One round's runs, baselines first, so runs alternate baseline / midfield (the no-op
    faust worker just before the live one it is the baseline of)."""
    chosen: list[PathFn] = [lambda r: run_raw(settings.kafka, ends, r)]
    if decode:
        chosen.append(lambda r: run_raw(settings.kafka, ends, r, decode=True))
    chosen.append(lambda r: run_midfield(settings, mix, work, r))
    if live:
        broker = Broker(settings.kafka.bootstrap_servers, "embedded", "embedded")
        chosen.append(lambda r: run_noop(broker, mix, work, r, handover="midfield"))
        chosen.append(lambda r: run_noop(broker, mix, work, r))
        chosen.append(lambda r: run_live(broker, mix, work, r))
    return chosen


def run_rounds(chosen: list[PathFn], repeat: int) -> list[Run]:
    runs: list[Run] = []
    total = len(chosen) * repeat
    for round_ in range(1, repeat + 1):
        for run_path in chosen:
            progress(f"run {len(runs) + 1}/{total}…")
            gc.collect()
            run = run_path(round_)
            progress(f"  {run.path}: {run.rate:,.0f} events/s ({run.seconds:.2f} s)")
            runs.append(run)
    return runs


def profile_midfield(settings: Settings, mix: Mix, work: Path, top: int) -> list[dict[str, Any]]:
    """One extra, uncounted rebuild under cProfile (it runs in this process)."""
    progress("profiling one more rebuild (not counted)…")
    app_id = f"bench-rebuild-profile-{uuid.uuid4().hex[:6]}"
    profiler = cProfile.Profile()
    outcome = profiler.runcall(rebuild, settings, app_id, work / app_id, start="beginning")
    check_books(outcome.books, mix)
    return profile_rows(pstats.Stats(profiler), top)


# --- reporting --------------------------------------------------------------------------------


def median_of(runs: Sequence[Run], path: str, value: Callable[[Run], float | None]) -> float | None:
    values = [v for run in runs if run.path == path and (v := value(run)) is not None]
    return statistics.median(values) if values else None


def report(
    args: argparse.Namespace, runs: list[Run], mix: Mix, ends: Ends, produce_s: float
) -> dict[str, Any]:
    midfield = median_of(runs, MIDFIELD, lambda r: r.rate) or 0.0
    raw = median_of(runs, RAW, lambda r: r.rate) or 0.0
    ratio = midfield / raw
    counted = {"events": mix.events}
    out = throughput("rebuild", counted, args.repeat, "events", midfield, ("aiokafka", raw))
    out |= {
        "midfield_apply_events_per_s": median_of(
            runs, MIDFIELD, lambda r: r.extra["apply_events_per_s"]
        ),
        "midfield_wall_s": median_of(runs, MIDFIELD, lambda r: r.seconds),
        "midfield_cpu_us_per_event": round(
            (median_of(runs, MIDFIELD, lambda r: r.extra["cpu_s"]) or 0.0) / mix.events * 1e6
        ),
        "changelog_records": median_of(runs, MIDFIELD, lambda r: r.extra["changelog_records"]),
        "target_ratio": TARGET_RATIO,
        "target_events_per_s": TARGET_RATE,
        "meets_target": midfield >= TARGET_RATE,  # the rebuild's target: events/s
        "meets_target_ratio": ratio >= TARGET_RATIO,
    }
    if args.decode:
        decode = median_of(runs, DECODE, lambda r: r.rate) or 0.0
        out["baseline_aiokafka_decode_events_per_s"] = round(decode)
    if args.live:
        out |= live_report(runs, mix, raw)
    return out | {
        "runs": [run.as_dict() for run in runs],
        "mix": {"entities": mix.entities, "events_per_entity": {k: v[1] for k, v in KINDS.items()}},
        "books": mix.expected_books(),
        "topics": len({t for t, _ in ends}),
        "partitions": len(ends),
        "produce_events_per_s": round(mix.events / produce_s),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "broker": "tansu-embedded",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def live_report(runs: list[Run], mix: Mix, raw: float) -> dict[str, Any]:
    """The live worker's fields: against the raw consumer (as before), against the no-op faust
    worker, and the changelog records it wrote per event (each median over the rounds)."""
    live = median_of(runs, LIVE, lambda r: r.rate) or 0.0
    noop = median_of(runs, NOOP, lambda r: r.rate) or 0.0
    live_cpu = median_of(runs, LIVE, lambda r: r.extra["cpu_s"]) or 0.0
    noop_cpu = median_of(runs, NOOP, lambda r: r.extra["cpu_s"]) or 0.0
    lean = median_of(runs, NOOP_LEAN, lambda r: r.rate) or 0.0
    lean_cpu = median_of(runs, NOOP_LEAN, lambda r: r.extra["cpu_s"]) or 0.0
    written = median_of(runs, LIVE, lambda r: r.extra["changelog_records"]) or 0.0
    lives = [run.extra["changelog_records_by_book"] for run in runs if run.path == LIVE]
    by_book = {name: statistics.median(r[name] for r in lives) for name in TABLES}
    per_event = written / mix.events
    worker = WorkerSettings()
    return {
        "live_events_per_s": round(live),
        "live_ratio": round(live / raw, 3),
        "live_cpu_us_per_event": round(live_cpu / mix.events * 1e6),
        "live_meets_target_ratio": live / raw >= TARGET_RATIO,
        "noop_events_per_s": round(noop),
        "noop_ratio": round(noop / raw, 3),
        "noop_cpu_us_per_event": round(noop_cpu / mix.events * 1e6),
        "live_vs_noop_ratio": round(live / noop, 3),
        "noop_midfield_delivery_events_per_s": round(lean),
        "noop_midfield_delivery_cpu_us_per_event": round(lean_cpu / mix.events * 1e6),
        "live_vs_noop_midfield_delivery_ratio": round(live / lean, 3) if lean else None,
        "target_live_vs_noop_ratio": TARGET_LIVE_VS_NOOP,
        "live_meets_target_vs_noop": live / noop >= TARGET_LIVE_VS_NOOP,
        "live_meets_target_events_per_s": live >= TARGET_RATE,
        "live_changelog_records": round(written),
        "live_changelog_records_per_event": round(per_event, 3),
        "live_changelog_records_by_book": {k: round(v) for k, v in by_book.items() if v},
        "changelog_floor_per_event": round(sum(mix.expected_books().values()) / mix.events, 3),
        "target_changelog_records_per_event": TARGET_CHANGELOG_PER_EVENT,
        "live_meets_target_changelog": per_event <= TARGET_CHANGELOG_PER_EVENT,
        "worker_batch": {"max": worker.batch_max, "within_s": worker.batch_within_s},
    }


def table(result: dict[str, Any]) -> str:
    def rate(value: float | None) -> str:
        return f"{value:>10,} events/s" if value is not None else f"{'-':>10} events/s"

    rows = [("raw aiokafka consumer", result["baseline_aiokafka_events_per_s"], "")]
    if "baseline_aiokafka_decode_events_per_s" in result:
        rows.append(
            (
                "raw aiokafka + Envelope.from_record",
                result["baseline_aiokafka_decode_events_per_s"],
                "",
            )
        )
    rows += [
        (
            "midfield rebuild (whole command)",
            result["midfield_events_per_s"],
            f"  plan, apply, publish {result['changelog_records']:,} changelog records: "
            f"{result['midfield_wall_s']:.1f} s, "
            f"{result['midfield_cpu_us_per_event']} µs CPU/event",
        ),
        (
            "midfield rebuild, applying only",
            result["midfield_apply_events_per_s"],
            "  read, decode, process",
        ),
    ]
    if "live_events_per_s" in result:
        rows += [
            (
                "faust worker, agents do nothing",
                result["noop_events_per_s"],
                f"  ratio {result['noop_ratio']:.3f}, {result['noop_cpu_us_per_event']} µs "
                "CPU/event",
            ),
            (
                "  the same, Midfield's hand-over",
                result["noop_midfield_delivery_events_per_s"],
                f"  {result['noop_midfield_delivery_cpu_us_per_event']} µs CPU/event "
                "(not the baseline: streams/worker/delivery.py)",
            ),
            (
                "midfield live worker (faust)",
                result["live_events_per_s"],
                f"  ratio {result['live_ratio']:.3f}, {result['live_cpu_us_per_event']} µs "
                f"CPU/event, {result['live_changelog_records_per_event']:.3f} changelog "
                "records/event",
            ),
        ]

    def verdict(met: bool) -> str:
        return "meets" if met else "MISSES"

    verdicts = [
        f"  rebuild: {verdict(result['meets_target'])} {result['target_events_per_s']:,.0f} "
        f"events/s; ratio to raw {result['ratio']:.3f} "
        f"({verdict(result['meets_target_ratio'])} {result['target_ratio']})"
    ]
    if "live_ratio" in result:
        verdicts += [
            f"  books (live worker): ratio to raw {result['live_ratio']:.3f}: "
            f"{verdict(result['live_meets_target_ratio'])} the target {result['target_ratio']}",
            f"  live worker / no-op faust worker {result['live_vs_noop_ratio']:.3f} "
            f"({verdict(result['live_meets_target_vs_noop'])} "
            f"{result['target_live_vs_noop_ratio']}; against the no-op worker with Midfield's "
            f"hand-over {result['live_vs_noop_midfield_delivery_ratio']}); "
            f"{result['live_events_per_s']:,} events/s "
            f"({verdict(result['live_meets_target_events_per_s'])} "
            f"{result['target_events_per_s']:,.0f}); "
            f"changelog records/event {result['live_changelog_records_per_event']:.3f} "
            f"({verdict(result['live_meets_target_changelog'])} "
            f"<= {result['target_changelog_records_per_event']}; one per entity: "
            f"{result['changelog_floor_per_event']:.3f})",
            "  live changelog records: "
            + ", ".join(f"{k} {v:,}" for k, v in result["live_changelog_records_by_book"].items()),
        ]
    return "\n".join(
        [
            f"rebuild: {result['events']:,} mixed events on {result['topics']} topics "
            f"({result['partitions']} partitions), median of {result['repeat']} runs each, "
            f"{result['machine']['cpus']} CPUs, Python {result['machine']['python']}",
            *(f"  {name:<38} {rate(value)}{note}" for name, value, note in rows),
            *verdicts,
            "  books: " + ", ".join(f"{k} {v:,}" for k, v in result["books"].items()),
        ]
    )


# --- command line -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = command_line("rebuild", __doc__)
    parser.add_argument("--events", type=int, default=100_000, help="events on the topics")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each path")
    parser.add_argument(
        "--no-decode",
        dest="decode",
        action="store_false",
        help="skip the raw consumer that also decodes every record into an Envelope",
    )
    parser.add_argument(
        "--no-live",
        dest="live",
        action="store_false",
        help="skip the worker paths: a `midfield worker` applying the same records through "
        "faust, and the faust worker whose agents do nothing",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="K",
        help="rebuild once more with the worker under cProfile and report its top K functions",
    )
    return parser.parse_args(argv)


def bench(args: argparse.Namespace) -> dict[str, Any]:
    mix = Mix.of(args.events)
    with (
        workdir(None) as work,
        EmbeddedBroker(work / "broker").running() as status,
        worker_environment(status.bootstrap),
    ):
        settings = Settings(
            kafka=KafkaSettings(bootstrap_servers=status.bootstrap, profile="embedded")
        )
        directory = office(settings.kafka, work, DEPARTMENTS)
        os.environ["MIDFIELD_DEPARTMENTS_FILE"] = str(directory)  # the workers' directory
        progress(f"producing {mix.events:,} events: {mix.entities}…")
        produce_s = produce(settings.kafka, mix)
        progress(f"  {mix.events / produce_s:,.0f} events/s ({produce_s:.1f} s, building included)")
        ends = topic_end_offsets(client_config(settings.kafka), PROCESSED)
        if sum(ends.values()) != mix.events:
            raise SystemExit(f"the topics hold {sum(ends.values()):,} records, not {mix.events:,}")
        chosen = paths(settings, mix, ends, work / "replay", args.decode, args.live)
        runs = run_rounds(chosen, args.repeat)
        result = report(args, runs, mix, ends, produce_s)
        if args.profile:
            result["profile_top"] = profile_midfield(settings, mix, work / "replay", args.profile)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    run_bench(argv, parse_args, bench, table)


if __name__ == "__main__":
    main()
