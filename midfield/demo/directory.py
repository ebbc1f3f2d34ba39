"""The demo's office: its departments, their API keys, one person per role, and the file that
lists them all for the worker and the tasks API (``MIDFIELD_DEPARTMENTS_FILE``).

The keys and the password are memorable and printed by the demo (a real office sets its own);
the demo's own reading key, which its checks use, is new each run.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from midfield.access import hash_password

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "DEPARTMENTS",
    "READER_KEY",
    "demo_key",
    "departments_file",
]

DEPARTMENTS = {
    "water": "县水利局",
    "health": "县卫生健康委",
    "edu": "县教育局",
    "housing": "县住建局",
}


def demo_key(code: str) -> str:
    """The demo's key of ``office`` or a department: memorable, and long enough for the
    directory's minimum (MIDFIELD_DEPARTMENTS_MIN_KEY_LENGTH)."""
    return f"demo-{code}-key-not-for-production"


DEMO_PASSWORD = "midfield-demo"
"""Every demo user's password (printed by the demo; a real office sets its own)."""
DEMO_USERS = {
    "zhuren": ("王主任", "director", None),
    "zhiban": ("李华", "duty-officer", None),
    "ducha": ("赵督查", "supervision", None),
    "yunwei": ("陈运维", "ops", None),
    "jiaoyu": ("教育局办事员", "department", "edu"),
}
"""login -> (name, role, department): one person per role, as docs/security.md describes."""
READER_KEY = secrets.token_urlsafe(24)
"""The demo's own reading key (duty officer and supervision), new each run."""


def departments_file(path: Path) -> Path:
    """The demo's directory: the office and four departments, keys :func:`demo_key`; one person
    per role (:data:`DEMO_USERS`); the demo's own reader key."""
    lines = [
        "[office]",
        'name = "示范县人民政府办公室"',
        f'api_keys = ["{demo_key("office")}"]',
    ]
    for code, name in DEPARTMENTS.items():
        lines += [
            f"[departments.{code}]",
            f'name = "{name}"',
            f'api_keys = ["{demo_key(code)}"]',
        ]
    hashed = hash_password(DEMO_PASSWORD)  # one hash for all: the demo starts faster
    for login, (name, role, department) in DEMO_USERS.items():
        lines += [f"[people.{login}]", f'name = "{name}"', f'roles = ["{role}"]',
                  f'password_hash = "{hashed}"']  # fmt: skip
        lines += [f'department = "{department}"'] if department else []
    lines += ["[systems.demo]", 'roles = ["duty-officer", "supervision"]',
              f'api_keys = ["{READER_KEY}"]']  # fmt: skip
    path.touch(mode=0o600)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
