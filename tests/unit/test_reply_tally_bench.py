"""The reply-tally bench (bench/reply_tally.py) times what it says: its baseline, the summary's
old algorithm, and the summary give the same figures for every case it times."""

from __future__ import annotations

from pathlib import Path

from bench import reply_tally


def test_a_small_run_times_both_summaries_on_the_same_figures(tmp_path: Path) -> None:
    small = ["--messages", "3000", "--departments", "5", "--repeat", "2", "--rewrites", "200"]
    args = reply_tally.parse_args([*small, "--out", str(tmp_path / "r.json")])
    result = reply_tally.bench(args)
    assert set(result["tally"]) == {
        f"{period}/{scope}"
        for period in reply_tally.PERIODS
        for scope in ("one_department", "all_departments", "reply_rate_view")
    }
    assert all(case["same_but_mean"] for case in result["tally"].values()), result["tally"]
    assert 0 < result["replied"] < 3000
    assert all(put["fill_s"] > 0 for put in result["put"].values())
