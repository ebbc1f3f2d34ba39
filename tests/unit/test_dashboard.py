"""The dashboard's wording of light reasons, and the page's promise to stay self-contained."""

from __future__ import annotations

import re

import pytest

from streams.dashboard import PAGE, in_chinese


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        ("overdue by 1 day", "逾期 1 天"),
        ("overdue by 12 days", "逾期 12 天"),
        ("deadline in 0 days", "距完成时限 0 天"),
        ("progress 10% behind time elapsed by 45%", "进度 10%，落后时间进度 45%"),
        ("on track", "正常"),
        ("closed", "已办结"),
        ("something new", "something new"),
    ],
)
def test_light_reason_reads_in_chinese(reason: str, shown: str) -> None:
    assert in_chinese(reason) == shown


def test_page_loads_nothing_from_elsewhere() -> None:
    """Offline office networks: no CDN, no external fonts or scripts."""
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", PAGE)
    assert "@import" not in PAGE and "url(" not in PAGE


def test_page_never_writes_data_as_markup() -> None:
    assert "innerHTML" not in PAGE and "insertAdjacentHTML" not in PAGE
    assert "document.write" not in PAGE
