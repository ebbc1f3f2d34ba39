"""T.37 fax mails in an IMAP folder of a real Dovecot on 127.0.0.1 (tests/dovecot.py) -> events
and dead letters through a real ``midfield connect fax-mail --imap`` on a real broker: by UID,
\\Seen only after the commit, a re-created folder (new UIDVALIDITY) read again without a second
event id, implicit TLS verified against the server's certificate, and following new mail."""

from __future__ import annotations

import json
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from midfield.broker import free_port
from schemas.catalog import DEADLETTER
from tests.dovecot import PASSWORD, Dovecot, dovecot_binary
from tests.harness import Broker, Record, midfield_env, read_topic, run_cli, spawn_cli, wait_for
from tests.mail_samples import bad_mails, good_mail

FAX_TOPIC = "office.intake.fax.v1"


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    binary = dovecot_binary()
    if binary is None:
        pytest.skip("Dovecot is not installed (dovecot-imapd): run .ci/system-deps as root")
    server = Dovecot.start(binary, tmp_path_factory.mktemp("dovecot"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def env(catalog_topics: Broker, workdir: Path) -> dict[str, str]:
    return midfield_env(catalog_topics, workdir, MIDFIELD_CONNECT_IMAP_PASSWORD=PASSWORD,
                        MIDFIELD_CONNECT_DOCUMENTS_DIR=str(workdir / "documents"))  # fmt: skip


def _records(broker: Broker, topic: str, source: str) -> list[Record]:
    return [r for r in read_topic(broker, topic) if r.headers.get("ce_source") == source.encode()]


def _once(url: str, unique: str, *extra: str) -> list[str]:
    return ["connect", "fax-mail", "--imap", url, "--instance", unique, "--once", *extra]


def test_imap_faxes_become_events_bad_mails_dead_letters_and_all_are_seen_after(
    catalog_topics: Broker, dovecot: Dovecot, env: dict[str, str], workdir: Path, unique: str
) -> None:
    user = f"fax-{unique}"
    good = [good_mail(1, pages=1), good_mail(2, pages=2, subject="传真来自 +86 551 7654321",
                                              subject_charset="gb2312")]  # fmt: skip
    dovecot.append(user, "INBOX", *good, *bad_mails().values())
    url = dovecot.url(user, "INBOX")

    stats = json.loads(run_cli(_once(url, unique), env, cwd=workdir).stdout)

    assert (stats["events"], stats["dead_letters"]) == (2, 3)
    source = f"midfield://fax-mail/{unique}"
    events = {r.key: json.loads(r.value) for r in _records(catalog_topics, FAX_TOPIC, source)}
    assert {k: e["pages"] for k, e in events.items()} == {b"fax-1@gw.test": 1, b"fax-2@gw.test": 2}
    assert events[b"fax-2@gw.test"]["remote_station"] == "+86 551 7654321"
    for event in events.values():
        digest = event["document"].removeprefix("sha256:")
        assert (workdir / "documents" / digest[:2] / digest).stat().st_size == event["size_bytes"]
    letters = [r for r in read_topic(catalog_topics, DEADLETTER) if r.key == source.encode()]
    assert Counter(r.headers["dlq.reason"].decode() for r in letters) == Counter(bad_mails().keys())
    assert all("\\Seen" in flags for flags in dovecot.flags(user, "INBOX").values())
    [offsets] = (workdir / "state").glob("*.json")
    position = json.loads(offsets.read_text())["position"]
    assert position == {"uidvalidity": dovecot.uidvalidity(user, "INBOX"), "last_uid": 5}

    again = json.loads(run_cli(_once(url, unique), env, cwd=workdir).stdout)
    assert (again["read"], again["events"]) == (0, 0)


def test_uidvalidity_change_reads_the_folder_again_without_a_second_event_id(
    catalog_topics: Broker, dovecot: Dovecot, env: dict[str, str], workdir: Path, unique: str
) -> None:
    user = f"fax-{unique}"
    dovecot.create(user, "Fax")
    dovecot.append(user, "Fax", good_mail(1), good_mail(2), good_mail(3))
    url = dovecot.url(user, "Fax")
    run_cli(_once(url, unique), env, cwd=workdir)
    before = dovecot.uidvalidity(user, "Fax")

    dovecot.recreate(user, "Fax")  # UIDs start over: the new fax gets UID 1, below last_uid 3
    dovecot.append(user, "Fax", good_mail(4), good_mail(2))
    assert dovecot.uidvalidity(user, "Fax") != before
    stats = json.loads(run_cli(_once(url, unique), env, cwd=workdir).stdout)

    assert stats["events"] == 2  # the folder was read again, from UID 1
    records = _records(catalog_topics, FAX_TOPIC, f"midfield://fax-mail/{unique}")
    assert len(records) == 5  # fax 2 went out twice ...
    ids = {r.key: r.headers["ce_id"] for r in records}
    assert len(set(ids.values())) == len(ids) == 4  # ... with the same id: 4 faxes, 4 ids
    assert sorted(ids) == [f"fax-{n}@gw.test".encode() for n in range(1, 5)]


def test_killed_before_the_commit_nothing_is_seen_and_the_rerun_sends_each_id_once_more(
    catalog_topics: Broker, dovecot: Dovecot, env: dict[str, str], workdir: Path, unique: str
) -> None:
    user = f"fax-{unique}"
    dovecot.append(user, "INBOX", *(good_mail(n) for n in range(1, 5)))
    url = dovecot.url(user, "INBOX")
    kill = {"MIDFIELD_FAULTS": "connector.before-commit=kill@1", "MIDFIELD_CONNECT_BATCH_SIZE": "2"}

    crashed = run_cli(_once(url, unique), env | kill, cwd=workdir, check=False)
    assert crashed.returncode == -signal.SIGKILL
    assert not any("\\Seen" in f for f in dovecot.flags(user, "INBOX").values())  # no commit yet
    run_cli(_once(url, unique), env, cwd=workdir)

    records = _records(catalog_topics, FAX_TOPIC, f"midfield://fax-mail/{unique}")
    assert len(records) > 4  # what the killed run had sent went out again ...
    assert len({r.headers["ce_id"] for r in records}) == 4  # ... under the same ids
    assert all("\\Seen" in f for f in dovecot.flags(user, "INBOX").values())


def test_imaps_verifies_the_server_against_the_given_certificate(
    catalog_topics: Broker, dovecot: Dovecot, env: dict[str, str], workdir: Path, unique: str
) -> None:
    user = f"fax-{unique}"
    dovecot.append(user, "INBOX", good_mail(1))
    url = dovecot.url(user, "INBOX", tls=True)

    untrusted = run_cli(_once(url, unique), env, cwd=workdir, check=False)
    assert untrusted.returncode == 1
    assert "error [imap-tls]" in untrusted.stderr
    trusted = run_cli(_once(url, unique, "--imap-ca-file", str(dovecot.cert)), env, cwd=workdir)

    assert json.loads(trusted.stdout)["events"] == 1


def test_following_the_folder_picks_up_new_mail(
    catalog_topics: Broker, dovecot: Dovecot, env: dict[str, str], workdir: Path, unique: str
) -> None:
    user = f"fax-{unique}"
    dovecot.append(user, "INBOX", good_mail(1))
    source = f"midfield://fax-mail/{unique}"
    args = ["connect", "fax-mail", "--imap", dovecot.url(user, "INBOX"), "--instance", unique]
    connector = spawn_cli(args, env, cwd=workdir)
    try:
        wait_for(lambda: len(_records(catalog_topics, FAX_TOPIC, source)) == 1, timeout=30,
                 what="the first fax")  # fmt: skip
        dovecot.append(user, "INBOX", good_mail(2, pages=2))
        wait_for(lambda: len(_records(catalog_topics, FAX_TOPIC, source)) == 2, timeout=30,
                 what="the fax that came while following")  # fmt: skip
    finally:
        connector.send_signal(signal.SIGTERM)
        out, _ = connector.communicate(timeout=30)
    assert connector.returncode == 0
    assert json.loads(out)["events"] == 2


def test_a_refused_login_is_a_clear_error(
    catalog_topics: Broker, dovecot: Dovecot, env: dict[str, str], workdir: Path, unique: str
) -> None:
    wrong = env | {"MIDFIELD_CONNECT_IMAP_PASSWORD": "not-the-password"}
    result = run_cli(_once(dovecot.url(f"fax-{unique}", "INBOX"), unique), wrong, cwd=workdir,
                     check=False)  # fmt: skip
    assert result.returncode == 1
    assert "error [imap-login]" in result.stderr
    assert "not-the-password" not in result.stderr + result.stdout


def test_no_server_listening_fails_after_three_attempts_with_once(
    catalog_topics: Broker, env: dict[str, str], workdir: Path
) -> None:
    url = f"imap://fax@127.0.0.1:{free_port()}/INBOX"
    result = run_cli(_once(url, "nobody-home"), env, cwd=workdir, check=False)
    assert result.returncode == 1
    assert "error [input-unreachable]" in result.stderr
