"""The department directory: the office and each department, their API keys and webhooks.

Read from the TOML file named by ``MIDFIELD_DEPARTMENTS_FILE`` (docs/departments.md)::

    [office]
    name = "县政府办公室"
    api_keys = ["office-key-…"]

    [departments.edu]
    name = "县教育局"
    api_keys = ["edu-key-…"]
    webhook_url = "https://edu.example.gov.cn/midfield/webhook"
    webhook_secret = "whsec_…"      # Standard Webhooks secret: whsec_ + base64

    [people.lihua]                   # office staff sign in to the dashboard (docs/security.md)
    name = "李华"
    roles = ["duty-officer"]
    password_hash = "scrypt$…"       # `midfield users hash-password`

    [people.wangming]                # a department's clerk sees only that department's share
    name = "王明"
    roles = ["department"]
    department = "edu"
    password_hash = "scrypt$…"

    [systems.prometheus]             # a system reader: a key and roles
    roles = ["ops"]
    api_keys = ["…"]

A key names exactly one principal: ``office``, a department code or a system. Keys are compared
by digest in constant time, and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, ValidationError

from midfield.access import Principal, Role, check_password_hash, verify_password
from midfield.errors import ConfigError
from midfield.settings import DepartmentSettings

__all__ = ["OFFICE", "Department", "Directory", "Person", "System", "load_directory"]

OFFICE = "office"
"""The principal of the general office (schemas.events.task.OFFICE says the same on the wire)."""

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")]


class Department(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    name: str = Field(min_length=1, examples=["县教育局"])
    api_keys: tuple[SecretStr, ...] = ()
    webhook_url: AnyHttpUrl | None = Field(None, description="Where its outbox is delivered.")
    webhook_secret: SecretStr | None = Field(
        None, description="whsec_ + base64 (Standard Webhooks)."
    )

    @property
    def outbox(self) -> str:
        return f"office.outbox.{self.code}.v1"


class _Office(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "县政府办公室"
    api_keys: tuple[SecretStr, ...] = ()
    roles: tuple[Role, ...] = Field(
        (Role.supervision,), description="What the office's system key may read on the worker."
    )


class Person(BaseModel):
    """A member of staff who signs in to the dashboard with a password."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    login: Code
    name: str = Field(min_length=1, examples=["李华"])
    roles: tuple[Role, ...] = Field(min_length=1)
    department: Code | None = Field(None, description="Required with the department role.")
    password_hash: SecretStr = Field(description="scrypt$… from `midfield users hash-password`.")

    def principal(self) -> Principal:
        return Principal(
            id=f"person:{self.login}",
            name=self.name,
            roles=frozenset(self.roles),
            department=self.department,
            person=True,
        )


