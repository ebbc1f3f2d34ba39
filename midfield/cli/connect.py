"""``midfield connect <source>`` and ``midfield sink``: run a connector."""

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
from midfield.cli.root import cli
from midfield.errors import ConfigError
from midfield.ports import require_free
from midfield.settings import Settings


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
        if source_cls.needs_api_keys and settings.departments.file is None:
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

    stop = stop_on_signals(settings.connect.shutdown_timeout_s, what=source.name)
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


def stop_on_signals(timeout_s: float, *, what: str) -> threading.Event:
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
    from connectors.sinks.department import Target
    from connectors.sinks.department_runner import run_department_sink
    from midfield.departments import load_directory

    settings = Settings()
    target = Target.of(load_directory(settings.departments), code)
    if metrics_port:
        metrics.serve(metrics_port)
    stop = stop_on_signals(settings.connect.shutdown_timeout_s, what=f"sink {code}")
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
