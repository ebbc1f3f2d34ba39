"""Ingest benchmark: fax-log lines read, parsed, validated and produced per second by the
connector runtime, against raw producers sending the same bytes to the same broker in the same
run. The issue's target is ``midfield / raw kafka-python >= 0.8``.

``python -m bench.ingest [--lines N] [--repeat R] [--out PATH] [--no-aiokafka] [--profile K]``.
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
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaProducer
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from bench.harness import command_line, profile_rows, progress, run_bench, throughput, workdir
from connectors.runtime.offsets import OffsetStore
from connectors.runtime.producer import EventProducer, OutRecord
from connectors.runtime.runner import Runner
from connectors.runtime.source import RawRecord
from connectors.sources.fax_log import FaxLogSource
from midfield.broker import EmbeddedBroker
from midfield.bus.clients import client_config
from midfield.bus.topics import create_topics
from midfield.settings import KafkaSettings, OfficeSettings, Settings
from schemas.catalog import topic as catalog_topic
from schemas.envelope import Envelope
from schemas.events.fax import FaxReceived
from tests.samples import fax_line

RAW_TOPIC = "bench.raw.v1"  # the baselines' topic: same partition count as the fax topic
TARGET_RATIO = 0.8
MIDFIELD, KAFKA_PYTHON, AIOKAFKA = "midfield", "baseline_kafka_python", "baseline_aiokafka"


@dataclass(frozen=True)
class Run:
    path: str
    round: int
    lines: int
    seconds: float
    stats: dict[str, Any] | None = None

    @property
    def rate(self) -> float:
        return self.lines / self.seconds

    def as_dict(self) -> dict[str, Any]:
        out = {
            "path": self.path,
            "round": self.round,
            "lines": self.lines,
            "seconds": round(self.seconds, 4),
            "lines_per_s": round(self.rate),
        }
        return out | ({"stats": self.stats} if self.stats else {})


@dataclass(frozen=True)
class Workload:
    """The log file, and the exact records the Midfield path produces from it (for baselines)."""

    log: Path
    zone: ZoneInfo
    records: list[OutRecord]
    parse_us: float
    encode_us: float


# --- the workload (no broker) -----------------------------------------------------------------


def write_log(path: Path, lines: int) -> None:
    """RECV lines with distinct commids, spread evenly over one day so dates vary by minute."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            minute = i * 1440 // lines
            when = f"03/14/25 {minute // 60:02d}:{minute % 60:02d}"
            out.write(fax_line(i + 1, when=when, pages=1 + i % 9))


def fax_source(log: Path, zone: ZoneInfo, settings: Settings) -> FaxLogSource:
    return FaxLogSource(
        path=log, instance="bench", zone=zone, poll_interval_s=settings.connect.poll_interval_s
    )


def read_all(source: FaxLogSource) -> list[RawRecord]:
    reader = source.read(None, follow=False)
    try:
        return [record for record in reader if record is not None]
    finally:
        reader.close()


def settle() -> None:
    """Collect, then freeze the survivors: the bench's own data (raw lines, precomputed records)
    is not the connector's, and no timed code should pay for re-scanning it."""
    gc.collect()
    gc.freeze()


def per_line_us(step: Callable[[Any], object], items: Sequence[Any]) -> float:
    start = time.perf_counter()
    for item in items:
        step(item)
    return (time.perf_counter() - start) / len(items) * 1e6


def encode(envelope: Envelope) -> OutRecord:
    """What ``Runner._convert`` makes of an event."""
    return (envelope.topic, envelope.key(), envelope.value(), envelope.headers())


def prepare(log: Path, zone: ZoneInfo, settings: Settings) -> Workload:
    """Parse the log once for the baselines' records; time parse (with validation) and encoding
    separately, each in a pass that keeps nothing, as the connector keeps nothing."""
    source = fax_source(log, zone, settings)
    raws = read_all(source)
    settle()
    parse_us = per_line_us(source.parse, raws)
    envelopes = [p for p in map(source.parse, raws) if isinstance(p, Envelope)]
    if len(envelopes) != len(raws):
        raise SystemExit(f"only {len(envelopes)} of {len(raws)} lines parsed into events")
    encode_us = per_line_us(encode, envelopes)
    return Workload(log, zone, [encode(e) for e in envelopes], parse_us, encode_us)


# --- the three paths --------------------------------------------------------------------------


