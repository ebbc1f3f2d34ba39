"""``midfield``: the command line, and the only place that wires connectors and streams together.

Errors from the hierarchy in :mod:`midfield.errors` end the command with ``error [reason]:
message`` on stderr and exit status 1; nothing else is caught here.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any, cast, get_args

import click
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from connectors.runtime.metered import Metered
from connectors.sources import SOURCES, HttpSource, Source
from midfield import metrics
from midfield.errors import ConfigError, MidfieldError
from midfield.logging import configure_logging
from midfield.ports import require_free
from midfield.settings import Settings

__all__ = ["main"]

RUN_DIR = click.option(
    "--run-dir",
    type=click.Path(path_type=Path),
    default=Path(".midfield/broker"),
    envvar="MIDFIELD_RUN_DIR",
    show_default=True,
    help="Where the embedded broker keeps its pid, port and log.",
)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MidfieldError as exc:
            click.echo(f"error [{exc.reason}]: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.option("--log-level", default="INFO", envvar="MIDFIELD_LOG_LEVEL", show_default=True)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "console"]),
    default="auto",
    envvar="MIDFIELD_LOG_FORMAT",
    show_default=True,
    help="auto: pretty on a terminal, JSON lines otherwise.",
)
@click.option("--log-client-interval", type=click.FloatRange(min=1), default=60.0,
              envvar="MIDFIELD_LOG_CLIENT_INTERVAL_S", show_default=True,
              help="Kafka client warnings are summarised once per this many seconds.")  # fmt: skip
@click.option("--log-client-burst", type=click.IntRange(min=0), default=5,
              envvar="MIDFIELD_LOG_CLIENT_BURST", show_default=True,
              help="Kafka client warnings that pass per interval before the summary.")  # fmt: skip
def cli(log_level: str, log_format: str, log_client_interval: float, log_client_burst: int) -> None:
    """Midfield: the event bus of a county government general office.

    Sources turn faxes, telegrams and messages into events on Kafka topics; the worker keeps the
    office's books from those events and answers over HTTP. Settings come from MIDFIELD_*
    variables or .env; KAFKA_BOOTSTRAP_SERVERS names the broker.
    """
    configure_logging(log_level, log_format, client_interval_s=log_client_interval,  # type: ignore[arg-type]
                      client_burst=log_client_burst)  # fmt: skip


# -- broker ------------------------------------------------------------------------------------
@cli.group()
def broker() -> None:
    """The embedded broker (Tansu) for laptops and tests; production uses Apache Kafka."""


KIND = click.option(
    "--kind",
    type=click.Choice(["embedded", "kafka"]),
    default="embedded",
    show_default=True,
    help="embedded: Tansu; kafka: Apache Kafka 2.3.0 with ZooKeeper (the test lane's; "
    "installed into ~/.cache/midfield on first use, docs/brokers.md).",
)


@broker.command("start")
@RUN_DIR
@KIND
@click.option("--port", type=int, default=None, help="Loopback port; default: a free one.")
def broker_start(run_dir: Path, kind: str, port: int | None) -> None:
    """Start it in the background and print the variables to use it:

    eval "$(midfield broker start)"
    """
    if kind == "kafka":
        from midfield.apache_kafka import ApacheKafka

        kafka = ApacheKafka(run_dir).start()
        click.echo(f"export KAFKA_BOOTSTRAP_SERVERS={kafka.bootstrap}")
        click.echo("export MIDFIELD_KAFKA_PROFILE=kafka")
        pids = f"Apache Kafka pid {kafka.broker_pid}, ZooKeeper pid {kafka.zookeeper_pid}"
        click.echo(f"# {pids}, logs in {run_dir}; midfield broker stop --kind kafka", err=True)
        return
    from midfield.broker import EmbeddedBroker

    status = EmbeddedBroker(run_dir).start(port=port)
    # `export KEY=VALUE`: `eval` exports them to the commands that follow (a bare assignment
    # would stay a shell variable), and dotenv parsers accept the prefix too.
    click.echo(f"export KAFKA_BOOTSTRAP_SERVERS={status.bootstrap}")
    click.echo("export MIDFIELD_KAFKA_PROFILE=embedded")
    click.echo(f"# pid {status.pid}, log {status.log}; stop with: midfield broker stop", err=True)


@broker.command("stop")
@RUN_DIR
@KIND
def broker_stop(run_dir: Path, kind: str) -> None:
    """Stop the broker started from this run directory."""
    from midfield.apache_kafka import ApacheKafka
    from midfield.broker import EmbeddedBroker

    stopped = ApacheKafka(run_dir).stop() if kind == "kafka" else EmbeddedBroker(run_dir).stop()
    click.echo("stopped" if stopped else "not running")


@broker.command("status")
@RUN_DIR
@click.option("--json", "as_json", is_flag=True, help='Answer {"bootstrap": …, "pid": …}.')
def broker_status(run_dir: Path, as_json: bool) -> None:
    """Is the embedded broker running? Exit status 3 when it is not."""
    from midfield.broker import EmbeddedBroker

    status = EmbeddedBroker(run_dir).status()
    if as_json:
        body = (
            {"bootstrap": status.bootstrap, "pid": status.pid}
            if status
            else {"bootstrap": None, "pid": None}
        )
        click.echo(json.dumps(body))
    else:
        click.echo(f"running at {status.bootstrap}, pid {status.pid}" if status else "not running")
    if status is None:
        sys.exit(3)


# -- topics ------------------------------------------------------------------------------------
@cli.group()
def topics() -> None:
    """The topic catalog on the broker."""


@topics.command("create")
def topics_create() -> None:
    """Create every topic of the catalog that is missing (idempotent)."""
    from midfield.admin import create_topics, require_broker

    settings = Settings()
    require_broker(settings.kafka)
    mismatched = False
    for result in create_topics(settings.kafka, settings.topics, _catalog(settings)):
        click.echo(
            f"{result.outcome:8} {result.name} ({result.partitions} partitions) "
            f"{result.detail}".rstrip()
        )
        mismatched |= result.outcome == "mismatch"
    if mismatched:
        sys.exit(4)


def _catalog(settings: Settings) -> Any:
    """The catalog with one outbox per configured department."""
    from midfield.departments import load_directory
    from schemas.catalog import concrete

    return concrete(load_directory(settings.departments).codes)


# -- schemas -----------------------------------------------------------------------------------
@cli.group()
def schemas() -> None:
    """What departments integrate against: JSON Schema and AsyncAPI."""


@schemas.command("export")
@click.option("--out", type=click.Path(path_type=Path), default=Path("build/schemas"),
              show_default=True, help="Directory to write into (created if missing).")  # fmt: skip
def schemas_export(out: Path) -> None:
    """Write json-schema/<type>.json per event type and asyncapi.json for the topic catalog."""
    from importlib.metadata import PackageNotFoundError, version

    from schemas.export import asyncapi, json_schemas

    try:
        ours = version("midfield")
    except PackageNotFoundError:  # running from a source tree that was not installed
        ours = "0+source"
    (out / "json-schema").mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        _write_json(out / "json-schema" / f"{name}.json", schema)
    _write_json(out / "asyncapi.json", asyncapi(ours))
    click.echo(f"wrote {len(json_schemas())} JSON Schemas and asyncapi.json to {out}/")


def _write_json(path: Path, body: Any) -> None:
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# -- connect -----------------------------------------------------------------------------------
@cli.group()
def connect() -> None:
    """Run a source: read its input, produce events, dead-letter what cannot be parsed."""


_CLICK_TYPES: dict[Any, Any] = {Path: click.Path(path_type=Path), int: int, float: float}


def _option(name: str, field: FieldInfo) -> click.Option:
    """A click option typed as its field (``int | None`` is an INTEGER that may be left out)."""
    flag = "--" + name.replace("_", "-")
    if field.annotation in (bool, "bool"):
        return click.Option([flag, name], is_flag=True, help=field.description)
    given = [a for a in get_args(field.annotation) if a is not type(None)] or [field.annotation]
    kind = _CLICK_TYPES.get(given[0]) if len(given) == 1 else None
    required = field.is_required()
    if required:  # no default at all: click 8.3 counts an explicit None as one
        return click.Option([flag, name], type=kind, required=True, help=field.description)
    return click.Option([flag, name], type=kind, default=field.default, show_default=True,
                        help=field.description)  # fmt: skip


def _connect_command(name: str, source_cls: type[Source] | type[HttpSource]) -> click.Command:
    """``midfield connect <name>``, its options made from the source's options model."""

    def run(**given: Any) -> None:
        try:
            options = source_cls.options(**given)
        except ValidationError as exc:
            raise click.UsageError(_invalid_options(exc)) from exc
        settings = Settings()
        if name in _NEEDS_KEYS and settings.departments.file is None:
            raise ConfigError(
                f"connect {name} takes API keys from the departments file, and none is set: "
                "every key would be refused. Set MIDFIELD_DEPARTMENTS_FILE (docs/departments.md)",
                reason="no-departments-file",
            )
        source = source_cls.from_options(options, settings)
        if options.metrics_port:
            require_free("127.0.0.1", options.metrics_port, what=f"connect {name} --metrics-port")
            metrics.serve(options.metrics_port)
        if isinstance(source, HttpSource):
            from connectors.runtime.http import HttpSourceOptions, serve

            serve(source, cast(HttpSourceOptions, options), settings)
        else:
            assert isinstance(source, Source)
            _run_source(Metered(source), settings, follow=not getattr(options, "once", False))

    fields = source_cls.options.model_fields
    return click.Command(name, callback=run, help=source_cls.__doc__,
                         params=[_option(n, f) for n, f in fields.items()])  # fmt: skip


