"""The daily token budget (pure) and the purity of the moderator's decision modules."""

from __future__ import annotations

from datetime import UTC, datetime

from agents.moderator.llm_budget import TokenBudget, utc_day

DAY = datetime(2026, 2, 4, 12, 0, tzinfo=UTC).timestamp()
MIDNIGHT = datetime(2026, 2, 5, 0, 0, tzinfo=UTC).timestamp()


def test_a_call_is_refused_before_it_could_pass_the_budget() -> None:
    budget = TokenBudget(1000)
    assert budget.room_for(1000, DAY)
    budget.spend(700, DAY)
    assert budget.room_for(300, DAY) and not budget.room_for(301, DAY)
    assert not budget.exhausted(DAY)


def test_a_refusal_keeps_the_day_exhausted() -> None:
    budget = TokenBudget(1000)
    budget.spend(100, DAY)
    budget.refuse(DAY)
    assert budget.exhausted(DAY)
    report = budget.report(DAY, available=True)
    assert report.exhausted and not report.available and report.used_tokens == 100


def test_spending_the_whole_budget_exhausts_it() -> None:
    budget = TokenBudget(500)
    budget.spend(500, DAY)
    assert budget.exhausted(DAY) and budget.calls == 1


def test_the_budget_starts_again_at_utc_midnight() -> None:
    budget = TokenBudget(500)
    budget.spend(500, DAY)
    budget.refuse(DAY)
    assert not budget.exhausted(MIDNIGHT)
    assert (budget.day, budget.used, budget.calls) == ("2026-02-05", 0, 0)


def test_restore_takes_over_today_and_forgets_yesterday() -> None:
    spent = TokenBudget(1000)
    spent.spend(600, DAY)
    today = TokenBudget(1000)
    today.restore(spent.report(DAY, available=True), DAY + 60)
    assert (today.used, today.calls) == (600, 1)
    tomorrow = TokenBudget(1000)
    tomorrow.restore(spent.report(DAY, available=True), MIDNIGHT + 1)
    assert tomorrow.used == 0


def test_utc_day() -> None:
    assert utc_day(MIDNIGHT - 0.001) == "2026-02-04" and utc_day(MIDNIGHT) == "2026-02-05"
