"""The fleet table's model (kernel/fleet_view.py) and the dashboard in a fleet."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from kernel.console._dashboard_model import DashboardModel, of_another_bot
from kernel.console._fleet_table import fleet_table, warning_lines
from kernel.console.dashboard import compose
from kernel.fleet_view import FleetBook


def bot_state(bot_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": "bot_state", "bot_id": bot_id, "state": "running", "mode": "paper",
            "ts": 10.0, "last_heartbeat_age_s": 0.5, "restarts": 1, **fields}


def risk(bot_id: str, state: str = "ACTIVE", **fields: Any) -> dict[str, Any]:
    return {"type": "risk_snapshot", "bot_id": bot_id, "trading_state": state, "ts": 10.0,
            "equity": "10100", "start_equity": "10000", "notional": {"BTCUSDT": "2500",
                                                                     "ETHUSDT": "500"},
            "reasons": [], "max_leverage": "2", "day": "d", **fields}


def test_rows_and_totals_from_the_bots_messages() -> None:
    book = FleetBook(["a", "b", "quiet"])
    for bot_id in ("a", "b"):
        book.apply(bot_state(bot_id), 10.0)
        book.apply(risk(bot_id, "HALTED" if bot_id == "b" else "ACTIVE"), 10.0)
    book.apply({"type": "limit_warning", "scope": "bot:a", "code": "daily_loss_limit",
                "text": "bot:a: daily loss"}, 10.0)
    book.apply({"type": "limit_warning", "scope": "portfolio", "code": "portfolio_gross_limit",
                "text": "portfolio: gross"}, 10.0)
    view = book.view(12.0)
    a, b, quiet = view.rows
    assert (a.equity, a.pnl_today, a.exposure, a.restarts) == (10_100, 100, 3_000, 1)
    assert a.heartbeat_age_s == 2.5  # 0.5 s old when said, 2 s ago
    assert a.warning == "daily_loss_limit: bot:a: daily loss"
    assert (quiet.trading_state, quiet.equity) == ("?", None)  # configured, not heard yet
    assert (view.equity, view.pnl_today, view.exposure) == (20_200, 200, 6_000)
    assert view.trading_state == "?"  # a bot not heard from counts as the worst
    assert b.trading_state == "HALTED" and view.warning == "portfolio_gross_limit: portfolio: gross"


def test_messages_without_a_bot_are_not_the_fleets() -> None:
    book = FleetBook()
    assert not book.apply(risk(""), 1.0) and not book.apply({"type": "heartbeat"}, 1.0)
    assert not book.apply("junk", 1.0) and book.view(1.0).rows == ()


def test_the_tables_hold_outside_text_as_text_and_fit_80_columns() -> None:
    book = FleetBook()
    book.apply(bot_state("[red]x\x1b[31m"), 1.0)
    book.apply(risk("[red]x\x1b[31m", reasons=[{"text": "held\nforged line"}],
                    trading_state="HALTED"), 1.0)
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False)
    view = book.view(1.0)
    console.print(fleet_table(view, width=80))
    for line in warning_lines(view):
        console.print(line)
    text = out.getvalue()
    assert '"[red]x\\x1b[31m"' in text and "forged line" in text
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "\nforged" not in text


def test_the_dashboard_shows_the_fleet_once_two_bots_are_known() -> None:
    model = DashboardModel(started=0.0)
    model.apply("risk.state", risk("a"), 1.0)
    assert model.view(1.0).fleet is None  # one bot: the one-bot panels
    model.apply("risk.state", risk("b"), 1.0, source="risk.b")
    view = model.view(2.0)
    assert view.fleet is not None and [r.bot_id for r in view.fleet.rows] == ["a", "b"]
    rows = compose(view, width=80, height=24, now=2.0, bus="tcp://x")
    out = io.StringIO()
    Console(file=out, width=80, height=24, force_terminal=False).print(*rows)
    assert "all bots" in out.getvalue() and len(out.getvalue().splitlines()) <= 24


def test_tap_bot_follows_one_bot_in_the_one_bot_panels() -> None:
    model = DashboardModel(started=0.0, bot="b", bots=["a", "b"])
    model.load_snapshot(None, {"risk.state": risk("a", "HALTED"), "risk.state/a": risk("a"),
                               "risk.state/b": risk("b", "REDUCING")}, 1.0)
    model.apply("risk.state", risk("a", "HALTED"), 2.0, source="risk.a")
    model.apply("risk.halt", {"type": "trading_state_changed", "current": "HALTED",
                              "ts": 2.0}, 2.0, source="risk.a")
    view = model.view(2.0)
    assert view.fleet is None and view.risk is not None
    assert view.risk.trading_state == "REDUCING"
    assert of_another_bot({"bot_id": "a"}, "", "b")
    assert of_another_bot({"scope": "bot:a"}, "", "b")
    assert of_another_bot({}, "watchdog.a", "b") and not of_another_bot({}, "gateway", "b")
    assert not of_another_bot({"scope": "portfolio"}, "risk.b", "b")
