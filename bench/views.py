"""Views benchmark: how fast the worker's views answer with N open supervised tasks and M public
messages in its books while it applies R events/s of new traffic, against a route that reads no
book (``/whoami``: the same gate, credentials and audit record) polled in the same run. The
issue's target: ``/dashboard.json``, ``/ledger?light=red`` and ``/reply-rate`` p99 <= 50 ms at
100k open tasks and 1M messages while the worker applies 500 events/s.

``python -m bench.views [--tasks N] [--messages M] [--rate R] [--seconds S] [--poll-ms P]
[--views NAMES] [--timeout-s T] [--out PATH] [--keep DIR] [--stall-log-ms MS]
[--refreeze-every-s S]``.
bench/README.md says how to read the output.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import platform
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from bench.harness import command_line, office, passed, progress, run_bench, workdir
from bench.latency import READER, cpu_s, percentiles
from bench.memory import DEPARTMENTS, PEOPLE, TASK_TOPIC, dead_letters, memory_of, wait_books
from bench.office_books import MESSAGE_TOPIC, Workload, message, produce, reply, wrap
from midfield.broker import EmbeddedBroker
from midfield.bus.clients import client_config
from midfield.clock import utc_now
from midfield.settings import KafkaSettings, Settings
from schemas.envelope import EventData
from schemas.events.message import PublicMessageReceived
from schemas.events.task import TaskProgressReported
from tests.harness import Broker, WorkerProcess, http_get, scrape

TARGET_P99_MS = 50.0
TARGET_RATE = 500.0
BASELINE = "baseline"
ROUTES = {
    BASELINE: "/whoami",  # through the gate, audited, reads no book
    "ledger_red": "/ledger?light=red",
    "dashboard": "/dashboard.json",
    "reply_rate": "/reply-rate",
}
"""Polled round-robin in this order; the test reader (tests/harness.py) has the director,
duty-officer and supervision roles, so it may call all of them and sees the whole dashboard."""

REPORTS = ("按计划推进，", "已完成阶段性任务，", "资金已拨付到位，", "正在组织施工，",
           "下一步将加快进度。")  # fmt: skip


# --- the traffic and the polling --------------------------------------------------------------


class Feeder(threading.Thread):
    """Sends ``total`` events at ``rate`` per second on a fixed schedule (a late one goes at
    once): of every four, two progress reports on signed tasks, a new board message and a reply
    to the oldest message this feed has not answered yet."""

    def __init__(self, kafka: KafkaSettings, workload: Workload, rate: float, total: int) -> None:
        super().__init__(name="views-feeder", daemon=True)
        self.kafka, self.workload, self.rate, self.total = kafka, workload, rate, total
        self.sent: dict[str, int] = {"progress": 0, "message": 0, "reply": 0}
        self.times: list[float] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        producer = KafkaProducer(**client_config(self.kafka), acks=1, linger_ms=5)
        rng, waiting = random.Random(17), deque[PublicMessageReceived]()
        try:
            start = time.perf_counter()
            for k in range(self.total):
                if (ahead := start + k / self.rate - time.perf_counter()) > 0:
                    time.sleep(ahead)
                kind, data = self._event(k, rng, waiting)
                e = wrap(data, f"feed {k}", utc_now())
                producer.send(e.topic, key=e.key(), value=e.value(), headers=e.headers())
                self.sent[kind] += 1
                self.times.append(time.perf_counter())
            producer.flush(timeout=60)
        except BaseException as exc:  # reported by the bench, which then fails
            self.error = exc
        finally:
            producer.close(timeout=10)

    def _event(
        self, k: int, rng: random.Random, waiting: deque[PublicMessageReceived]
    ) -> tuple[str, EventData]:
        if k % 4 < 2:
            task_id, lead = rng.choice(self.workload.signed)
            text = "".join(rng.choices(REPORTS, k=2))
            report = TaskProgressReported(task_id=task_id, actor=lead, person=rng.choice(PEOPLE),
                                          percent=rng.randint(10, 90), text=text)  # fmt: skip
            return "progress", report
        if k % 4 == 3 and waiting:
            return "reply", reply(rng, waiting.popleft())
        waiting.append(message(rng, f"board-feed-{k:07d}", rng.choice(DEPARTMENTS)))
        return "message", waiting[-1]

    def achieved_rate(self) -> float:
        span = self.times[-1] - self.times[0] if len(self.times) > 1 else 0.0
        return (len(self.times) - 1) / span if span > 0 else 0.0


@dataclass(frozen=True)
class Answer:
    route: str
    at_s: float
    """Seconds from the poller's start to the request."""
    ms: float
    size: int


