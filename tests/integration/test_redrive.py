"""``midfield replay redrive`` against the real broker: dead letters of a fax-log connector whose
parser is then fixed (``--module tests.redrive_fax_variant``) become events once, with the ids
the fixed parser gives the same lines; what still fails stays with its attempts counted up, and a
second re-drive adds nothing."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

from connectors.runtime.source import RawRecord
from connectors.sources.fax_log import FaxLogSource
from schemas.catalog import DEADLETTER
from schemas.deadletter import DeadLetter
from tests.harness import Broker, midfield_env, read_topic, run_cli
from tests.redrive_fax_variant import fixed_parse
from tests.samples import fax_line

FAX_TOPIC = "office.intake.fax.v1"
GARBAGE = "03/14/25 09:41\tRECV\tnot a fax record\n"


def _variant(commid: int) -> str:
    """A RECV line as the other fax server writes it: two more, empty, fields (21)."""
    return fax_line(commid).rstrip("\n") + "\t\t\n"


def _letters(broker: Broker, source: str) -> dict[str, DeadLetter]:
    """The latest record of each letter of ``source``."""
    latest: dict[str, DeadLetter] = {}
    for record in read_topic(broker, DEADLETTER):
        letter = DeadLetter.from_value(record.value)
        if letter.source == source:
            latest[letter.id] = letter
    return latest


def _fax_ids(broker: Broker, source: str) -> Counter[str]:
    return Counter(
        r.headers["ce_id"].decode()
        for r in read_topic(broker, FAX_TOPIC)
        if r.headers.get("ce_source") == source.encode()
    )


def _redrive(env: dict[str, str], workdir: Path, *args: str) -> dict[str, object]:
    proc = run_cli(["replay", "redrive", "--json", *args], env, cwd=workdir)
    summary: dict[str, object] = json.loads(proc.stdout)
    return summary


def test_dead_letters_of_a_fixed_parser_become_events_once(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    log = workdir / "xferfaxlog"
    good, variant = [fax_line(n) for n in (1, 2)], [_variant(n) for n in (11, 12, 13)]
    log.write_text("".join([good[0], *variant, GARBAGE, good[1]]))
    env = midfield_env(catalog_topics, workdir)
    source = f"midfield://fax-log/{unique}"
    run_cli(["connect", "fax-log", "--path", str(log), "--instance", unique, "--once"], env,
            cwd=workdir)  # fmt: skip
    letters = _letters(catalog_topics, source)
    assert Counter(x.reason for x in letters.values()) == {"bad-field-count": 4}
    assert len(_fax_ids(catalog_topics, source)) == 2

    only_ours = ("--source", source)
    dry = _redrive(env, workdir, *only_ours, "--module", "tests.redrive_fax_variant", "--dry-run")
    assert (dry["redriven"], dry["failing"], dry["events"]) == (3, 1, 3)
    assert len(_fax_ids(catalog_topics, source)) == 2  # a dry run produces nothing
    assert _letters(catalog_topics, source) == letters

    first = _redrive(env, workdir, *only_ours, "--module", "tests.redrive_fax_variant")
    assert (first["taken"], first["redriven"], first["failing"]) == (4, 3, 1)
    assert first["by_reason"] == {"bad-field-count": {"failing": 1, "redriven": 3}}

    # The ids the fixed parser gives those lines, as if the connector had read them with it.
    fixed = FaxLogSource(path=log, instance=unique, zone=ZoneInfo("Asia/Shanghai"))
    expected = {fixed_parse(fixed, RawRecord(line.encode(), "", {})).id for line in variant}
    ids = _fax_ids(catalog_topics, source)
    assert expected <= set(ids) and len(ids) == 5 and set(ids.values()) == {1}
    after = _letters(catalog_topics, source)
    resolved = [x for x in after.values() if x.resolved == "redriven"]
    assert sorted(i for x in resolved for i in x.redriven_ids) == sorted(expected)
    (still,) = [x for x in after.values() if x.resolved is None]
    assert still.attempts == 2 and still.raw.rstrip("\n") == GARBAGE.rstrip("\n")

    second = _redrive(env, workdir, *only_ours, "--module", "tests.redrive_fax_variant")
    assert (second["taken"], second["redriven"], second["events"]) == (1, 0, 0)
    assert _fax_ids(catalog_topics, source) == ids  # nothing produced twice
    (still,) = [x for x in _letters(catalog_topics, source).values() if x.resolved is None]
    assert still.attempts == 3


def test_redrive_without_a_fix_keeps_the_letter_and_counts_its_attempts(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    log = workdir / "xferfaxlog"
    log.write_text(_variant(21))
    env = midfield_env(catalog_topics, workdir)
    source = f"midfield://fax-log/{unique}"
    run_cli(["connect", "fax-log", "--path", str(log), "--instance", unique, "--once"], env,
            cwd=workdir)  # fmt: skip

    summary = _redrive(env, workdir, "--source", source, "--reason", "bad-field-count")
    assert (summary["taken"], summary["failing"], summary["events"]) == (1, 1, 0)
    (letter,) = _letters(catalog_topics, source).values()
    assert letter.attempts == 2 and letter.reason == "bad-field-count"
    text = run_cli(["replay", "redrive", "--source", source, "--dry-run"], env, cwd=workdir)
    assert "bad-field-count: 1 failing" in text.stdout
