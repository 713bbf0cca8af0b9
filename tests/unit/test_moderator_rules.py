"""The trust rules and the offline moderator, on summaries built from plain messages."""

from __future__ import annotations

import msgspec
import pytest

from agents.moderator.llm_config import ModeratorConfig
from agents.moderator.rules import Permitted, Refusal, judge, offline_advice
from tests.support.moderator_world import (
    CFG,
    anomaly,
    answer,
    bot,
    risk,
    round_trips,
    summary_of,
)

DEMO = summary_of(risk(multiplier=1.0), bot("demo"))
PAPER = summary_of(risk(multiplier=1.0), bot("paper"))
OFF = summary_of(risk(multiplier=1.0), mode="off")


# --- each action applied within bounds ---------------------------------------------------


def test_ok_changes_nothing() -> None:
    verdict = judge(answer("OK"), DEMO, CFG)
    assert isinstance(verdict, Permitted) and verdict.effect == "none"


def test_reduce_risk_to_a_value_within_floor_and_current() -> None:
    verdict = judge(answer("REDUCE_RISK", risk_multiplier=0.5), DEMO, CFG)
    assert verdict == Permitted(action="REDUCE_RISK", effect="risk_multiplier",
                                risk_multiplier=0.5, detail="risk multiplier 1 -> 0.5")


def test_reduce_risk_down_to_exactly_the_floor() -> None:
    verdict = judge(answer("REDUCE_RISK", risk_multiplier=0.25), DEMO, CFG)
    assert isinstance(verdict, Permitted) and verdict.risk_multiplier == 0.25


def test_reduce_risk_without_a_value_takes_the_configured_step() -> None:
    verdict = judge(answer("REDUCE_RISK"), summary_of(risk(multiplier=0.8)), CFG)
    assert isinstance(verdict, Permitted) and verdict.risk_multiplier == 0.4


def test_the_default_step_stops_at_the_floor() -> None:
    verdict = judge(answer("REDUCE_RISK"), summary_of(risk(multiplier=0.3)), CFG)
    assert isinstance(verdict, Permitted) and verdict.risk_multiplier == 0.25


def test_pause_within_bounds() -> None:
    verdict = judge(answer("PAUSE", pause_minutes=45), DEMO, CFG)
    assert isinstance(verdict, Permitted) and verdict.pause_minutes == 45


def test_pause_without_minutes_takes_the_default() -> None:
    verdict = judge(answer("PAUSE"), PAPER, CFG)
    assert isinstance(verdict, Permitted)
    assert verdict.pause_minutes == CFG.bounds.default_pause_minutes


def test_switch_to_paper_from_demo() -> None:
    verdict = judge(answer("SWITCH_TO_PAPER"), DEMO, CFG)
    assert isinstance(verdict, Permitted) and verdict.effect == "paper"


# --- each out-of-bounds answer refused -----------------------------------------------------


@pytest.mark.parametrize(("action", "fields", "words"), [
    ("REDUCE_RISK", {"risk_multiplier": 1.5}, "may only lower it"),
    ("OK", {"risk_multiplier": 2.0}, "may only lower it"),
    ("PAUSE", {"risk_multiplier": 1.01, "pause_minutes": 5}, "may only lower it"),
    ("REDUCE_RISK", {"risk_multiplier": 1.0}, "not a reduction"),
    ("REDUCE_RISK", {"risk_multiplier": 0.1}, "below the minimum 0.25"),
    ("REDUCE_RISK", {"risk_multiplier": 0.0}, "below the minimum"),
    ("PAUSE", {"pause_minutes": 241}, "outside [1, 240]"),
    ("PAUSE", {"pause_minutes": 0}, "outside [1, 240]"),
])
def test_out_of_bounds_numbers_are_refused(action: str, fields: dict[str, object],
                                          words: str) -> None:
    verdict = judge(answer(action, **fields), DEMO, CFG)
    assert isinstance(verdict, Refusal) and words in verdict.reason


def test_reduce_risk_at_the_floor_is_refused() -> None:
    verdict = judge(answer("REDUCE_RISK"), summary_of(risk(multiplier=0.25)), CFG)
    assert isinstance(verdict, Refusal) and "already at its minimum" in verdict.reason


def test_reduce_risk_before_any_risk_state_is_refused() -> None:
    verdict = judge(answer("REDUCE_RISK", risk_multiplier=0.5), summary_of(bot("demo")), CFG)
    assert isinstance(verdict, Refusal) and "not known yet" in verdict.reason


def test_judge_reads_the_floor_from_the_summary() -> None:
    """The actor computes the floor (moderator.yaml and risk.yaml, the higher one) once,
    into the summary the adviser saw; the rules hold the answer to that same floor."""
    summary = summary_of(risk(multiplier=1.0))
    assert summary.bounds.min_multiplier == 0.25
    assert isinstance(judge(answer("REDUCE_RISK", risk_multiplier=0.2), summary, CFG), Refusal)