class ViewPoller:
    """GETs ``routes`` (names of :data:`ROUTES`) round-robin over one keep-alive connection, a
    request every ``interval_s / len(routes)`` (each route every ``interval_s``); after a slow
    answer the next request goes at once and the schedule restarts from there, so requests never
    pile up. Asked to stop, it finishes the round.

    It runs in a process of its own: in the feeder's, a request's time also counted the waits
    for the GIL behind the feeder and its Kafka client's threads, which is the bench's own
    stall, not the worker's."""

    def __init__(self, port: int, routes: list[str], interval_s: float) -> None:
        spawn = multiprocessing.get_context("spawn")  # no fork of a process with client threads
        self.stop, self._ready, self._polled = spawn.Event(), spawn.Event(), spawn.Value("i", 0)
        self._results, sending = spawn.Pipe(duplex=False)
        self._process = spawn.Process(
            target=_poll,
            args=(port, routes, interval_s / len(routes), self.stop, self._ready, self._polled,
                  sending),
            name="views-poller",
            daemon=True,
        )  # fmt: skip
        self.answers: list[Answer] = []
        self.error: BaseException | None = None

    def start(self, timeout_s: float = 60) -> None:
        """Start polling; back once the poller's process is up and about to send."""
        self._process.start()
        if not self._ready.wait(timeout_s):
            raise SystemExit(f"the views poller did not start in {timeout_s:g} s")

    @property
    def polled(self) -> int:
        return int(self._polled.value)

    def join(self, timeout: float) -> None:
        """Wait for the last round's answers (:attr:`answers`, or :attr:`error`)."""
        if self._results.poll(timeout):
            answers, failed = self._results.recv()
            self.answers = [Answer(*a) for a in answers]
            self.error = RuntimeError(failed) if failed else None
        else:
            self.error = TimeoutError(f"the views poller sent no answers in {timeout:g} s")
        self._process.join(timeout=10)


def _poll(
    port: int, names: list[str], slot: float, stop: Any, ready: Any, polled: Any, results: Any
) -> None:
    """:class:`ViewPoller`'s process: sends ``(answers, error)`` once stopped."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    answers: list[tuple[str, float, float, int]] = []
    failed = ""
    ready.set()
    start = time.perf_counter()
    due, k = start, 0
    try:
        while True:  # once stopped, the round is finished: every route answers at least once
            stopping = stop.wait(max(0.0, due - time.perf_counter()))
            if stopping and k % len(names) == 0:
                break
            name = names[k % len(names)]
            sent = time.perf_counter()
            conn.request("GET", ROUTES[name], headers=READER)
            resp = conn.getresponse()
            body = resp.read()
            took = (time.perf_counter() - sent) * 1e3
            if resp.status != 200:
                raise RuntimeError(f"GET {ROUTES[name]} answered {resp.status}: {body[:200]!r}")
            answers.append((name, round(sent - start, 3), took, len(body)))
            polled.value = len(answers)
            k, due = k + 1, max(due + slot, time.perf_counter())
    except BaseException as exc:  # reported by the bench, which then fails
        failed = repr(exc)
    finally:
        conn.close()
        results.send((answers, failed))


# --- the worker -------------------------------------------------------------------------------


def metric(worker: WorkerProcess, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples with ``labels`` (retried: a busy worker may answer late)."""
    for attempt in range(5):
        try:
            samples = scrape(worker.url + "/metrics")
            break
        except OSError:
            time.sleep(2**attempt)
    else:
        raise SystemExit(f"the worker's /metrics did not answer:\n{worker.log_tail()}")
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def events_in(worker: WorkerProcess) -> dict[str, int]:
    """Events the worker took in from the task and the message topics."""
    return {t: int(metric(worker, "midfield_events_in_total", topic=t))
            for t in (TASK_TOPIC, MESSAGE_TOPIC)}  # fmt: skip


