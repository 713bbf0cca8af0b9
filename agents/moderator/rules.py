"""The risk moderator's decisions, pure: the summary, the offline answer, the trust rules.

* :func:`build_summary` turns what the book has seen into the compact
  :class:`ModerationSummary` that is sent (and journaled); time is passed in.
* :func:`offline_advice` answers from the same summary with fixed rules, for
  when there is no key, the budget is spent or the API fails.
* :func:`judge` is the trust boundary. The prompt asks nicely; this decides.
  An answer may only lower the risk multiplier within [floor, current], pause
  the bot for a bounded time, or move the mode demo -> paper. It can never
  raise anything, leave ``off``, or touch keys, configs, limits or the halt
  state: an answer that tries is refused whole, with the rule it broke.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Final

import msgspec

from agents.moderator._book import ModeratorBook
from agents.moderator.llm_config import ModeratorConfig
from agents.moderator.messages import Effect
from agents.moderator.parts import (
    Action,
    AnomalyView,
    BotView,
    BoundsView,
    ModerationSummary,
    ModeratorAnswer,
    RegimeView,
    RiskView,
    TradeRow,
    TradeStats,
)

ANSWER_FIELDS: Final = frozenset(ModeratorAnswer.__struct_fields__)
_NOTE: Final = 300


class Permitted(msgspec.Struct, frozen=True, kw_only=True):
    """What passing the trust rules allows, exactly."""

    action: Action
    effect: Effect
    detail: str
    risk_multiplier: float | None = None
    pause_minutes: int | None = None
    bot_id: str = ""
    """The bot a REDUCE_RISK is for (the summary's); "": the one bot."""


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    action: str
    reason: str


# --- the summary ----------------------------------------------------------------------


def build_summary(book: ModeratorBook, now: float, trigger: str, cfg: ModeratorConfig,
                  floor: float) -> ModerationSummary:
    """The compact state to judge; ``floor`` is the lowest multiplier allowed."""
    return ModerationSummary(
        ts=now, trigger=trigger[:200], mode=book.mode,
        bounds=_bounds(book, floor, cfg), risk=_risk(book, now), regime=_regime(book, now),
        bot=_bot(book, now), stats=_stats(book), last_trades=_rows(book, now),
        anomalies=_anomalies(book, now, cfg.anomaly_window_s), bot_id=book.subject)


def _bounds(book: ModeratorBook, floor: float, cfg: ModeratorConfig) -> BoundsView:
    allowed: list[Action] = ["OK"]
    if book.multiplier is not None and book.multiplier > floor:
        allowed.append("REDUCE_RISK")
    if book.mode != "off":
        allowed.append("PAUSE")
    if book.mode == "demo":
        allowed.append("SWITCH_TO_PAPER")
    return BoundsView(allowed_actions=allowed, current_multiplier=book.multiplier,
                      min_multiplier=floor, max_pause_minutes=cfg.bounds.max_pause_minutes,
                      multiplier_by=book.multiplier_by)


def _num(value: object) -> float | None:
    return None if value is None else round(float(str(value)), 2)


def _pct(used: float | None) -> float | None:
    return None if used is None else round(100 * used, 1)


def _risk(book: ModeratorBook, now: float) -> RiskView | None:
    risk = book.risk
    if risk is None:
        return None
    return RiskView(
        trading_state=risk.trading_state, reasons=[r.text[:_NOTE] for r in risk.reasons[:5]],
        equity=_num(risk.equity), daily_loss=_num(risk.daily_loss),
        max_daily_loss=_num(risk.max_daily_loss), daily_loss_used_pct=_pct(book.daily_loss_used()),
        drawdown=_num(risk.drawdown), max_drawdown=_num(risk.max_drawdown),
        drawdown_used_pct=_pct(book.drawdown_used()), consecutive_losses=risk.consecutive_losses,
        max_consecutive_losses=risk.max_consecutive_losses,
        risk_multiplier=book.multiplier if book.multiplier is not None else risk.risk_multiplier,
        age_s=round(max(0.0, now - book.risk_at), 1))


def _regime(book: ModeratorBook, now: float) -> RegimeView | None:
    macro = book.regime
    if macro is None:
        return None
    return RegimeView(regime=macro.regime, direction=macro.direction,
                      confidence=macro.confidence, alignment=macro.alignment,
                      note=macro.economic_assessment[:_NOTE],
                      age_s=round(max(0.0, now - book.regime_at), 1))


def _bot(book: ModeratorBook, now: float) -> BotView | None:
    bot = book.bot
    if bot is None:
        return None
    return BotView(state=bot.state, mode=bot.mode, restarts=bot.restarts,
                   positions=bot.positions, last_heartbeat_age_s=bot.last_heartbeat_age_s,
                   last_tick_age_s=bot.last_tick_age_s, equity=_num(bot.equity),
                   note=(bot.detail or bot.last_exit)[:_NOTE])


def _stats(book: ModeratorBook) -> TradeStats:
    trades = list(book.trades)
    if not trades:
        return TradeStats(loss_streak=book.loss_streak)
    wins = sum(1 for t in trades if t.pnl > 0)
    losses = sum(1 for t in trades if t.pnl < 0)
    return TradeStats(count=len(trades), wins=wins, losses=losses,
                      net_pnl=round(sum(t.pnl for t in trades), 2),
                      win_rate_pct=round(100 * wins / len(trades), 1),
                      loss_streak=book.loss_streak, streak_loss=book.streak_loss())


def _rows(book: ModeratorBook, now: float) -> list[TradeRow]:
    return [TradeRow(t.symbol, t.side, t.qty, t.entry, t.exit, t.pnl,
                     round(max(0.0, now - t.ts) / 60, 1)) for t in book.trades]


def _anomalies(book: ModeratorBook, now: float, window_s: float) -> AnomalyView:
    seen = book.recent_anomalies(now, window_s)
    return AnomalyView(window_min=round(window_s / 60, 1), count=len(seen),
                       by_kind=dict(Counter(a.kind for a in seen)),
                       recent=[f"{a.kind}: {a.detail}"[:_NOTE] for a in seen[-5:]])


# --- the offline moderator ---------------------------------------------------------------


def offline_advice(summary: ModerationSummary, cfg: ModeratorConfig) -> ModeratorAnswer:
    """The rule-based answer: anomalies -> paper, near a limit -> pause, losing -> reduce."""
    rules, risk = cfg.offline, summary.risk
    allowed = summary.bounds.allowed_actions
    if "SWITCH_TO_PAPER" in allowed and summary.anomalies.count >= rules.paper_at_anomalies:
        return ModeratorAnswer(action="SWITCH_TO_PAPER", confidence=70.0, reason=(
            f"{summary.anomalies.count} anomalies in {summary.anomalies.window_min:g} min "
            f"(rule: {rules.paper_at_anomalies}) while trading demo"))
    used = max((u for u in (risk.daily_loss_used_pct, risk.drawdown_used_pct) if u is not None),
               default=0.0) if risk else 0.0
    halted = risk is not None and risk.trading_state == "HALTED"
    if "PAUSE" in allowed and not halted and used >= 100 * rules.pause_at_limit_fraction:
        return ModeratorAnswer(action="PAUSE", confidence=70.0,
                               pause_minutes=cfg.bounds.default_pause_minutes, reason=(
                                   f"loss at {used:.0f}% of its limit (rule: pause at "
                                   f"{100 * rules.pause_at_limit_fraction:.0f}%)"))
    evidence, doubt = _reduce_evidence(summary, cfg, used)
    if "REDUCE_RISK" in allowed and evidence:
        return ModeratorAnswer(action="REDUCE_RISK", confidence=60.0, reason=evidence)
    return ModeratorAnswer(action="OK", confidence=50.0,
                           reason="no offline rule fired: " + _state_words(summary) + doubt)


def _reduce_evidence(summary: ModerationSummary, cfg: ModeratorConfig,
                     used: float) -> tuple[str, str]:
    """Why to cut the multiplier (empty: do not), and why a near miss did not count.

    A cut needs real evidence: a loss at ``reduce_at_limit_fraction`` of a limit, or a
    streak of ``reduce_at_loss_streak`` losing trades that together lost at least
    ``streak_loss_fraction`` of ``max_daily_loss``. The rules cut once per trading
    day: while a moderator's cut is in force, the next steps are the pause near the
    limit and the engine's own halt, not another cut on the same evidence.
    """
    rules, stats, risk = cfg.offline, summary.stats, summary.risk
    streak, lost = stats.loss_streak, stats.streak_loss
    budget = risk.max_daily_loss if risk is not None else None
    needed = None if not budget else rules.streak_loss_fraction * budget
    by_limit = used >= 100 * rules.reduce_at_limit_fraction
    long_streak = streak >= rules.reduce_at_loss_streak
    by_streak = long_streak and needed is not None and lost >= needed
    if not (by_limit or by_streak):
        if not long_streak:
            return "", ""
        return "", (f"; {streak} losing trades in a row lost {lost:g} USDT together, under "
                    f"{100 * rules.streak_loss_fraction:.0f}% of max_daily_loss "
                    f"({'unknown' if needed is None else f'{needed:g} USDT'}): not evidence "
                    "enough to cut the multiplier")
    if summary.bounds.multiplier_by.startswith("moderator"):
        return "", (f"; the multiplier was already cut today by {summary.bounds.multiplier_by} "
                    "(it returns at the next trading day): the rules cut once a day")
    if by_limit:
        return (f"loss at {used:.0f}% of its limit (rule: reduce at "
                f"{100 * rules.reduce_at_limit_fraction:.0f}% of a limit)"), ""
    return (f"{streak} losing trades in a row lost {lost:g} USDT together, at least "
            f"{100 * rules.streak_loss_fraction:.0f}% of max_daily_loss {budget:g} USDT "
            f"(rule: streak {rules.reduce_at_loss_streak})"), ""


def _state_words(summary: ModerationSummary) -> str:
    risk = summary.risk
    state = risk.trading_state if risk else "risk state not known yet"
    return (f"{state}, {summary.stats.loss_streak} losses in a row, "
            f"{summary.anomalies.count} recent anomalies")


# --- the trust rules --------------------------------------------------------------------


def judge(answer: ModeratorAnswer, summary: ModerationSummary, cfg: ModeratorConfig, *,
          keys: Iterable[str] = ()) -> Permitted | Refusal:
    """Apply the trust rules; ``keys`` are the keys the answer actually carried."""
    extra = sorted(set(keys) - ANSWER_FIELDS)
    if extra:
        return Refusal(action=answer.action, reason=_extra_keys(extra))
    current = summary.bounds.current_multiplier
    asked = answer.risk_multiplier
    if asked is not None and current is not None and asked > current:
        return Refusal(action=answer.action, reason=(
            f"risk_multiplier {asked:g} would raise it from {current:g}: the moderator may "
            "only lower it; raising it is a person's act (`kernel risk-multiplier`)"))
    match answer.action:
        case "OK":
            return Permitted(action="OK", effect="none", detail="keep trading; nothing changed")
        case "REDUCE_RISK":
            return _reduce(answer, summary, cfg)
        case "PAUSE":
            return _pause(answer, summary, cfg)
        case "SWITCH_TO_PAPER":
            return _paper(summary)
    return Refusal(action=str(answer.action), reason="unknown action")  # pragma: no cover


def _extra_keys(extra: list[str]) -> str:
    named = ", ".join(extra)
    if "mode" in extra:
        return (f"the answer tried to set {named}: the mode may only move demo -> paper "
                "(SWITCH_TO_PAPER), never to a riskier mode and never out of off")
    return (f"the answer tried to set {named}: the moderator never changes keys, configs, "
            "limits or the halt state; only the risk multiplier (down), a pause, or demo -> "
            "paper")


def _reduce(answer: ModeratorAnswer, summary: ModerationSummary,
            cfg: ModeratorConfig) -> Permitted | Refusal:
    current, floor = summary.bounds.current_multiplier, summary.bounds.min_multiplier
    if current is None:
        return Refusal(action="REDUCE_RISK", reason="the current risk multiplier is not known "
                                                    "yet (no risk state seen)")
    value = answer.risk_multiplier
    if value is None:
        value = max(floor, round(current * cfg.bounds.reduce_factor, 4))
    if value < floor:
        return Refusal(action="REDUCE_RISK", reason=(
            f"risk_multiplier {value:g} is below the minimum {floor:g} (moderator.yaml "
            "bounds.min_multiplier, risk.yaml risk_multiplier.min)"))
    if value >= current:
        why = "it is already at its minimum" if current <= floor else "that is not a reduction"
        return Refusal(action="REDUCE_RISK", reason=(
            f"risk_multiplier {value:g} from {current:g}: {why}"))
    alone = f" for bot {summary.bot_id} alone" if summary.bot_id else ""
    return Permitted(action="REDUCE_RISK", effect="risk_multiplier", risk_multiplier=value,
                     detail=f"risk multiplier {current:g} -> {value:g}{alone}",
                     bot_id=summary.bot_id)


def _pause(answer: ModeratorAnswer, summary: ModerationSummary,
           cfg: ModeratorConfig) -> Permitted | Refusal:
    if summary.mode == "off":
        return Refusal(action="PAUSE", reason="the mode is off: there is no bot to pause")
    minutes = answer.pause_minutes
    if minutes is None:
        minutes = cfg.bounds.default_pause_minutes
    limit = cfg.bounds.max_pause_minutes
    if not 1 <= minutes <= limit:
        return Refusal(action="PAUSE", reason=(
            f"pause_minutes {minutes} is outside [1, {limit}] (moderator.yaml "
            "bounds.max_pause_minutes)"))
    who = "every bot of the fleet places" if summary.bot_id else "the bot places"
    return Permitted(action="PAUSE", effect="pause", pause_minutes=minutes,
                     detail=f"{who} no new orders for {minutes} min")


def _paper(summary: ModerationSummary) -> Permitted | Refusal:
    if summary.mode == "demo":
        who = "every bot's watchdog restarts its bot" if summary.bot_id else \
            "the watchdog restarts the bot"
        return Permitted(action="SWITCH_TO_PAPER", effect="paper",
                         detail=f"mode demo -> paper ({who} in paper)")
    if summary.mode == "off":
        return Refusal(action="SWITCH_TO_PAPER", reason=(
            "the mode is off: the moderator never moves the mode out of off"))
    return Refusal(action="SWITCH_TO_PAPER", reason="already trading paper: nothing to switch")