@pytest.mark.parametrize(("summary", "words"), [
    (PAPER, "already trading paper"),
    (OFF, "never moves the mode out of off"),
])
def test_switch_to_paper_only_from_demo(summary: object, words: str) -> None:
    verdict = judge(answer("SWITCH_TO_PAPER"), summary, CFG)  # type: ignore[arg-type]
    assert isinstance(verdict, Refusal) and words in verdict.reason


def test_pause_with_the_bot_off_is_refused() -> None:
    verdict = judge(answer("PAUSE", pause_minutes=10), OFF, CFG)
    assert isinstance(verdict, Refusal) and "no bot to pause" in verdict.reason


@pytest.mark.parametrize(("keys", "words"), [
    (["action", "reason", "mode"], "mode may only move demo -> paper"),
    (["action", "reason", "api_key"], "never changes keys, configs, limits or the halt state"),
    (["action", "reason", "max_daily_loss"], "max_daily_loss"),
    (["action", "reason", "trading_state"], "halt state"),
])
def test_an_answer_that_reaches_for_anything_else_is_refused_whole(keys: list[str],
                                                                   words: str) -> None:
    verdict = judge(answer("REDUCE_RISK", risk_multiplier=0.5), DEMO, CFG, keys=keys)
    assert isinstance(verdict, Refusal) and words in verdict.reason


# --- the offline moderator -------------------------------------------------------------------


def test_offline_ok_when_nothing_is_wrong() -> None:
    assert offline_advice(summary_of(risk(), *round_trips([5, -2, 3])), CFG).action == "OK"


def test_offline_loss_streak_that_cost_real_money_reduces_risk() -> None:
    summary = summary_of(risk(losses=3), *round_trips([5, -20, -30, -25]))
    advice = offline_advice(summary, CFG)
    assert advice.action == "REDUCE_RISK" and "3 losing trades in a row lost 75 USDT" in \
        advice.reason and "25% of max_daily_loss 300 USDT" in advice.reason
    assert isinstance(judge(advice, summary, CFG), Permitted)


def test_three_small_losses_at_the_start_are_not_evidence_enough_to_cut() -> None:
    """The reported case: three losing paper trades cut the multiplier seconds after start."""
    summary = summary_of(risk(losses=3, daily_loss=6), bot("paper"),
                         *round_trips([-2, -3, -1]), trigger="3 losing trades in a row")
    advice = offline_advice(summary, CFG)
    assert advice.action == "OK"
    assert "lost 6 USDT together, under 25% of max_daily_loss (75 USDT)" in advice.reason
    assert "not evidence enough" in advice.reason


def test_the_offline_rules_cut_once_per_trading_day() -> None:
    cut = risk(daily_loss=160, multiplier=0.5)
    cut = msgspec.structs.replace(cut, risk_multiplier_by="moderator:offline")
    advice = offline_advice(summary_of(cut, bot("paper")), CFG)
    assert advice.action == "OK" and "already cut today by moderator:offline" in advice.reason
    by_person = msgspec.structs.replace(cut, risk_multiplier_by="operator:ana")
    assert offline_advice(summary_of(by_person, bot("paper")), CFG).action == "REDUCE_RISK"


def test_offline_half_the_loss_limit_reduces_risk() -> None:
    advice = offline_advice(summary_of(risk(daily_loss=160, max_daily_loss=300)), CFG)
    assert advice.action == "REDUCE_RISK"


def test_offline_drawdown_near_the_limit_pauses() -> None:
    summary = summary_of(risk(drawdown=420, max_drawdown=500), bot("paper"))
    advice = offline_advice(summary, CFG)
    assert advice.action == "PAUSE" and advice.pause_minutes == CFG.bounds.default_pause_minutes
    assert isinstance(judge(advice, summary, CFG), Permitted)


def test_offline_does_not_pause_what_the_risk_engine_has_halted() -> None:
    advice = offline_advice(summary_of(risk(state="HALTED", daily_loss=300, losses=1)), CFG)
    assert advice.action == "REDUCE_RISK"


def test_offline_repeated_anomalies_in_demo_switch_to_paper() -> None:
    summary = summary_of(risk(), bot("demo"), *[anomaly() for _ in range(5)])
    advice = offline_advice(summary, CFG)
    assert advice.action == "SWITCH_TO_PAPER"
    assert isinstance(judge(advice, summary, CFG), Permitted)


def test_offline_repeated_anomalies_in_paper_do_not_switch() -> None:
    summary = summary_of(risk(), bot("paper"), *[anomaly() for _ in range(5)])
    assert offline_advice(summary, CFG).action == "OK"


def test_info_anomalies_do_not_count() -> None:
    summary = summary_of(risk(), bot("demo"), *[anomaly(severity="info") for _ in range(9)])
    assert summary.anomalies.count == 0


def test_offline_rules_follow_the_config() -> None:
    strict = msgspec.convert({"offline": {"reduce_at_loss_streak": 1,
                                          "streak_loss_fraction": 0}}, ModeratorConfig)
    summary = summary_of(risk(losses=1), *round_trips([-1]))
    assert offline_advice(summary, strict).action == "REDUCE_RISK"
    assert offline_advice(summary, CFG).action == "OK"