def shown(worker: WorkerProcess, timeout_s: float = 600) -> dict[str, int]:
    """What the views say the books hold: the ledger's and the dashboard's red and yellow
    tasks, and every message ever received and replied."""
    got = {}
    for path in ("/ledger?light=red&limit=1", "/ledger?light=yellow&limit=1", "/dashboard.json",
                 "/reply-rate?period=all"):  # fmt: skip
        status, got[path] = http_get(worker.url + path, timeout=timeout_s)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}: {got[path]}")
    lights = got["/dashboard.json"]["supervision"]["lights"]
    total = got["/reply-rate?period=all"]["total"]
    return {"red": got["/ledger?light=red&limit=1"]["count"],
            "yellow": got["/ledger?light=yellow&limit=1"]["count"],
            "dashboard_red": lights["red"], "dashboard_yellow": lights["yellow"],
            "received": total["received"], "replied": total["replied"]}  # fmt: skip


def wait_shown(worker: WorkerProcess, want: dict[str, int], timeout_s: float) -> dict[str, int]:
    """Until the views show ``want`` (the replies may still be applying when the tables have
    every entity): what they show."""
    deadline = time.monotonic() + timeout_s
    while (got := shown(worker)) != want:
        if time.monotonic() > deadline:
            raise SystemExit(f"the views show {got}, expected {want}")
        progress(f"  the views show {got}, waiting for {want}…")
        time.sleep(5)
    return got


def expected(workload: Workload, messages: int = 0, replies: int = 0) -> dict[str, int]:
    """What the views must show: the workload, and ``messages`` and ``replies`` fed since."""
    red, yellow = workload.red, workload.yellow
    return {"red": red, "yellow": yellow, "dashboard_red": red, "dashboard_yellow": yellow,
            "received": workload.messages + messages,
            "replied": workload.replied + replies}  # fmt: skip


def measure(
    worker: WorkerProcess, kafka: KafkaSettings, workload: Workload, args: argparse.Namespace
) -> dict[str, Any]:
    """Feed ``args.rate`` events/s for ``args.seconds`` while the poller asks the views; then
    wait for the worker to apply the whole feed."""
    assert worker.proc is not None
    before, cpu_before = events_in(worker), cpu_s(worker.proc.pid)
    reminders = metric(worker, "midfield_reminders_sent_total")
    feeder = Feeder(kafka, workload, args.rate, int(args.rate * args.seconds))
    poller = ViewPoller(worker.port, [BASELINE, *args.views], args.poll_ms / 1000)
    progress(f"feeding {args.rate:g} events/s for {args.seconds:g} s while polling the views…")
    poller.start()
    began = time.perf_counter()
    feeder.start()
    while feeder.is_alive():
        feeder.join(timeout=5)
        progress(f"  fed {len(feeder.times):,}/{feeder.total:,}, {poller.polled} answers")
    wall = time.perf_counter() - began
    poller.stop.set()
    poller.join(timeout=660)
    for failed in (feeder.error, poller.error):
        if failed is not None:
            raise SystemExit(f"broken run: {failed!r}")
    cpu, applied = cpu_s(worker.proc.pid) - cpu_before, events_in(worker)
    reminders = metric(worker, "midfield_reminders_sent_total") - reminders
    progress("waiting for the worker to apply the whole feed…")
    caught = time.perf_counter()
    want = {
        TASK_TOPIC: before[TASK_TOPIC] + feeder.sent["progress"],
        MESSAGE_TOPIC: before[MESSAGE_TOPIC] + feeder.sent["message"] + feeder.sent["reply"],
    }
    while any(n < want[t] for t, n in events_in(worker).items()):
        if time.perf_counter() - caught > args.timeout_s:
            raise SystemExit(f"the worker took in {events_in(worker)}, not {want}")
        time.sleep(0.5)
    caught_up_s = time.perf_counter() - caught
    fed = expected(workload, feeder.sent["message"], feeder.sent["reply"])
    after = wait_shown(worker, fed, 600)
    return {
        "answers": poller.answers,
        "feed": {
            "events": len(feeder.times),
            "by_kind": feeder.sent,
            "achieved_rate_per_s": round(feeder.achieved_rate(), 1),
        },
        "worker": {
            "applied_per_s": round(sum(applied[t] - before[t] for t in before) / wall, 1),
            "applied_by_topic": {t: applied[t] - before[t] for t in before},
            "caught_up_s": round(caught_up_s, 1),
            "cpu_percent": round(cpu / wall * 100, 1),
            "reminders_during_feed": int(reminders),
            "rss_mib": memory_of(worker.proc.pid)["VmRSS"],
            "shown_after": after,
        },
        "wall_s": round(wall, 1),
    }


