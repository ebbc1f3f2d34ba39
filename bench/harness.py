"""What every bench shares: its command line, a work directory, sending a workload, progress on
stderr, the profile's top rows, and the end of a run (the JSON written to ``--out``, the table
printed)."""

from __future__ import annotations

import argparse
import json
import os
import pstats
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from midfield.bus.clients import client_config
from midfield.settings import KafkaSettings
from schemas.envelope import Envelope

__all__ = [
    "command_line",
    "finish",
    "office",
    "produce_all",
    "profile_rows",
    "progress",
    "run_bench",
    "throughput",
    "workdir",
]

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"


WORKER_SETTINGS = (
    "MIDFIELD_WORKER_BATCH_MAX",
    "MIDFIELD_WORKER_BATCH_WITHIN_S",
    "MIDFIELD_WORKER_HANDOVER",
)
"""The worker settings a bench's workers take from its own environment, for A/B runs
(``tests.harness.midfield_env`` gives a worker none of the caller's MIDFIELD_ settings)."""


def passed(names: Iterable[str] = WORKER_SETTINGS) -> dict[str, str]:
    """Those of ``names`` this process's environment sets, with their values."""
    return {name: os.environ[name] for name in names if name in os.environ}


def command_line(name: str, doc: str | None) -> argparse.ArgumentParser:
    """The parser of ``python -m bench.<name>``: the first paragraph of its docstring ``doc``
    describes it, and ``--out`` says where the JSON goes (``bench/results/<name>.json``)."""
    parser = argparse.ArgumentParser(
        prog=f"python -m bench.{name}", description=(doc or "").split("\n\n")[0]
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS / f"{name}.json", help="where the JSON goes"
    )
    return parser


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def throughput(
    bench: str,
    counted: dict[str, int],
    repeat: int,
    unit: str,
    midfield: float,
    baseline: tuple[str, float],
) -> dict[str, Any]:
    """The head of a throughput bench's result: its name, what it counted, its runs of each
    path, midfield's and the baseline client's median ``<unit>/s`` and their ratio."""
    client, base = baseline
    return {
        "bench": bench,
        **counted,
        "repeat": repeat,
        f"midfield_{unit}_per_s": round(midfield),
        f"baseline_{client}_{unit}_per_s": round(base),
        "ratio": round(midfield / base, 3),
    }


def profile_rows(stats: pstats.Stats, top: int) -> list[dict[str, Any]]:
    """The ``top`` functions of a cProfile run by their own time."""
    rows = stats.stats.items()  # type: ignore[attr-defined]
    ranked = sorted(rows, key=lambda item: item[1][2], reverse=True)[:top]
    return [
        {
            "function": _where(func),
            "calls": nc,
            "tottime_s": round(tt, 4),
            "cumtime_s": round(ct, 4),
        }
        for func, (_, nc, tt, ct, _) in ranked
    ]


def _where(func: tuple[str, int, str]) -> str:
    file, line, name = func
    for marker in ("site-packages/", str(REPO) + "/", sysconfig.get_paths()["stdlib"] + "/"):
        file = file.split(marker, 1)[-1]
    return f"{file}:{line}({name})"


def finish(out: Path, result: dict[str, Any], table: str) -> None:
    """Write ``result`` to ``out`` as JSON, print ``table`` and any profile rows."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table)
    for row in result.get("profile_top", []):
        print(f"  {row['tottime_s']:>8.3f}s own {row['cumtime_s']:>8.3f}s cum  {row['function']}")
    progress(f"wrote {out}")


def run_bench(
    argv: Sequence[str] | None,
    parse_args: Callable[[Sequence[str] | None], argparse.Namespace],
    bench: Callable[[argparse.Namespace], dict[str, Any]],
    table: Callable[[dict[str, Any]], str],
) -> None:
    """A bench's ``main``: its arguments parsed, the bench run, then :func:`finish`."""
    args = parse_args(argv)
    result = bench(args)
    finish(args.out, result, table(result))


@contextmanager
def workdir(keep: Path | None) -> Iterator[Path]:
    """A temp directory removed at the end, or one kept under ``keep`` (for its logs)."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield Path(tempfile.mkdtemp(prefix="midfield-bench-", dir=keep))
        return
    with tempfile.TemporaryDirectory(prefix="midfield-bench-") as tmp:
        yield Path(tmp)


def produce_all(kafka: KafkaSettings, envelopes: Iterable[Envelope], total: int) -> float:
    """Send a workload in big batches; seconds from the first event built to the end of
    ``flush``. Exits if the broker did not acknowledge every event."""
    producer = KafkaProducer(**client_config(kafka), acks=1, linger_ms=100, batch_size=1 << 20,
                             max_request_size=8 << 20)  # fmt: skip
    failed: list[BaseException] = []
    start = time.perf_counter()
    try:
        for n, e in enumerate(envelopes, 1):
            future = producer.send(e.topic, key=e.key(), value=e.value(), headers=e.headers())
            future.add_errback(failed.append)
            if n % 20_000 == 0:
                progress(f"  produced {n:,}/{total:,}")
        producer.flush(timeout=120)
        seconds = time.perf_counter() - start
    finally:
        producer.close(timeout=10)
    if failed:
        raise SystemExit(f"{len(failed)} events not acknowledged; first: {failed[0]!r}")
    return seconds


def office(kafka: KafkaSettings, work: Path, departments: Iterable[str]) -> Path:
    """The catalog's topics and one outbox per department, and a departments file naming them,
    as deployed: the worker sends notices only to departments of its directory (a notice for
    any other is dead-lettered and alerted, which would change what a bench measures)."""
    from midfield.bus.topics import create_topics
    from midfield.settings import TopicSettings
    from schemas.catalog import concrete
    from tests.harness import departments_file

    codes = sorted(departments)
    create_topics(kafka, TopicSettings(), concrete(codes))
    keys = {code: f"{code}-bench-key-0123456789abcdef" for code in codes}
    return departments_file(work / "departments.toml", keys)
