"""The fleet table as rich renders it, for ``kernel status`` and the dashboard.

Every cell that may hold outside text (a bot id, a reason, a warning) is built as
``Text`` through kernel/untrusted.py, never as markup. Below 120 columns (the
dashboard at 80x24) the table is compact: short headings, whole money units, the
bot process folded into the state, and the warnings on lines of their own under
the table (:func:`warning_lines`), so that every row is one line and no column is
squeezed out.
"""

from __future__ import annotations

from rich import box
from rich.console import JustifyMethod
from rich.table import Table
from rich.text import Text

from kernel.fleet_view import FleetRow, FleetView
from kernel.untrusted import ident, one_line

_STYLE = {"ACTIVE": "green", "REDUCING": "yellow", "HALTED": "bold red"}
WIDE = 120
_COMPACT: list[tuple[str, JustifyMethod, int]] = [
    ("state", "left", 10), ("mode", "left", 5), ("equity", "right", 9), ("PnL", "right", 7),
    ("expo", "right", 8), ("beat", "right", 6), ("rst", "right", 3)]
_FULL: list[tuple[str, JustifyMethod, int]] = [
    ("trading", "left", 10), ("bot process", "left", 13), ("mode", "left", 7),
    ("equity", "right", 14), ("PnL today", "right", 12), ("exposure", "right", 13),
    ("heartbeat", "right", 11), ("restarts", "right", 10)]
"""(heading, justification, width with its padding of one on each side)."""


def fleet_table(view: FleetView, *, title: str = "fleet", width: int = WIDE) -> Table:
    compact = width < WIDE
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False, padding=(0, 1))
    columns = _COMPACT if compact else _FULL
    longest = max((len(ident(r.bot_id)) for r in view.rows), default=8)
    bot = min(max(longest, 8) + 2, 14 if compact else 26)  # longer ids end in "…"
    table.add_column("bot", no_wrap=True, overflow="ellipsis", width=bot)
    for name, justify, size in columns:
        table.add_column(name, justify=justify, no_wrap=True, overflow="ellipsis", width=size)
    if not compact:
        used = bot + sum(size for _, _, size in columns) + len(columns) + 1  # rules
        table.add_column("warning", no_wrap=True, overflow="ellipsis",
                         width=max(10, width - used))
    for row in view.rows:
        table.add_row(*_cells(row, compact))
    table.add_section()
    totals: list[Text | str] = [Text("all bots", style="bold"), _state(view.trading_state)]
    totals += [] if compact else [""]
    totals += ["", _money(view.equity, compact), _money(view.pnl_today, compact, signed=True),
               _money(view.exposure, compact), "", ""]
    if not compact:
        totals.append(Text(one_line(view.warning, 300), style="yellow"))
    table.add_row(*totals)
    return table


def warning_lines(view: FleetView) -> list[Text]:
    """The warnings (and a held bot's reasons) under a compact table, one line each."""
    lines = [Text(one_line(f"! {view.warning}"), style="yellow")] if view.warning else []
    for row in view.rows:
        said = row.warning or (row.reasons if row.trading_state != "ACTIVE" else "")
        if said:
            lines.append(Text(one_line(f"{'!' if row.warning else '·'} {ident(row.bot_id)}: "
                                       f"{said}"), style="yellow" if row.warning else "dim"))
    return lines


def _cells(row: FleetRow, compact: bool) -> list[Text | str]:
    state = _state(row.trading_state)
    if compact and row.process not in ("running", "external", "?"):
        state.append(f" {ident(row.process)}", style="yellow")  # off, hung, gave_up ...
    cells: list[Text | str] = [Text(ident(row.bot_id)), state]
    if not compact:
        cells.append(Text(ident(row.process)))
    cells += [Text(ident(row.mode)), _money(row.equity, compact),
              _money(row.pnl_today, compact, signed=True), _money(row.exposure, compact),
              _age(row.heartbeat_age_s, compact), str(row.restarts)]
    if not compact:
        cells.append(Text(one_line(row.warning or row.reasons, 300),
                          style="yellow" if row.warning else "dim"))
    return cells


def _state(state: str) -> Text:
    return Text(ident(state), style=_STYLE.get(state, "dim"))


def _money(value: float | None, compact: bool, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    places = 0 if compact else 2
    return format(value, f"{'+' if signed else ''},.{places}f")


def _age(seconds: float | None, compact: bool) -> str:
    if seconds is None:
        return "—"
    return f"{seconds:.1f}s" if compact else f"{seconds:.1f} s ago"
