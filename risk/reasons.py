"""Adding and clearing the reasons that hold trading in REDUCING or HALTED.

The trading state is derived from its reasons (``RiskState.trading_state``), so
every halt, resume and rollover is a change to this tuple, and each public
transition reports a ``TradingStateChanged`` when the derived state moved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import msgspec

from risk.messages import Actor, ReasonView, TradingStateChanged
from risk.state import Level, RiskState, Scope, StateReason


def add_reason(state: RiskState, level: Level, code: str, text: str, now: float,
               scope: Scope, *, until: float | None = None) -> RiskState:
    """Add a reason unless one with the same code is already in force."""
    if code in state.reason_codes():
        return state
    reason = StateReason(level=level, code=code, text=text, ts=now, day=state.day, scope=scope,
                         until=until)
    return msgspec.structs.replace(state, reasons=(*state.reasons, reason))


def drop_reasons(state: RiskState, drop: Callable[[StateReason], bool]) -> RiskState:
    kept = tuple(r for r in state.reasons if not drop(r))
    if len(kept) == len(state.reasons):
        return state
    return msgspec.structs.replace(state, reasons=kept)


def expire_day_reasons(state: RiskState) -> RiskState:
    """Forgive halts of earlier days, unless the forced close is still unresolved.

    A day-scoped halt (daily loss, drawdown) ends at the rollover. While the bot
    has not confirmed flat after a ``close_all``, or a manual close is flagged,
    the old day's halt is carried over: a new day must not open on top of
    positions that were meant to be closed.
    """
    if state.manual_close_needed or state.close_requested_at is not None:
        return state
    return drop_reasons(state, lambda r: r.scope == "day" and r.day < state.day)


def views(state: RiskState) -> tuple[ReasonView, ...]:
    return tuple(ReasonView(level=r.level, code=r.code, text=r.text, since=r.ts,
                            way_out=way_out(r), lifts_at=r.until if r.scope == "day" else None)
                 for r in state.reasons)


RESUME: Final = 'kernel resume --reason "<why>"'
"""The operator command that ends every halt and hand-set REDUCING."""
START: Final = 'kernel mode paper|demo --reason "<why>"'
"""The operator command that starts a bot the watchdog left down."""
BOT_CONFIG: Final = "paths.yaml bot:"
"""Where the bot's command is configured (one bot)."""


def for_bot(way: str, bot_id: str) -> str:
    """A fleet bot's way out, each command naming the bot: without ``--bot``,
    ``kernel resume`` resumes and ``kernel mode`` restarts every bot of the fleet."""
    return (way.replace(RESUME, f'kernel resume --bot {bot_id} --reason "<why>"', 1)
            .replace(START, f'kernel mode paper|demo --bot {bot_id} --reason "<why>"', 1)
            .replace(BOT_CONFIG, f"its entry {bot_id} in paths.yaml bots:", 1))


_BOT_DOWN: Final = frozenset({"bot_gave_up", "bot_hung"})
"""The watchdog's halts: the bot is left down, so a resume alone trades nothing."""


def way_out(reason: StateReason) -> str:
    """How trading gets out of this reason, in words a person can act on at once.

    Waiting for a heartbeat lifts itself; a day-scoped limit lifts itself at the
    rollover (or a person resumes now); everything else waits for ``kernel resume``,
    with ``--yes`` where the command would otherwise ask (a limit re-armed).
    """
    confirm = "" if reason.code.startswith("manual_") or reason.level != "HALTED" else " --yes"
    command = f"{RESUME}{confirm}"
    if reason.scope == "heartbeat":
        return ("lifts itself at the bot's next heartbeat that reconciles (if the bot is "
                "not running, see kernel status)")
    if reason.scope == "day":
        return f"lifts itself at the day rollover once the bot is flat; to trade sooner: {command}"
    if reason.code == "ledger_mismatch":
        return f"check the bot's positions at its venue, then: {command}"
    if reason.code.startswith("manual_"):
        return command
    if reason.code in _BOT_DOWN:
        return f"fix the bot (its log, {BOT_CONFIG}), start it with {START}, then: {command}"
    return f"once the cause is fixed: {command}"


def state_change(before: RiskState, after: RiskState, now: float, by: Actor,
                 cause: str) -> list[TradingStateChanged]:
    """One event when the derived trading state moved, none otherwise."""
    if before.trading_state == after.trading_state:
        return []
    return [TradingStateChanged(previous=before.trading_state, current=after.trading_state,
                                by=by, cause=cause, reasons=views(after), ts=now)]


def describe(state: RiskState) -> str:
    """All reasons in force, for a denial: ``daily loss ...; halted by hand: ...``."""
    return "; ".join(r.text for r in state.reasons) or "no reason recorded"
