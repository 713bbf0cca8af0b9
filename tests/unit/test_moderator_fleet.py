"""The moderator in a fleet (docs/fleet.md, "The moderator, the Meta-Agent and the audit").

Each bot's risk figures, multiplier and triggers are kept apart; a moderation is
about the bot most at risk, whose figures alone fill the summary, and a REDUCE_RISK
names that bot and applies to it alone. Pure: the book and the rules, time passed in.
"""

from __future__ import annotations

import msgspec

from agents.moderator.llm_config import Triggers
from agents.moderator.rules import Permitted, build_summary, judge
from agents.watchdog.messages import BotStateReported
from risk.messages import RiskMultiplierChanged, RiskStateSnapshot
from tests.support.moderator_world import CFG, FLOOR, NOW, answer, book_of, bot, fill, risk

ON = Triggers(on_halt=True, daily_loss_fraction=0.5, loss_streak=3)


def of(bot_id: str, snapshot: RiskStateSnapshot) -> RiskStateSnapshot:
    return msgspec.structs.replace(snapshot, bot_id=bot_id)


def test_the_summary_is_the_bot_most_at_risk_not_the_newest() -> None:
    book = book_of(of("qe-2", risk(daily_loss=210, multiplier=0.8)),
                   of("qe-1", risk(daily_loss=30, multiplier=1.0)))  # newest, but calm
    summary = build_summary(book, NOW, "periodic", CFG, FLOOR)
    assert summary.bot_id == "qe-2" and book.bot_ids == ["qe-1", "qe-2"]
    assert summary.risk is not None and summary.risk.daily_loss == 210
    assert summary.risk.daily_loss_used_pct == 70.0
    assert summary.bounds.current_multiplier == 0.8  # qe-2's, never qe-1's 1.0


def test_a_halted_bot_comes_first_then_the_nearest_to_a_limit() -> None:
    book = book_of(of("qe-1", risk(daily_loss=280)), of("qe-2", risk(state="HALTED")))
    assert book.subject == "qe-2"
    assert book_of(of("a", risk(drawdown=400)), of("b", risk(daily_loss=150))).subject == "a"


def test_a_multiplier_change_is_kept_for_its_own_bot() -> None:
    book = book_of(of("qe-1", risk(daily_loss=200, multiplier=1.0)), of("qe-2", risk()),
                   RiskMultiplierChanged(previous=1.0, current=0.5, reason="calmer", ts=NOW,
                                         by="operator:ana", bot_id="qe-2"))
    assert book.subject == "qe-1" and book.multiplier == 1.0


def test_reduce_risk_names_the_bot_and_applies_to_it_alone() -> None:
    book = book_of(of("qe-2", risk(daily_loss=210, multiplier=0.8)), of("qe-1", risk()))
    summary = build_summary(book, NOW, "periodic", CFG, FLOOR)
    verdict = judge(answer("REDUCE_RISK", risk_multiplier=0.5), summary, CFG)
    assert isinstance(verdict, Permitted) and verdict.bot_id == "qe-2"
    assert verdict.detail == "risk multiplier 0.8 -> 0.5 for bot qe-2 alone"
    paused = judge(answer("PAUSE", pause_minutes=10), summary, CFG)
    assert isinstance(paused, Permitted) and "every bot of the fleet" in paused.detail


def test_triggers_are_armed_per_bot() -> None:
    book = book_of()
    fired = [book.update(of("qe-1", risk(daily_loss=160)), NOW, ON),
             book.update(of("qe-1", risk(daily_loss=170)), NOW, ON),  # still over: once
             book.update(of("qe-2", risk(daily_loss=200)), NOW, ON)]  # another bot: again
    assert fired == [["bot qe-1: daily loss at 53% of its limit"], [],
                     ["bot qe-2: daily loss at 67% of its limit"]]


def test_two_bots_fills_on_one_symbol_are_not_one_trade() -> None:
    one = msgspec.structs.replace(fill("buy", 1, 100), bot_id="qe-1")
    two = msgspec.structs.replace(fill("sell", 1, 90, n=1), bot_id="qe-2")
    assert list(book_of(one, two).trades) == []  # two open positions, not a 10 USDT loss


def test_one_bot_is_as_before() -> None:
    book = book_of(risk(daily_loss=210, multiplier=0.8))
    summary = build_summary(book, NOW, "periodic", CFG, FLOOR)
    verdict = judge(answer("REDUCE_RISK", risk_multiplier=0.5), summary, CFG)
    assert summary.bot_id == "" and isinstance(verdict, Permitted)
    assert (verdict.bot_id, verdict.detail) == ("", "risk multiplier 0.8 -> 0.5")


def test_the_mode_is_the_subjects() -> None:
    """qe-1's demo report (the newest) does not make SWITCH_TO_PAPER an answer about qe-2."""
    book = book_of(of("qe-2", risk(daily_loss=210)), of("qe-1", risk()),
                   bot_of("qe-2", "paper"), bot_of("qe-1", "demo"))
    summary = build_summary(book, NOW, "periodic", CFG, FLOOR)
    assert summary.mode == "paper" and "SWITCH_TO_PAPER" not in summary.bounds.allowed_actions


def bot_of(bot_id: str, mode: str) -> BotStateReported:
    return msgspec.structs.replace(bot(mode), bot_id=bot_id)  # type: ignore[arg-type]