_NEEDS_KEYS = frozenset({"duty", "tasks"})
"""Intakes whose callers present an API key from the departments file."""


def _invalid_options(exc: ValidationError) -> str:
    """pydantic's errors as ``--option: message`` lines."""
    return "; ".join(
        f"--{'-'.join(str(p) for p in e['loc']).replace('_', '-')}: {e['msg']}"
        for e in exc.errors(include_url=False)
    )


for _name, _source_cls in SOURCES.items():
    connect.add_command(_connect_command(_name, _source_cls))


def _run_source(source: Any, settings: Settings, *, follow: bool) -> None:
    from connectors.runtime.runner import run_source

    stop = _stop_on_signals(settings.connect.shutdown_timeout_s, what=source.name)
    progress = sys.stderr.isatty()

    def on_commit(stats: Any) -> None:
        if progress:
            click.echo(
                f"\r{stats.committed} committed, {stats.events} events, "
                f"{stats.dead_letters} dead letters",
                err=True,
                nl=False,
            )

    stats = run_source(source, settings, follow=follow, stop=stop, on_commit=on_commit)
    if progress:
        click.echo(err=True)
    click.echo(json.dumps(stats.as_dict(), ensure_ascii=False))


def _stop_on_signals(timeout_s: float, *, what: str) -> threading.Event:
    """An event SIGINT and SIGTERM set; the process then ends within ``timeout_s``."""
    from midfield.shutdown import exit_within

    stop = threading.Event()

    def on_signal(*_: Any) -> None:
        stop.set()
        exit_within(timeout_s, what=what)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    return stop


