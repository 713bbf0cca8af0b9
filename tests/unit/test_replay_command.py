"""``kernel replay`` in words, its argument checks, and ``kernel check`` on the optional
shadow limits file."""

from __future__ import annotations

import io
from pathlib import Path

import msgspec
from rich.console import Console

from kernel.console.cli import main
from kernel.console.commands.replay import as_json, only_bot, show
from kernel.settings import check_all
from risk import LossLimit
from risk.rerun import rerun
from risk.rerun_report import report
from tests.conftest import write_config
from tests.unit.risk.risk_world import NOW, heartbeat, limits
from tests.unit.risk.test_rerun import Day, trading_day
from tests.unit.risk.test_rerun_fleet import FLEET, LOSS, losing_day


def test_the_report_names_exactness_flips_and_the_outcome() -> None:
    day = trading_day(limits())
    found = report(rerun(day.rows, limits(max_order_notional=1_000.0)), day.trips)
    out = io.StringIO()
    show(found, {"from": "2024-05-01", "to": "2024-05-01", "risk": "tight.yaml"},
         Console(file=out, width=300, highlight=False))
    text = out.getvalue()
    assert "replay of 2024-05-01 with tight.yaml" in text
    assert "ALLOW->DENY" in text and "fat_finger_notional" in text
    assert "every row after it is approximate" in text
    assert "[exact] qe o4" in text and "[approx]" in text
    assert "outcome: PnL" in text
    assert only_bot(found, "someone-else").flips == []


def test_one_engines_json_has_no_fleet_fields() -> None:
    """A journal of one engine prints the JSON it printed before fleets: no ``bots``, no
    trip ``bot_id`` (the moderator's child reads it back as a ``Report`` either way)."""
    day = Day(limits())
    day.beat(NOW, positions={"ETHUSDT": (1.0, 2_500.0)})
    hb = heartbeat(9_800.0, {"ETHUSDT": (1.0, 2_500.0)},
                   marks={"BTCUSDT": 50_000.0, "ETHUSDT": 2_300.0}, tick_ts=NOW + 5, ts=NOW + 5)
    day.add(NOW + 5, hb)
    found = report(rerun(day.rows, limits(max_daily_loss=LossLimit(usdt=100))), day.trips)
    out = as_json(found)
    assert "bots" not in out and out["trips"]
    assert all("bot_id" not in trip for trip in out["trips"])


def test_a_multiplier_outside_the_files_bounds_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    code = main(["--config-dir", str(config), "replay", "--day", "2024-05-01", "--risk",
                 str(config / "risk.yaml"), "--multiplier", "5"])
    assert code == 2


def test_a_replay_without_a_journal_says_so(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    code = main(["--config-dir", str(config), "replay", "--day", "2024-05-01", "--risk",
                 str(config / "risk.yaml")])
    assert code == 3


def test_kernel_check_validates_the_shadow_limits_only_when_present(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert not any("risk.shadow.yaml" in p for p in check_all(config))
    (config / "risk.shadow.yaml").write_text("max_leverage: -1\n", encoding="utf-8")
    problems = check_all(config)
    assert any("risk.shadow.yaml" in p and "max_leverage" in p for p in problems), problems


def test_a_fleets_report_shows_each_bot_then_the_portfolio() -> None:
    lim = limits(max_daily_loss=LossLimit(usdt=300), portfolio=LOSS)
    found = report(rerun(losing_day(lim).rows, lim, fleet=FLEET), [])
    out = io.StringIO()
    show(found, {"from": "2024-05-01", "to": "2024-05-01", "risk": "risk.yaml"},
         Console(file=out, width=400, highlight=False))
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("bot a: orders 1: same 0, ALLOW->DENY 1 (halted 1)")
    assert "PnL -250.00 USDT" in lines[2] and lines[3].startswith("bot b: orders 0")
    assert "portfolio (every bot's orders; equity summed):" in lines
    assert any(" a portfolio_loss_limit (NEW)" in line for line in lines)
    assert "outcome: PnL -500.00 USDT, max drawdown 500.00 USDT" in lines
    narrowed = only_bot(found, "b")
    assert list(narrowed.bots) == ["b"] and narrowed.flips == []
    assert as_json(found)["bots"]["a"]["counts"]["allow_to_deny"] == {"halted": 1}


def test_a_save_passed_over_is_told_on_its_own_line_and_escaped() -> None:
    day = trading_day(limits())
    found = msgspec.structs.replace(
        report(rerun(day.rows, limits()), day.trips),
        passed_over=["the risk state saved at journal row #9 names its open orders' slice "
                     "at row #7, which is not in the file: passed over for the one before "
                     "it, at row #3 [red]\x1b[2J"])
    out = io.StringIO()
    show(found, {"from": "2024-05-01", "to": "2024-05-01", "risk": "risk.yaml"},
         Console(file=out, width=400, highlight=False))
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("note: the risk state saved at journal row #9")
    assert "at row #3 [red]" in lines[1] and "\x1b" not in out.getvalue()
    assert as_json(found)["passed_over"] == found.passed_over
