"""Citizens' personal data masked for readers whose role does not need it (PIPL art. 51; the
roles that see it in clear are ``MIDFIELD_ACCESS_UNMASKED_ROLES``, docs/security.md).

What is masked: a duty-log entry's ``person`` (the caller's or visitor's name) and ``phone``,
and, in its free text, anything shaped like a mobile number, a landline or a resident ID number.
Masking keeps enough to tell two entries apart at a glance (张*, 138****5678) and no more.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["duty_entry", "name", "phone", "text"]

_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?(\d{3,4})(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![\dXx])(\d{6})(\d{8})(\d{3}[\dXx])(?![\dXx])")


def name(value: str) -> str:
    """张伟 -> 张*; a one-character name stays a single ``*``."""
    return value[:1] + "*" * max(len(value) - 1, 1) if len(value) > 1 else ("*" if value else "")


def phone(value: str) -> str:
    """Keep the first three and the last two digits: 13812345678 -> 138******78."""
    digits = [c for c in value if c.isdigit()]
    if len(digits) < 6:
        return "*" * len(value)
    return "".join(digits[:3]) + "*" * (len(digits) - 5) + "".join(digits[-2:])


def text(value: str) -> str:
    """Free text with ID numbers, mobile and landline numbers masked."""
    value = _ID_NUMBER.sub(lambda m: m.group(1) + "********" + "***" + m.group(3)[-1], value)
    value = _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(3), value)
    return _LANDLINE.sub(lambda m: m.group(1) + "-****" + m.group(3), value)


def duty_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A duty-log entry as a reader without the need to know sees it."""
    masked = dict(entry)
    for key in ("person",):
        if isinstance(masked.get(key), str):
            masked[key] = name(masked[key])
    if isinstance(masked.get("phone"), str) and masked["phone"]:
        masked["phone"] = phone(masked["phone"])
    for key in ("content", "instruction", "actions", "notified"):
        if isinstance(masked.get(key), str):
            masked[key] = text(masked[key])
    return masked
