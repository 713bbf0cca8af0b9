"""The daily audit's figures, computed from the day's journal events: pure, no I/O.

Why from the journal, not from the risk engine's state: the audit must hold
even when the engine was restarted, disabled or wrong, and anyone must be able
to recompute it from the record alone (``kernel report`` does, read-only).
PnL and trades come from the fills (the same average-cost ledger the risk
engine books with, :func:`risk.ledger.apply_fill`, per bot and symbol), equity
and drawdown from the bot's heartbeats, everything else from the events that
say so. Positions opened on an earlier day are passed in (``opening``), so a
trade closed today after opening yesterday is priced at its real entry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal, localcontext
from typing import NamedTuple

from agents.audit.messages import (
    AnomalyCount,
    BotEvents,
    BotSection,
    DailyAuditCompleted,
    Moment,
    OrderStats,
    PnlSummary,
    ShadowStats,
    TradeStats,
)
from agents.watchdog.messages import BotExited, ModeChanged, TradingHaltRequested
from bus.protocol import Fill, Heartbeat, Hello, Message, OrderDecision, OrderRequest
from kernel.events import (
    ActorStatusChanged,
    AnomalyDetected,
    BotLifecycleChanged,
    KernelStateChanged,
    OperatorCommandIssued,
)
from risk.ledger import apply_fill
from risk.messages import (
    LimitTripped,
    OperatorCommandRefused,
    RiskAnomalyDetected,
    RiskStateSnapshot,
    ShadowDecisionDiffered,
    TradingStateChanged,
)
from risk.money import EXACT, HUNDRED, ZERO, dec
from risk.state import PositionState

Book = dict[tuple[str, str], PositionState]
"""Positions by (bot id, symbol)."""
_LEVELS = ("debug", "info", "warning", "error", "critical")


class Event(NamedTuple):
    """One decoded journal row."""

    seq: int
    ts: float
    source: str
    message: Message


class Chain(NamedTuple):
    """The chain head when the audit was made: the last row's seq and hex hash."""

    seq: int | None
    head: str


def book_fills(book: Book, fills: Iterable[Fill],
               ) -> tuple[Book, list[tuple[Decimal, Decimal | None]]]:
    """Book fills in order; return the new book and, per fill, the cash it realised
    (PnL minus fee) and the PnL of the round trip it closed (None if none closed)."""
    book = dict(book)
    results: list[tuple[Decimal, Decimal | None]] = []
    for fill in fills:
        key = (fill.bot_id, fill.symbol)
        done = apply_fill(book.get(key, PositionState()), fill.side, dec(fill.qty),
                          dec(fill.price), dec(fill.fee))
        book[key] = done.position
        results.append((done.cash_delta, done.closed_trade_pnl))
    return book, results


def anchor(book: Book, beat: Heartbeat) -> Book:
    """A bot's session starts (its ``hello``): its first heartbeat's positions replace
    what the fills had booked for it. The bot's own account is the truth at that
    boundary (a bot that restarted flat, or with its venue's positions, trades on
    from there), so later fills are priced against what it really holds."""
    out = {key: pos for key, pos in book.items() if key[0] != beat.bot_id}
    for p in beat.positions:
        if p.qty:
            out[(beat.bot_id, p.symbol)] = PositionState(qty=dec(p.qty),
                                                         avg_price=dec(p.avg_price))
    return out


