"""How a settings part is declared: its ``MIDFIELD_<PART>_`` prefix and ``.env``
(:func:`settings_config`), and the parts declared outside this package, next to what they
configure (:func:`settings_part`: a source's own settings), which every
:class:`~midfield.settings.Settings` then reads with the others.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DECLARED", "P", "settings_config", "settings_part"]

P = TypeVar("P", bound=BaseSettings)

DECLARED: list[type[BaseSettings]] = []


def settings_part(model: type[P]) -> type[P]:
    """Class decorator of a part declared outside this package (a source's own settings, next to
    the source): every :class:`Settings` reads it when it is made, as it reads the package's."""
    DECLARED.append(model)
    return model


def settings_config(prefix: str) -> SettingsConfigDict:
    """The configuration of every settings part: ``prefix`` (``MIDFIELD_<PART>_``), ``.env``."""
    return SettingsConfigDict(
        env_prefix=prefix,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )
