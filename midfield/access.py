"""Who is calling, and what their roles let them do (DESIGN §6 "Access"; docs/security.md).

A :class:`Principal` is a system (a department's or a scraper's API key) or a person (office
staff signed in to the dashboard). Each has roles; each HTTP route declares a :class:`Policy`
next to its definition, and a route without one does not start (deny by default).

Passwords are kept as scrypt hashes (``hashlib.scrypt``, RFC 7914, from the standard library);
sessions are Fernet tokens (``cryptography``: AES-128-CBC + HMAC-SHA256 with a timestamp, so a
cookie can be neither read nor forged, and it expires). Every secret is compared in constant
time on bytes, and a malformed one is a refusal, never an exception.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography.fernet import Fernet, InvalidToken

from midfield.errors import ConfigError

__all__ = [
    "ANONYMOUS",
    "Policy",
    "Principal",
    "Role",
    "Sessions",
    "Throttle",
    "constant_time_equal",
    "hash_password",
    "verify_password",
]


class Role(StrEnum):
    """The roles of the office (DESIGN §6)."""

    director = "director"
    """主任: reads everything, including the audit trail."""
    duty_officer = "duty-officer"
    """值班员: the duty log and report, incoming items, alerts, personal data in clear."""
    supervision = "supervision"
    """督查室: the ledger of every department, work orders, reply tallies."""
    ops = "ops"
    """运维: metrics, health, lag, alerts; no book content beyond the dashboard's figures."""
    replay = "replay"
    """回放操作员: the whole books as of a time (``/replay/books``)."""
    department = "department"
    """A department's clerk or system: its own tasks, work orders and tallies only."""


@dataclass(frozen=True)
class Principal:
    """Who made a request. ``id`` is what the audit trail records: ``person:<login>``,
    ``department:<code>``, ``system:<name>``, ``office`` or ``anonymous``."""

    id: str
    name: str
    roles: frozenset[Role] = frozenset()
    department: str | None = None
    """The department a ``department`` principal may see; ``None`` for office principals."""
    person: bool = False

    @property
    def authenticated(self) -> bool:
        return self.id != ANONYMOUS.id

    def has(self, roles: Iterable[Role]) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def scoped(self) -> bool:
        """True when this principal sees only its department's share of a book: a department
        principal without any office role."""
        return self.department is not None and self.roles <= {Role.department}


ANONYMOUS = Principal(id="anonymous", name="anonymous")


@dataclass(frozen=True)
class Policy:
    """Who may call a route. ``roles`` empty and ``open`` true: anyone (``/health``);
    ``signed_in``: any authenticated principal; otherwise one of ``roles``."""

    roles: frozenset[Role] = field(default_factory=frozenset)
    open: bool = False
    signed_in: bool = False
    audited: bool = True
    """Write an audit record for each call (``/health`` and ``/ready`` are not audited)."""

    @classmethod
    def anyone(cls) -> Policy:
        return cls(open=True, audited=False)

    @classmethod
    def sign_in(cls) -> Policy:
        """The sign-in routes themselves: open, and audited."""
        return cls(open=True)

    @classmethod
    def authenticated(cls) -> Policy:
        return cls(signed_in=True)

    @classmethod
    def telemetry(cls, *roles: Role) -> Policy:
        """``/metrics``: ``roles`` only; an allowed scrape is not audited (it reads no book, and
        Prometheus would write a record every 15 s); a refused one is, like every refusal."""
        return cls(roles=frozenset(roles), audited=False)

    @classmethod
    def of(cls, *roles: Role) -> Policy:
        if not roles:
            raise ValueError("a policy names at least one role; use Policy.anyone() for none")
        return cls(roles=frozenset(roles))

    def allows(self, principal: Principal) -> bool:
        if self.open:
            return True
        if not principal.authenticated:
            return False
        return self.signed_in or principal.has(self.roles)

    def describe(self) -> str:
        if self.open:
            return "anyone"
        if self.signed_in:
            return "any signed-in principal"
        return ", ".join(sorted(self.roles))