# -- sink --------------------------------------------------------------------------------------
@cli.group()
def sink() -> None:
    """Deliver events from the bus to department systems."""


@sink.command("department")
@click.option("--department", "code", required=True,
              help="Its code in the departments file (MIDFIELD_DEPARTMENTS_FILE).")  # fmt: skip
@click.option("--metrics-port", type=int, default=None, help="Serve /metrics on this port.")
def sink_department(code: str, metrics_port: int | None) -> None:
    """Deliver office.outbox.<CODE>.v1 to the department's webhook until interrupted.

    Each record is POSTed as a CloudEvent (application/cloudevents+json) to the department's
    webhook_url, signed with its webhook_secret in the Standard Webhooks style (webhook-id,
    webhook-timestamp, webhook-signature). 2xx: delivered. 408, 429, 5xx and no answer: tried
    again with back-off (MIDFIELD_SINK_ATTEMPTS, _BACKOFF_FIRST_S, _BACKOFF_MAX_S), then a dead
    letter. Any other answer: a dead letter at once. The position advances only after a 2xx or
    a dead letter. Prints a JSON summary on exit. Receivers: docs/departments.md.
    """
    from connectors.sinks.department import Target, run_department_sink
    from midfield.departments import load_directory

    settings = Settings()
    target = Target.of(load_directory(settings.departments), code)
    if metrics_port:
        metrics.serve(metrics_port)
    stop = _stop_on_signals(settings.connect.shutdown_timeout_s, what=f"sink {code}")
    progress = sys.stderr.isatty()

    def on_outcome(outcome: str, reason: str, stats: Any) -> None:
        if progress:
            counts = stats.as_dict()
            click.echo(f"\r{counts['delivered']} delivered, {counts['retried']} retried, "
                       f"{counts['dead_letters']} dead letters", err=True, nl=False)  # fmt: skip

    stats = run_department_sink(target, settings, stop=stop, on_outcome=on_outcome)
    if progress:
        click.echo(err=True)
    click.echo(json.dumps(stats.as_dict(), ensure_ascii=False))


