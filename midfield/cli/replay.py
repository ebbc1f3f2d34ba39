"""``midfield replay``: archives, re-drive, and the shared pieces of the replay commands."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from midfield.cli.catalog import catalog_of
from midfield.cli.root import cli
from midfield.settings import Settings


# -- replay ------------------------------------------------------------------------------------
@cli.group()
def replay() -> None:
    """Replay tooling: rebuild the books from any point, the books as of a moment, shadow runs
    of new code, dead-letter re-drive and topic archives (docs/replay.md)."""


def progress_bar(label: str) -> Any:
    if sys.stderr.isatty():
        return click.progressbar(length=0, label=label, file=sys.stderr, show_pos=True)
    from contextlib import nullcontext

    return nullcontext(None)


@replay.command("export")
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="Archive directory (created; an existing archive is continued).",
)
@click.option(
    "--topic",
    "topic_names",
    multiple=True,
    help="A topic to export (repeat); default: every topic of the catalog.",
)
def replay_export(out: Path, topic_names: tuple[str, ...]) -> None:
    """Export topics to compressed JSON lines with a manifest and checksums (resumable).

    midfield replay export --out backup/2025-06-30
    """
    from midfield.replay.archive import export_topics

    settings = Settings()
    require_broker(settings)
    names = list(topic_names) or [spec.name for spec in catalog_of(settings)]
    with progress_bar("exporting") as bar:
        report = export_topics(
            settings.kafka,
            names,
            out,
            progress=(lambda n: bar.update(n)) if bar else (lambda n: None),
        )
    click.echo(json.dumps({"records": report.records, "files": report.files, "archive": str(out)}))


@replay.command("import")
@click.option(
    "--from",
    "source",
    type=click.Path(path_type=Path, exists=True),
    required=True,
    help="Archive directory written by `midfield replay export`.",
)
@click.option("--topic", "topic_names", multiple=True, help="Only this topic (repeat).")
def replay_import(source: Path, topic_names: tuple[str, ...]) -> None:
    """Import an archive into the broker: checksums first, each record to its partition with its
    key, headers and timestamp; resumable (import-progress.json). Creates missing topics."""
    from midfield.bus.topics import create_topics
    from midfield.replay.archive import import_archive

    settings = Settings()
    require_broker(settings)
    create_topics(settings.kafka, settings.topics, catalog_of(settings))
    with progress_bar("importing") as bar:
        report = import_archive(
            settings.kafka,
            source,
            topics=list(topic_names) or None,
            progress=(lambda n: bar.update(n)) if bar else (lambda n: None),
        )
    click.echo(json.dumps({"records": report.records, "files": report.files}))


def require_broker(settings: Settings) -> None:
    from midfield.bus.readiness import require_broker

    require_broker(settings.kafka)


def replay_report(label: str) -> Any:
    """Progress on stderr: one line redrawn on a terminal, a line every 5 s otherwise."""
    tty = sys.stderr.isatty()
    last = [0.0]

    def report(progress: Any) -> None:
        if tty:
            click.echo("\r" + progress.line(label) + "   ", err=True, nl=False)
        elif progress.elapsed_s - last[0] >= 5 or progress.done >= progress.total:
            last[0] = progress.elapsed_s
            click.echo(progress.line(label), err=True)

    return report


def serve_books(worker: Any, what: str) -> None:
    click.echo(
        f"{what} answer at {worker.url} (the same queries as a live worker); Ctrl-C stops it",
        err=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the worker is stopped too
    try:
        worker.proc.wait()
    except KeyboardInterrupt:
        click.echo("stopping", err=True)
    finally:
        worker.stop()


def replay_dir(app_id: str) -> Path:
    return (Path(".midfield/replay") / app_id).resolve()


@replay.command("redrive")
@click.option("--reason", default=None, help="Only letters with this reason (dlq.reason).")
@click.option(
    "--source",
    default=None,
    help="Only letters of this connector (fax-log) or source URI (midfield://fax-log/main).",
)
@click.option(
    "--since",
    default=None,
    help="Only letters first seen at or after this ISO time (no offset: the office's zone).",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N letters.")
@click.option(
    "--module",
    default=None,
    help="A module imported first: a parser fix to try before it is released (it may replace "
    "a source's parse).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--dry-run", is_flag=True, help="Parse again and report; produce nothing.")
def replay_redrive(
    reason: str | None,
    source: str | None,
    since: str | None,
    limit: int | None,
    module: str | None,
    as_json: bool,
    dry_run: bool,
) -> None:
    """Parse dead letters again with today's parsers. What parses now goes to its topic with the
    id it would have had (a second re-drive changes nothing); what still fails stays, its
    attempts counted up; a summary by reason. docs/replay.md says which letters are taken.

    \b
    midfield replay redrive --dry-run
    midfield replay redrive --source fax-log --reason bad-field-count
    """
    from midfield.bus.clients import client_config
    from midfield.replay.redrive import Filter, redrive
    from midfield.replay.reparse import reparser
    from midfield.replay.run import parse_time
    from streams.worker.hooks import try_code

    settings = Settings()
    require_broker(settings)
    if module:
        try_code(module, settings)
    chosen = Filter(
        reason=reason,
        source=source,
        since=parse_time(since, settings) if since else None,
        limit=limit,
    )
    with progress_bar("re-driving") as bar:

        def progress(done: int, total: int) -> None:
            if bar is not None:
                bar.length = total
                bar.update(1)

        summary = redrive(
            client_config(settings.kafka),
            reparser(settings),
            chosen,
            dry_run=dry_run,
            progress=progress,
        )
    click.echo(json.dumps(summary.as_json(), indent=1) if as_json else summary.text())
