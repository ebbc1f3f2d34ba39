"""``midfield broker``: the embedded broker for laptops and tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from midfield.cli.root import cli

RUN_DIR = click.option(
    "--run-dir",
    type=click.Path(path_type=Path),
    default=Path(".midfield/broker"),
    envvar="MIDFIELD_RUN_DIR",
    show_default=True,
    help="Where the embedded broker keeps its pid, port and log.",
)


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