# -- replay ------------------------------------------------------------------------------------
@cli.group()
def replay() -> None:
    """Replay tooling: rebuild the books from any point, the books as of a moment, shadow runs
    of new code, dead-letter re-drive and topic archives (docs/replay.md)."""


def _progress_bar(label: str) -> Any:
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
    from streams.replay.archive import export_topics

    settings = Settings()
    _require_broker(settings)
    names = list(topic_names) or [spec.name for spec in _catalog(settings)]
    with _progress_bar("exporting") as bar:
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
    from midfield.admin import create_topics
    from streams.replay.archive import import_archive

    settings = Settings()
    _require_broker(settings)
    create_topics(settings.kafka, settings.topics, _catalog(settings))
    with _progress_bar("importing") as bar:
        report = import_archive(
            settings.kafka,
            source,
            topics=list(topic_names) or None,
            progress=(lambda n: bar.update(n)) if bar else (lambda n: None),
        )
    click.echo(json.dumps({"records": report.records, "files": report.files}))


def _require_broker(settings: Settings) -> None:
    from midfield.admin import require_broker

    require_broker(settings.kafka)


def _replay_report(label: str) -> Any:
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


def _serve(worker: Any, what: str) -> None:
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


def _replay_dir(app_id: str) -> Path:
    return (Path(".midfield/replay") / app_id).resolve()


