"""The daily audit as Markdown, for people: the reports directory and Meta-Agent tasks.

Pure: the audit in, text out. Times are shown in the trading day's own offset
(the one the figures were cut by), money with two decimals, and a figure that
could not be known is shown as ``n/a`` rather than as a zero that would lie.
Text from the journal (a reason, a bot's detail, a symbol) is put on one line
with its control characters shown (:func:`kernel.untrusted.one_line`), so a
newline in it cannot forge a heading or a table row, nor an ANSI escape colour
the terminal the report is printed on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from agents.audit.messages import DailyAuditCompleted, Moment
from kernel.untrusted import ident, one_line
from risk.limits import utc_offset_seconds

CELL_LIMIT = 1000


def money(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


def clock(ts: float, zone: str, *, date: bool = False) -> str:
    """``14:03:07`` (or with the date) in the day's offset."""
    tz = timezone(timedelta(seconds=utc_offset_seconds(zone)))
    when = datetime.fromtimestamp(ts, tz=UTC).astimezone(tz)
    return when.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")


def table(head: Sequence[str], rows: Iterable[Sequence[object]], *,
          right: Sequence[int] = ()) -> list[str]:
    """A GitHub-flavoured table; each cell on one line, its pipes escaped."""
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(head))) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(one_line(c, CELL_LIMIT).replace("|", "\\|")
                                       for c in row) + " |")
    return lines


def render(audit: DailyAuditCompleted) -> str:
    """The whole report."""
    a = audit
    lines = [one_line(f"# Daily audit: {a.day} ({a.timezone})"), "", one_line(_headline(a)), ""]
    lines += [f"> {one_line(note)}" for note in a.notes] + ([""] if a.notes else [])
    lines += _pnl(a) + _trades(a) + _orders(a) + _per_bot(a)
    lines += _moments("Limits fired", a.limits_fired, a.timezone, "Limit")
    lines += _moments("Trading state and halts", a.halts, a.timezone, "State")
    lines += _moments("Mode changes", a.mode_changes, a.timezone, "Mode")
    lines += _moments("Operator commands", a.operator_commands, a.timezone, "Command")
    lines += _bots(a) + _anomalies(a) + _in_force(a) + _shadow(a)
    return "\n".join(lines).rstrip() + "\n"


def _headline(a: DailyAuditCompleted) -> str:
    span = (f"journal rows {a.first_seq:,}-{a.last_seq:,}" if a.first_seq is not None
            and a.last_seq is not None else "no journal rows")
    head = (f"chain head at seq {a.chain_seq:,}: `{a.chain_head}`" if a.chain_seq is not None
            else "no chain head")
    state = "complete day" if a.complete else "day in progress"
    return (f"Made {clock(a.ts, a.timezone, date=True)} ({a.timezone}), {state}, {span}, "
            f"{head}.")


def _pnl(a: DailyAuditCompleted) -> list[str]:
    p = a.pnl
    change = (None if p.start_equity is None or p.end_equity is None
              else p.end_equity - p.start_equity - p.equity_reset)
    drawdown = money(p.max_drawdown) + (f" ({p.max_drawdown_pct} % of its peak)"
                                        if p.max_drawdown_pct is not None else "")
    rows = [("Start equity", money(p.start_equity)), ("End equity", money(p.end_equity)),
            ("Change", money(change)), ("Realised PnL, net of fees", money(p.realized_pnl)),
            ("Fees paid", money(p.fees)), ("Unrealised PnL at the end", money(p.unrealized_pnl)),
            ("Max drawdown of the day", drawdown)]
    if p.sessions > 1:  # the boundary is part of the record, not hidden in the change
        rows.insert(3, ("Bot sessions (a hello begins one)", str(p.sessions)))
        rows.insert(4, ("Equity jump at session starts, not in Change",
                        money(p.equity_reset)))
    return ["## PnL (USDT)", "", *table(("Figure", "Value"), rows, right=(1,)), ""]


def _trades(a: DailyAuditCompleted) -> list[str]:
    t = a.trades
    rate = "n/a" if t.win_rate_pct is None else f"{t.win_rate_pct} %"
    rows = [(t.fills, t.trades, t.wins, t.losses, rate, money(t.average_win),
             money(t.average_loss), money(t.largest_win), money(t.largest_loss),
             money(t.trades_pnl))]
    head = ("Fills", "Trades", "Wins", "Losses", "Win rate", "Avg win", "Avg loss",
            "Largest win", "Largest loss", "Trades PnL")
    return ["## Trades", "", *table(head, rows, right=range(len(head))), ""]


