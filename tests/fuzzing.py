"""What the fuzz tests share: how many examples, hostile text, and real samples broken a little.

``MIDFIELD_FUZZ_EXAMPLES=5000`` runs every property with that many examples (docs/testing.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from midfield.errors import ParseError

__all__ = ["HOSTILE", "TEXT", "fuzz", "mutated", "parsed_or_refused"]

T = TypeVar("T")

EXAMPLES = int(os.environ.get("MIDFIELD_FUZZ_EXAMPLES", "0"))


def fuzz(examples: int) -> Any:
    """``examples`` per property (modest: the file runs in well under a minute on 2 cores);
    ``MIDFIELD_FUZZ_EXAMPLES`` overrides it for a long run."""
    return settings(
        max_examples=EXAMPLES or examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "\t",
        '"',
        '""',
        '\\"',
        "\x00",
        "\r\n",
        "../../etc/passwd",
        "<script>alert(1)</script>",
        "'; DROP TABLE tasks; --",
        "９９",  # full-width digits
        "٣",  # an Arabic-Indic digit: \d matches it unless re.ASCII
        "99999999999999999999",
        "-1",
        "1e309",
        "NaN",
        "2025-02-30",
        "9999-12-31T23:59:59",
        "0000-01-01",
        "秘密★",
        "\u202e",
        "\ufeff",
        "𠀀",
    ]
)
TEXT = st.one_of(HOSTILE, st.text(max_size=40))


def mutated(sample: bytes, *, max_size: int = 200) -> st.SearchStrategy[bytes]:
    """``sample`` broken a little: bytes replaced, cut, inserted or repeated, or left whole."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        data = bytearray(sample)
        for _ in range(draw(st.integers(0, 4))):
            at = draw(st.integers(0, len(data)))
            kind = draw(st.sampled_from(["replace", "cut", "insert", "repeat", "truncate"]))
            if kind == "replace" and data:
                width = draw(st.integers(1, 8))
                data[at : at + width] = draw(st.binary(min_size=1, max_size=width))
            elif kind == "cut":
                del data[at : at + draw(st.integers(1, 64))]
            elif kind == "insert":
                chunk = draw(st.binary(max_size=max_size) | TEXT.map(str.encode))
                data[at:at] = chunk
            elif kind == "repeat":
                data[at:at] = data[at : at + draw(st.integers(1, 32))] * draw(st.integers(2, 20))
            else:
                del data[at:]
        return bytes(data)

    return build()


def parsed_or_refused(parse: Callable[[], T], *refusals: type[Exception]) -> T | Exception:
    """What ``parse()`` returns, or the refusal it raised (``ParseError`` unless ``refusals``
    says), which must carry a reason: the property every parser holds, whatever its input."""
    caught = refusals or (ParseError,)
    try:
        return parse()
    except caught as exc:
        reason = getattr(exc, "reason", "")
        assert reason and isinstance(reason, str), f"{type(exc).__name__} without a reason"
        return exc