@replay.command("rebuild")
@click.option(
    "--from",
    "start",
    default="beginning",
    show_default=True,
    help="'beginning', an ISO time (2025-03-01T09:00; no offset: the office's zone) or "
    "an offsets file (JSON {topic: {partition: offset}}).",
)
@click.option(
    "--app-id",
    default=None,
    help="The new books' application id (default: <live app id>-rebuild-<UTC time>).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the rebuilt books (one JSON snapshot) to this file.",
)
@click.option("--serve", is_flag=True, help="Keep answering queries from the new books.")
@click.option("--dry-run", is_flag=True, help="Print the plan (offsets, events) and stop.")
def replay_rebuild(
    start: str, app_id: str | None, output: Path | None, serve: bool, dry_run: bool
) -> None:
    """Rebuild the books from a point: the processors run again, read-only, under a fresh
    application id into new tables. When caught up it prints how to make them the live books.

    \b
    midfield replay rebuild --from beginning
    midfield replay rebuild --from 2025-03-01T00:00 --output books.json
    """
    from datetime import UTC, datetime

    from streams.replay.commands import rebuild
    from streams.replay.run import plan

    settings = Settings()
    _require_broker(settings)
    app_id = app_id or f"{settings.worker.app_id}-rebuild-{datetime.now(UTC):%Y%m%d%H%M%S}"
    if dry_run:
        click.echo(json.dumps(plan(settings, app_id, start=start).as_json(), indent=2))
        return
    outcome = rebuild(
        settings,
        app_id,
        _replay_dir(app_id),
        start=start,
        report=_replay_report("rebuild"),
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
        _serve(outcome.worker, "the rebuilt books")


@replay.command("as-of")
@click.argument("at")
@click.option(
    "--app-id",
    default=None,
    help="Application id of the books built (default: <live app id>-asof-<UTC time>).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the books to this file: .json (a snapshot) or .xlsx (the ledger).",
)
@click.option("--serve", is_flag=True, help="Keep answering queries from those books.")
@click.option("--dry-run", is_flag=True, help="Print the plan (stop offsets, events) and stop.")
def replay_as_of(
    at: str, app_id: str | None, output: Path | None, serve: bool, dry_run: bool
) -> None:
    """The books as they stood at AT (an ISO time): every record produced before it, replayed
    into new tables, lights as at AT. Prints the snapshot unless --output names a file.

    \b
    midfield replay as-of 2025-03-01T17:00 --output ledger-0301.xlsx
    """
    from datetime import UTC, datetime

    from streams.replay.commands import as_of
    from streams.replay.run import parse_time, plan

    settings = Settings()
    _require_broker(settings)
    when = parse_time(at, settings)
    app_id = app_id or f"{settings.worker.app_id}-asof-{datetime.now(UTC):%Y%m%d%H%M%S}"
    if dry_run:
        click.echo(json.dumps(plan(settings, app_id, stop_at=when).as_json(), indent=2))
        return
    outcome = as_of(
        settings, app_id, _replay_dir(app_id), when, report=_replay_report("as-of"), serve=serve
    )
    click.echo("", err=True)
    if output is None:
        click.echo(json.dumps(outcome.books, ensure_ascii=False, indent=1))
    elif output.suffix == ".xlsx":
        from midfield.departments import load_directory
        from streams.ledger_sheet import workbook

        names = {c: d.name for c, d in load_directory(settings.departments).departments.items()}
        tasks = list(outcome.books["ledger"].values())
        output.write_bytes(workbook(tasks, when, settings.supervision, settings.office.zone, names))
    else:
        output.write_text(json.dumps(outcome.books, ensure_ascii=False, indent=1))
    click.echo(json.dumps(outcome.summary()), err=output is None)
    if serve:
        _serve(outcome.worker, f"the books as of {when.isoformat()}")


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
    from streams.replay.commands import shadow

    settings = Settings()
    if cases_only and cases is None:
        raise click.UsageError("--cases-only needs --cases DIR")
    cases_pass = True
    if cases is not None:
        from streams.replay.cases import load_cases, run_cases

        results = run_cases(
            load_cases(cases),
            settings,
            _replay_dir(app_id) / "cases",
            module=module,
            report=_replay_report("cases"),
        )
        click.echo("", err=True)
        for result in results:
            click.echo(result.line())
        cases_pass = all(r.passed for r in results)
        click.echo(f"cases: {sum(r.passed for r in results)} of {len(results)} as expected")
        if cases_only:
            sys.exit(0 if cases_pass else 3)
    _require_broker(settings)
    outcome = shadow(
        settings,
        app_id,
        _replay_dir(app_id),
        live_app_id=live_app_id,
        module=module,
        report=_replay_report("shadow"),
    )
    click.echo("", err=True)
    assert outcome.diff is not None
    if json_out is not None:
        json_out.write_text(json.dumps(outcome.diff.as_json(), ensure_ascii=False, indent=1))
    click.echo(outcome.diff.text())
    click.echo(json.dumps(outcome.summary()), err=True)
    sys.exit(0 if outcome.diff.equal and cases_pass else 3)


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
    from connectors.redrive import reparser
    from midfield.admin import client_config
    from streams.replay.redrive import Filter, redrive
    from streams.replay.run import parse_time
    from streams.replay.shadow import try_code

    settings = Settings()
    _require_broker(settings)
    if module:
        try_code(module, settings)
    chosen = Filter(
        reason=reason,
        source=source,
        since=parse_time(since, settings) if since else None,
        limit=limit,
    )
    with _progress_bar("re-driving") as bar:

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


# -- access ------------------------------------------------------------------------------------
@cli.group()
def access() -> None:
    """Who may read what: passwords and session keys for the directory (docs/security.md)."""


@access.command("hash-password")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the password from standard "
              "input (for scripts) instead of asking twice.")  # fmt: skip
def access_hash_password(from_stdin: bool) -> None:
    """Print the scrypt hash of a password, for a person's password_hash in the directory.

    \b
    midfield access hash-password            # asks twice, shows nothing
    printf %s "$PW" | midfield access hash-password --stdin
    """
    from midfield.access import hash_password

    if from_stdin:
        password = click.get_text_stream("stdin").read().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise click.UsageError("use at least 12 characters (a passphrase is easiest)")
    click.echo(hash_password(password))


