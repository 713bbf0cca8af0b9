"""The daily token budget: what the LLM may still spend today, across restarts.

Why it is kept like this:

* A call is refused *before* it is made when its worst case (the estimated
  prompt plus ``max_tokens``) could pass the budget, so the budget is a ceiling,
  not a figure that is overshot by the call that spends it.
* Once a call has been refused for the budget the day stays "exhausted", so the
  status does not flap between a big prompt that does not fit and a small one
  that would.
* One budget per journal, shared by every client in the process (the moderator
  and the planner spend from the same day), restored from the newest
  ``llm.budget`` row so a kernel that restarts (or crash-loops) cannot spend the
  day twice.
* The day is the UTC day: a budget is about money, not about the trading day.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import weakref

import msgspec

from agents.moderator.messages import LlmBudgetReported
from kernel.journal import Journal
from kernel.journal_newest import newest_row

_shared: weakref.WeakKeyDictionary[Journal, TokenBudget] = weakref.WeakKeyDictionary()
_decoder = msgspec.msgpack.Decoder(LlmBudgetReported)


def utc_day(ts: float) -> str:
    """``2026-02-04`` for a time in seconds since the epoch (time is passed in)."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).date().isoformat()


class TokenBudget:
    """Tokens spent on one UTC day against a daily ceiling."""

    def __init__(self, daily_tokens: int) -> None:
        self.daily_tokens = daily_tokens
        self.day = ""
        self.used = 0
        self.calls = 0
        self.refused = False

    def _roll(self, now: float) -> None:
        day = utc_day(now)
        if day != self.day:
            self.day, self.used, self.calls, self.refused = day, 0, 0, False

    def room_for(self, worst_case: int, now: float) -> bool:
        """Whether a call that may cost ``worst_case`` tokens stays within today's budget."""
        self._roll(now)
        return self.used + worst_case <= self.daily_tokens

    def spend(self, tokens: int, now: float) -> None:
        self._roll(now)
        self.used += max(0, tokens)
        self.calls += 1

    def refuse(self, now: float) -> None:
        self._roll(now)
        self.refused = True

    def exhausted(self, now: float) -> bool:
        self._roll(now)
        return self.refused or self.used >= self.daily_tokens

    def report(self, now: float, *, available: bool, offline_reason: str = "") -> LlmBudgetReported:
        exhausted = self.exhausted(now)
        return LlmBudgetReported(day=self.day, used_tokens=self.used,
                                 daily_tokens=self.daily_tokens, calls=self.calls,
                                 exhausted=exhausted, available=available and not exhausted,
                                 ts=now, offline_reason=offline_reason[:4096])

    def restore(self, saved: LlmBudgetReported, now: float) -> None:
        """Take over what a previous run spent today (an older day is forgotten)."""
        self._roll(now)
        if saved.day == self.day:
            self.used = max(self.used, saved.used_tokens)
            self.calls = max(self.calls, saved.calls)


async def shared_budget(journal: Journal, daily_tokens: int, now: float) -> TokenBudget:
    """The process's budget for this journal, restored from it the first time."""
    budget = _shared.get(journal)
    if budget is not None:
        budget.daily_tokens = daily_tokens
        return budget
    row = await newest_row(journal, LlmBudgetReported.topic)
    budget = _shared.setdefault(journal, TokenBudget(daily_tokens))
    if row is not None:
        # a damaged or newer row: the day starts from what this run spends
        with contextlib.suppress(msgspec.DecodeError):
            budget.restore(_decoder.decode(row.payload), now)
    return budget