class System(BaseModel):
    """A system that reads with an API key (a scraper, a department's reporting tool)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    roles: tuple[Role, ...] = Field(min_length=1)
    department: Code | None = None
    api_keys: tuple[SecretStr, ...] = Field(min_length=1)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    office: _Office = _Office()
    departments: dict[Code, dict[str, object]] = {}
    people: dict[Code, dict[str, object]] = {}
    systems: dict[Code, dict[str, object]] = {}


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


class Directory:
    """Who is who. :meth:`principal` answers which office or department an API key belongs to
    (the actor of the tasks API); :meth:`authenticate` and :meth:`sign_in` answer the
    :class:`~midfield.access.Principal` of a key or a person, with roles, for every reader."""

    def __init__(
        self,
        departments: list[Department],
        office_keys: tuple[SecretStr, ...] = (),
        office_name: str = "县政府办公室",
        *,
        office_roles: tuple[Role, ...] = (Role.supervision,),
        people: list[Person] = (),  # type: ignore[assignment]
        systems: list[System] = (),  # type: ignore[assignment]
    ) -> None:
        self.office_name = office_name
        self.departments = {d.code: d for d in departments}
        self.people = {p.login: p for p in people}
        self._office = Principal(OFFICE, office_name, frozenset(office_roles))
        self._keys: list[tuple[bytes, str]] = [
            (_digest(k.get_secret_value()), OFFICE) for k in office_keys
        ] + [(_digest(k.get_secret_value()), d.code) for d in departments for k in d.api_keys]
        self._systems: list[tuple[bytes, Principal]] = [
            (_digest(k.get_secret_value()), _system_principal(s)) for s in systems
            for k in s.api_keys
        ]  # fmt: skip
        seen: set[bytes] = set()
        for digest in [d for d, _ in self._keys] + [d for d, _ in self._systems]:
            if digest in seen:
                raise ConfigError("one API key is given to two principals", reason="duplicate-key")
            seen.add(digest)
        for person in people:
            if (Role.department in person.roles) != (person.department is not None):
                raise ConfigError(
                    f"person {person.login}: the department role and a department go together",
                    reason="departments-file",
                )
            if person.department is not None and person.department not in self.departments:
                raise ConfigError(
                    f"person {person.login}: no department {person.department}",
                    reason="departments-file",
                )
            check_password_hash(person.password_hash.get_secret_value())

    def delivers_to(self, code: str) -> bool:
        """Whether the worker may send to ``code``'s outbox: a department of the directory,
        whose outbox ``midfield topics create`` made (and whose sink knows where to deliver).
        With no directory, none: the worker never relies on a broker making topics on first
        use, which production brokers do not (and an auto-created outbox has one partition)."""
        return code in self.departments

    @property
    def codes(self) -> list[str]:
        return sorted(self.departments)

    @property
    def has_readers(self) -> bool:
        """Whether anyone at all can read the worker (else every route but health is 401)."""
        return bool(self._keys or self._systems or self.people)

    def principal(self, key: str) -> str | None:
        """``office``, a department code, or ``None`` for an unknown key."""
        given = _digest(key)
        found = None
        for digest, who in self._keys:  # no early exit: the time taken says nothing
            if hmac.compare_digest(digest, given):
                found = who
        return found

    def authenticate(self, key: str) -> Principal | None:
        """The principal of an API key (office, department or system); ``None`` if unknown."""
        given = _digest(key)
        found: Principal | None = None
        for digest, system in self._systems:
            if hmac.compare_digest(digest, given):
                found = system
        who = self.principal(key)
        if who == OFFICE:
            return self._office
        if who is not None:
            return Principal(
                f"department:{who}", self.name_of(who), frozenset({Role.department}), who
            )
        return found

    def sign_in(self, login: str, password: str) -> Principal | None:
        """The person ``login`` when ``password`` is theirs; ``None`` otherwise. An unknown
        login costs the same scrypt as a known one."""
        person = self.people.get(login)
        stored = person.password_hash.get_secret_value() if person else _DUMMY_HASH
        ok = verify_password(password, stored)
        return person.principal() if ok and person is not None else None

    def person(self, login: str) -> Principal | None:
        """The principal of a signed-in person (``None`` when no longer in the directory)."""
        person = self.people.get(login)
        return person.principal() if person else None

    def readers(self) -> list[str]:
        """One line per principal that can read: who, how, roles (never a key or a hash)."""
        rows = [f"office             key x{sum(w == OFFICE for _, w in self._keys)}  "
                f"{', '.join(sorted(self._office.roles))}"]  # fmt: skip
        rows += [f"department:{code:<8} key x{len(d.api_keys)}  department (its own share)"
                 for code, d in sorted(self.departments.items())]  # fmt: skip
        rows += [f"{p.id:<18} system  {', '.join(sorted(p.roles))}"
                 for _, p in self._systems]  # fmt: skip
        rows += [f"person:{login:<11} signs in  {', '.join(sorted(p.roles))}"
                 + (f" ({p.department})" if p.department else "")
                 for login, p in sorted(self.people.items())]  # fmt: skip
        return rows

    def code_of(self, text: str) -> str | None:
        """The code of the department ``text`` names, by its code or its name."""
        for code, department in self.departments.items():
            if text in (code, department.name):
                return code
        return None

    def name_of(self, code: str) -> str:
        if code == OFFICE:
            return self.office_name
        department = self.departments.get(code)
        return department.name if department else code


_DUMMY_HASH = (
    "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)
"""Checked against for an unknown login, so that the answer takes as long as for a known one."""


def _system_principal(system: System) -> Principal:
    return Principal(
        f"system:{system.code}", system.code, frozenset(system.roles), system.department
    )


def load_directory(settings: DepartmentSettings) -> Directory:
    """The directory from the settings' TOML file; an empty one when no file is set."""
    if settings.file is None:
        return Directory([])
    path = Path(settings.file)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        parsed = _File.model_validate(raw)
        departments = [
            Department.model_validate({"code": code, **fields})
            for code, fields in parsed.departments.items()
        ]
        people = [
            Person.model_validate({"login": login, **fields})
            for login, fields in parsed.people.items()
        ]
        systems = [
            System.model_validate({"code": code, **fields})
            for code, fields in parsed.systems.items()
        ]
    except OSError as exc:
        raise ConfigError(f"cannot read departments file {path}: {exc.strerror}",
                          reason="departments-file") from exc  # fmt: skip
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"departments file {path} is not TOML: {exc}",
                          reason="departments-file") from exc  # fmt: skip
    except ValidationError as exc:  # without input values: they may be keys
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                          for e in exc.errors(include_input=False)[:3])  # fmt: skip
        raise ConfigError(f"departments file {path} is invalid: {where}",
                          reason="departments-file") from exc  # fmt: skip
    _check_key_strength(parsed, departments, systems, settings.min_key_length, path)
    return Directory(
        departments,
        parsed.office.api_keys,
        parsed.office.name,
        office_roles=parsed.office.roles,
        people=people,
        systems=systems,
    )


def _check_key_strength(parsed: _File, departments: list[Department], systems: list[System],
                        shortest: int, path: Path) -> None:  # fmt: skip
    """Refuse a key shorter than ``shortest``, naming whose it is (never the key)."""
    owners = [("office", parsed.office.api_keys)]
    owners += [(f"department {d.code}", d.api_keys) for d in departments]
    owners += [(f"system {s.code}", s.api_keys) for s in systems]
    weak = sorted({who for who, keys in owners for k in keys
                   if len(k.get_secret_value()) < shortest})  # fmt: skip
    if weak:
        raise ConfigError(
            f"departments file {path}: API keys shorter than {shortest} characters for "
            f"{', '.join(weak)}; make one with "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
            reason="weak-key",
        )