@access.command("new-session-key")
def access_new_session_key() -> None:
    """Print a new MIDFIELD_ACCESS_SESSION_KEY (the same on every worker, kept secret)."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@access.command("check")
def access_check() -> None:
    """Read the directory (MIDFIELD_DEPARTMENTS_FILE) and list who may sign in or read, with
    roles: a mistake in it is found here, not when the worker starts."""
    from midfield.departments import load_directory

    directory = load_directory(Settings().departments)
    for row in directory.readers():
        click.echo(row)


# -- deploy ------------------------------------------------------------------------------------
@cli.group()
def deploy() -> None:
    """Production deployment: manifests made from the catalog (docs/deploy.md)."""


@deploy.command("k8s-topics")
@click.option("--departments-file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="Departments TOML (default MIDFIELD_DEPARTMENTS_FILE): one "
              "outbox topic per department.")  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write DIR/topics.yaml (created); default: print to stdout.")  # fmt: skip
@click.option("--cluster", default="midfield", show_default=True,
              help="The Strimzi cluster the topics belong to (strimzi.io/cluster).")  # fmt: skip
def deploy_k8s_topics(departments_file: Path | None, out: Path | None, cluster: str) -> None:
    """One Strimzi KafkaTopic per catalog topic, as multi-document YAML.

    Partitions, replicas and retention come from MIDFIELD_TOPICS_* as for `topics create`:

    \b
    MIDFIELD_TOPICS_REPLICATION_FACTOR=3 midfield deploy k8s-topics --out deploy/k8s/overlays/county
    """
    import yaml

    from midfield.deploy import kafka_topics
    from midfield.settings import DepartmentSettings

    settings = Settings()
    if departments_file is not None:
        settings.departments = DepartmentSettings(file=departments_file)
    documents = kafka_topics(_catalog(settings), settings.topics, cluster=cluster)
    text = "# Generated by `midfield deploy k8s-topics` from the topic catalog: do not edit.\n"
    text += yaml.safe_dump_all(documents, sort_keys=False, allow_unicode=True)
    if out is None:
        click.echo(text, nl=False)
        return
    out.mkdir(parents=True, exist_ok=True)
    (out / "topics.yaml").write_text(text, encoding="utf-8")
    click.echo(f"wrote {len(documents)} KafkaTopics to {out / 'topics.yaml'}")


# -- worker and demo ---------------------------------------------------------------------------
@cli.command()
@click.option(
    "--port", type=int, default=None, help="HTTP port (default MIDFIELD_WORKER_WEB_PORT)."
)
@click.option("--no-create-topics", is_flag=True, help="Do not create missing catalog topics.")
def worker(port: int | None, no_create_topics: bool) -> None:
    """Run the stream processors and their HTTP views until interrupted."""
    from midfield.admin import create_topics, require_broker
    from midfield.settings import WorkerSettings
    from streams.worker import run_worker

    settings = Settings()
    if port is not None:
        settings.worker = WorkerSettings(web_port=port)
    require_free(settings.worker.web_host, settings.worker.web_port, what="midfield worker")
    if not no_create_topics:
        require_broker(settings.kafka)
        create_topics(settings.kafka, settings.topics, _catalog(settings))
    run_worker(settings)


@cli.command()
@click.option("--check", is_flag=True, help="Run unattended, verify the books over HTTP, exit 0/1.")
@click.option(
    "--workdir",
    type=click.Path(path_type=Path),
    default=Path(".midfield/demo"),
    show_default=True,
    help="Where the demo keeps its fax log, state and logs.",
)
@click.option("--port", type=int, default=6066, show_default=True, help="The worker's HTTP port.")
def demo(check: bool, workdir: Path, port: int) -> None:
    """The whole hub on an embedded broker: the worker and dashboard, every source (fax log,
    fax mail, telegrams, the tasks, duty, WeChat, board and hotline intakes), with sample input
    arriving live. Prints the dashboard's address and the demo users; Ctrl-C stops it all."""
    from midfield.demo import run_demo

    sys.exit(run_demo(workdir=workdir, port=port, check=check))


_BENCHES = ("ingest", "demo_ready", "worker_ready", "rebuild", "latency", "memory")


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("name", type=click.Choice([*_BENCHES, "all"]), default="all")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(name: str, args: tuple[str, ...]) -> None:
    """Run a benchmark from bench/ (in a Midfield checkout); results go to bench/results/.

    Extra arguments go to the benchmark: midfield bench ingest --lines 5000 --repeat 1
    """
    import subprocess

    if not Path("bench", "__init__.py").exists():
        raise ConfigError("run this from a Midfield checkout: ./bench/ not found",
                          reason="not-a-checkout")  # fmt: skip
    for one in _BENCHES if name == "all" else (name,):
        code = subprocess.call([sys.executable, "-m", f"bench.{one}", *args])
        if code:
            sys.exit(code)


@cli.command("settings")
def show_settings() -> None:
    """Print the settings in force (from MIDFIELD_* variables and .env)."""
    click.echo(json.dumps(Settings().as_dict(), indent=2, ensure_ascii=False))


def main() -> None:
    cli(prog_name="midfield")
