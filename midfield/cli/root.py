"""``midfield``: the command line, and the only place that wires connectors and streams together.

One module per command group (this package's modules); this one is the root group. Errors from
the hierarchy in :mod:`midfield.errors` end the command with ``error [reason]: message`` on
stderr and exit status 1; nothing else is caught here.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from midfield.errors import MidfieldError
from midfield.logging import configure_logging

__all__ = ["cli", "main"]


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


def main() -> None:
    cli(prog_name="midfield")