# --- orchestration and reporting --------------------------------------------------------------


def bench(args: argparse.Namespace) -> dict[str, Any]:
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    workload = Workload(args.tasks, args.messages, utc_now())
    with workdir(args.keep) as work, EmbeddedBroker(work / "broker").running() as status:
        broker = Broker(status.bootstrap, "embedded", "embedded")
        settings = Settings(kafka=broker.kafka_settings())
        directory = office(settings.kafka, work, DEPARTMENTS)
        progress(
            f"producing {args.tasks:,} open tasks and {args.messages:,} public messages "
            f"({workload.events:,} events)…"
        )
        produce_s = produce(settings.kafka, workload)
        app_id = f"bench-views-{uuid.uuid4().hex[:6]}"
        (work / "worker").mkdir()
        env = {"MIDFIELD_DEPARTMENTS_FILE": str(directory)}
        if args.stall_log_ms is not None:  # the worker names the steps that hold its loop
            env["MIDFIELD_WORKER_STALL_LOG_MS"] = str(args.stall_log_ms)
        if args.refreeze_every_s is not None:
            env["MIDFIELD_WORKER_REFREEZE_EVERY_S"] = str(args.refreeze_every_s)
        env |= passed()  # the worker settings an A/B run compares
        worker = WorkerProcess(broker, work / "worker", app_id, env_extra=env)
        try:
            progress(f"  {produce_s:.0f} s; starting a worker, waiting for its books…")
            worker.start()
            worker.wait_ready(timeout=300)
            apply_s = wait_books(
                worker, {"ledger": args.tasks, "messages": args.messages}, args.timeout_s
            )
            before = wait_shown(worker, expected(workload), args.timeout_s)
            progress(f"  the books hold the workload after {apply_s:.0f} s: {before}")
            measured = measure(worker, settings.kafka, workload, args)
            letters = dead_letters(worker)
        finally:
            worker.stop()
    if letters:
        raise SystemExit(f"the worker dead-lettered {letters} records")
    load = {"events": workload.events, "produce_s": round(produce_s, 1),
            "apply_s": round(apply_s, 1), "shown": before}  # fmt: skip
    return report(args, workload, measured, load, load_at_start)


