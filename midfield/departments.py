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

A key names exactly one principal: ``office`` or a department code. Keys are compared by
digest in constant time, and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, ValidationError

from midfield.errors import ConfigError
from midfield.settings import DepartmentSettings

__all__ = ["OFFICE", "Department", "Directory", "load_directory"]

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


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    office: _Office = _Office()
    departments: dict[Code, dict[str, object]] = {}


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class Directory:
    """Who is who. :meth:`principal` answers which principal an API key belongs to."""

    def __init__(self, departments: list[Department], office_keys: tuple[SecretStr, ...] = (),
                 office_name: str = "县政府办公室") -> None:  # fmt: skip
        self.office_name = office_name
        self.departments = {d.code: d for d in departments}
        self._keys: list[tuple[bytes, str]] = [
            (_digest(k.get_secret_value()), OFFICE) for k in office_keys
        ] + [(_digest(k.get_secret_value()), d.code) for d in departments for k in d.api_keys]
        seen: set[bytes] = set()
        for digest, _ in self._keys:
            if digest in seen:
                raise ConfigError("one API key is given to two principals", reason="duplicate-key")
            seen.add(digest)

    @property
    def codes(self) -> list[str]:
        return sorted(self.departments)

    def principal(self, key: str) -> str | None:
        """``office``, a department code, or ``None`` for an unknown key."""
        given = _digest(key)
        found = None
        for digest, who in self._keys:  # no early exit: the time taken says nothing
            if hmac.compare_digest(digest, given):
                found = who
        return found

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
    return Directory(departments, parsed.office.api_keys, parsed.office.name)
