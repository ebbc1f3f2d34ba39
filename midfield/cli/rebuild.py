"""``midfield replay rebuild``, ``as-of`` and ``shadow``: books made again from the log."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from midfield.cli.replay import replay, replay_dir, replay_report, require_broker, serve_books
from midfield.settings import Settings


def _books_options(
    *, app_id: str, output: str, serve: str, dry_run: str
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The options of a command that builds books under a new application id (``rebuild``,
    ``as-of``): the same names and types, each command's own help."""
    options = (
        click.option("--app-id", default=None, help=app_id),
        click.option("--output", type=click.Path(path_type=Path), default=None, help=output),
        click.option("--serve", is_flag=True, help=serve),
        click.option("--dry-run", is_flag=True, help=dry_run),
    )

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _new_app_id(settings: Settings, what: str) -> str:
    """``<live app id>-<what>-<UTC time>``: the default id of the books a command builds."""
    from datetime import UTC, datetime

    return f"{settings.worker.app_id}-{what}-{datetime.now(UTC):%Y%m%d%H%M%S}"


@replay.command("rebuild")
@click.option(
    "--from",
    "start",
    default="beginning",
    show_default=True,
    help="'beginning', an ISO time (2025-03-01T09:00; no offset: the office's zone) or "
    "an offsets file (JSON {topic: {partition: offset}}).",
)
@_books_options(
    app_id="The new books' application id (default: <live app id>-rebuild-<UTC time>).",
    output="Also write the rebuilt books (one JSON snapshot) to this file.",
    serve="Keep answering queries from the new books.",
    dry_run="Print the plan (offsets, events) and stop.",
)
def replay_rebuild(
    start: str, app_id: str | None, output: Path | None, serve: bool, dry_run: bool
) -> None:
    """Rebuild the books from a point: the processors run again, read-only, under a fresh
    application id into new tables. When caught up it prints how to make them the live books.

    \b
    midfield replay rebuild --from beginning
    midfield replay rebuild --from 2025-03-01T00:00 --output books.json
    """
    from midfield.replay.commands import rebuild
    from midfield.replay.run import plan

    settings = Settings()
    require_broker(settings)
    app_id = app_id or _new_app_id(settings, "rebuild")
    if dry_run:
        click.echo(json.dumps(plan(settings, app_id, start=start).as_json(), indent=2))
        return
    outcome = rebuild(
        settings,
        app_id,
        replay_dir(app_id),
        start=start,
        report=replay_report("rebuild"),
        serve=serve,
    )
    click.echo("", err=True)
    if output is not None:
        output.write_text(json.dumps(outcome.books, ensure_ascii=False, indent=1))
    click.echo(json.dumps(outcome.summary()))
    click.echo(
        f"to make these the live books, restart the workers with MIDFIELD_WORKER_APP_ID={app_id}",
        err=True,
    )
    if serve:
        serve_books(outcome.worker, "the rebuilt books")


@replay.command("as-of")
@click.argument("at")
@_books_options(
    app_id="Application id of the books built (default: <live app id>-asof-<UTC time>).",
    output="Write the books to this file: .json (a snapshot) or .xlsx (the ledger).",
    serve="Keep answering queries from those books.",
    dry_run="Print the plan (stop offsets, events) and stop.",
)
def replay_as_of(
    at: str, app_id: str | None, output: Path | None, serve: bool, dry_run: bool
) -> None:
    """The books as they stood at AT (an ISO time): every record produced before it, replayed
    into new tables, lights as at AT. Prints the snapshot unless --output names a file.

    \b
    midfield replay as-of 2025-03-01T17:00 --output ledger-0301.xlsx
    """
    from midfield.replay.commands import as_of
    from midfield.replay.run import parse_time, plan

    settings = Settings()
    require_broker(settings)
    when = parse_time(at, settings)
    app_id = app_id or _new_app_id(settings, "asof")
    if dry_run:
        click.echo(json.dumps(plan(settings, app_id, stop_at=when).as_json(), indent=2))
        return
    outcome = as_of(
        settings, app_id, replay_dir(app_id), when, report=replay_report("as-of"), serve=serve
    )
    click.echo("", err=True)
    if output is None:
        click.echo(json.dumps(outcome.books, ensure_ascii=False, indent=1))
    elif output.suffix == ".xlsx":
        from midfield.departments import load_directory
        from streams.views.ledger_sheet import workbook

        names = {c: d.name for c, d in load_directory(settings.departments).departments.items()}
        tasks = list(outcome.books["ledger"].values())
        output.write_bytes(workbook(tasks, when, settings.supervision, settings.office.zone, names))
    else:
        output.write_text(json.dumps(outcome.books, ensure_ascii=False, indent=1))
    click.echo(json.dumps(outcome.summary()), err=output is None)
    if serve:
        serve_books(outcome.worker, f"the books as of {when.isoformat()}")


@replay.command("shadow")
@click.option("--app-id", required=True, help="The shadow's application id (a fresh one).")
@click.option(
    "--module",
    default=None,
    help="New processor code: a module imported by the shadow worker first "
    "(it may replace functions of the streams package; configure(settings) is called "
    "when it defines one).",
)
@click.option(
    "--live-app-id",
    default=None,
    help="The live books to compare with (default MIDFIELD_WORKER_APP_ID).",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the difference as JSON to this file.",
)
@click.option(
    "--cases",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="First run these processor cases (YAML: input events -> expected books, e.g. "
    "tests/cases) with the new code on a private embedded broker, and report the cases it "
    "changes.",
)
@click.option(
    "--cases-only", is_flag=True, help="Run the cases only; no comparison with the live books."
)
def replay_shadow(
    app_id: str,
    module: str | None,
    live_app_id: str | None,
    json_out: Path | None,
    cases: Path | None,
    cases_only: bool,
) -> None:
    """Run a second copy of the processors (new code, same input, side effects off) into its own
    tables and report how its books differ from the live ones, entity by entity. Exit status 0
    when they are equal (and every case passes), 3 when they differ.

    \b
    midfield replay shadow --app-id try-yellow-5d --module mychange
    midfield replay shadow --app-id try-1 --module mychange --cases tests/cases --cases-only
    """
    from midfield.replay.commands import shadow

    settings = Settings()
    if cases_only and cases is None:
        raise click.UsageError("--cases-only needs --cases DIR")
    cases_pass = True
    if cases is not None:
        from midfield.replay.cases import load_cases, run_cases

        results = run_cases(
            load_cases(cases),
            settings,
            replay_dir(app_id) / "cases",
            module=module,
            report=replay_report("cases"),
        )
        click.echo("", err=True)
        for result in results:
            click.echo(result.line())
        cases_pass = all(r.passed for r in results)
        click.echo(f"cases: {sum(r.passed for r in results)} of {len(results)} as expected")
        if cases_only:
            sys.exit(0 if cases_pass else 3)
    require_broker(settings)
    outcome = shadow(
        settings,
        app_id,
        replay_dir(app_id),
        live_app_id=live_app_id,
        module=module,
        report=replay_report("shadow"),
    )
    click.echo("", err=True)
    assert outcome.diff is not None
    if json_out is not None:
        json_out.write_text(json.dumps(outcome.diff.as_json(), ensure_ascii=False, indent=1))
    click.echo(outcome.diff.text())
    click.echo(json.dumps(outcome.summary()), err=True)
    sys.exit(0 if outcome.diff.equal and cases_pass else 3)
