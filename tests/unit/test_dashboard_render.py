"""The dashboard's layout: every size fits, the essentials survive 80×24, and no colour
still reads right. Rendered with rich into a string; no terminal, no sockets."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from agents.watchdog.messages import BotStateReported
from kernel.console._dashboard_model import DashboardModel, DashboardView
from kernel.console.dashboard import Screen
from kernel.events import AnomalyDetected
from risk.messages import ReasonView
from tests.support.tap_bodies import (
    T0,
    b,
    bot_state,
    decision,
    heartbeat,
    request,
    risk,
    status,
)

BUS = "tcp://127.0.0.1:7712"


def busy_view(*, manual_close: bool = False, link: str = "connected") -> DashboardView:
    m = DashboardModel(started=T0)
    m.load_status(status(), T0)
    m.apply("bot.state", bot_state(), T0)
    m.apply("bot.heartbeat", heartbeat(), T0)
    m.apply("risk.state", risk(manual_close_needed=manual_close), T0)
    for i in range(30):
        m.apply("order.request", request(f"r{i}"), T0 + i)
        m.apply("order.decision", decision(f"r{i}", "DENY" if i % 3 else "ALLOW"), T0 + i)
    m.apply("anomaly", b(AnomalyDetected(kind="lag", severity="warning", ts=T0 + 31,
                                         source="bus", detail="subscriber lagging")), T0 + 31)
    m.set_link(link, T0 + 31, "no messages on the bus and no answer on control")
    return m.view(T0 + 32)


def render(view: DashboardView, width: int, height: int, *, colour: bool = False) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, height=height, force_terminal=colour,
                      color_system="truecolor" if colour else None, no_color=not colour,
                      legacy_windows=False)
    console.print(Screen(view, now=T0 + 40, bus=BUS))
    return out.getvalue()


def lines_of(text: str) -> list[str]:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).rstrip("\n").split("\n")


@pytest.mark.parametrize(("width", "height"), [
    (80, 24), (100, 30), (72, 24), (71, 24), (60, 20), (40, 12), (30, 8), (80, 10), (200, 60),
    (80, 5), (20, 3),
])
@pytest.mark.parametrize("link", ["connected", "unreachable"])
def test_every_size_fits_the_terminal(width: int, height: int, link: str) -> None:
    lines = lines_of(render(busy_view(link=link), width, height))
    assert len(lines) <= height
    assert all(len(line) <= width for line in lines), [x for x in lines if len(x) > width]


def test_80x24_shows_the_bot_the_limits_the_events_and_the_counters() -> None:
    screen = "\n".join(lines_of(render(busy_view(), 80, 24)))
    for expected in ("● live", "mode paper", "trading ACTIVE", "bot qe-1", "running",
                     "pid 4242", "equity 10,060.00", "PnL today -150.00", "BTCUSDT -0.5",
                     "risk ACTIVE", "daily loss", "150/300", "50%", "drawdown", "90%",
                     "leverage", "0.50x/2.00x", "BTCUSDT -4,000", "events",
                     "DENY buy 0.25 BTCUSDT", "subscriber lagging", "orders 0.9/s",
                     "deny 67% of 30", "actors 1/2", "Ctrl-C quits"):
        assert expected in screen, expected
    assert "█" in screen and "░" in screen  # bars drawn with text, not only colour


def test_manual_close_is_the_first_line_of_the_risk_panel_even_when_space_is_short() -> None:
    for height in (24, 12):
        screen = "\n".join(lines_of(render(busy_view(manual_close=True), 80, height)))
        assert "MANUAL CLOSE NEEDED" in screen


def test_an_unreachable_kernel_is_said_plainly_at_the_top() -> None:
    lines = lines_of(render(busy_view(link="unreachable"), 80, 24))
    assert "UNREACHABLE" in lines[0]
    assert lines[1].startswith("KERNEL UNREACHABLE for 9s: last known state below")
    assert "bot qe-1" in "\n".join(lines)  # the last known state stays on screen


def test_narrow_terminals_stack_the_panels() -> None:
    screen = "\n".join(lines_of(render(busy_view(), 60, 24)))
    assert "bot qe-1" in screen and "risk ACTIVE" in screen
    bot_row = next(i for i, line in enumerate(screen.split("\n")) if "bot qe-1" in line)
    risk_row = next(i for i, line in enumerate(screen.split("\n")) if "risk ACTIVE" in line)
    assert risk_row > bot_row


def test_colour_is_only_a_second_channel() -> None:
    plain = render(busy_view(manual_close=True), 80, 24)
    coloured = render(busy_view(manual_close=True), 80, 24, colour=True)
    assert "\x1b[" not in plain
    assert re.search(r"\x1b\[[0-9;]*3[1-7]m", coloured)  # colours are used on a terminal
    assert lines_of(plain) == lines_of(coloured)


def test_an_empty_dashboard_says_what_is_missing() -> None:
    view = DashboardModel(started=T0).view(T0)
    screen = "\n".join(lines_of(render(view, 80, 24)))
    assert "connecting" in screen and "kernel: no state yet" in screen
    assert "no bot has reported yet" in screen and "no risk state reported yet" in screen
    assert "appear here" in screen


def test_a_bot_that_is_down_shows_why() -> None:
    m = DashboardModel(started=T0)
    m.load_status(status(mode="paper"), T0)
    m.apply("bot.state", b(BotStateReported(state="gave_up", mode="paper", ts=T0,
                                             last_exit="exited with code 1", restarts=5)), T0)
    screen = "\n".join(lines_of(render(m.view(T0 + 1), 80, 24)))
    assert "gave_up" in screen and "exited with code 1" in screen and "restarts 5" in screen


def test_mode_off_says_no_bot_is_expected() -> None:
    m = DashboardModel(started=T0)
    m.load_status(status(mode="off"), T0)
    assert "mode off: no bot is running" in render(m.view(T0), 80, 24)


def test_a_long_halt_reason_gets_a_second_line_in_80_columns() -> None:
    m = DashboardModel(started=T0)
    m.load_status(status(), T0)
    m.apply("risk.state", risk(trading_state="HALTED", reasons=(ReasonView(
        level="HALTED", code="consecutive_losses",
        text="6 consecutive losing trades have reached max_consecutive_losses 6"),)), T0)
    screen = "\n".join(lines_of(render(m.view(T0), 80, 24)))
    assert "HALTED 6 consecutive losing trades" in screen
    assert "have reached max_consecutive_losses" in screen


def test_a_moved_risk_multiplier_shows_who_set_it_and_how_it_ends() -> None:
    m = DashboardModel(started=T0)
    m.load_status(status(), T0)
    m.apply("risk.state", risk(), T0)
    assert "risk x1  open orders 0" in render(m.view(T0), 80, 24)
    m.apply("risk.state", risk(
        risk_multiplier=0.5, risk_multiplier_by="moderator:offline",
        risk_multiplier_reason="moderator (offline): loss at 52% of its limit",
        risk_multiplier_until="until the next trading day (midnight UTC), then back to 1"), T0)
    screen = "\n".join(lines_of(render(m.view(T0), 80, 24)))
    assert "risk x0.5 by moderator:offline" in screen
    assert "until the next trading day" in screen


def test_a_bot_switched_off_shows_no_growing_beat_age() -> None:
    m = DashboardModel(started=T0)
    m.load_status(status(), T0)
    m.apply("bot.heartbeat", heartbeat(), T0)
    m.apply("bot.state", bot_state(state="off", pid=None, last_heartbeat_age_s=1.0), T0 + 1)
    text = " ".join(render(m.view(T0 + 300), 120, 30).split())
    assert "beat — (stopped on purpose)" in text and "s ago restarts" not in text


def test_at_80x24_long_topics_big_counters_and_the_unreachable_hint_are_whole() -> None:
    from dataclasses import replace

    from kernel.console._dashboard_parts import Counters

    m = DashboardModel(started=T0)
    m.load_status(status(), T0)
    m.apply("bot.state", bot_state(), T0)
    m.apply("moderator.advice", {"type": "moderation_advice", "ts": T0 + 1}, T0 + 1)
    m.apply("operator.command", {"type": "operator_command", "ts": T0 + 2}, T0 + 2)
    detail = "no messages on tcp://127.0.0.1:7712 and no answer on tcp://127.0.0.1:7713"
    m.set_link("unreachable", T0 + 31, detail)
    busy = Counters(window_s=60, orders_per_s=123.4, deny_rate=1.0, decisions=12345,
                    denies=12345, fills=123456, messages_per_s=1234)
    lines = lines_of(render(replace(m.view(T0 + 32), counters=busy), 80, 24))
    screen = " ".join(" ".join(lines).split())
    assert "moderator.advice" in screen and "operator.command" in screen
    assert "Is `kernel run` running?" in screen and detail in screen
    footer = lines[-1]
    assert "…" not in footer and footer.endswith("Ctrl-C quits")
    assert "orders 123.4/s" in footer and "deny 100% of 12345 (60s)" in footer