def route_result(answers: list[Answer], name: str, base_p99: float | None) -> dict[str, Any]:
    mine = [a for a in answers if a.route == name]
    lat = percentiles([a.ms for a in mine])
    out: dict[str, Any] = {"path": ROUTES[name], **lat}
    if base_p99 is not None:
        out |= {
            "ratio_p99": round(lat["p99_ms"] / base_p99, 1),
            "meets_target": lat["p99_ms"] <= TARGET_P99_MS,
        }
    slowest = sorted(mine, key=lambda a: -a.ms)[:5]
    return out | {
        "bytes": sorted(a.size for a in mine)[len(mine) // 2],
        "slowest": [{"at_s": a.at_s, "ms": round(a.ms, 1)} for a in slowest],
    }


def report(
    args: argparse.Namespace,
    workload: Workload,
    measured: dict[str, Any],
    load: dict[str, Any],
    load_at_start: list[float],
) -> dict[str, Any]:
    answers = measured["answers"]
    base = route_result(answers, BASELINE, None)
    routes = {n: route_result(answers, n, base["p99_ms"]) for n in args.views}
    feed, worker = measured["feed"], measured["worker"]
    kept_up = min(feed["achieved_rate_per_s"], worker["applied_per_s"]) >= 0.98 * TARGET_RATE
    return {
        "bench": "views",
        "tasks": workload.tasks,
        "messages": workload.messages,
        "books": dict(
            red=workload.red,
            yellow=workload.yellow,
            signed=len(workload.signed),
            replied=workload.replied,
        ),
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "poll_ms": args.poll_ms,
        "routes": routes,
        "baseline": base,
        "target_p99_ms": TARGET_P99_MS,
        "target_rate_per_s": TARGET_RATE,
        "meets_target": set(routes) == set(ROUTES) - {BASELINE}
        and kept_up
        and all(r["meets_target"] for r in routes.values()),
        "feed": feed,
        "worker": worker,
        "window_s": measured["wall_s"],
        "load": load,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_at_start": load_at_start,
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "note": "1/5/15-minute load averages; other runs on the machine disturb latency",
        },
        "broker": "tansu-embedded",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def table(result: dict[str, Any]) -> str:
    def row(r: dict[str, Any]) -> str:
        return (
            f"  GET {r['path']:<22} p50 {r['p50_ms']:>7.1f}  p90 {r['p90_ms']:>7.1f}  "
            f"p99 {r['p99_ms']:>7.1f}  max {r['max_ms']:>7.1f} ms  n {r['n']:>4}"
        )

    feed, worker, books = result["feed"], result["worker"], result["books"]
    lines = [
        f"views: {result['tasks']:,} open tasks ({books['red']:,} red, {books['yellow']:,} "
        f"yellow), {result['messages']:,} messages; {result['rate_per_s']:g} events/s fed for "
        f"{result['seconds']:g} s, each route every {result['poll_ms']:g} ms; "
        f"{result['machine']['cpus']} CPUs, load {result['machine']['loadavg_at_start'][0]} "
        "at start",
        row(result["baseline"]) + "  (baseline)",
    ]
    for r in result["routes"].values():
        verdict = "meets" if r["meets_target"] else "MISSES"
        lines.append(f"{row(r)}  x{r['ratio_p99']} baseline p99, {verdict}")
    lines += [
        f"  fed {feed['achieved_rate_per_s']:g} events/s; the worker applied "
        f"{worker['applied_per_s']:g}/s during the feed (CPU {worker['cpu_percent']}%) and the "
        f"whole feed {worker['caught_up_s']:g} s after it ended; RSS {worker['rss_mib']} MiB",
        f"  {'meets' if result['meets_target'] else 'MISSES'} the target p99 <= "
        f"{result['target_p99_ms']:g} ms for every view at "
        f"{result['target_rate_per_s']:g} events/s",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = command_line("views", __doc__)
    add = parser.add_argument
    add("--tasks", type=int, default=100_000, help="open supervised tasks in the ledger")
    add("--messages", type=int, default=1_000_000, help="public messages in the books")
    add("--rate", type=float, default=TARGET_RATE, help="events per second fed while measuring")
    add("--seconds", type=float, default=30.0, help="how long the feed and the polling run")
    add("--poll-ms", type=float, default=200.0,
        help="each route is asked this often (round-robin, one request at a time)")  # fmt: skip
    views = [n for n in ROUTES if n != BASELINE]
    add("--views", type=lambda text: text.split(","), default=views, metavar="NAMES",
        help=f"the views polled, comma-separated, of {','.join(views)} (default: all; the "
        "baseline is always polled)")  # fmt: skip
    add("--timeout-s", type=float, default=3600.0, help="longest wait for the books to fill")
    add("--keep", type=Path, default=None, metavar="DIR",
        help="keep the run directory (broker and worker logs) under DIR")  # fmt: skip
    add("--stall-log-ms", type=float, default=None, metavar="MS",
        help="the worker logs each step that holds its event loop MS or longer, and what ran "
        "it (with --keep, in the worker's log: who makes the views wait)")  # fmt: skip
    add("--refreeze-every-s", type=float, default=None, metavar="S",
        help="the worker's MIDFIELD_WORKER_REFREEZE_EVERY_S (default: its own, 60)")  # fmt: skip
    args = parser.parse_args(argv)
    if unknown := (set(args.views) - set(ROUTES)) | ({BASELINE} & set(args.views)):
        parser.error(f"--views: unknown {sorted(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    run_bench(argv, parse_args, bench, table)


if __name__ == "__main__":
    main()
