"""The telegram drop directory through a real ``midfield connect telegram`` on a real broker:
accepted, withheld and rejected sheets — and a classified telegram's title, body and PDF bytes
found nowhere but in ``rejected/``: not on any topic, in any log, state or store file."""

from __future__ import annotations

import hashlib
import json
import os
import signal
from pathlib import Path

import pytest

from schemas.catalog import concrete
from tests.harness import Broker, dead_letters, midfield_env, read_topic, run_cli
from tests.samples import TELEGRAM_SHEET as SHEET


def _drop(
    directory: Path, name: str, sheet: dict | bytes, pdf: bytes | None = b"%PDF-1.4 x"
) -> None:
    if pdf is not None:
        (directory / f"{name}.pdf").write_bytes(pdf)
    raw = sheet if isinstance(sheet, bytes) else json.dumps(sheet, ensure_ascii=False).encode()
    (directory / f"{name}.json").write_bytes(raw)


def _digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def drop(workdir: Path, unique: str) -> tuple[Path, dict[str, str]]:
    """A drop directory with one telegram of each kind; answers the secrets to look for."""
    directory = workdir / "drop"
    directory.mkdir()
    secrets = {  # one in every free-text field of the sheet (issue 18), and in the PDF
        "number": f"SECRET-NUMBER-{unique}",
        "issuing_unit": f"县公安局 绝密：12月8日凌晨收网行动 {unique}",
        "addressees": f"SECRET-TO-{unique}",
        "approver": f"SECRET-BY-{unique}",
        "machine_number": f"SECRET-M{unique}",
        "title": f"绝对机密标题{unique}",
        "body": f"正文里的秘密内容{unique}",
        "pdf": f"PDF-SECRET-{unique}",
    }
    _drop(directory, "good", SHEET | {"number": f"×政办明电〔2025〕{unique}号"})
    fields = {k: v for k, v in secrets.items() if k != "pdf"}
    _drop(
        directory,
        "classified",
        SHEET | fields | {"addressees": [secrets["addressees"]], "classification": "机密"},
        pdf=f"%PDF-1.4 {secrets['pdf']}".encode(),
    )
    _drop(directory, "starred", SHEET | {"number": f"S{unique}", "title": "通知（秘密★1年）"})
    _drop(directory, "invalid", SHEET | {"number": f"I{unique}", "grade": "很急"})
    _drop(directory, "nopdf", SHEET | {"number": f"N{unique}"}, pdf=None)
    (workdir / "elsewhere.json").write_text(json.dumps(SHEET | {"number": f"L{unique}"}))
    os.symlink(workdir / "elsewhere.json", directory / "linked.json")
    return directory, secrets


