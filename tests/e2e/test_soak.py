"""The no-loss / no-double soak, modelled on Kafka's transactions system test: mixed inputs
through the real sources (a fax log, a Maildir, a telegram drop directory, the board's signed
webhook) while a chaos driver SIGKILLs the worker and every connector at random points (half of
a connector's kills between produce and position commit), starting each again at once.

At the end, against a private broker that holds nothing else:

* input set == output set: every good input is in the books, every bad one on the dead-letter
  topic with a reason, every classified telegram in quarantine with an alert;
* nothing applied twice: one duty-log line per fax, mail and telegram, one reply per replied
  message;
* the books equal a clean single-pass rebuild (``midfield replay rebuild --from beginning``);
* the classified telegrams' secret is nowhere: not on any topic, in any log, state or store
  file, or in any HTTP answer.

``make test`` runs the short version (10k inputs, 2 kills of each process); ``make soak`` the
long one (100k inputs, 5 kills each), which writes its counts to ``bench/results/soak.json``.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, TopicPartition

from midfield.broker import free_port
from midfield.bus.clients import client_config
from midfield.settings import OfficeSettings
from schemas.catalog import DEADLETTER
from schemas.deadletter import DeadLetter
from tests.chaos import Chaos, Supervised
from tests.harness import (
    REPO,
    Broker,
    departments_file,
    http_get,
    midfield_env,
    read_topic,
    run_cli,
    scrape,
    stored_books,
    wait_for,
)
from tests.mail_samples import make_maildir
from tests.soak_inputs import BOARD_SECRET, Inputs, Paths, feed

pytestmark = pytest.mark.xdist_group("soak")

QUIET = {  # no timer adds events while the books are compared with a rebuild
    "MIDFIELD_SUPERVISION_REMINDER_CHECK_INTERVAL_S": "3600",
    "MIDFIELD_DUTY_REPORT_CHECK_INTERVAL_S": "3600",
    "MIDFIELD_REPLIES_CHECK_INTERVAL_S": "3600",
}
SOURCES = ("fax-log", "fax-mail", "telegram", "board")
OFFICE_ZONE = OfficeSettings().zone


@dataclass(frozen=True)
class Size:
    inputs: int
    kills: int
    window_s: float
    settle_s: float


SHORT = Size(inputs=10_000, kills=2, window_s=25, settle_s=240)
LONG = Size(inputs=100_000, kills=5, window_s=180, settle_s=1800)


@pytest.mark.timeout(900)
def test_short_soak_loses_nothing_and_applies_nothing_twice(
    own_broker: Broker, tmp_path: Path
) -> None:
    result = soak(own_broker, tmp_path, SHORT, seed=11)
    (REPO / "tests" / "artifacts").mkdir(exist_ok=True)
    (REPO / "tests" / "artifacts" / "soak-short.json").write_text(json.dumps(result, indent=1))


@pytest.mark.soak
@pytest.mark.timeout(4 * 3600)
def test_soak_loses_nothing_and_applies_nothing_twice(own_broker: Broker, tmp_path: Path) -> None:
    result = soak(own_broker, tmp_path, LONG, seed=int(os.environ.get("MIDFIELD_SOAK_SEED", "7")))
    results = REPO / "bench" / "results" / own_broker.results_name("soak")
    results.write_text(json.dumps(result, indent=1) + "\n")


def soak(broker: Broker, work: Path, size: Size, *, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    token = f"{seed}{rng.randrange(10**6):06d}"
    inputs = Inputs.make(size.inputs, rng, token)
    port = free_port()
    paths = Paths(work / "xferfaxlog", work / "Maildir", work / "drop", f"http://127.0.0.1:{port}")
    paths.fax_log.touch()
    make_maildir(paths.maildir)
    paths.drop.mkdir()
    directory = departments_file(work / "departments.toml", {"edu": "edu-key"})
    env = midfield_env(
        broker,
        work,
        MIDFIELD_BOARD_SECRET=BOARD_SECRET,
        MIDFIELD_DEPARTMENTS_FILE=str(directory),
        # as deployed (deploy/secrets): one key across restarts, so a refused request sent again
        # after an intake restarted makes the same dead letter, not a second one
        MIDFIELD_PRIVACY_KEY=f"soak-privacy-key-{seed}",
        **QUIET,
    )
    worker_port = free_port()
    worker = Supervised(
        "worker",
        ["worker", "--no-create-topics"],
        env | {"MIDFIELD_WORKER_WEB_PORT": str(worker_port)},
        work,
        rng,
        # a batch's side effects sent and its books not written; its books written and its
        # offsets not committed: either way the batch comes again and is applied once
        ("worker.effects-sent", "worker.batch-written"),
        size.kills // 2,
    )
    # the file intakes: half of their kills at their own commit point, half from outside
    files = {
        "fax-log": ["--path", str(paths.fax_log)],
        "fax-mail": ["--maildir", str(paths.maildir)],
        "telegram": ["--dir", str(paths.drop)],
    }
    fault = ("connector.before-commit",)
    connectors = [
        *(
            Supervised(name, ["connect", name, *args], env, work, rng, fault, size.kills // 2)
            for name, args in files.items()
        ),
        Supervised("board", ["connect", "board", "--port", str(port)], env, work, rng),
    ]
    processes = [worker, *connectors]
    external = {p.name: size.kills - p.fault_kills_wanted for p in processes}
    url = f"http://127.0.0.1:{worker_port}"
    try:
        began = time.monotonic()
        for process in processes:
            process.start()
        wait_for(lambda: http_get(url + "/ready")[0] == 200, timeout=90, what="worker ready")
        wait_for(lambda: _answers(paths.board_url), timeout=60, what="board ready")
        stop = threading.Event()
        chaos = Chaos(processes, external=external, window_s=size.window_s, rng=rng)
        chaos.start()
        try:
            for thread in feed(inputs, paths, size.window_s, stop):
                thread.join(timeout=size.window_s + size.settle_s)
            fed_s = time.monotonic() - began
            try:
                wait_for(
                    lambda: chaos.check() and _all_kills_done(processes, size.kills),
                    timeout=size.settle_s,
                    what="every planned kill",
                )
            except AssertionError as exc:
                raise AssertionError(f"{exc}: {'; '.join(map(str, processes))}") from None
            missing: dict[str, Any] = {}
            try:
                books = wait_for(
                    lambda: chaos.check() and _complete(url, inputs, missing),
                    timeout=size.settle_s,
                    interval=2,
                    what="every good input in the books",
                )
            except AssertionError as exc:
                _complete(url, inputs, missing, gate=False)  # name what is missing
                said = worker.troubles()
                where = _where(broker, missing)
                raise AssertionError(
                    f"{exc}; still missing: {missing}\nwhere: {where}\nworker:\n{said}"
                ) from None
        finally:
            stop.set()
            chaos.stop()
            statuses = {c.name: c.stop() for c in connectors}
        settled_s = time.monotonic() - began
        time.sleep(2)  # the worker commits what it has applied
        books = _books(url)
        assert statuses == dict.fromkeys(statuses, 0), statuses
        answers = [json.dumps(books, ensure_ascii=False)] + [
            json.dumps(http_get(url + path)[1], ensure_ascii=False)
            for path in ("/dashboard.json", "/alerts", "/duty-log", "/ledger", "/reply-rate")
        ]
    finally:
        for process in processes:  # whatever failed: no process outlives the test
            process.stop()
    counts = _check_books(books, inputs)
    counts["dead_letters"] = _check_dead_letters(broker, inputs)
    counts["quarantined"] = _check_quarantine(broker, books, inputs)
    counts["intake_records_sent_again"] = _sent_again(broker)
    rebuilt = _rebuild(broker, work)
    differing = _differing(stored_books(rebuilt), stored_books(books))
    if differing:
        subjects = sorted({d.split(":")[0].split("/", 1)[1] for d in differing if "/" in d})
        where = _where(broker, {"differing": [len(subjects), *subjects[:3]]})
        raise AssertionError(
            f"the books differ from a clean single-pass rebuild: {differing}\nwhere: {where}"
        )
    leaks = _leaks(broker, work, paths.drop / "rejected", answers, inputs.secret)
    assert not leaks, f"the classified telegrams' secret was found in {leaks}"
    brief = _brief(broker, work, rebuilt)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "inputs": inputs.total,
        "inputs_by_source": {
            "fax-log": len(inputs.fax_lines),
            "fax-mail": len(inputs.mails),
            "telegram": len(inputs.telegrams),
            "board": len(inputs.board),
        },
        "kills": {
            p.name: {
                "external": p.external_kills,
                "at_fault_points": dict(p.fault_kills_at),
                "starts": p.starts,
            }
            for p in processes
        },
        **counts,
        "lost": 0,
        "applied_twice": 0,
        "rebuild_equal": True,
        "leaks": 0,
        "brief": brief,
        "fed_s": round(fed_s, 1),
        "settled_s": round(settled_s, 1),
    }


def _answers(url: str) -> bool:
    try:
        return http_get(url + "/ready")[0] == 200
    except OSError:
        return False


def _all_kills_done(processes: list[Supervised], kills: int) -> bool:
    return all(p.kills >= kills for p in processes)


def _books(url: str) -> dict[str, Any]:
    status, books = http_get(url + "/replay/books", timeout=60)
    assert status == 200, books
    return dict(books)


def _complete(
    url: str, inputs: Inputs, missing: dict[str, Any], *, gate: bool = True
) -> dict[str, Any] | None:
    """The books once every good input is in them. The worker's table-size gauges are asked
    first: reading all the books is heavy (100k entities in the long soak) and would slow the
    very worker it waits for."""
    try:
        sizes = {
            dict(labels).get("table"): value
            for (name, labels), value in scrape(url + "/metrics").items()
            if name == "midfield_table_entries"
        }
        status, books = (0, None)
        if not gate or all(sizes.get(book, 0) >= len(keys) for book, keys in inputs.good.items()):
            status, books = http_get(url + "/replay/books", timeout=60)
    except OSError:
        return None  # the worker is being restarted
    if status != 200:
        missing["tables"] = sizes
        return None
    missing.clear()
    for book, keys in inputs.good.items():
        if lost := sorted(keys - books.get(book, {}).keys()):
            missing[book] = [len(lost), *lost[:3]]
    unreplied = sorted(m for m in inputs.replies if not books["messages"].get(m, {}).get("replies"))
    if unreplied:
        missing["replies"] = [len(unreplied), *unreplied[:3]]
    # the telegram connector's alert for a withheld sheet reaches the alerts book a hop later
    # (and later still when the connector was killed before it confirmed the quarantine)
    alerted = {a.get("about") for a in books["alerts"].values() if a.get("kind") == "quarantine"}
    if unalerted := sorted(inputs.classified - alerted):
        missing["quarantine_alerts"] = [len(unalerted), *unalerted[:3]]
    return None if missing else books


def _check_books(books: dict[str, Any], inputs: Inputs) -> dict[str, Any]:
    """Each good input once; nothing in the books that no input made."""
    lost = {book: sorted(keys - books[book].keys())[:5] for book, keys in inputs.good.items()}
    assert not any(lost.values()), f"lost: {lost}"
    lines = Counter(len(books["duty_log"][key]["entries"]) for key in inputs.good["duty_log"])
    assert lines == {1: len(inputs.good["duty_log"])}, f"duty-log lines per input: {lines}"
    extra = books["duty_log"].keys() - inputs.good["duty_log"]
    assert not extra, f"duty-log entries no input made: {sorted(extra)[:5]}"
    replies = Counter(books["messages"][m]["replies"] for m in inputs.good["messages"])
    assert replies == {
        1: len(inputs.replies),
        0: len(inputs.good["messages"]) - len(inputs.replies),
    }
    return {
        "books": {book: len(books[book]) for book in books},
        "good_inputs_in_books": sum(map(len, inputs.good.values())) + len(inputs.replies),
    }


def _check_dead_letters(broker: Broker, inputs: Inputs) -> dict[str, Any]:
    """Every bad input on the dead-letter topic, with a reason; one letter id per input."""
    found: dict[str, set[str]] = {source: set() for source in SOURCES}
    ids: dict[str, set[str]] = {}
    reasons: Counter[str] = Counter()
    for record in read_topic(broker, DEADLETTER, timeout=120):
        letter = DeadLetter.from_value(record.value)
        text = letter.raw_bytes().decode("utf-8", "replace")
        markers = [m for m in _markers(text) if m in inputs.bad.get(letter.connector, set())]
        for marker in markers:
            found[letter.connector].add(marker)
            ids.setdefault(marker, set()).add(letter.id)
            reasons[f"{letter.connector}:{letter.reason}"] += 1
        assert letter.reason, letter
    for source in SOURCES:
        missing = inputs.bad.get(source, set()) - found[source]
        assert not missing, f"{source}: bad inputs with no dead letter: {sorted(missing)[:5]}"
    doubled = {marker: n for marker, n in ids.items() if len(n) > 1}
    assert not doubled, f"one input, several letter ids: {doubled}"
    shared = len(ids) - len(set().union(*ids.values()))
    assert not shared, f"{shared} bad inputs share a letter id with another"
    return {"inputs": sum(map(len, inputs.bad.values())), "records_by_reason": dict(reasons)}


def _markers(text: str) -> list[str]:
    out, start = [], text.find("BAD-")
    while start >= 0:
        end = start + 4
        while end < len(text) and (text[end].isalnum()):
            end += 1
        out.append(text[start:end])
        start = text.find("BAD-", end)
    return out


def _check_quarantine(broker: Broker, books: dict[str, Any], inputs: Inputs) -> int:
    numbers = {
        json.loads(record.value)["item_id"] for record in read_topic(broker, "office.quarantine.v1")
    }
    assert numbers == inputs.classified
    quarantine_alerts = [a for a in books["alerts"].values() if a.get("kind") == "quarantine"]
    assert len(quarantine_alerts) == len(inputs.classified), quarantine_alerts[:3]
    return len(numbers)


def _sent_again(broker: Broker) -> dict[str, int]:
    """Per intake topic, the records whose event id was already on it: what the kills made the
    connectors send twice, and the books applied once."""
    again = {}
    for name in ("office.intake.fax.v1", "office.intake.telegram.v1", "office.intake.message.v1"):
        ids = Counter(r.headers.get("ce_id") for r in read_topic(broker, name, timeout=120))
        again[name] = sum(n - 1 for n in ids.values())
    return again


def _rebuild(broker: Broker, work: Path) -> dict[str, Any]:
    out = work / "rebuilt.json"
    env = midfield_env(broker, work, **QUIET)
    run_cli(
        [
            "replay",
            "rebuild",
            "--from",
            "beginning",
            "--app-id",
            "soak-rebuild",
            "--output",
            str(out),
        ],
        env,
        cwd=work,
        timeout=900,
    )
    rebuilt: dict[str, Any] = json.loads(out.read_text())
    return rebuilt


def _brief(broker: Broker, work: Path, rebuilt: dict[str, Any]) -> dict[str, Any]:
    """The weekly brief (docs/brief.md) of the busiest week of the soak's messages, from the
    rebuilt books as ``midfield brief`` reads a snapshot: every message of that week counted."""
    weeks = Counter(
        datetime.fromisoformat(m["received_at"]).astimezone(OFFICE_ZONE).strftime("%G-W%V")
        for m in rebuilt["messages"].values()
        if m.get("received_at")
    )
    week, received = weeks.most_common(1)[0]
    out = work / "brief.json"
    started = time.monotonic()
    run_cli(["brief", "--week", week, "--from-snapshot", str(work / "rebuilt.json"),
             "--out", str(out)], midfield_env(broker, work, **QUIET), cwd=work,
            timeout=600)  # fmt: skip
    made = json.loads(out.read_text(encoding="utf-8"))
    assert made["week"] == week and made["totals"]["messages"] == received, made["totals"]
    assert made["focus"], "the soak's overdue faxes are in no 重点 of the brief"
    return {"week": week, "messages": received, "hotspots": len(made["hotspots"]),
            "focus": len(made["focus"]), "highlights": len(made["highlights"]),
            "seconds": round(time.monotonic() - started, 1)}  # fmt: skip


def _differing(rebuilt: dict[str, Any], live: dict[str, Any], most: int = 5) -> list[str]:
    """The first entities that differ, each as ``book/key: rebuilt != live``."""
    out = []
    for name in sorted(rebuilt.keys() | live.keys()):
        ours, theirs = rebuilt.get(name, {}), live.get(name, {})
        for key in sorted(ours.keys() | theirs.keys()):
            if ours.get(key) != theirs.get(key):
                out.append(f"{name}/{key}: {ours.get(key)} != {theirs.get(key)}")
    return out[:most] + ([f"… {len(out) - most} more"] if len(out) > most else [])


def _where(broker: Broker, missing: dict[str, Any]) -> dict[str, Any]:
    """Where the missing inputs are on the broker (topic[partition]@offset, changelogs among
    them) and the worker group's committed offsets of those partitions: lost by an intake (on no
    intake topic), by the worker (read and committed, in no changelog), or still on its way."""
    keys = [str(k) for shown in missing.values() if isinstance(shown, list) for k in shown[1:]]
    admin = KafkaAdminClient(**client_config(broker.kafka_settings()))
    try:
        topics = sorted(admin.list_topics())
        committed = admin.list_group_offsets("midfield").get("midfield", {})
    finally:
        admin.close()
    found: dict[str, Any] = {key: [] for key in keys}
    for name in topics:
        for record in read_topic(broker, name, timeout=120):
            for key in keys:
                blob = (record.key or b"") + b" " + (record.value or b"")
                if re.search(re.escape(key.encode()) + rb"(?![0-9])", blob):
                    done = committed.get(TopicPartition(name, record.partition))
                    found[key].append(
                        f"{name}[{record.partition}]@{record.offset}"
                        f" {datetime.fromtimestamp(record.timestamp / 1000, UTC):%H:%M:%S.%f}"
                        f" {record.headers.get('ce_type', b'').decode()[-30:]}"
                        + (f" (group committed {done.offset})" if done else "")
                    )
    return found


def _leaks(broker: Broker, work: Path, rejected: Path, answers: list[str], secret: str) -> list:
    """Where the classified telegrams' secret is found (it is in every field of their sheets):
    any record of any topic (key, value, headers: quarantine records, alerts and dead letters
    among them), any file outside ``rejected/`` (every process's log, the offset stores, the
    worker's data, the document store) and any HTTP answer. Those places must exist: a check
    that looked nowhere would pass."""
    needle = secret.encode()
    found: list[str] = []
    admin = KafkaAdminClient(**client_config(broker.kafka_settings()))
    try:
        topics = sorted(admin.list_topics())
    finally:
        admin.close()
    assert {DEADLETTER, "office.quarantine.v1", "office.alerts.v1"} <= set(topics), topics
    for name in topics:
        for record in read_topic(broker, name, timeout=120):
            blobs = [record.key or b"", record.value or b"", *record.headers.values()]
            if any(needle in blob for blob in blobs if blob):
                found.append(f"topic {name}")
                break
    logs = [p.name for p in work.glob("*.log")]
    assert {name.split("-")[0] for name in logs} >= {"worker", "telegram"}, logs
    for path in work.rglob("*"):
        if path.is_file() and rejected not in path.parents and needle in path.read_bytes():
            found.append(str(path.relative_to(work)))
    found += [f"HTTP answer {n}" for n, text in enumerate(answers) if secret in text]
    return found