def run_midfield(
    settings: Settings, work: Workload, round_: int, profiler: cProfile.Profile | None = None
) -> Run:
    """The connector runtime end to end; timed from ``run`` to its final commit."""
    source = fax_source(work.log, work.zone, settings)
    producer = EventProducer(settings.kafka)
    with tempfile.TemporaryDirectory(prefix="midfield-bench-state-") as state:
        store = OffsetStore(Path(state), source.name, source.instance)
        runner = Runner(source, producer, store, batch_size=settings.connect.batch_size)
        try:
            start = time.perf_counter()
            stats = (
                profiler.runcall(runner.run, follow=False) if profiler else runner.run(follow=False)
            )
            seconds = time.perf_counter() - start
        finally:
            producer.close()
    want = len(work.records)
    if (stats.events, stats.committed, stats.dead_letters) != (want, want, 0):
        raise SystemExit(f"midfield run incomplete: {stats.as_dict()}")
    return Run(MIDFIELD, round_, stats.events, seconds, stats.as_dict())


def raw_producer(kafka: KafkaSettings) -> KafkaProducer:
    """The very KafkaProducer EventProducer builds, so the baseline shares its configuration."""
    return EventProducer(kafka)._producer.client


def run_kafka_python(settings: Settings, work: Workload, round_: int) -> Run:
    producer = raw_producer(settings.kafka)
    try:
        start = time.perf_counter()
        futures = [
            producer.send(RAW_TOPIC, key=key, value=value, headers=headers)
            for _, key, value, headers in work.records
        ]
        producer.flush()
        seconds = time.perf_counter() - start
    finally:
        producer.close(timeout=5)
    failed = sum(1 for f in futures if not f.succeeded())
    if failed:
        raise SystemExit(f"kafka-python baseline: {failed} records not acknowledged")
    return Run(KAFKA_PYTHON, round_, len(futures), seconds)


def aiokafka_config(kafka: KafkaSettings) -> dict[str, Any]:
    """EventProducer's settings in aiokafka's names."""
    producer = raw_producer(kafka)
    config = producer.config
    producer.close(timeout=5)
    return {
        "bootstrap_servers": config["bootstrap_servers"],
        "client_id": config["client_id"],
        "request_timeout_ms": config["request_timeout_ms"],
        "acks": config["acks"],
        "linger_ms": config["linger_ms"],
        "max_batch_size": config["batch_size"],
        "enable_idempotence": config["enable_idempotence"],
    }


async def _aiokafka_send(config: dict[str, Any], records: list[OutRecord]) -> tuple[float, int]:
    producer = AIOKafkaProducer(**config)
    await producer.start()
    try:
        start = time.perf_counter()
        futures = [
            await producer.send(RAW_TOPIC, value, key=key, headers=headers)
            for _, key, value, headers in records
        ]
        await producer.flush()
        seconds = time.perf_counter() - start
    finally:
        await producer.stop()
    failed = sum(1 for f in futures if not f.done() or f.exception() is not None)
    return seconds, failed


def run_aiokafka(config: dict[str, Any], work: Workload, round_: int) -> Run:
    seconds, failed = asyncio.run(_aiokafka_send(config, work.records))
    if failed:
        raise SystemExit(f"aiokafka baseline: {failed} records not acknowledged")
    return Run(AIOKAFKA, round_, len(work.records), seconds)


# --- orchestration ----------------------------------------------------------------------------


def create_bench_topics(settings: Settings) -> int:
    """The catalog topics, and the baselines' topic with the fax topic's partition count."""
    create_topics(settings.kafka, settings.topics)
    partitions = catalog_topic(FaxReceived.topic).partitions or settings.topics.partitions
    admin = KafkaAdminClient(**client_config(settings.kafka))
    try:
        admin.create_topics([NewTopic(RAW_TOPIC, partitions, settings.topics.replication_factor)])
    finally:
        admin.close()
    return partitions


PathFn = Callable[[int], Run]


def paths(settings: Settings, work: Workload, with_aiokafka: bool) -> list[tuple[str, PathFn]]:
    """One round's runs, baselines first, so runs alternate baseline / midfield."""
    chosen: list[tuple[str, PathFn]] = [
        (KAFKA_PYTHON, lambda r: run_kafka_python(settings, work, r))
    ]
    if with_aiokafka:
        config = aiokafka_config(settings.kafka)
        chosen.append((AIOKAFKA, lambda r: run_aiokafka(config, work, r)))
    return [*chosen, (MIDFIELD, lambda r: run_midfield(settings, work, r))]


