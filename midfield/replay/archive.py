"""``midfield replay export`` / ``import``: topics to and from compressed JSON lines.

An archive is a directory: ``manifest.json`` and one ``<topic>/<partition>.jsonl.gz`` per
partition, each line a record — ``key`` and ``value`` (base64), ``headers`` (name and base64
value), ``timestamp`` (ms), ``partition``, ``offset``. The manifest lists, per file, the records,
the last offset and the SHA-256 of the file. Both directions are resumable: export continues
after the last offset the manifest has (gzip members append), import after the offsets recorded
in ``import-progress.json`` next to the manifest. Import verifies every checksum before it
produces anything, and produces each record to its own partition with its key, headers and
timestamp, so a history survives a broker move (and the embedded broker's memory-only restarts).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from midfield.bus.clients import client_config
from midfield.bus.consumer import TopicPartition, probe_consumer
from midfield.bus.producer import Producer
from midfield.bus.watermarks import topic_end_offsets
from midfield.errors import StoreError
from midfield.settings import KafkaSettings

__all__ = ["ArchiveReport", "export_topics", "import_archive"]

MANIFEST = "manifest.json"
PROGRESS = "import-progress.json"
Progress = Callable[[int], None]
"""Called with the number of records just done (for a progress bar)."""


@dataclass
class ArchiveReport:
    records: int = 0
    files: int = 0


def _file(root: Path, topic: str, partition: int) -> Path:
    return root / topic / f"{partition}.jsonl.gz"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read {path}: {exc}", reason="archive") from exc


def _save(path: Path, body: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=2, ensure_ascii=False))
    os.replace(tmp, path)


# -- export --------------------------------------------------------------------------------------
def export_topics(kafka: KafkaSettings, topics: list[str], root: Path,
                  progress: Progress = lambda n: None) -> ArchiveReport:  # fmt: skip
    """Write every record of ``topics`` up to their current ends into the archive at ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    manifest = _load(root / MANIFEST) or {"version": 1, "files": {}}
    config = client_config(kafka)
    ends = topic_end_offsets(config, topics)
    report = ArchiveReport()
    for (topic, partition), end in sorted(ends.items()):
        name = f"{topic}/{partition}.jsonl.gz"
        entry = manifest["files"].get(name, {"records": 0, "last_offset": -1})
        start = entry["last_offset"] + 1
        if start < end:
            written, last = _export_partition(config, topic, partition, start, end,
                                              _file(root, topic, partition), progress)  # fmt: skip
            entry = {"records": entry["records"] + written, "last_offset": last}
            report.records += written
        if _file(root, topic, partition).exists():
            entry["sha256"] = _digest(_file(root, topic, partition))
            manifest["files"][name] = entry
            report.files += 1
        _save(root / MANIFEST, manifest)  # after each partition: an interrupted export resumes
    return report


def _export_partition(config: dict[str, Any], topic: str, partition: int, start: int, end: int,
                      path: Path, progress: Progress) -> tuple[int, int]:  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    tp = TopicPartition(topic, partition)
    written, last = 0, start - 1
    with probe_consumer(config, auto_offset_reset="earliest") as consumer, \
            gzip.open(path, "at", encoding="utf-8") as out:  # fmt: skip
        consumer.assign([tp])
        consumer.seek(tp, start)
        while last < end - 1:
            batch = consumer.poll(timeout_ms=1000).get(tp, [])
            if not batch and consumer.position(tp) >= end:
                break
            for record in batch:
                if record.offset >= end:
                    break
                out.write(json.dumps(_line(record), separators=(",", ":")) + "\n")
                written, last = written + 1, record.offset
            progress(len(batch))
    return written, last


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _line(record: Any) -> dict[str, Any]:
    return {"key": _b64(record.key), "value": _b64(record.value),
            "headers": [[k, _b64(v)] for k, v in record.headers or []],
            "timestamp": record.timestamp, "partition": record.partition,
            "offset": record.offset}  # fmt: skip


# -- import --------------------------------------------------------------------------------------
def import_archive(kafka: KafkaSettings, root: Path, *, topics: list[str] | None = None,
                   progress: Progress = lambda n: None) -> ArchiveReport:  # fmt: skip
    """Produce the archive's records into the broker (checksums first; resumable)."""
    manifest = _load(root / MANIFEST)
    if not manifest:
        raise StoreError(f"{root} has no {MANIFEST}: not a Midfield archive", reason="archive")
    files = {n: e for n, e in manifest["files"].items()
             if topics is None or n.rsplit("/", 1)[0] in topics}  # fmt: skip
    for name, entry in files.items():
        if _digest(root / name) != entry["sha256"]:
            raise StoreError(f"{name} does not match its checksum: the archive is damaged",
                             reason="archive-checksum")  # fmt: skip
    done: dict[str, int] = _load(root / PROGRESS)
    report = ArchiveReport()
    producer = Producer(client_config(kafka), acks="all", linger_ms=20)
    try:
        for name in sorted(files):
            sent = _import_file(producer, root / name, done.get(name, -1), progress)
            producer.flush()
            if sent:
                done[name] = sent[-1]
                report.records += len(sent)
            _save(root / PROGRESS, done)
            report.files += 1
    finally:
        producer.close(timeout_s=10)
    return report


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def _import_file(producer: Producer, path: Path, after: int,
                 progress: Progress) -> list[int]:  # fmt: skip
    topic = path.parent.name
    sent = []
    for record in _records(path):
        if record["offset"] <= after:
            continue
        producer.send(topic, partition=record["partition"], key=_bytes(record["key"]),
                      value=_bytes(record["value"]), timestamp_ms=record["timestamp"],
                      headers=[(k, _bytes(v) or b"") for k, v in record["headers"]])  # fmt: skip
        sent.append(record["offset"])
        if len(sent) % 1000 == 0:
            progress(1000)
    progress(len(sent) % 1000)
    return sent


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)
