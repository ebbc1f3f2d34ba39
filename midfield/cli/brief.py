"""``midfield brief``: the weekly brief (每周简报) from a snapshot of the books, offline.

A snapshot is what ``midfield replay rebuild --output`` or ``replay as-of --output`` writes
(streams/books/snapshot.py): the brief needs no broker and no worker, so it can be built from
any history a replay can make, the soak's included (docs/brief.md).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from midfield.cli.root import cli
from midfield.errors import ConfigError
from midfield.settings import Settings


@cli.command("brief")
@click.option("--week", default=None, help="The ISO week, YYYY-Www (default: this week).")
@click.option(
    "--from-snapshot",
    "snapshot",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    required=True,
    help="The books as JSON, as `midfield replay rebuild --output` writes them.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to write the brief: .docx (the office document) or .json.",
)
@click.option(
    "--now",
    default=None,
    help="ISO time the brief is judged at (no offset: office time); default: now, "
    "or the week's end if that came first.",
)
def brief(week: str | None, snapshot: Path, out: Path, now: str | None) -> None:
    """Build the week's brief (热点, 重点, 亮点) from a snapshot of the books.

    \b
    midfield replay rebuild --from beginning --output books.json
    midfield brief --week 2026-W49 --from-snapshot books.json --out brief.docx
    """
    from midfield.departments import load_directory
    from streams.brief.assemble import READS, build
    from streams.brief.document import docx_bytes
    from streams.brief.week import Week

    if out.suffix not in (".docx", ".json"):
        raise click.UsageError("--out must name a .docx or a .json file")
    settings = Settings()
    zone = settings.office.zone
    try:
        moment = datetime.fromisoformat(now) if now else datetime.now(zone)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=zone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--now") from None
    try:
        chosen = Week.parse(week, zone) if week else Week.of(moment, zone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None
    try:
        books = json.loads(snapshot.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"{snapshot} is no snapshot of the books: {exc}", reason="bad-snapshot"
        ) from None
    if not isinstance(books, dict):
        raise ConfigError(f"{snapshot} is no snapshot of the books", reason="bad-snapshot")
    entities = {
        name: [e for e in (books.get(name) or {}).values() if isinstance(e, dict)] for name in READS
    }
    directory = load_directory(settings.departments)
    made = build(entities, chosen, moment, settings, directory.name_of)
    if out.suffix == ".docx":
        out.write_bytes(docx_bytes(made))
    else:
        out.write_text(made.model_dump_json(indent=1), encoding="utf-8")
    click.echo(
        json.dumps(
            {
                "week": made.week,
                "out": str(out),
                "hotspots": len(made.hotspots),
                "focus": len(made.focus),
                "highlights": len(made.highlights),
            }
        )
    )
