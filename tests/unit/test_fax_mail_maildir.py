"""The fax-mail source's Maildir reader, on real Maildirs in tmp_path: what it reads, the
position it gives, and that it moves a mail to cur/ (seen) only once its position is committed;
and the source storing a mail's TIFFs before handing the record on."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from structlog.testing import capture_logs

from connectors.runtime.documents import DocumentStore, digest_of
from connectors.runtime.source import RawRecord, ReadOnceOptions
from connectors.sources import SOURCES
from connectors.sources.fax_mail import FaxMailSource
from connectors.sources.mail_readers import FolderMail
from connectors.sources.maildir_folder import MaildirFolder
from midfield.cli import cli
from midfield.demo.fax_samples import png_image
from midfield.errors import StoreError
from schemas.envelope import Envelope
from tests.mail_samples import bad_mails, deliver, good_mail, make_maildir, tiff


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    return make_maildir(tmp_path / "Maildir")


def folder(path: Path, max_bytes: int = 1 << 20) -> MaildirFolder:
    return MaildirFolder(path, poll_interval_s=0.01, max_bytes=max_bytes)


def read_all(reader: MaildirFolder, position: dict | None = None) -> list[FolderMail]:
    return [m for m in reader.read(position, follow=False) if m is not None]


def names(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_fax_mail_is_a_folder_source_with_once() -> None:
    assert issubclass(SOURCES["fax-mail"].options, ReadOnceOptions)


def test_mails_in_new_and_cur_are_read_once_in_key_order(maildir: Path) -> None:
    deliver(maildir, "1700000002.b.gw", b"B")
    deliver(maildir, "1700000001.a.gw", b"A")
    deliver(maildir, "1700000003.c.gw", b"C", sub="cur", info=":2,F")
    mails = read_all(folder(maildir))
    assert [m.raw for m in mails] == [b"A", b"B", b"C"]
    assert [m.origin["maildir_key"] for m in mails] == [
        "1700000001.a.gw",
        "1700000002.b.gw",
        "1700000003.c.gw",
    ]
    assert mails[-1].resume == {"processed": [m.origin["maildir_key"] for m in mails]}


def test_reading_again_from_the_last_position_finds_only_new_mail(maildir: Path) -> None:
    deliver(maildir, "1.a", b"A")
    [first] = read_all(folder(maildir))
    deliver(maildir, "2.b", b"B")
    assert [m.raw for m in read_all(folder(maildir), first.resume)] == [b"B"]


def test_mail_moves_to_cur_as_seen_only_when_its_position_is_committed(maildir: Path) -> None:
    deliver(maildir, "1.a", b"A")
    deliver(maildir, "2.b", b"B")
    reader = folder(maildir)
    first, _second = read_all(reader)
    assert names(maildir / "new") == ["1.a", "2.b"]  # read, not yet on the bus
    reader.committed(first.resume)
    assert names(maildir / "new") == ["2.b"]
    assert names(maildir / "cur") == ["1.a:2,S"]


def test_committed_mails_a_crash_left_in_new_are_moved_at_the_next_start(maildir: Path) -> None:
    deliver(maildir, "1.a", b"A")
    [mail] = read_all(folder(maildir))  # "killed" after the commit, before the move
    assert read_all(folder(maildir), mail.resume) == []
    assert names(maildir / "cur") == ["1.a:2,S"]


def test_marking_seen_keeps_the_other_flags(maildir: Path) -> None:
    deliver(maildir, "1.a", b"A", sub="cur", info=":2,F")
    reader = folder(maildir)
    [mail] = read_all(reader)
    reader.committed(mail.resume)
    assert names(maildir / "cur") == ["1.a:2,FS"]


def test_deleted_mails_leave_the_position(maildir: Path) -> None:
    deliver(maildir, "1.a", b"A")
    [mail] = read_all(folder(maildir))
    (maildir / "new" / "1.a").unlink()
    deliver(maildir, "2.b", b"B")
    [later] = read_all(folder(maildir), mail.resume)
    assert later.resume == {"processed": ["2.b"]}


def test_a_mail_over_the_limit_is_read_only_up_to_it(maildir: Path) -> None:
    deliver(maildir, "1.a", b"x" * 100)
    [mail] = read_all(folder(maildir, max_bytes=10))
    assert (mail.raw, mail.too_large) == (b"x" * 10, True)


def test_a_directory_that_is_not_a_maildir_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        read_all(folder(tmp_path / "nowhere"))
    assert caught.value.reason == "input-missing"


def test_following_yields_none_when_idle_then_a_new_mail(maildir: Path) -> None:
    reading = folder(maildir).read(None, follow=True)
    assert next(reading) is None
    deliver(maildir, "1.a", b"A")
    mail = next(m for m in reading if m is not None)
    reading.close()
    assert mail.raw == b"A"


def test_source_stores_the_tiffs_before_the_record_and_nothing_of_a_dead_letter(
    maildir: Path, tmp_path: Path
) -> None:
    deliver(maildir, "1.good", good_mail(1, pages=2))
    deliver(maildir, "2.png", bad_mails()["not-tiff"])
    documents = DocumentStore(tmp_path / "documents")
    source = FaxMailSource(folder=folder(maildir), documents=documents, instance="t",
                           zone=ZoneInfo("Asia/Shanghai"))  # fmt: skip
    records: list[RawRecord] = []
    for record in source.read(None, follow=False):
        assert record is not None
        if not records:  # the first one's TIFF is stored before it is handed on
            assert digest_of(tiff(2)) in documents
        records.append(record)
    assert [r.where for r in records] == ["mail fax-1@gw.test", "mail png@gw.test"]
    assert records[1].meta["maildir_key"] == "2.png"
    event = source.parse(records[0])
    assert isinstance(event, Envelope)
    assert digest_of(png_image()) not in documents
    assert sorted(p.name for p in (tmp_path / "documents").rglob("*") if p.is_file()) == [
        digest_of(tiff(2)).removeprefix("sha256:")
    ]


def test_committed_position_in_follow_mode_moves_mails_while_reading(maildir: Path) -> None:
    """The runtime calls ``committed`` between two records; the reader keeps going."""
    deliver(maildir, "1.a", b"A")
    reader = folder(maildir)
    reading = reader.read(None, follow=True)
    first = next(reading)
    assert first is not None
    reader.committed(first.resume)
    deliver(maildir, "2.b", b"B")
    second = next(m for m in reading if m is not None)
    reading.close()
    assert second.raw == b"B"
    assert names(maildir / "cur") == ["1.a:2,S"]


def test_maildir_and_imap_together_or_neither_is_a_usage_error(tmp_path: Path) -> None:
    runner = CliRunner()
    neither = runner.invoke(cli, ["connect", "fax-mail", "--once"])
    both = runner.invoke(cli, ["connect", "fax-mail", "--maildir", str(tmp_path),
                               "--imap", "imap://fax@127.0.0.1/INBOX"])  # fmt: skip
    for result in (neither, both):
        assert result.exit_code == 2
        assert "--maildir DIR or --imap URL" in result.output


def test_a_symlink_in_new_is_never_read_and_is_said_once(maildir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.eml"
    outside.write_bytes(good_mail(7) + b"SECRET-OUTSIDE")
    (maildir / "new" / "1700000000.linked").symlink_to(outside)
    deliver(maildir, "1700000001.ok", good_mail(1))
    reader = folder(maildir)
    with capture_logs() as logs:
        mails = read_all(reader) + read_all(reader)
    assert all(b"SECRET-OUTSIDE" not in m.raw for m in mails) and mails
    said = [e for e in logs if e["event"] == "maildir entry skipped: not a regular file"]
    assert [e["entry"] for e in said] == ["new/1700000000.linked"]
    assert (maildir / "new" / "1700000000.linked").is_symlink()  # left where it is
