"""The bot and risk panels' lines, each with a priority so a small terminal keeps
what matters most (the state, the money, the limits) and drops the rest.

Styles carry meaning only as a second channel: every state is also a word and
every bar is drawn with full and empty blocks, so the screen reads the same
without colour (``NO_COLOR``, or a terminal without it).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from rich.text import Text

from kernel.console._dashboard_parts import STOPPED_ON_PURPOSE, BotView, Gauge, RiskView
from kernel.summaries import reason_line
from kernel.untrusted import ident, one_line

STATE_STYLES = {
    "running": "green", "ACTIVE": "green", "connected": "green",
    "starting": "yellow", "restarting": "yellow", "REDUCING": "yellow", "stopping": "yellow",
    "external": "yellow",
    "hung": "bold red", "gave_up": "bold red", "halted": "bold red", "HALTED": "bold red",
    "crashed": "bold red", "off": "dim", "stopped": "dim",
}
LEVEL_STYLES = {"ok": "green", "warn": "yellow", "danger": "bold red"}
ALARM = "bold reverse red"
"""Without colour this is still bold reverse video: impossible to miss."""


@dataclass(frozen=True)
class Line:
    text: Text
    priority: int
    """0 is kept longest; higher numbers go first when rows run out."""


def fit(lines: list[Line], rows: int, width: int) -> list[Text]:
    """The ``rows`` most important lines, in their original order, cut to ``width``."""
    keep = sorted(range(len(lines)), key=lambda i: (lines[i].priority, i))[:max(0, rows)]
    result = []
    for index in sorted(keep):
        text = lines[index].text.copy()
        text.truncate(width, overflow="ellipsis")
        text.no_wrap = True
        result.append(text)
    return result


def money(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def compact(value: float | None) -> str:
    """Short numbers for tight columns: 9.05, 1,001, 12.3k, 1.2M."""
    if value is None:
        return "—"
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.1f}M"
    if size >= 1e4:
        return f"{value / 1e3:.1f}k"
    if size >= 1000 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.2f}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def bot_lines(bot: BotView | None, *, pnl_today: float | None, mode: str) -> list[Line]:
    if bot is None:
        why = "mode off: no bot is running" if mode == "off" else "no bot has reported yet"
        return [Line(Text(why, style="dim"), 0)]
    head = Text()
    head.append(bot.state, style=STATE_STYLES.get(bot.state, "yellow"))
    head.append(f"  pid {bot.pid if bot.pid is not None else '—'}  {bot.mode or '—'}")
    lines = [Line(head, 0)]
    beat = Text(f"up {duration(bot.uptime_s)}  beat ")
    age = bot.heartbeat_age_s
    if bot.state in STOPPED_ON_PURPOSE:
        beat.append("— (stopped on purpose)", style="dim")
    else:
        beat.append("—" if age is None else f"{age:.1f}s ago",
                    style="" if age is None or age < 3 else "yellow" if age < 10 else "bold red")
    beat.append(f"  restarts {bot.restarts}", style="" if bot.restarts == 0 else "yellow")
    lines.append(Line(beat, 1))
    lines.append(Line(Text(f"equity {money(bot.equity)}"), 0))
    if pnl_today is not None:
        pnl = Text("PnL today ")
        pnl.append(money(pnl_today, signed=True), style="green" if pnl_today >= 0 else "red")
        if bot.unrealized_pnl is not None:
            pnl.append(f"  open {money(bot.unrealized_pnl, signed=True)}")
        lines.append(Line(pnl, 1))
    elif bot.realized_pnl is not None or bot.unrealized_pnl is not None:
        total = (bot.realized_pnl or 0.0) + (bot.unrealized_pnl or 0.0)
        lines.append(Line(Text(f"PnL {money(total, signed=True)} since bot start"), 1))
    if bot.state != "running" and (bot.last_exit or bot.detail):
        lines.append(Line(Text(bot.last_exit or bot.detail, style="yellow"), 1))
    lines.append(Line(Text(f"positions {bot.position_count}"), 2))
    for position in bot.positions:
        row = Text(f" {position.symbol} {position.qty:+g} @ {compact(position.avg_price)}")
        upnl = position.unrealized
        if upnl is not None:
            row.append(f" {upnl:+,.2f}", style="green" if upnl >= 0 else "red")
        lines.append(Line(row, 3))
    return lines


def gauge_line(label: str, gauge: Gauge, width: int, *, unit: str = "",
               digits: int | None = None) -> Text:
    """``daily loss ███░░░░░░░ 9.05/300  3%``: the bar is text, so it survives NO_COLOR.

    The figures take a fixed width so that the bars of one panel line up."""
    def show(value: float | None) -> str:
        return compact(value) if digits is None or value is None else f"{value:.{digits}f}"

    figures = f"{show(gauge.value)}{unit}/{show(gauge.limit)}{unit}"
    fraction = gauge.fraction
    percent = "" if fraction is None else f"{fraction * 100:.0f}%"
    tail = f" {figures:>11} {percent:>4}"
    bar_width = max(3, min(20, width - 11 - len(tail)))
    filled = 0 if fraction is None else round(fraction * bar_width)
    if fraction is not None and fraction > 0 and filled == 0:
        filled = 1  # any use of a limit shows
    text = Text(f"{label:<10} ")
    text.append("█" * filled, style=LEVEL_STYLES[gauge.level])
    text.append("░" * (bar_width - filled), style="dim")
    text.append(tail, style=LEVEL_STYLES[gauge.level] if gauge.level != "ok" else "")
    return text


def risk_lines(risk: RiskView | None, width: int) -> list[Line]:
    if risk is None:
        return [Line(Text("no risk state reported yet", style="dim"), 0)]
    lines = []
    if risk.manual_close_needed:
        lines.append(Line(Text("MANUAL CLOSE NEEDED: close positions by hand", style=ALARM), 0))
    if risk.close_requested:
        lines.append(Line(Text("close-all sent; waiting for the bot to be flat",
                               style="yellow"), 1))
    for reason in risk.reasons:  # the why of a halt deserves a second line when there is room
        level = ident(reason.get("level") or "")
        words = one_line(reason_line(reason), 700)
        first, *rest = textwrap.wrap(f"{level} {words}", max(10, width)) or [level]
        text = Text(first[:len(level)], style=STATE_STYLES.get(level, "yellow"))
        text.append(first[len(level):])
        lines.append(Line(text, 1))
        if rest:
            lines.append(Line(Text(" ".join(rest)), 3))
    lines.append(Line(gauge_line("daily loss", risk.daily_loss, width), 0))
    lines.append(Line(gauge_line("drawdown", risk.drawdown, width), 0))
    if risk.trailing_drawdown.limit is not None:
        lines.append(Line(gauge_line("trailing", risk.trailing_drawdown, width), 2))
    lines.append(Line(gauge_line("leverage", risk.leverage, width, unit="x", digits=2), 1))
    if risk.notional:
        lines.append(Line(Text("  ".join(f"{symbol} {compact(value)}"
                                         for symbol, value in risk.notional)), 2))
    if risk.losing_streak.limit:
        lines.append(Line(gauge_line("losses", risk.losing_streak, width), 3))
    multiplier = "—" if risk.risk_multiplier is None else f"{risk.risk_multiplier:g}"
    if risk.multiplier_moved:  # a cut must never be silent: who, and how it ends
        lines.append(Line(Text(f"risk x{multiplier} by {risk.multiplier_by}",
                               style="yellow"), 1))
        if risk.multiplier_until:
            lines.append(Line(Text(f"  {risk.multiplier_until}", style="yellow"), 2))
        lines.append(Line(Text(f"open orders {risk.open_orders}", style="dim"), 4))
        return lines
    lines.append(Line(Text(f"risk x{multiplier}  open orders {risk.open_orders}", style="dim"),
                      4))
    return lines
