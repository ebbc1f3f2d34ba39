"""The telegram drop directory's file handling: which names are read, and safe moves.

Names are never trusted as paths (a symlink, a sub-directory or ``../x.json`` must not move a
telegram, withheld ones least of all, out of the drop directory), so the rules for that live in
one place, apart from the reading and the guard (:mod:`connectors.sources.telegram`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from midfield.errors import StoreError

__all__ = ["SAFE_NAME", "is_component", "move_out", "plain_subdir"]

SAFE_NAME = re.compile(r"^[\w\-.〔〕()（）]{1,200}\.json$")
"""A cover sheet's name: letters, digits and ``._-〔〕()`` only, ending ``.json``."""


def move_out(drop: Path, name: str, where: str) -> None:
    """Move the sheet and its PDF (if any) into ``where/``: whatever they are (a symlink
    moves as a link, a directory or FIFO named like a sheet whole), so none is seen again."""
    files = [name, name[: -len(".json")] + ".pdf"] if name.endswith(".json") else [name]
    target = plain_subdir(drop, where)
    for file in files:
        if is_component(file) and os.path.lexists(drop / file):
            os.replace(drop / file, _free(target, file, drop / file))


def plain_subdir(drop: Path, where: str) -> Path:
    """``done/`` or ``rejected/``, refused unless a plain directory: through a symlink,
    telegrams (withheld ones too) would be moved out of the drop directory."""
    path = drop / where
    if path.is_symlink() or not path.is_dir():
        raise StoreError(
            f"{path} is not a plain directory: remove it, it is made again",
            reason="unsafe-drop-directory",
        )
    return path


def _free(target: Path, file: str, moving: Path) -> Path:
    """Where ``moving`` goes in ``target``: under its own name, over an earlier file of that
    name (a sheet sent again); but a directory on either side cannot be replaced, so then the
    first free ``<name>.<n>`` (a directory named like a sheet, dropped twice, must not stop the
    connector)."""
    dest = target / file
    if not (os.path.isdir(moving) and not moving.is_symlink()) and not dest.is_dir():
        return dest
    n = 1
    while os.path.lexists(target / f"{file}.{n}"):
        n += 1
    return target / f"{file}.{n}"


def is_component(name: str) -> bool:
    """One plain path component (directory listings only give these; position files might not)."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name
