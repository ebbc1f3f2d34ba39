"""What Midfield writes into a spreadsheet cell (XLSX or CSV) that office staff open in Excel or
WPS: text that can never run as a formula, and that the writer can always store.

Every XLSX and CSV writer passes each value through :func:`safe_cell` (today
``streams/views/ledger_sheet.py``, behind ``GET /ledger.xlsx`` and ``midfield replay as-of --output
*.xlsx``). Task titles and progress reports come from departments over the tasks API, so they
are hostile input as far as a spreadsheet is concerned.
"""

from __future__ import annotations

import re

__all__ = ["FORMULA_STARTS", "safe_cell"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A cell whose text starts with one of these may be run as a formula (or DDE) by a
spreadsheet: OWASP, CSV Injection (https://owasp.org/www-community/attacks/CSV_Injection)."""

_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""Control characters XML 1.0 (so XLSX) cannot hold; openpyxl refuses a cell with one."""


def safe_cell(value: object) -> object:
    """``value`` as a cell may hold it: text starting with a formula character gets a leading
    ``'`` (OWASP's advice, so it stays text and shows what was sent), control characters
    become U+FFFD, line ends become line feeds (an XML reader turns a stored CR into LF, or not,
    depending on the parser: the cell reads the same with either); numbers, dates and ``None``
    are unchanged."""
    if not isinstance(value, str):
        return value
    quoted = value.startswith(FORMULA_STARTS)
    text = _UNSTORABLE.sub("\ufffd", value).replace("\r\n", "\n").replace("\r", "\n")
    return "'" + text if quoted else text
