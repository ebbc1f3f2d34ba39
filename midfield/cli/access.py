"""``midfield access``: passwords, session keys, the directory's check."""

from __future__ import annotations

import click

from midfield.cli.root import cli
from midfield.settings import Settings


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
