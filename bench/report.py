"""What every bench shares: progress on stderr, the profile's top rows, and the end of a run
(the JSON written to ``--out``, the table printed)."""

from __future__ import annotations

import json
import pstats
import sys
import sysconfig
from pathlib import Path
from typing import Any

__all__ = ["finish", "profile_rows", "progress"]

REPO = Path(__file__).resolve().parent.parent


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def profile_rows(stats: pstats.Stats, top: int) -> list[dict[str, Any]]:
    """The ``top`` functions of a cProfile run by their own time."""
    rows = stats.stats.items()  # type: ignore[attr-defined]
    ranked = sorted(rows, key=lambda item: item[1][2], reverse=True)[:top]
    return [
        {
            "function": _where(func),
            "calls": nc,
            "tottime_s": round(tt, 4),
            "cumtime_s": round(ct, 4),
        }
        for func, (_, nc, tt, ct, _) in ranked
    ]


def _where(func: tuple[str, int, str]) -> str:
    file, line, name = func
    for marker in ("site-packages/", str(REPO) + "/", sysconfig.get_paths()["stdlib"] + "/"):
        file = file.split(marker, 1)[-1]
    return f"{file}:{line}({name})"


def finish(out: Path, result: dict[str, Any], table: str) -> None:
    """Write ``result`` to ``out`` as JSON, print ``table`` and any profile rows."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table)
    for row in result.get("profile_top", []):
        print(f"  {row['tottime_s']:>8.3f}s own {row['cumtime_s']:>8.3f}s cum  {row['function']}")
    progress(f"wrote {out}")