def daily_audit(day: str, timezone: str, events: Iterable[Event], *, opening: Book, now: float,
                complete: bool, chain: Chain, undecodable: int = 0) -> DailyAuditCompleted:
    """Every figure of one day's audit."""
    events = list(events)
    messages = [e.message for e in events]
    pnl, trades = _money(messages, opening)
    orders = _orders(messages)
    traded = orders.requested > 0 or trades.fills > 0
    notes = _notes(traded=traded, complete=complete, opening=opening, undecodable=undecodable)
    return DailyAuditCompleted(
        day=day, timezone=timezone, ts=now, complete=complete, traded=traded, rows=len(events),
        first_seq=events[0].seq if events else None, last_seq=events[-1].seq if events else None,
        chain_seq=chain.seq, chain_head=chain.head, pnl=pnl, trades=trades, orders=orders,
        limits_fired=tuple(_limits(events)), halts=tuple(_halts(events)),
        mode_changes=tuple(Moment(ts=e.ts, what=m.mode, detail=f"{m.previous} -> {m.mode} by "
                                  f"{m.requested_by}: {m.reason}")
                           for e in events if isinstance(m := e.message, ModeChanged)),
        operator_commands=tuple(_operator(events)), bots=_bots(messages),
        anomalies=_anomalies(events), limits_in_force=_in_force(messages), notes=tuple(notes),
        per_bot=_per_bot(messages, opening), shadow=shadow_stats(events))


def _per_bot(messages: list[Message], opening: Book) -> dict[str, BotSection]:
    """Each bot's own figures, when the day had two bots or more (a fleet)."""
    ids = sorted({bot for m in messages
                  if isinstance(m, Hello | Heartbeat | Fill | OrderRequest)
                  and (bot := m.bot_id)})
    if len(ids) < 2:
        return {}
    sections = {}
    for bot_id in ids:
        own = [m for m in messages if getattr(m, "bot_id", None) == bot_id]
        pnl, trades = _money(own, {k: p for k, p in opening.items() if k[0] == bot_id})
        sections[bot_id] = BotSection(pnl=pnl, trades=trades, orders=_orders(own))
    return sections


def shadow_stats(events: list[Event]) -> ShadowStats | None:
    """The shadow limits' day, when a risk snapshot of it says they were in force."""
    if not any(isinstance(e.message, RiskStateSnapshot) and e.message.shadow is not None
               for e in events):
        return None
    rows = [(e.ts, m) for e in events if isinstance(m := e.message, ShadowDecisionDiffered)]
    to_deny = Counter(m.shadow_code for _, m in rows if m.shadow_verdict == "DENY"
                      and m.verdict == "ALLOW")
    to_allow = Counter(m.code for _, m in rows if m.shadow_verdict == "ALLOW")
    return ShadowStats(differed=len(rows), allow_to_deny=dict(to_deny.most_common()),
                       deny_to_allow=dict(to_allow.most_common()),
                       other_code=len(rows) - to_deny.total() - to_allow.total(),
                       first_ts=rows[0][0] if rows else None)


def _money(messages: list[Message], opening: Book) -> tuple[PnlSummary, TradeStats]:
    """Fills booked in journal order; each bot session (``hello``) re-anchors that
    bot's book at its first heartbeat (:func:`anchor`)."""
    book, results, fills = dict(opening), [], []
    beats: list[tuple[Heartbeat, bool]] = []
    starting: set[str] = set()
    for m in messages:
        if isinstance(m, Hello):
            starting.add(m.bot_id)
        elif isinstance(m, Heartbeat):
            starts = m.bot_id in starting
            if starts:
                starting.discard(m.bot_id)
                book = anchor(book, m)
            beats.append((m, starts))
        elif isinstance(m, Fill):
            book, done = book_fills(book, [m])
            results += done
            fills.append(m)
    with localcontext(EXACT):
        realized = sum((cash for cash, _ in results), ZERO)
        fees = sum((dec(f.fee) for f in fills), ZERO)
        closed = [pnl for _, pnl in results if pnl is not None]
        equity = _equity(beats)
    wins = [p for p in closed if p > 0]
    losses = [p for p in closed if p < 0]
    pnl = PnlSummary(
        start_equity=equity.start, end_equity=equity.end, realized_pnl=realized, fees=fees,
        unrealized_pnl=equity.open_pnl, max_drawdown=equity.drawdown,
        max_drawdown_pct=(equity.drawdown * HUNDRED / equity.peak).quantize(Decimal("0.01"))
        if equity.peak and equity.peak > 0 else None,
        sessions=equity.sessions, equity_reset=equity.reset)
    trades = TradeStats(
        fills=len(fills), trades=len(closed), wins=len(wins), losses=len(losses),
        win_rate_pct=(Decimal(len(wins)) * HUNDRED / len(closed)).quantize(Decimal("0.01"))
        if closed else None,
        average_win=_mean(wins), average_loss=_mean(losses),
        largest_win=max(wins) if wins else None, largest_loss=min(losses) if losses else None,
        trades_pnl=sum(closed, ZERO))
    return pnl, trades