def _per_bot(a: DailyAuditCompleted) -> list[str]:
    """With several bots: a row each (the sections above are the portfolio's total)."""
    if not a.per_bot:
        return []
    head = ("Bot", "Start equity", "End equity", "Realised", "Fees", "Trades", "Win rate",
            "Orders", "Denied")
    rows = []
    for bot_id, s in a.per_bot.items():
        rate = "-" if s.trades.win_rate_pct is None else f"{s.trades.win_rate_pct}%"
        rows.append((ident(bot_id), money(s.pnl.start_equity), money(s.pnl.end_equity),
                     money(s.pnl.realized_pnl), money(s.pnl.fees), s.trades.trades, rate,
                     s.orders.requested, s.orders.denied))
    return ["## Per bot (the figures above are the portfolio's total)", "",
            *table(head, rows, right=range(1, len(head))), ""]


def _orders(a: DailyAuditCompleted) -> list[str]:
    o = a.orders
    lines = ["## Orders", "",
             f"Requested {o.requested}, allowed {o.allowed}, denied {o.denied}"
             + (f", unanswered {o.unanswered}" if o.unanswered else "") + ".", ""]
    if o.denied_by_code:
        lines += table(("Denied by reason code", "Count"), o.denied_by_code.items(), right=(1,))
        lines.append("")
    return lines


def _moments(title: str, moments: Sequence[Moment], zone: str, what: str) -> list[str]:
    if not moments:
        return [f"## {title}", "", "None.", ""]
    rows = ((clock(m.ts, zone), m.what, m.detail) for m in moments)
    return [f"## {title}", "", *table(("Time", what, "Detail"), rows), ""]


def _bots(a: DailyAuditCompleted) -> list[str]:
    b = a.bots
    rows = [("Bot starts", b.starts), ("Bot restarts", b.restarts), ("Bot hangs", b.hangs),
            ("Bot crashes", b.crashes), ("Unexpected bot exits", b.unexpected_exits),
            ("Watchdog gave up", b.gave_up)]
    rows += [(f"Actor `{name}` crashed", n) for name, n in b.actor_restarts.items()]
    return ["## Bot and actors", "", *table(("Event", "Count"), rows, right=(1,)), ""]


def _anomalies(a: DailyAuditCompleted) -> list[str]:
    if not a.anomalies:
        return ["## Anomalies", "", "None.", ""]
    rows = ((x.kind, x.count, x.worst, ", ".join(x.sources)) for x in a.anomalies)
    return ["## Anomalies", "", *table(("Kind", "Count", "Worst", "Reported by"), rows,
                                       right=(1,)), ""]


def _in_force(a: DailyAuditCompleted) -> list[str]:
    if not a.limits_in_force:
        return ["## Limits in force", "", "No risk snapshot that day.", ""]
    return ["## Limits in force (each bot's last risk snapshot of the day)", "",
            *table(("Limit", "Value"), a.limits_in_force.items()), ""]


def _shadow(a: DailyAuditCompleted) -> list[str]:
    """The shadow limits' evidence: what they would have answered otherwise."""
    s = a.shadow
    if s is None:
        return ["## Shadow limits", "", "None in force (no config/risk.shadow.yaml).", ""]
    if not s.differed:
        return ["## Shadow limits", "", "In force; every order got the same answer from them.",
                ""]
    lines = ["## Shadow limits", "",
             f"{s.differed} order(s) the shadow limits would have answered otherwise, the "
             f"first at {clock(s.first_ts or 0.0, a.timezone)}; the real decisions stood "
             "(each is a `shadow.decision` row; `kernel replay` shows what would have "
             "followed).", ""]
    rows = [*((f"ALLOW -> DENY {code}", n) for code, n in s.allow_to_deny.items()),
            *((f"DENY {code} -> ALLOW", n) for code, n in s.deny_to_allow.items())]
    if s.other_code:
        rows.append(("DENY -> DENY, another code", s.other_code))
    return [*lines, *table(("Change", "Orders"), rows, right=(1,)), ""]
