"""Prometheus metrics of the worker and of a connector, read with the client library's parser."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from midfield.broker import EmbeddedBroker, free_port
from midfield.bus.topics import create_topics
from midfield.settings import KafkaSettings, TopicSettings
from tests.harness import Broker, WorkerProcess, midfield_env, scrape, spawn_cli, wait_for
from tests.samples import fax_line

FAX = "office.intake.fax.v1"


def _value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_connector_counts_events_skips_and_dead_letters_on_its_own_port(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    log = workdir / "xferfaxlog"
    send = fax_line(9).replace("\tRECV\t", "\tSEND\t")
    log.write_text(fax_line(1) + send + "03/14/25 09:45\tRECV\tbroken\n" + fax_line(2))
    port = free_port()
    connector = spawn_cli(["connect", "fax-log", "--path", str(log), "--instance", unique,
                           "--metrics-port", str(port)],
                          midfield_env(catalog_topics, workdir), cwd=workdir)  # fmt: skip
    url = f"http://127.0.0.1:{port}/metrics"
    source = f"midfield://fax-log/{unique}"
    try:

        def counted() -> dict | None:
            try:
                samples = scrape(url)
            except OSError:
                return None
            return samples if _value(samples, "midfield_events_out_total", topic=FAX,
                                     source=source) == 2 else None  # fmt: skip

        samples = wait_for(counted, timeout=30, what="2 events counted")
    finally:
        connector.kill()
    assert _value(samples, "midfield_records_skipped_total", reason="record-type-send",
                  connector="fax-log") == 1  # fmt: skip
    assert _value(samples, "midfield_dead_letters_total", reason="bad-field-count",
                  connector="fax-log") == 1  # fmt: skip
    assert _value(samples, "midfield_parse_seconds_count", connector="fax-log") == 4
    assert (_value(samples, "midfield_source_last_event_age_seconds", source=source) or 99) < 60


def test_worker_exports_events_in_lag_table_size_and_http_requests(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    log = workdir / "xferfaxlog"
    log.write_text("".join(fax_line(n) for n in range(1, 6)))
    env = midfield_env(catalog_topics, workdir)
    worker = WorkerProcess(catalog_topics, workdir, app_id=f"m-{unique}",
                           env_extra={"MIDFIELD_WORKER_LAG_INTERVAL_S": "0.5"}).start()  # fmt: skip
    source = f"midfield://fax-log/{unique}"
    try:
        worker.wait_ready()
        connector = spawn_cli(["connect", "fax-log", "--path", str(log), "--instance", unique,
                               "--once"], env, cwd=workdir)  # fmt: skip
        assert connector.wait(timeout=60) == 0
        worker.get("/duty-log?date=2025-03-14")

        def settled() -> dict | None:
            samples = scrape(worker.url + "/metrics")
            events = _value(samples, "midfield_events_in_total", topic=FAX, source=source)
            lags = [v for (name, labels), v in samples.items()
                    if name == "midfield_consumergroup_group_lag"
                    and ("group", worker.app_id) in labels]  # fmt: skip
            return samples if events == 5 and lags and max(lags) == 0 else None

        samples = wait_for(settled, timeout=60, interval=0.5, what="5 events in, no lag")
    finally:
        worker.stop()
    assert (_value(samples, "midfield_table_entries", table="duty_log") or 0) >= 5
    assert _value(samples, "midfield_http_requests_total", route="/duty-log", status="200") == 1
    assert _value(samples, "midfield_processing_seconds_count", topic=FAX) >= 5
    # started: the imported code and faust's machinery are out of the collector's reach
    assert (_value(samples, "midfield_gc_frozen_objects") or 0) > 50_000


def test_table_sizes_are_counted_at_each_scrape(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    """Not only at the lag measurement (every 10 s by default, an hour here): a scrape just
    after the books changed says their sizes."""
    log = workdir / "xferfaxlog"
    log.write_text("".join(fax_line(n) for n in range(1, 4)))
    hourly = {"MIDFIELD_WORKER_LAG_INTERVAL_S": "3600"}
    worker = WorkerProcess(catalog_topics, workdir, app_id=f"t-{unique}", env_extra=hourly).start()
    source = f"midfield://fax-log/{unique}"
    try:
        worker.wait_ready()
        env = midfield_env(catalog_topics, workdir)
        connector = spawn_cli(["connect", "fax-log", "--path", str(log), "--instance", unique,
                               "--once"], env, cwd=workdir)  # fmt: skip
        assert connector.wait(timeout=60) == 0

        def counted() -> bool:
            samples = scrape(worker.url + "/metrics")
            events = _value(samples, "midfield_events_in_total", topic=FAX, source=source)
            return events == 3 and (_value(samples, "midfield_table_entries", table="duty_log")
                                    or 0) >= 3  # fmt: skip

        wait_for(counted, timeout=30, interval=0.2, what="3 events in, the duty log counted")
    finally:
        worker.stop()


def test_ready_is_503_while_the_broker_hangs_and_200_after(workdir: Path, unique: str) -> None:
    port = free_port()
    private = Broker(f"127.0.0.1:{port}", "embedded", "embedded")
    with EmbeddedBroker(workdir / "broker").running(port=port) as status:
        create_topics(KafkaSettings(bootstrap_servers=private.bootstrap), TopicSettings())
        worker = WorkerProcess(private, workdir, app_id=f"h-{unique}", env_extra={
            "MIDFIELD_WORKER_LAG_INTERVAL_S": "0.5", "MIDFIELD_KAFKA_REQUEST_TIMEOUT_MS": "1500",
        }).start()  # fmt: skip
        try:
            worker.wait_ready()
            os.kill(status.pid, signal.SIGSTOP)
            try:
                ready = wait_for(lambda: (r := worker.get("/ready"))[0] == 503 and r, timeout=30,
                                 what="503 while the broker hangs")  # fmt: skip
                assert "broker unreachable" in ready[1]["reason"]
            finally:
                os.kill(status.pid, signal.SIGCONT)
            worker.wait_ready(timeout=60)
        finally:
            worker.stop()
