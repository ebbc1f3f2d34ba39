"""A private Dovecot IMAP server for the fax-mail tests: Debian's ``dovecot-imapd`` run as a
child process (``dovecot -F -c <generated config>``) on a free 127.0.0.1 port, everything it
keeps (config, sockets, state, log, mail) under one directory; stopped by its pid.

Any user name logs in with :data:`PASSWORD` (a static passdb) and gets its own Maildir, so each
test uses its own user. Dovecot refuses to touch mail as root: run as root, the mail processes
work as ``nobody``, chrooted (by Dovecot, before it drops root) into the mail directory, which
is the only part ``nobody`` must reach. ``.ci/system-deps`` installs the package.
"""

from __future__ import annotations

import datetime as dt
import getpass
import imaplib
import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from midfield.broker import free_port
from midfield.shutdown import stop_child

__all__ = ["PASSWORD", "Dovecot", "dovecot_binary", "self_signed_certificate"]

PASSWORD = "fax-secret"


def dovecot_binary() -> str | None:
    """The dovecot master, if dovecot-imapd is installed (its imap binary too)."""
    found = shutil.which("dovecot", path=f"/usr/sbin:/usr/local/sbin:{os.environ.get('PATH', '')}")
    return found if found and Path("/usr/lib/dovecot/imap").exists() else None


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (IP SAN) and its key, PEM; the certificate is its own CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "imap-cert.pem", directory / "imap-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


# Unix sockets Debian's defaults give to group "dovecot": a non-root server cannot chown them.
_GROUP_LISTENERS = (("stats", "stats-writer"), ("imap-hibernate", "imap-hibernate"),
                    ("dict", "dict"), ("dict-async", "dict-async"))  # fmt: skip


def _block(name: str, *lines: str) -> str:
    """A Dovecot config section (one-line ``name { x }`` is not allowed)."""
    return f"{name} {{\n" + "".join(f"  {line}\n" for line in lines) + "}\n"


def _own_listener(service: str, listener: str) -> str:
    return _block(f"service {service}", f"unix_listener {listener} {{", "  group =",
                  "  mode = 0600", "}")  # fmt: skip


@dataclass
class Dovecot:
    root: Path
    port: int
    tls_port: int
    cert: Path
    proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def start(cls, binary: str, root: Path) -> Dovecot:
        cert, key = self_signed_certificate(root)
        server = cls(root, free_port(), free_port(), cert)
        config = root / "dovecot.conf"
        config.write_text(server._config(key))
        out = (root / "dovecot.out").open("wb")
        server.proc = subprocess.Popen([binary, "-F", "-c", str(config)], stdout=out,
                                       stderr=subprocess.STDOUT)  # fmt: skip
        server._wait_ready()
        return server

    def _config(self, key: Path) -> str:
        mail = self.root / "mail"
        mail.mkdir()
        if os.geteuid() == 0:  # mail as nobody, chrooted into mail/ (Dovecot refuses root)
            nobody = pwd.getpwnam("nobody")
            os.chown(mail, nobody.pw_uid, nobody.pw_gid)
            users = ("dovenull", "dovecot")
            ids = f"uid={nobody.pw_uid} gid={nobody.pw_gid}"
            mail_setup = f"mail_chroot = {mail}\nvalid_chroot_dirs = {mail}\n" + _block(
                "userdb", "driver = static", f"args = {ids} home=/%u"
            )
        else:  # everything as ourselves, no chroots (they need root)
            me = getpass.getuser()
            users = (me, me)
            home = f"args = uid={os.getuid()} gid={os.getgid()} home={mail}/%u"
            mail_setup = (_block("userdb", "driver = static", home)
                          + _block("service imap-login", "chroot =")
                          + _block("service anvil", "chroot =")
                          + "".join(_own_listener(*pair) for pair in _GROUP_LISTENERS))  # fmt: skip
        return f"""# generated for one test session
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = midfield-test-{self.port}
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain
default_login_user = {users[0]}
default_internal_user = {users[1]}
passdb {{
  driver = static
  args = password={PASSWORD}
}}
{mail_setup}mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
  }}
}}
"""

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited {self.proc.returncode}: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on {self.port}: {self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_child(self.proc, timeout_s=15)

    def log_tail(self, chars: int = 3000) -> str:
        logs = [self.root / "dovecot.out", self.root / "dovecot.log"]
        return "\n".join(p.read_text(errors="replace")[-chars:] for p in logs if p.exists())

    def url(self, user: str, folder: str, *, tls: bool = False) -> str:
        scheme, port = ("imaps", self.tls_port) if tls else ("imap", self.port)
        return f"{scheme}://{user}@127.0.0.1:{port}/{folder}"

    def client(self, user: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(user, PASSWORD)
        return conn

    def create(self, user: str, folder: str) -> None:
        with self.client(user) as conn:
            kind, data = conn.create(folder)
            assert kind == "OK", data

    def recreate(self, user: str, folder: str) -> None:
        """Delete and create ``folder`` again: it gets a new UIDVALIDITY, its UIDs start over."""
        with self.client(user) as conn:
            assert conn.delete(folder)[0] == "OK"
            assert conn.create(folder)[0] == "OK"

    def append(self, user: str, folder: str, *mails: bytes) -> None:
        with self.client(user) as conn:
            for raw in mails:
                kind, data = conn.append(folder, None, None, raw)
                assert kind == "OK", data

    def uidvalidity(self, user: str, folder: str) -> int:
        with self.client(user) as conn:
            conn.select(folder, readonly=True)
            return int(conn.response("UIDVALIDITY")[1][0])

    def flags(self, user: str, folder: str) -> dict[int, str]:
        """UID -> the mail's flags, as the server answers them."""
        with self.client(user) as conn:
            conn.select(folder, readonly=True)
            _, data = conn.uid("FETCH", "1:*", "(FLAGS)")
        found = {}
        for item in data:
            if isinstance(item, bytes) and b"UID " in item:
                uid = int(item.split(b"UID ")[1].split()[0].rstrip(b")"))
                found[uid] = item.split(b"FLAGS (")[1].split(b")")[0].decode()
        return found
