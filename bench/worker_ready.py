"""How soon a worker is ready: Apache Kafka with the production (``kafka``) profile's group
timings, and the embedded broker with the ``embedded`` profile's.

Brokers: Apache Kafka as the test lane runs it; again with the broker's default 3 s
``group.initial.rebalance.delay.ms``, as production has it; Tansu. For each: start it in a temp
directory (its start time measured too), create the catalog's topics, then per run start
``midfield worker`` under a fresh application id and time process start -> first ``/ready`` 200
(a new group's first join), stop it cleanly, start it again and time that (a rejoin after a
clean leave). Nothing is in the topics: this is the floor the group protocol and faust's
start-up set, not recovery.

    python -m bench.worker_ready [--runs 3] [--out bench/results/worker_ready.json]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import finish, progress, workdir
from midfield.apache_kafka import KAFKA_VERSION, ApacheKafka
from midfield.broker import EmbeddedBroker
from midfield.bus.topics import create_topics
from midfield.settings import Settings
from tests.harness import Broker, WorkerProcess, http_get


@contextmanager
def running(kind: str, work: Path) -> Iterator[tuple[Broker, float]]:
    started = time.monotonic()
    if kind.startswith("kafka"):
        # "kafka-3s": the broker's default group.initial.rebalance.delay.ms (production)
        delay = {"group.initial.rebalance.delay.ms": "3000"} if kind == "kafka-3s" else {}
        with ApacheKafka(work / kind, overrides=delay).running() as kafka:
            yield Broker(kafka.bootstrap, "apache-kafka", "kafka"), time.monotonic() - started
    else:
        with EmbeddedBroker(work / "tansu").running() as status:
            yield Broker(status.bootstrap, "embedded", "embedded"), time.monotonic() - started


def ready_s(worker: WorkerProcess) -> float:
    started = time.monotonic()
    worker.start()
    while http_get(worker.url + "/ready", timeout=2)[0] != 200:
        if worker.proc is not None and worker.proc.poll() is not None:
            raise SystemExit(f"worker exited:\n{worker.log_tail()}")
        if time.monotonic() - started > 180:
            raise SystemExit(f"worker not ready in 180 s:\n{worker.log_tail()}")
        time.sleep(0.05)
    return round(time.monotonic() - started, 2)


def measure(kind: str, runs: int, work: Path) -> dict[str, Any]:
    with running(kind, work) as (broker, broker_start_s):
        create_topics(broker.kafka_settings(), Settings().topics)
        first, again = [], []
        for n in range(runs):
            worker = WorkerProcess(broker, work / f"{kind}-{n}", f"ready-{uuid.uuid4().hex[:6]}")
            worker.workdir.mkdir()
            try:
                first.append(ready_s(worker))
                worker.stop()
                again.append(ready_s(worker))
            finally:
                worker.stop()
            progress(f"  {kind}: first join {first[-1]} s, restart {again[-1]} s")
    timings = broker.kafka_settings().group_timings
    return {
        "broker": {
            "kafka": f"apache-kafka-{KAFKA_VERSION} (group.initial.rebalance.delay.ms=0)",
            "kafka-3s": f"apache-kafka-{KAFKA_VERSION} (group.initial.rebalance.delay.ms=3000)",
        }.get(kind, "tansu-embedded"),
        "profile": broker.profile,
        "group_timings_s": timings._asdict(),
        "broker_start_s": round(broker_start_s, 2),
        "first_join_ready_s": first,
        "restart_ready_s": again,
        "first_join_median_s": statistics.median(first),
        "restart_median_s": statistics.median(again),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/results/worker_ready.json"))
    args = parser.parse_args()
    load = [round(x, 2) for x in os.getloadavg()]
    with workdir(None) as work:
        kinds = ("kafka", "kafka-3s", "embedded")
        results = [measure(kind, args.runs, work) for kind in kinds]
    result = {
        "bench": "worker_ready",
        "runs": args.runs,
        "results": results,
        "kafka_broker_settings": "the lane's: group.initial.rebalance.delay.ms=0 (Kafka's "
        "shipped server.properties); kafka-3s: the broker default, as in production",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": load},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    rows = [f"{r['broker']:<58} {r['profile']:<9} broker {r['broker_start_s']:>5} s  "
            f"first join {r['first_join_median_s']:>5} s  restart {r['restart_median_s']:>5} s"
            for r in results]  # fmt: skip
    finish(args.out, result, "\n".join(rows))


if __name__ == "__main__":
    main()