def run_rounds(chosen: list[tuple[str, PathFn]], repeat: int) -> list[Run]:
    runs: list[Run] = []
    total = len(chosen) * repeat
    for round_ in range(1, repeat + 1):
        for name, run_path in chosen:
            progress(f"run {len(runs) + 1}/{total} {name}…")
            gc.collect()  # no run pays for the previous run's garbage
            run = run_path(round_)
            progress(f"  {run.rate:,.0f} lines/s ({run.seconds:.2f} s)")
            runs.append(run)
    return runs


def profile_midfield(settings: Settings, work: Workload, top: int) -> list[dict[str, Any]]:
    """One extra, uncounted midfield run under cProfile; its ``top`` functions by own time."""
    progress("profiling one more midfield run (not counted)…")
    profiler = cProfile.Profile()
    run_midfield(settings, work, 0, profiler)
    return profile_rows(pstats.Stats(profiler), top)


# --- reporting --------------------------------------------------------------------------------


def median_rate(runs: Sequence[Run], path: str) -> float:
    return statistics.median(run.rate for run in runs if run.path == path)


def report(
    args: argparse.Namespace, runs: list[Run], work: Workload, settings: Settings, partitions: int
) -> dict[str, Any]:
    midfield, baseline = median_rate(runs, MIDFIELD), median_rate(runs, KAFKA_PYTHON)
    ratio = midfield / baseline
    counted = {"lines": args.lines}
    out = throughput("ingest", counted, args.repeat, "lines", midfield, ("kafka_python", baseline))
    out |= {"target_ratio": TARGET_RATIO, "meets_target": ratio >= TARGET_RATIO}
    if args.aiokafka:
        aio = median_rate(runs, AIOKAFKA)
        out |= {
            "baseline_aiokafka_lines_per_s": round(aio),
            "ratio_vs_aiokafka": round(midfield / aio, 3),
        }
    return out | {
        "runs": [run.as_dict() for run in runs],
        "parse_only_us_per_line": round(work.parse_us, 2),
        "encode_only_us_per_line": round(work.encode_us, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "partitions": partitions,
        "batch_size": settings.connect.batch_size,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "broker": "tansu-embedded",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def table(result: dict[str, Any]) -> str:
    rows = [
        ("midfield (read+parse+validate+produce)", result["midfield_lines_per_s"]),
        ("raw kafka-python producer", result["baseline_kafka_python_lines_per_s"]),
    ]
    if "baseline_aiokafka_lines_per_s" in result:
        rows.append(("raw aiokafka producer", result["baseline_aiokafka_lines_per_s"]))
    verdict = "meets" if result["meets_target"] else "MISSES"
    return "\n".join(
        [
            f"ingest: {result['lines']:,} fax-log lines, median of {result['repeat']} runs each, "
            f"{result['machine']['cpus']} CPUs, Python {result['machine']['python']}",
            *(f"  {name:<40} {rate:>10,} lines/s" for name, rate in rows),
            f"  ratio midfield / kafka-python: {result['ratio']:.3f} ({verdict} target "
            f"{result['target_ratio']})",
            f"  parse only {result['parse_only_us_per_line']} µs/line, encode only "
            f"{result['encode_only_us_per_line']} µs/line, peak RSS {result['peak_rss_mib']} MiB",
        ]
    )


# --- command line -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = command_line("ingest", __doc__)
    parser.add_argument("--lines", type=int, default=50_000, help="fax-log lines per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each path")
    parser.add_argument(
        "--no-aiokafka",
        dest="aiokafka",
        action="store_false",
        help="skip the raw aiokafka baseline",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="K",
        help="profile one extra midfield run and report its top K functions",
    )
    return parser.parse_args(argv)


def bench(args: argparse.Namespace) -> dict[str, Any]:
    with workdir(None) as work_dir:
        progress(f"writing {args.lines:,} lines and parsing them once (no broker)…")
        write_log(work_dir / "xferfaxlog", args.lines)
        zone = OfficeSettings().zone
        work = prepare(work_dir / "xferfaxlog", zone, Settings())
        settle()
        with EmbeddedBroker(work_dir / "broker").running() as status:
            kafka = KafkaSettings(bootstrap_servers=status.bootstrap, profile="embedded")
            settings = Settings(kafka=kafka)
            partitions = create_bench_topics(settings)
            runs = run_rounds(paths(settings, work, args.aiokafka), args.repeat)
            result = report(args, runs, work, settings, partitions)
            if args.profile:
                result["profile_top"] = profile_midfield(settings, work, args.profile)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    run_bench(argv, parse_args, bench, table)


if __name__ == "__main__":
    main()