class _Equity(NamedTuple):
    start: Decimal | None
    end: Decimal | None
    open_pnl: Decimal | None
    drawdown: Decimal
    peak: Decimal | None
    sessions: int
    reset: Decimal


def _equity(beats: list[tuple[Heartbeat, bool]]) -> _Equity:
    """Start, end, end-of-day open PnL, max drawdown and the peak it fell from, the
    bot sessions seen and the equity jumps at their boundaries.

    With several bots the equity is the sum of each bot's latest report. A beat
    flagged True begins a session (see :func:`_money`); when the bot's equity
    jumps there (a bot that lost its account), the jump is counted apart and kept
    out of the drawdown, so that the change of the day adds up to what was traded.
    """
    first: dict[str, Decimal] = {}
    latest: dict[str, Decimal] = {}
    open_pnl: dict[str, Decimal] = {}
    peak: Decimal | None = None
    drawdown, drawdown_peak, reset, sessions = ZERO, None, ZERO, 0
    for beat, starts in beats:
        equity = dec(beat.equity)
        if starts or beat.bot_id not in first:
            sessions += 1
        if starts and beat.bot_id in latest:
            jump = equity - latest[beat.bot_id]
            reset += jump
            peak = None if peak is None else peak + jump
        first.setdefault(beat.bot_id, equity)
        latest[beat.bot_id] = equity
        open_pnl[beat.bot_id] = dec(beat.unrealized_pnl)
        total = sum(latest.values(), ZERO)
        peak = total if peak is None else max(peak, total)
        if peak - total > drawdown:
            drawdown, drawdown_peak = peak - total, peak
    if not beats:
        return _Equity(None, None, None, ZERO, None, 0, ZERO)
    return _Equity(sum(first.values(), ZERO), sum(latest.values(), ZERO),
                   sum(open_pnl.values(), ZERO), drawdown, drawdown_peak, sessions, reset)


def _mean(values: list[Decimal]) -> Decimal | None:
    return sum(values, ZERO) / len(values) if values else None


def _orders(messages: list[Message]) -> OrderStats:
    requested = {m.request_id for m in messages if isinstance(m, OrderRequest)}
    decisions = [m for m in messages if isinstance(m, OrderDecision)]
    denied = Counter(d.code for d in decisions if d.verdict == "DENY")
    answered = {d.request_id for d in decisions}
    return OrderStats(requested=len(requested),
                      allowed=sum(1 for d in decisions if d.verdict == "ALLOW"),
                      denied=sum(denied.values()), denied_by_code=dict(denied.most_common()),
                      unanswered=len(requested - answered))


def _limits(events: list[Event]) -> Iterable[Moment]:
    for e in events:
        if isinstance(m := e.message, LimitTripped):
            yield Moment(ts=e.ts, what=m.code, detail=f"{m.reason} ({m.value} of {m.limit}), "
                                                      f"then {m.action}")


def _halts(events: list[Event]) -> Iterable[Moment]:
    for e in events:
        match e.message:
            case TradingStateChanged() as m:
                yield Moment(ts=e.ts, what=m.current,
                             detail=f"{m.previous} -> {m.current} by {m.by}: {m.cause}")
            case TradingHaltRequested() as m:
                yield Moment(ts=e.ts, what="halt_requested",
                             detail=f"[{m.code}] {m.reason} (by {m.source})")
            case KernelStateChanged(state="halted") as m:
                yield Moment(ts=e.ts, what="kernel_halted", detail=m.reason)


