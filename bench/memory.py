"""Memory benchmark: the worker's resident memory (RSS) with N open supervised tasks in its
ledger, against the same worker idle with empty tables in the same run. The issue's target:
``RSS <= 250 MB with 100k open tasks``.

``python -m bench.memory [--tasks N] [--updates N] [--settle-s S] [--no-restart] [--store URL]
[--tracemalloc K] [--broker kafka] [--out PATH] [--keep DIR]``. bench/README.md says how to read
the output.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import task_updates
from bench.harness import command_line, office, produce_all, progress, run_bench, workdir
from midfield.apache_kafka import KAFKA_VERSION, ApacheKafka
from midfield.broker import EmbeddedBroker
from midfield.bus.clients import client_config
from midfield.bus.watermarks import topic_end_offsets
from midfield.clock import utc_now
from midfield.settings import Settings
from schemas.catalog import topic as catalog_topic
from schemas.envelope import Envelope
from schemas.events.task import TaskCreated, TaskEvent, TaskOrigin
from streams.books import task_book
from streams.books.ledger_summary import LedgerSummary
from streams.worker.store import pack, unpack
from tests.harness import Broker, WorkerProcess, http_get, scrape

TARGET_MIB = 250.0
TASK_TOPIC = catalog_topic(TaskEvent.topic).name
MIB = 1 << 20

# --- the workload (no broker) -----------------------------------------------------------------

DEPARTMENTS = (
    "edu",
    "housing",
    "water",
    "finance",
    "health",
    "transport",
    "agri",
    "ecology",
    "culture",
    "civil",
    "market",
    "emergency",
    "natres",
    "planning",
)
PLACES = ("城关镇", "城东街道", "河西乡", "双桥镇", "经济开发区", "高新区", "北山林场", "县城")
PROJECTS = (
    "老旧小区改造",
    "农村饮水安全巩固提升",
    "城区学校扩容",
    "县医院新院区建设",
    "污水管网改造",
    "乡村振兴示范村创建",
    "高标准农田建设",
    "河道综合治理",
    "背街小巷整治",
    "营商环境优化",
    "安全生产专项整治",
    "养老服务中心建设",
)
ACTIONS = ("工程", "项目推进", "专项行动", "攻坚任务", "整改落实", "年度目标")
SENTENCES = (
    "按照县委、县政府工作部署，",
    "牵头单位要会同配合单位制定详细实施方案，明确时间节点和责任人，",
    "每月二十五日前报送工作进展，",
    "确保按期完成年度目标任务。",
    "对推进中遇到的困难和问题要及时报告，",
    "加强资金保障和要素支撑，",
    "严格落实安全生产和质量管理责任，",
    "主动接受群众监督，",
    "县政府督查室将适时开展实地督查，",
    "对工作不力、进度滞后的单位予以通报。",
)
CATEGORIES = ("重点项目", "民生实事", "领导批示", "会议议定事项", "政府工作报告")
PEOPLE = ("李华", "王明", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周婷", "吴刚")
SUBTASKS = (
    "完成立项审批",
    "完成施工招标",
    "主体工程开工",
    "主体封顶",
    "完成竣工验收",
    "资金拨付到位",
    "完成群众满意度测评",
    "形成长效管理机制",
)


def task_created(i: int, rng: random.Random, today: date) -> TaskCreated:
    """One open task with the sizes of a county's ledger rows: a 10-19 character title, 30-210
    characters of content (~100 on average), a goal, 0-3 assisting departments, 0-4 subtasks,
    a deadline 1-12 months out (green: no reminders)."""
    lead, *assisting = rng.sample(DEPARTMENTS, 1 + rng.choice((0, 1, 1, 2, 3)))
    place, project = rng.choice(PLACES), rng.choice(PROJECTS)
    return TaskCreated(
        task_id=f"DC-{today.year}-{i:06d}",
        actor="office",
        person=rng.choice(PEOPLE),
        title=f"{place}{project}{rng.choice(ACTIONS)}",
        content="".join(rng.choices(SENTENCES, k=rng.randint(3, 9))),
        goal=f"{rng.choice(('6月底前', '9月开学前', '年底前', '汛期前'))}{rng.choice(SUBTASKS)}，"
        f"{rng.choice(SENTENCES)}",
        category=rng.choice(CATEGORIES),
        origin=rng.choice(list(TaskOrigin)),
        lead_department=lead,
        assisting_departments=tuple(assisting),
        deadline=today + timedelta(days=rng.randint(30, 365)),
        focus=rng.random() < 0.2,
        subtasks=tuple(rng.sample(SUBTASKS, rng.randint(0, 4))),
    )


TaskMaker = Callable[[int, random.Random, date], TaskCreated]
"""Makes task ``i`` of a workload from its random source and today's date."""


