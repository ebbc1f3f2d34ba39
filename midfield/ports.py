"""Is a TCP port free to listen on, and if not, who holds it?

Checked before a process starts anything (``midfield demo``, ``midfield worker``, every HTTP
intake), so a busy port fails at once with its holder instead of minutes later in a log. The
holder comes from Linux's ``/proc/net/tcp{,6}`` (the listening socket's inode) and
``/proc/<pid>/fd`` (which process has that inode open); elsewhere, or for another user's
process, the answer is just "in use".
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path

from midfield.errors import ConfigError

__all__ = ["holder", "require_free"]

_LISTEN = "0A"


def require_free(host: str, port: int, *, what: str) -> None:
    """Raise :class:`ConfigError` (``port-in-use``) when ``host:port`` cannot be listened on."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise ConfigError(f"{what}: cannot listen on {host}:{port}: {exc.strerror}",
                                  reason="port-unusable") from exc  # fmt: skip
            raise ConfigError(
                f"{what}: port {port} on {host} is in use{holder(port)}; stop that process or "
                "choose another port",
                reason="port-in-use",
            ) from None


def holder(port: int, proc: Path = Path("/proc")) -> str:
    """`` by pid N (command)`` for the process listening on ``port``, or ``""``."""
    inodes = _listening_inodes(port, proc)
    if not inodes:
        return ""
    sockets = {f"socket:[{inode}]" for inode in inodes}
    for fd_dir in proc.glob("[0-9]*/fd"):
        if _links(fd_dir) & sockets:
            return f" by pid {fd_dir.parent.name} ({_command(fd_dir.parent)})"
    return ""


def _links(fd_dir: Path) -> set[str]:
    """What a process's descriptors point at; empty for a process gone or another user's."""
    found = set()
    try:
        for link in fd_dir.iterdir():
            try:
                found.add(str(link.readlink()))
            except OSError:  # closed meanwhile
                continue
    except OSError:  # gone, or another user's
        return found
    return found


def _listening_inodes(port: int, proc: Path) -> set[str]:
    found = set()
    for table in ("net/tcp", "net/tcp6"):
        try:
            lines = (proc / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                found.add(inode)
    return found


def _command(pid_dir: Path) -> str:
    try:
        argv = (pid_dir / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = " ".join(a.decode(errors="replace") for a in argv if a).split()
    return " ".join(words)[:120] or "?"