def constant_time_equal(given: str | bytes, expected: str | bytes) -> bool:
    """Compare secrets in constant time on bytes: any input (non-ASCII, surrogates, empty)
    answers a bool; ``hmac.compare_digest`` on ``str`` raises for non-ASCII."""
    a = given.encode("utf-8", "surrogateescape") if isinstance(given, str) else given
    b = expected.encode("utf-8", "surrogateescape") if isinstance(expected, str) else expected
    return hmac.compare_digest(a, b)


# scrypt cost: n=2**14, r=8, p=1 is RFC 7914's interactive-login figure (~16 MiB, ~50 ms).
_N, _R, _P = 1 << 14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``, for the directory's ``password_hash``."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password_hash(stored: str) -> None:
    """Raise :class:`ConfigError` when ``stored`` is not a hash :func:`hash_password` made."""
    if _parse_hash(stored) is None:
        raise ConfigError(
            "password_hash must come from `midfield users hash-password` (scrypt$…)",
            reason="password-hash",
        )


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` hashes to ``stored``; False for any malformed input."""
    parsed = _parse_hash(stored)
    if parsed is None:
        return False
    n, r, p, salt, expected = parsed
    try:
        digest = hashlib.scrypt(
            password.encode("utf-8", "surrogateescape"), salt=salt, n=n, r=r, p=p, dklen=32
        )
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(digest, expected)


def _parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        return None
    if not (1 < n <= 1 << 20 and 0 < r <= 32 and 0 < p <= 16 and len(digest) == 32):
        return None
    return n, r, p, salt, digest


class Sessions:
    """Signed, encrypted, expiring session tokens for the dashboard's cookie.

    A token holds the login and a random session id; :meth:`end` remembers ended ids until
    they would have expired anyway, so a cookie copied before sign-out no longer works.
    """

    COOKIE = "midfield_session"

    def __init__(self, key: str, ttl_s: float) -> None:
        try:
            self._fernet = Fernet(key.encode() if key else Fernet.generate_key())
        except (ValueError, binascii.Error) as exc:
            raise ConfigError(
                "MIDFIELD_ACCESS_SESSION_KEY must be a Fernet key "
                "(`midfield users new-session-key` makes one)",
                reason="session-key",
            ) from exc
        self.ttl_s = ttl_s
        self.shared = bool(key)
        self._ended: dict[str, float] = {}

    def issue(self, login: str, now: float) -> str:
        body = json.dumps({"sub": login, "sid": secrets.token_urlsafe(16)}).encode()
        return self._fernet.encrypt_at_time(body, int(now)).decode()

    def login_of(self, token: str, now: float) -> str | None:
        """The login a live token names; ``None`` when it is forged, expired or ended."""
        claims = self._claims(token, now)
        if claims is None or claims["sid"] in self._ended:
            return None
        return str(claims["sub"])

    def end(self, token: str, now: float) -> None:
        claims = self._claims(token, now)
        if claims is not None:
            self._ended[claims["sid"]] = now + self.ttl_s
        self._ended = {sid: until for sid, until in self._ended.items() if until > now}

    def _claims(self, token: str, now: float) -> dict[str, str] | None:
        try:
            raw = self._fernet.decrypt_at_time(
                token.encode("utf-8", "surrogateescape"), int(self.ttl_s), int(now)
            )
            claims = json.loads(raw)
        except (InvalidToken, ValueError, UnicodeError):
            return None
        if not isinstance(claims, dict) or not {"sub", "sid"} <= claims.keys():
            return None
        return {"sub": str(claims["sub"]), "sid": str(claims["sid"])}


class Throttle:
    """At most ``attempts`` failures per key (a login and address) in ``window_s``; then
    :meth:`blocked` until the oldest failure ages out. Bounded: old keys are dropped."""

    def __init__(self, attempts: int, window_s: float, *, keys: int = 10_000) -> None:
        self.attempts, self.window_s, self.keys = attempts, window_s, keys
        self._failures: dict[str, list[float]] = {}

    def blocked(self, key: str, now: float) -> bool:
        recent = [t for t in self._failures.get(key, ()) if now - t < self.window_s]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        return len(recent) >= self.attempts

    def failed(self, key: str, now: float) -> None:
        if key not in self._failures and len(self._failures) >= self.keys:
            self._failures.pop(next(iter(self._failures)))  # the oldest key goes
        self._failures.setdefault(key, []).append(now)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)