def test_drop_directory_accepts_withholds_and_rejects_and_leaks_nothing(
    catalog_topics: Broker, workdir: Path, unique: str, drop: tuple[Path, dict[str, str]]
) -> None:
    directory, secrets = drop
    env = midfield_env(
        catalog_topics, workdir, MIDFIELD_CONNECT_DOCUMENTS_DIR=str(workdir / "docs")
    )
    result = run_cli(
        ["connect", "telegram", "--dir", str(directory), "--instance", unique, "--once"],
        env,
        cwd=workdir,
    )
    stats = json.loads(result.stdout)
    assert (stats["events"], stats["dead_letters"]) == (1 + 2 * 2, 3)  # good; 2 withheld x2; 3 bad

    [good] = [
        r
        for r in read_topic(catalog_topics, "office.intake.telegram.v1")
        if r.key == f"×政办明电〔2025〕{unique}号".encode()
    ]
    digest = json.loads(good.value)["document"]
    assert (workdir / "docs" / digest[7:9] / digest[7:]).read_bytes() == b"%PDF-1.4 x"
    held = {
        json.loads(r.value)["item_id"]: json.loads(r.value)
        for r in read_topic(catalog_topics, "office.quarantine.v1")
        if r.headers.get("ce_source") == f"midfield://telegram/{unique}".encode()
    }
    by_digest = {h["sheet_digest"]: h for h in held.values()}
    classified = by_digest[_digest(directory / "rejected" / "classified.json")]
    assert classified["rule"] == "declared-classification"
    assert classified["item_id"].startswith("sheet-"), "a number not in the standard form"
    assert by_digest[_digest(directory / "rejected" / "starred.json")]["rule"] == "star-term"
    alerts = [
        json.loads(r.value)
        for r in read_topic(catalog_topics, "office.alerts.v1")
        if r.headers.get("ce_source") == f"midfield://telegram/{unique}".encode()
    ]
    assert sorted(a["about"] for a in alerts) == sorted(held)
    letters = dead_letters(catalog_topics, f"midfield://telegram/{unique}")
    assert sorted(d.reason for d in letters) == ["invalid-sheet", "missing-pdf", "unsafe-name"]

    assert sorted(p.name for p in (directory / "done").iterdir()) == ["good.json", "good.pdf"]
    rejected = sorted(p.name for p in (directory / "rejected").iterdir())
    assert "classified.pdf" in rejected and "classified.json.reason" in rejected
    assert "linked.json" in rejected and (directory / "rejected" / "linked.json").is_symlink()
    assert not [p for p in directory.iterdir() if p.is_file()], "the drop directory is emptied"

    # the leak check: every topic, the connector's output, every file outside rejected/
    for secret in secrets.values():
        needle = secret.encode()
        for spec in concrete():
            for record in read_topic(catalog_topics, spec.name):
                assert needle not in record.value, f"{secret!r} on {spec.name}"
                assert all(needle not in v for v in record.headers.values())
        assert needle not in (result.stdout + result.stderr).encode()
        for path in workdir.rglob("*"):
            if path.is_file() and not path.is_symlink() and "rejected" not in path.parts:
                assert needle not in path.read_bytes(), f"{secret!r} in {path}"


def test_connector_killed_between_produce_and_commit_registers_each_telegram_once(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    directory = workdir / "drop"
    directory.mkdir()
    numbers = [f"×政办明电〔2025〕{unique}-{n}号" for n in range(5)]
    for n, number in enumerate(numbers):
        _drop(directory, f"t{n}", SHEET | {"number": number})
    _drop(directory, "secret", SHEET | {"number": f"Q{unique}", "classification": "秘密"})
    env = midfield_env(
        catalog_topics,
        workdir,
        MIDFIELD_CONNECT_BATCH_SIZE="2",
        MIDFIELD_CONNECT_DOCUMENTS_DIR=str(workdir / "docs"),
    )
    args = ["connect", "telegram", "--dir", str(directory), "--instance", unique, "--once"]

    crashed = run_cli(
        args, env | {"MIDFIELD_FAULTS": "connector.before-commit=kill@2"}, cwd=workdir, check=False
    )
    assert crashed.returncode == -signal.SIGKILL
    assert (directory / "rejected" / "secret.json").exists(), "withheld at once, crash or not"
    run_cli(args, env, cwd=workdir)

    source = f"midfield://telegram/{unique}".encode()
    telegrams = [
        r
        for r in read_topic(catalog_topics, "office.intake.telegram.v1")
        if r.headers.get("ce_source") == source
    ]
    assert len(telegrams) > len(numbers)  # some were sent twice: the crash came before commit
    assert sorted({r.key.decode() for r in telegrams}) == sorted(numbers)
    assert len({r.headers["ce_id"] for r in telegrams}) == len(numbers)
    held = [
        r
        for r in read_topic(catalog_topics, "office.quarantine.v1")
        if r.headers.get("ce_source") == source
    ]
    assert len({r.headers["ce_id"] for r in held}) == 1
    assert sorted(p.name for p in (directory / "done").iterdir()) == sorted(
        [f"t{n}.{ext}" for n in range(5) for ext in ("json", "pdf")]
    )
    assert (directory / "rejected" / "secret.json.quarantined").exists()
