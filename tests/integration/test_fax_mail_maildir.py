"""T.37 fax mails in a Maildir -> events (TIFFs in the document store) and dead letters, through
a real ``midfield connect fax-mail --maildir`` on a real broker; killed between produce and
commit, the faxes still reach the duty log of a real worker once each."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from connectors.runtime.documents import DocumentStore
from schemas.catalog import DEADLETTER
from schemas.deadletter import DeadLetter
from tests.harness import Broker, Record, WorkerProcess, midfield_env, read_topic, run_cli
from tests.mail_samples import bad_mails, deliver, good_mail, make_maildir

FAX_TOPIC = "office.intake.fax.v1"


def _records(broker: Broker, topic: str, source: str) -> list[Record]:
    return [r for r in read_topic(broker, topic) if r.headers.get("ce_source") == source.encode()]


def _connect(maildir: Path, unique: str) -> list[str]:
    return ["connect", "fax-mail", "--maildir", str(maildir), "--instance", unique, "--once"]


def test_maildir_faxes_become_events_with_their_tiffs_stored_and_bad_mails_dead_letters(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    maildir = make_maildir(workdir / "Maildir")
    deliver(maildir, "1741916460.1.gw", good_mail(1, pages=1))
    deliver(maildir, "1741916461.2.gw", good_mail(2, pages=2, subject="传真来自 +86 551 7654321",
                                                  subject_charset="gb2312"))  # fmt: skip
    for n, (reason, raw) in enumerate(sorted(bad_mails().items()), start=3):
        deliver(maildir, f"1741916462.{n}.{reason}", raw)
    documents = workdir / "documents"
    env = midfield_env(catalog_topics, workdir, MIDFIELD_CONNECT_DOCUMENTS_DIR=str(documents))

    stats = json.loads(run_cli(_connect(maildir, unique), env, cwd=workdir).stdout)

    assert (stats["events"], stats["dead_letters"]) == (2, 3)
    source = f"midfield://fax-mail/{unique}"
    events = {r.key: json.loads(r.value) for r in _records(catalog_topics, FAX_TOPIC, source)}
    assert set(events) == {b"fax-1@gw.test", b"fax-2@gw.test"}
    assert [events[k]["pages"] for k in sorted(events)] == [1, 2]
    assert events[b"fax-2@gw.test"]["remote_station"] == "+86 551 7654321"
    store = DocumentStore(documents)
    for event in events.values():
        assert event["document"] in store
        assert len(store.get(event["document"])) == event["size_bytes"]
    letters = [r for r in read_topic(catalog_topics, DEADLETTER) if r.key == source.encode()]
    assert sorted(r.headers["dlq.reason"].decode() for r in letters) == sorted(bad_mails())
    png = next(r for r in letters if r.headers["dlq.reason"] == b"not-tiff")
    assert DeadLetter.from_value(png.value).raw_bytes() == bad_mails()["not-tiff"]
    assert DeadLetter.from_value(png.value).meta["message_id"] == "png@gw.test"
    assert sorted(p.name for p in (maildir / "new").iterdir()) == []
    assert all(p.name.endswith(":2,S") for p in (maildir / "cur").iterdir())

    again = json.loads(run_cli(_connect(maildir, unique), env, cwd=workdir).stdout)
    assert (again["events"], again["dead_letters"]) == (0, 0)
    assert len(_records(catalog_topics, FAX_TOPIC, source)) == 2


def test_connector_killed_between_produce_and_commit_applies_each_fax_once(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    maildir = make_maildir(workdir / "Maildir")
    for n in range(1, 7):
        deliver(maildir, f"174191646{n}.{n}.gw", good_mail(n, pages=n % 2 + 1))
    env = midfield_env(catalog_topics, workdir, MIDFIELD_CONNECT_BATCH_SIZE="2",
                       MIDFIELD_CONNECT_DOCUMENTS_DIR=str(workdir / "documents"))  # fmt: skip

    kill = {"MIDFIELD_FAULTS": "connector.before-commit=kill@2"}
    crashed = run_cli(_connect(maildir, unique), env | kill, cwd=workdir, check=False)
    assert crashed.returncode == -signal.SIGKILL
    [offsets] = (workdir / "state").glob("*.json")
    committed = json.loads(offsets.read_text())["position"]["processed"]
    assert len(committed) == 2  # the first batch; the second was sent, its position never saved
    assert len(list((maildir / "cur").iterdir())) == 2  # only committed mails were moved
    run_cli(_connect(maildir, unique), env, cwd=workdir)

    source = f"midfield://fax-mail/{unique}"
    records = _records(catalog_topics, FAX_TOPIC, source)
    assert len(records) > 6  # the uncommitted batch went out twice ...
    assert len({r.headers["ce_id"] for r in records}) == 6  # ... with the same ids
    worker = WorkerProcess(catalog_topics, workdir, app_id=f"t-{unique}").start()
    try:
        worker.wait_ready()

        def entries() -> list[dict]:
            entries = worker.every("/duty-log?date=2025-03-14", "entries")
            return [e for e in entries if e["source"] == source]

        deadline = time.monotonic() + 30
        while len(entries()) < 6 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # let any re-sent copy still in flight on another partition land
        found = entries()
        assert len(found) == 6
        assert sorted(e["subject"] for e in found) == [f"fax-{n}@gw.test" for n in range(1, 7)]
        assert all(e["document"].startswith("sha256:") for e in found)
    finally:
        worker.stop()


def test_missing_maildir_is_a_clear_error(catalog_topics: Broker, workdir: Path) -> None:
    result = run_cli(_connect(workdir / "nope", "missing"), midfield_env(catalog_topics, workdir),
                     cwd=workdir, check=False)  # fmt: skip
    assert result.returncode == 1
    assert "error [input-missing]" in result.stderr