def envelopes(
    n: int, now: datetime, seed: int = 11, *, make: TaskMaker = task_created
) -> Iterator[Envelope]:
    """``n`` TaskCreated events made by ``make`` (default: every task green), a millisecond of
    event time apart, the last one about ``now``."""
    rng, today = random.Random(seed), now.date()
    for i in range(n):
        data = make(i, rng, today)
        at = now - timedelta(milliseconds=n - i)
        yield Envelope.wrap(
            data,
            source="midfield://bench/tasks",
            position=f"task {i}",
            subject=data.task_id,
            time=at,
            ingested_at=at,
        )


def deep_size(obj: Any, seen: set[int] | None = None) -> int:
    """Bytes of a JSON-shaped Python object and everything it holds (shared objects once)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, list | tuple):
        size += sum(deep_size(v, seen) for v in obj)
    return size


def shared_size(objects: Sequence[Any]) -> int:
    """Bytes of all ``objects`` together: what they share (interned keys, small ints) once."""
    seen: set[int] = set()
    return sum(deep_size(o, seen) for o in objects)


def book_sizes(n: int = 2000) -> dict[str, float]:
    """What one task's book weighs, offline, averaged over ``n`` tasks: packed, as the memory
    store holds it (``streams.store.pack``, with the bytes object's header); as Python objects,
    applied live (``task_book.apply``; its keys are shared literals) and decoded from its changelog
    JSON (key strings of its own), as the store held books before they were packed; the part of
    it in ``history`` (which repeats the event's fields); its JSON."""
    books, values = [], []
    for envelope in envelopes(n, utc_now()):
        outcome = task_book.apply(None, envelope)
        assert isinstance(outcome, task_book.Applied)
        books.append(outcome.book)
        values.append(len(envelope.value()))
    decoded = [json.loads(json.dumps(book)) for book in books]
    return {
        "packed_bytes": statistics.fmean(sys.getsizeof(pack(book)) for book in books),
        "live_bytes": shared_size(books) / n,
        "recovered_bytes": shared_size(decoded) / n,
        "history_bytes": shared_size([book["history"] for book in books]) / n,
        "json_bytes": statistics.fmean(len(json.dumps(book).encode()) for book in books),
        "event_value_bytes": statistics.fmean(values),
    }


def summary_sizes(n: int) -> dict[str, float]:
    """What the ledger's summary (streams/books/ledger_summary.py) holds per task, offline, for
    ``n`` tasks (its dicts and sets grow in steps, so ``n`` should be the run's): the bytes
    tracemalloc counts once it has taken ``n`` books decoded as a recovery gives them (each
    dropped after, as the packed store drops them), and again once a read lit them all."""
    now = utc_now()
    packed = []
    for envelope in envelopes(n, now):
        outcome = task_book.apply(None, envelope)
        assert isinstance(outcome, task_book.Applied)
        packed.append((envelope.subject, pack(outcome.book)))
    settings = Settings()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        summary = LedgerSummary(settings.supervision, settings.office.zone)
        summary.reset((key, unpack(blob)) for key, blob in packed)
        unlit = tracemalloc.get_traced_memory()[0] - base
        started = time.perf_counter()
        summary.at(now + timedelta(seconds=1))
        lit_s = time.perf_counter() - started
        lit = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    return {"unlit_bytes": unlit / n, "lit_bytes": lit / n, "light_all_traced_s": lit_s}


def produce(settings: Settings, n: int) -> float:
    """Send ``n`` TaskCreated events to the task topic; seconds, building included."""
    seconds = produce_all(settings.kafka, envelopes(n, utc_now()), n)
    ends = topic_end_offsets(client_config(settings.kafka), [TASK_TOPIC])
    if sum(ends.values()) != n:
        raise SystemExit(f"the task topic holds {sum(ends.values()):,} records, not {n:,}")
    return seconds


# --- the worker -------------------------------------------------------------------------------


def memory_of(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM (peak RSS), RssAnon and RssFile of a live process, in MiB."""
    wanted = ("VmRSS", "VmHWM", "RssAnon", "RssFile")
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in wanted:
            out[name] = round(int(value.split()[0]) / 1024, 1)  # kB
    return out


def settled_memory(worker: WorkerProcess, seconds: float) -> dict[str, Any]:
    """Wait ``seconds`` (timers, GC and the allocator settle), then read memory five times a
    second apart; the last reading, and the spread of VmRSS over the five."""
    assert worker.proc is not None
    time.sleep(seconds)
    readings = []
    for _ in range(5):
        readings.append(memory_of(worker.proc.pid))
        time.sleep(1)
    rss = [r["VmRSS"] for r in readings]
    return readings[-1] | {"VmRSS_min": min(rss), "VmRSS_max": max(rss)}


def table_sizes(worker: WorkerProcess, tables: Iterable[str]) -> dict[str, int]:
    """Each book's entries from /metrics (counted at each scrape); 0 while the worker does not
    answer."""
    try:
        samples = scrape(worker.url + "/metrics")
    except OSError:
        samples = {}
    return {t: int(samples.get(("midfield_table_entries", (("table", t),)), 0)) for t in tables}


def dead_letters(worker: WorkerProcess) -> int:
    samples = scrape(worker.url + "/metrics")
    return int(sum(v for (name, _), v in samples.items() if name == "midfield_dead_letters_total"))


def wait_ledger(worker: WorkerProcess, n: int, timeout_s: float) -> float:
    """Seconds until the ledger holds ``n`` tasks (late by up to one gauge interval)."""
    return wait_books(worker, {"ledger": n}, timeout_s)


def wait_books(worker: WorkerProcess, sizes: dict[str, int], timeout_s: float) -> float:
    """Seconds until each book holds exactly its entries of ``sizes`` (late by up to one gauge
    interval); progress every 10 s."""
    start, shown = time.monotonic(), 0.0
    while any((held := table_sizes(worker, sizes))[t] < n for t, n in sizes.items()):
        assert worker.proc is not None
        if worker.proc.poll() is not None:
            raise SystemExit(f"the worker exited:\n{worker.log_tail()}")
        elapsed = time.monotonic() - start
        if elapsed > timeout_s:
            raise SystemExit(f"the books hold {held} after {timeout_s:.0f} s, not {sizes}")
        if elapsed - shown >= 10:
            shown = elapsed
            books = ", ".join(f"{t} {held[t]:,}/{n:,}" for t, n in sizes.items())
            rss = memory_of(worker.proc.pid)["VmRSS"]
            progress(f"  {books} after {elapsed:.0f} s, RSS {rss:.0f} MiB")
        time.sleep(1)
    if held != sizes:
        raise SystemExit(f"the books hold {held}, not {sizes}")
    return time.monotonic() - start


# --- tracemalloc (optional) -------------------------------------------------------------------

LAUNCHER = '''"""bench/memory.py: `python -m midfield ...` under tracemalloc, snapshot on demand."""
import os, runpy, sys, threading, time, tracemalloc

tracemalloc.start(int(os.environ.get("BENCH_TRACEMALLOC_FRAMES", "1")))
trigger = os.environ["BENCH_TRACEMALLOC_TRIGGER"]


def watch():
    while not os.path.exists(trigger):
        time.sleep(0.5)
    tracemalloc.take_snapshot().dump(trigger + ".part")
    os.rename(trigger + ".part", trigger + ".snapshot")


threading.Thread(target=watch, daemon=True).start()
assert sys.argv[1] == "-m", sys.argv
sys.argv = sys.argv[2:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
'''


@dataclass
class TracedWorker(WorkerProcess):
    """``midfield worker`` with tracemalloc on from its first import: WorkerProcess starts
    ``sys.executable -m midfield worker``, so for its start ``sys.executable`` is a launcher."""

    def start(self) -> TracedWorker:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "launch.py").write_text(LAUNCHER)
        shell = self.workdir / "python-tracemalloc"
        shell.write_text(
            f'#!/bin/sh\nexec "{sys.executable}" "{self.workdir / "launch.py"}" "$@"\n'
        )
        shell.chmod(0o755)
        self.env_extra = self.env_extra | {
            "BENCH_TRACEMALLOC_TRIGGER": str(self.workdir / "trigger")
        }
        real, sys.executable = sys.executable, str(shell)
        try:
            super().start()
        finally:
            sys.executable = real
        return self

    def snapshot(self, timeout_s: float = 300) -> tracemalloc.Snapshot:
        (self.workdir / "trigger").touch()
        path = self.workdir / "trigger.snapshot"
        deadline = time.monotonic() + timeout_s
        while not path.exists():
            if time.monotonic() > deadline:
                raise SystemExit("the traced worker wrote no snapshot")
            time.sleep(0.5)
        return tracemalloc.Snapshot.load(str(path))


def traced_top(
    broker: Broker, work: Path, app_id: str, env: dict[str, str], n: int, top: int
) -> dict[str, Any]:
    """One extra, uncounted worker under tracemalloc, in the measured worker's group: it
    recovers the ledger from the changelog, as the "recovered" phase did. The allocations still
    live once it holds the ``n`` tasks, by file and line (tracemalloc's own overhead is not in
    them, but it slows the worker and inflates its RSS, so only the split means something)."""
    progress("one more worker under tracemalloc, recovering the same ledger (not counted)…")
    worker = TracedWorker(broker, work / "traced", app_id, env_extra=env)
    try:
        worker.start()
        worker.wait_ready(timeout=120)
        wait_ledger(worker, n, timeout_s=1800)
        snap = worker.snapshot()
    finally:
        worker.stop()
    stats = snap.statistics("lineno")
    total = sum(s.size for s in stats)
    by_file: dict[str, int] = {}
    for s in snap.statistics("filename"):
        name = _short(s.traceback[0].filename)
        by_file[name] = by_file.get(name, 0) + s.size
    return {
        "traced_mib": round(total / MIB, 1),
        "top_lines": [
            {
                "where": f"{_short(s.traceback[0].filename)}:{s.traceback[0].lineno}",
                "mib": round(s.size / MIB, 2),
                "blocks": s.count,
            }
            for s in stats[:top]
        ],
        "top_files": [
            {"file": f, "mib": round(b / MIB, 2)}
            for f, b in sorted(by_file.items(), key=lambda kv: -kv[1])[:top]
        ],
    }


def _short(filename: str) -> str:
    for marker in ("site-packages/", str(Path(__file__).resolve().parent.parent) + "/"):
        filename = filename.split(marker, 1)[-1]
    return filename


# --- orchestration ----------------------------------------------------------------------------


def phase(
    name: str, worker: WorkerProcess, settle_s: float, tasks: int, **extra: Any
) -> dict[str, Any]:
    progress(f"[{name}] letting the worker settle for {settle_s:g} s, then reading its memory…")
    mem = settled_memory(worker, settle_s)
    progress(f"  VmRSS {mem['VmRSS']} MiB, peak (VmHWM) {mem['VmHWM']} MiB")
    out = {"phase": name, "tasks": tasks, **extra, **mem}
    if tasks:
        out["after_read"] = after_read(worker, tasks, settle_s)
    return out


def after_read(worker: WorkerProcess, tasks: int, settle_s: float) -> dict[str, Any]:
    """One read of the ledger (``GET /ledger?limit=1``, as the dashboard reads it), which lights
    every task in the ledger's summary, then the memory once settled again: what a worker whose
    views are in use holds. Exits unless the ledger answers with all ``tasks``."""
    started = time.monotonic()
    status, body = http_get(worker.url + "/ledger?limit=1", timeout=300)
    took = time.monotonic() - started
    if status != 200 or body["count"] != tasks or sum(body["lights"].values()) != tasks:
        raise SystemExit(f"GET /ledger answered {status}: {str(body)[:300]}")
    progress(f"  read the ledger in {took:.2f} s: {body['lights']}; settling again…")
    mem = settled_memory(worker, settle_s)
    progress(f"  VmRSS {mem['VmRSS']} MiB, peak (VmHWM) {mem['VmHWM']} MiB")
    return {"read_s": round(took, 2), "lights": body["lights"], **mem}


def wait_ready(worker: WorkerProcess, timeout_s: float) -> float:
    """Seconds until ``/ready`` answers 200: every table recovered from its changelog
    (streams/views/ops.py). Progress every 10 s."""
    assert worker.proc is not None
    start, shown = time.monotonic(), 0.0
    while http_get(worker.url + "/ready")[0] != 200:
        elapsed = time.monotonic() - start
        if worker.proc.poll() is not None:
            raise SystemExit(f"the worker exited:\n{worker.log_tail()}")
        if elapsed > timeout_s:
            raise SystemExit(f"the worker was not ready after {timeout_s:.0f} s")
        if elapsed - shown >= 10:
            shown = elapsed
            rss = memory_of(worker.proc.pid)["VmRSS"]
            progress(f"  recovering after {elapsed:.0f} s, RSS {rss:.0f} MiB")
        time.sleep(0.5)
    return time.monotonic() - start


def run_updates(
    args: argparse.Namespace, settings: Settings, worker: WorkerProcess, app_id: str
) -> dict[str, Any]:
    """``--updates``: every task assigned and signed, then the progress reports
    (bench/task_updates.py), sent and applied; their counts and seconds."""
    tasks = []
    for envelope in envelopes(args.tasks, utc_now()):
        assert isinstance(envelope.data, TaskCreated)
        tasks.append((envelope.data.task_id, envelope.data.lead_department))
    total = task_updates.events(args.tasks, args.updates)
    progress(f"[updated] producing {total:,} events: every task assigned and signed, then "
             f"{args.updates:,} progress reports…")  # fmt: skip
    events = task_updates.lifecycle(tasks, args.updates, utc_now(), PEOPLE)
    produce_s = produce_all(settings.kafka, events, total)
    progress(f"  {produce_s:.1f} s; waiting for the worker to apply them…")
    assert worker.proc is not None
    pid = worker.proc.pid
    apply_s = task_updates.wait_applied(
        client_config(settings.kafka), app_id, TASK_TOPIC, args.timeout_s + total / 500,
        rss=lambda: memory_of(pid)["VmRSS"],
    )  # fmt: skip
    return {
        "updates": args.updates,
        "events": {"assigned": args.tasks, "signed": args.tasks, "progress": args.updates},
        "produce_s": round(produce_s, 1),
        "apply_s": round(apply_s, 1),
        "applied_per_s": round(total / apply_s),
    }


def recovered(
    args: argparse.Namespace, worker: WorkerProcess, changelogs: dict[str, int]
) -> dict[str, Any]:
    """The worker stopped and started again under the same application id: its books come from
    their changelogs, ``changelogs`` records, every one (:func:`task_updates.changelog_records`);
    seconds to ready and to the ledger's gauge full, then the phase's memory."""
    records = sum(changelogs.values())
    progress(f"[recovered] restarting the worker: it reads {records:,} changelog records "
             f"({changelogs['ledger']:,} the ledger's)…")  # fmt: skip
    worker.stop()
    started = time.monotonic()
    worker.start()
    ready_s = wait_ready(worker, args.timeout_s + records / 500)
    wait_ledger(worker, args.tasks, timeout_s=args.timeout_s)
    recover_s = time.monotonic() - started
    progress(f"  ready after {ready_s:.1f} s, the ledger's gauge full after {recover_s:.1f} s")
    return phase("recovered", worker, args.settle_s, args.tasks, ready_s=round(ready_s, 1),
                 recover_s=round(recover_s, 1))  # fmt: skip


@contextmanager
def running_broker(kind: str, work: Path) -> Iterator[Broker]:
    """The run's broker: the embedded one, or an Apache Kafka (``make test-kafka``'s install and
    settings) whose log cleaner compacts the books' changelogs."""
    if kind == "kafka":
        progress(f"starting Apache Kafka {KAFKA_VERSION} (installed on first use)…")
        with ApacheKafka(work / "kafka").running() as kafka:
            yield Broker(kafka.bootstrap, "apache-kafka", "kafka")
        return
    with EmbeddedBroker(work / "broker").running() as status:
        yield Broker(status.bootstrap, "embedded", "embedded")


def compacted(settings: Settings, data_dir: Path, app_id: str) -> dict[str, Any]:
    """On Apache Kafka: wait until the cleaner has compacted the changelogs as far as it will,
    then count what they hold."""
    progress("[compacted] the broker's log cleaner at work on the changelogs…")
    before = task_updates.changelog_bytes(data_dir, app_id)
    waited = task_updates.wait_compacted(data_dir, app_id, quiet_s=60, timeout_s=900)
    present = task_updates.changelog_present(client_config(settings.kafka), app_id)
    progress(f"  {sum(present.values()):,} records left ({present['ledger']:,} the ledger's)")
    return {
        "present": present,
        "present_total": sum(present.values()),
        "bytes_before_cleaning": before,
        "bytes_after_cleaning": task_updates.changelog_bytes(data_dir, app_id),
        "cleaner_wait_s": round(waited, 1),
    }


def bench(args: argparse.Namespace) -> dict[str, Any]:
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    progress("sizing one book offline…")
    sizes = book_sizes()
    progress(f"sizing the ledger's summary offline for {args.tasks:,} tasks (tracemalloc)…")
    summary = summary_sizes(args.tasks)
    phases: list[dict[str, Any]] = []
    updates, changelogs, compaction = None, {}, None
    with workdir(args.keep) as work, running_broker(args.broker, work) as broker:
        settings = Settings(kafka=broker.kafka_settings())
        directory = office(settings.kafka, work, DEPARTMENTS)
        env = {"MIDFIELD_WORKER_STORE": args.store, "MIDFIELD_DEPARTMENTS_FILE": str(directory)}
        app_id = f"bench-memory-{uuid.uuid4().hex[:6]}"
        worker = WorkerProcess(broker, work / "worker", app_id, env_extra=env)
        (work / "worker").mkdir()
        try:
            progress("[idle] starting a worker on empty topics…")
            started = time.monotonic()
            worker.start()
            worker.wait_ready(timeout=120)
            ready_s = round(time.monotonic() - started, 1)
            phases.append(phase("idle", worker, args.settle_s, 0, ready_s=ready_s))
            progress(f"producing {args.tasks:,} TaskCreated events…")
            produce_s = produce(settings, args.tasks)
            progress(f"  {produce_s:.1f} s; waiting for the ledger to hold them…")
            took = wait_ledger(worker, args.tasks, timeout_s=args.timeout_s)
            phases.append(
                phase("loaded", worker, args.settle_s, args.tasks, apply_s=round(took, 1))
            )
            if args.updates:
                updates = run_updates(args, settings, worker, app_id)
                phases.append(phase("updated", worker, args.settle_s, args.tasks))
            changelogs = task_updates.changelog_records(client_config(settings.kafka), app_id)
            if not broker.is_tansu:
                compaction = compacted(settings, work / "kafka" / "data", app_id)
            if args.restart:
                read = compaction["present"] if compaction else changelogs
                phases.append(recovered(args, worker, read))
            letters = dead_letters(worker)
        finally:
            worker.stop()
        if letters:
            raise SystemExit(f"the worker dead-lettered {letters} records")
        traced = None
        if args.tracemalloc:
            traced = traced_top(broker, work, app_id, env, args.tasks, args.tracemalloc)
    result = report(args, phases, sizes, produce_s, load_at_start, traced, broker)
    result["summary"] = {k: round(v, 2 if k.endswith("_s") else None) for k, v in summary.items()}
    result["summary"] |= {
        "unlit_mib_for_all": round(summary["unlit_bytes"] * args.tasks / MIB, 1),
        "lit_mib_for_all": round(summary["lit_bytes"] * args.tasks / MIB, 1),
    }
    result["changelog"] = {
        "records": changelogs,
        "total": sum(changelogs.values()),
        "compacted": False,
        "note": "counted before the restart: what the recovering worker reads. The embedded "
        "broker (Tansu) never compacts a changelog, so a recovery reads every write since the "
        "table began, not one record per entity",
    }
    if compaction is not None:
        result["changelog"] |= compaction | {
            "compacted": True,
            "note": "records: every write (end offsets); present: what the log held after the "
            "broker's cleaner had settled, read from the start, which the recovering worker "
            "read. Kafka never compacts a log's active segment: the changelogs roll at 64 MiB "
            "or an hour (CHANGELOG_ROLL)",
        }
    if updates is not None:
        result["updates"] = updates
    return result


def report(
    args: argparse.Namespace,
    phases: list[dict[str, Any]],
    sizes: dict[str, float],
    produce_s: float,
    load_at_start: list[float],
    traced: dict[str, Any] | None,
    broker: Broker,
) -> dict[str, Any]:
    idle, loaded = phases[0], phases[1]
    steady = [r for p in phases[1:] for r in (p, p["after_read"])]
    worst = max(r["VmRSS"] for r in steady)
    per_1k = (loaded["VmRSS"] - idle["VmRSS"]) / (args.tasks / 1000)
    out: dict[str, Any] = {
        "bench": "memory",
        "tasks": args.tasks,
        "idle_rss_mib": idle["VmRSS"],
        "loaded_rss_mib": loaded["VmRSS"],
        "loaded_peak_rss_mib": loaded["VmHWM"],
        "loaded_read_rss_mib": loaded["after_read"]["VmRSS"],
        "increment_mib": round(loaded["VmRSS"] - idle["VmRSS"], 1),
        "mib_per_1k_tasks": round(per_1k, 2),
        "target_rss_mib": TARGET_MIB,
        "worst_steady_rss_mib": worst,
        "meets_target": worst <= TARGET_MIB,
        "target_note": "MB read as MiB (2^20 bytes); checked on the steady RSS of every phase "
        "with the tasks loaded, before and after the ledger is read, not on the peak",
        "phases": phases,
        "book": {k: round(v) for k, v in sizes.items()}
        | {
            "packed_mib_for_all": round(sizes["packed_bytes"] * args.tasks / MIB, 1),
            "live_mib_for_all": round(sizes["live_bytes"] * args.tasks / MIB, 1),
            "recovered_mib_for_all": round(sizes["recovered_bytes"] * args.tasks / MIB, 1),
        },
        "produce_s": round(produce_s, 1),
        "settle_s": args.settle_s,
        "store": args.store,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_at_start": load_at_start,
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "note": "1/5/15-minute load averages; other runs on the machine slow the run, they "
            "hardly move RSS",
        },
        "broker": "tansu-embedded" if broker.is_tansu else f"apache-kafka-{KAFKA_VERSION}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for p in phases[2:]:
        out[f"{p['phase']}_rss_mib"] = p["VmRSS"]
        out[f"{p['phase']}_peak_rss_mib"] = p["VmHWM"]
        out[f"{p['phase']}_read_rss_mib"] = p["after_read"]["VmRSS"]
    if traced is not None:
        out["tracemalloc"] = traced
    return out


def table(result: dict[str, Any]) -> str:
    lines = [
        f"memory: worker RSS with {result['tasks']:,} open tasks (store {result['store']}), "
        f"{result['machine']['cpus']} CPUs, Python {result['machine']['python']}, load "
        f"{result['machine']['loadavg_at_start'][0]} at start",
    ]
    for p in result["phases"]:
        read = p.get("after_read")
        lines.append(
            f"  {p['phase']:<10} {p['tasks']:>8,} tasks  RSS {p['VmRSS']:>7.1f} MiB  "
            f"peak {p['VmHWM']:>7.1f} MiB  (anon {p['RssAnon']:.1f})"
            + (f"; ledger read: RSS {read['VmRSS']:.1f} MiB" if read else "")
        )
    book, summary = result["book"], result["summary"]
    verdict = "meets" if result["meets_target"] else "MISSES"
    lines += [
        f"  increment {result['increment_mib']} MiB: {result['mib_per_1k_tasks']} MiB per 1k "
        f"tasks; one book (offline) {book['packed_bytes']} B packed as the store holds it; as "
        f"Python objects {book['live_bytes']} B live, {book['recovered_bytes']} B decoded; "
        f"{book['json_bytes']} B as JSON",
        f"  the ledger's summary (offline): {summary['unlit_bytes']} B a task, "
        f"{summary['lit_bytes']} B once lit ({summary['lit_mib_for_all']} MiB for all)",
    ]
    updates, changelog = result.get("updates"), result["changelog"]
    if updates:
        lines.append(
            f"  updates: {sum(updates['events'].values()):,} events applied in "
            f"{updates['apply_s']} s ({updates['applied_per_s']:,}/s)"
        )
    recovered = next((p for p in result["phases"] if p["phase"] == "recovered"), None)
    if recovered and changelog["compacted"]:
        lines.append(
            f"  recovery: ready after {recovered['ready_s']} s reading "
            f"{changelog['present_total']:,} changelog records "
            f"({changelog['present']['ledger']:,} the ledger's) that {changelog['total']:,} "
            f"writes left, compacted by the broker's cleaner as they came "
            f"({changelog['bytes_before_cleaning'] / MIB:,.0f} MiB on disk once applied, "
            f"{changelog['bytes_after_cleaning'] / MIB:,.0f} once the cleaner was done)"
        )
    elif recovered:
        lines.append(
            f"  recovery: ready after {recovered['ready_s']} s reading {changelog['total']:,} "
            f"changelog records ({changelog['records']['ledger']:,} the ledger's), never "
            "compacted on the embedded broker"
        )
    lines.append(
        f"  {verdict} the target RSS <= {result['target_rss_mib']:g} MiB "
        f"(worst steady {result['worst_steady_rss_mib']} MiB)"
    )
    traced = result.get("tracemalloc")
    if traced:
        lines.append(f"  tracemalloc, live after recovering: {traced['traced_mib']} MiB")
        lines += [f"    {r['mib']:>8.2f} MiB  {r['where']}" for r in traced["top_lines"]]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = command_line("memory", __doc__)
    add = parser.add_argument
    add("--tasks", type=int, default=100_000, help="open tasks (TaskCreated events)")
    add(
        "--updates",
        type=int,
        default=0,
        metavar="N",
        help="after loading, assign and sign every task, then send N progress reports spread "
        "over them; the restart then recovers that history (bench/task_updates.py)",
    )
    add(
        "--settle-s",
        type=float,
        default=15.0,
        help="seconds the worker idles before its memory is read, in every phase",
    )
    add(
        "--no-restart",
        dest="restart",
        action="store_false",
        help="skip the phase that restarts the worker and recovers the ledger",
    )
    add(
        "--tracemalloc",
        type=int,
        default=0,
        metavar="K",
        help="run one more worker under tracemalloc and report its top K lines",
    )
    add(
        "--store",
        default="memory://",
        help="the worker's table store, MIDFIELD_WORKER_STORE (rocksdb:// needs rocksdict)",
    )
    add(
        "--broker",
        choices=("embedded", "kafka"),
        default="embedded",
        help="the embedded broker (never compacts), or Apache Kafka 2.3.0 as make test-kafka "
        "runs it, whose cleaner compacts the changelogs before the restart",
    )
    add("--timeout-s", type=float, default=900.0, help="longest wait for the ledger to fill")
    add(
        "--keep",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep the run directory (broker and worker logs) under DIR",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    run_bench(argv, parse_args, bench, table)


if __name__ == "__main__":
    main()
