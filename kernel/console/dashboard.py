"""``kernel tap``'s live dashboard: one screen that an operator keeps open all day.

At a glance it answers three questions: is the bot alive (bot panel), how
close is it to each limit (risk panel, bars against the limits), and what just
happened (events, coloured by severity). The layout is computed for the
terminal's size on every redraw, so a resize just works and an 80×24 terminal
keeps the essentials: panels shed their least important lines first, then the
event list shrinks, and below about 72 columns the panels stack. It draws on
the alternate screen (like ``top``), so the shell is left as it was on exit.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import replace
from types import TracebackType
from typing import Any

import msgspec
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from kernel.console._dashboard_model import DashboardModel, DashboardView
from kernel.console._dashboard_panels import (
    ALARM,
    STATE_STYLES,
    bot_lines,
    duration,
    fit,
    risk_lines,
)
from kernel.console._dashboard_parts import EventView
from kernel.console._fleet_table import WIDE, fleet_table, warning_lines
from kernel.console._tap_output import STYLES, Sink, decode_latest
from kernel.control_protocol import SnapshotReply
from kernel.fleet_view import FleetView

SIDE_BY_SIDE_WIDTH = 72
TOPIC_MAX = 20
"""The event list's topic column at its widest; a longer topic ends with an ellipsis."""
MARKS = {"warning": "!", "error": "!!", "critical": "!!"}
LINK = {"connected": ("● live", "green"), "connecting": ("○ connecting", "yellow"),
        "unreachable": ("✖ UNREACHABLE", ALARM)}
REDRAW_S, IDLE_REDRAW_S = 0.2, 1.0
"""At most five frames a second while busy; once a second anyway, for the ages."""


class Screen:
    """One frame, laid out for whatever size the console has when it is drawn."""

    def __init__(self, view: DashboardView, *, now: float, bus: str) -> None:
        self.view, self.now, self.bus = view, now, bus

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        height = options.height or console.height
        yield Group(*compose(self.view, width=width, height=height, now=self.now, bus=self.bus))