def _operator(events: list[Event]) -> Iterable[Moment]:
    for e in events:
        match e.message:
            case OperatorCommandIssued() as m:
                yield Moment(ts=e.ts, what=m.action, detail=f"by {m.user}: {m.reason}")
            case OperatorCommandRefused() as m:
                yield Moment(ts=e.ts, what=f"{m.action} refused", detail=f"by {m.user}: "
                                                                         f"{m.reason}")


def _bots(messages: list[Message]) -> BotEvents:
    states = Counter(m.state for m in messages if isinstance(m, BotLifecycleChanged))
    actors = Counter(m.actor for m in messages
                     if isinstance(m, ActorStatusChanged) and m.state == "FAULTED")
    return BotEvents(
        starts=states["starting"], restarts=states["restarting"], hangs=states["hung"],
        crashes=states["crashed"], gave_up=states["gave_up"],
        unexpected_exits=sum(1 for m in messages if isinstance(m, BotExited) and not m.expected),
        actor_restarts=dict(sorted(actors.items())))


def _anomalies(events: list[Event]) -> tuple[AnomalyCount, ...]:
    counts: Counter[str] = Counter()
    worst: dict[str, str] = {}
    sources: dict[str, set[str]] = {}
    for e in events:
        match e.message:
            case AnomalyDetected() as m:
                kind, level, source = m.kind, m.severity, m.source
            case RiskAnomalyDetected() as m:
                kind, level, source = m.kind, "warning", e.source
            case _:
                continue
        counts[kind] += 1
        if _LEVELS.index(level) > _LEVELS.index(worst.get(kind, "debug")):
            worst[kind] = level
        sources.setdefault(kind, set()).add(source)
    return tuple(AnomalyCount(kind=k, count=n, worst=worst.get(k, "debug"),
                              sources=tuple(sorted(sources[k])))
                 for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _in_force(messages: list[Message]) -> dict[str, str]:
    """Each limit as the day's last risk snapshot has it; with several bots, each bot's
    own last snapshot, its limits named ``bot:<id> <limit>`` (never one bot's for all)."""
    last: dict[str, RiskStateSnapshot] = {}
    for m in messages:
        if isinstance(m, RiskStateSnapshot):
            last[m.bot_id] = m
    named = sorted(b for b in last if b)
    if len(named) <= 1:
        newest = [m for m in messages if isinstance(m, RiskStateSnapshot)]
        return _limits_of(newest[-1]) if newest else {}
    return {f"bot:{b} {k}": v for b in named for k, v in _limits_of(last[b]).items()}


def _limits_of(s: RiskStateSnapshot) -> dict[str, str]:
    found: Mapping[str, object] = {
        "trading_state": s.trading_state, "max_daily_loss": s.max_daily_loss,
        "max_drawdown": s.max_drawdown, "max_trailing_drawdown": s.max_trailing_drawdown,
        "max_leverage": s.max_leverage, "max_consecutive_losses": s.max_consecutive_losses,
        "risk_multiplier": s.risk_multiplier}
    return {k: str(v) for k, v in found.items() if v is not None}


def _notes(*, traded: bool, complete: bool, opening: Book, undecodable: int) -> list[str]:
    notes = []
    if not traded:
        notes.append("No trading on this day: no order was requested and no fill was reported.")
    if not complete:
        notes.append("The day is not over: these figures cover it up to the time of the report.")
    carried = sorted(f"{bot or '?'} {symbol} {pos.qty}" for (bot, symbol), pos in opening.items()
                     if pos.qty)
    if carried:
        notes.append("Positions carried in from earlier days: " + ", ".join(carried) + ".")
    if undecodable:
        notes.append(f"{undecodable} journal rows of the day could not be decoded and were "
                     "left out (a newer or foreign publisher).")
    return notes