def compose(view: DashboardView, *, width: int, height: int, now: float,
            bus: str) -> list[RenderableType]:
    """The rows of the screen, never more than ``height`` lines tall."""
    top: list[RenderableType] = [_line(_header(view, width), width)]
    if view.link.state == "unreachable":
        alert = (f"KERNEL UNREACHABLE for {duration(now - view.link.since)}: last known "
                 f"state below, retrying. Is `kernel run` running? ({view.link.detail})")
        top += [_line(Text(line, style=ALARM), width)
                for line in _wrapped(alert, width, 3 if height >= 20 else 1)]
    avail = height - len(top) - 1
    pnl = view.risk.pnl_today if view.risk is not None else None
    mode = view.kernel.mode if view.kernel is not None else ""
    body: list[RenderableType] = []
    used = 0
    if view.fleet is not None and avail >= 8:
        table, used = _fleet_rows(view.fleet, avail - (6 if avail >= 16 else 0), width)
        body.append(table)
        if avail - used >= 3:
            body.append(_events(view.events, avail - used, width))
            used = avail
    elif avail >= 3:
        wide = width >= SIDE_BY_SIDE_WIDTH
        half = width // 2 if wide else width
        bot = bot_lines(view.bot, pnl_today=pnl, mode=mode)
        risk = risk_lines(view.risk, (width - half if wide else width) - 4)
        room = avail - (4 if avail >= 12 else 0)  # leave the event list two rows at least
        if wide:
            rows = min(max(len(bot), len(risk)), room - 2)
            grid = Table.grid()
            grid.add_row(_panel(_bot_title(view), bot, rows, half),
                         _panel(_risk_title(view), risk, rows, width - half))
            body.append(grid)
            used = rows + 2
        else:
            bot_rows = min(len(bot), max(1, room // 2 - 2))
            risk_rows = min(len(risk), max(0, room - bot_rows - 4))
            body.append(_panel(_bot_title(view), bot, bot_rows, width))
            used = bot_rows + 2
            if risk_rows >= 1:
                body.append(_panel(_risk_title(view), risk, risk_rows, width))
                used += risk_rows + 2
        if avail - used >= 3:
            body.append(_events(view.events, avail - used, width))
            used = avail
    filler = [Text("")] * max(0, avail - used)
    return [*top, *body, *filler, _line(_footer(view, width), width)]


def _fleet_rows(fleet: FleetView, room: int, width: int) -> tuple[Group, int]:
    """The fleet table and its warnings in ``room`` lines at most (title, header, rules
    and totals take five); bots that do not fit are counted in the title."""
    fit = max(1, room - 5)
    shown = fleet if len(fleet.rows) <= fit else replace(fleet, rows=fleet.rows[:fit - 1])
    hidden = len(fleet.rows) - len(shown.rows)
    title = "fleet" + (f" (+{hidden} more: kernel status)" if hidden else "")
    table = fleet_table(shown, title=title, width=width)
    used = len(shown.rows) + 5
    warned = [_line(t, width) for t in warning_lines(fleet)][:max(0, room - used)] \
        if width < WIDE else []
    return Group(table, *warned), used + len(warned)


def _wrapped(text: str, width: int, lines: int) -> list[str]:
    """``text`` on at most ``lines`` lines of ``width``; the last one is cut if it must be."""
    wrapped = textwrap.wrap(text, max(1, width), break_on_hyphens=False) or [""]
    if len(wrapped) > lines:
        wrapped = [*wrapped[:lines - 1], " ".join(wrapped[lines - 1:])]
    return wrapped


def _line(text: Text, width: int) -> Text:
    text = text.copy()
    text.truncate(width, overflow="ellipsis", pad=False)
    text.no_wrap = True
    return text


def _panel(title: Text, lines: list[Any], rows: int, width: int) -> Panel:
    content = fit(lines, rows, width - 4)
    return Panel(Group(*content), title=title, title_align="left", width=width,
                 height=rows + 2, padding=(0, 1))


def _header(view: DashboardView, width: int) -> Text:
    """Segments by importance: the link and the trading state stay when the title goes."""
    label, style = LINK.get(view.link.state, ("?", ""))
    segments: list[tuple[int, Text]] = [(0, Text(label, style=style))]
    kernel = view.kernel
    if kernel is None:
        segments.append((1, Text("kernel: no state yet", style="dim")))
    else:
        segments += [
            (2, Text(f"kernel {kernel.version}")), (3, Text(f"pid {kernel.pid}")),
            (2, Text(f"up {duration(kernel.uptime_s)}")),
            (0, Text.assemble("mode ", (kernel.mode, "bold"))),
            (0, Text.assemble("trading ", (kernel.trading_state, STATE_STYLES.get(
                kernel.trading_state, "yellow")))),
        ]
        if kernel.state not in ("running", "starting"):
            segments.append((0, Text(f"kernel {kernel.state}",
                                     style=STATE_STYLES.get(kernel.state, "red"))))
    segments.insert(0, (4, Text("QuantumEdge Supervisor", style="bold")))
    for drop in (4, 3, 2, 1):
        if sum(len(t) + 2 for _, t in segments) - 2 <= width:
            break
        segments = [(p, t) for p, t in segments if p < drop]
    return Text("  ").join(t for _, t in segments)


def _bot_title(view: DashboardView) -> Text:
    return Text(f"bot {view.bot.bot_id}" if view.bot and view.bot.bot_id else "bot",
                style="bold")


def _risk_title(view: DashboardView) -> Text:
    title = Text("risk ", style="bold")
    if view.risk is not None:
        title.append(view.risk.trading_state,
                     style=STATE_STYLES.get(view.risk.trading_state, "yellow"))
    return title


def _events(events: tuple[EventView, ...], height: int, width: int) -> Panel:
    rows = height - 2
    inner = width - 4
    last = events[-rows:] if rows > 0 else ()
    # As wide as the longest topic shown (``moderator.advice`` is 16), within reason.
    topic_width = min(TOPIC_MAX, max((len(e.topic) for e in last), default=0))
    shown = [_event_line(e, inner, topic_width) for e in last]
    if not events:
        shown = [Text("orders, lifecycle, anomalies and plans appear here", style="dim")]
    return Panel(Group(*shown), title=Text("events", style="bold"), title_align="left",
                 width=width, height=height, padding=(0, 1))


def _event_line(event: EventView, width: int, topic_width: int) -> Text:
    when = dt.datetime.fromtimestamp(event.ts).strftime("%H:%M:%S")
    text = Text(f"{when} ", style="dim")
    text.append(f"{MARKS.get(event.severity, ''):<2} ", style=STYLES.get(event.severity, ""))
    if width >= 60:
        topic = event.topic if len(event.topic) <= topic_width \
            else event.topic[:topic_width - 1] + "…"
        text.append(f"{topic:<{topic_width}} ", style="dim")
    text.append(event.text, style="dim" if event.replayed else STYLES.get(event.severity, ""))
    return _line(text, width)


def _footer(view: DashboardView, width: int) -> Text:
    """Segments by importance, as the header: the rates and the way out stay longest."""
    c = view.counters
    deny = Text("deny ")
    if c.deny_rate is None:
        deny.append("—")
    else:
        deny.append(f"{c.deny_rate * 100:.0f}%", style="yellow" if c.denies else "")
        deny.append(f" of {c.decisions}")
    deny.append(f" ({c.window_s:.0f}s)")
    segments: list[tuple[int, Text]] = [
        (0, Text(f"orders {c.orders_per_s:.1f}/s")), (0, deny), (2, Text(f"fills {c.fills}")),
        (2, Text(f"bus {c.messages_per_s:.0f}/s"))]
    kernel = view.kernel
    if kernel is not None:
        segments.append((1, Text(f"actors {kernel.actors_running}/{kernel.actors_total}",
                                 style="red" if kernel.faulted else "")))
    segments.append((0, Text("Ctrl-C quits", style="dim")))
    for drop in (2, 1):
        if sum(len(t) + 2 for _, t in segments) - 2 <= width:
            break
        segments = [(p, t) for p, t in segments if p < drop]
    return Text("  ").join(t for _, t in segments)


class DashboardSink(Sink):
    """Feeds the view model and redraws the screen in place."""

    def __init__(self, console: Console, *, topics: tuple[str, ...], bus: str,
                 control: str | None, now: float, bot: str = "",
                 bots: tuple[str, ...] = ()) -> None:
        self.console, self.bus, self.control = console, bus, control
        self.model = DashboardModel(started=now, event_topics=topics, bot=bot, bots=bots)
        self.live: Live | None = None
        self.drawn_at = 0.0
        self.dirty = True

    def __enter__(self) -> Sink:
        self.live = Live(console=self.console, screen=True, auto_refresh=False,
                         redirect_stdout=False, redirect_stderr=False)
        self.live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.live is not None:
            self.live.stop()

    def snapshot(self, reply: SnapshotReply, *, show: bool, now: float) -> None:
        self.model.load_snapshot(msgspec.to_builtins(reply.status), dict(decode_latest(reply)),
                                 now)
        self.dirty = True

    def message(self, topic: str, source: str, body: Any, now: float) -> None:
        self.model.apply(topic, body, now, source=source)
        self.dirty = True

    def note(self, text: str, level: str, now: float) -> None:
        self.model.note(text, level, now)
        self.dirty = True

    def link(self, state: str, detail: str, now: float) -> None:
        self.model.set_link(state, now, detail)
        self.dirty = True

    def tick(self, now: float) -> None:
        since = now - self.drawn_at
        if self.live is None or since < (REDRAW_S if self.dirty else IDLE_REDRAW_S):
            return
        self.live.update(Screen(self.model.view(now), now=now, bus=self.bus), refresh=True)
        self.drawn_at, self.dirty = now, False
