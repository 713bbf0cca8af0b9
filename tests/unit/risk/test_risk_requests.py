"""Who may change what: resume confirmation and the adviser's multiplier rule (risk/requests.py)."""

from __future__ import annotations

import pytest

from risk import halt
from risk.lifecycle import set_risk_multiplier
from risk.requests import (
    LIMIT_HALTS,
    Refused,
    is_adviser,
    multiplier_request,
    operator_resume,
    resume_refusal,
)
from tests.unit.risk.risk_world import NOW, limits, ready


@pytest.mark.parametrize("code", sorted(LIMIT_HALTS))
def test_a_halt_by_a_limit_needs_confirmation_to_resume(code: str) -> None:
    lim = limits()
    halted, _ = halt(ready(lim), "limit reached", NOW, code=code, by="limits")
    answer = operator_resume(halted, "looks fine", lim, NOW + 1, confirmed=False)
    assert isinstance(answer, Refused)
    assert "limit reached" in answer.reason and "kernel resume --yes --reason" in answer.reason
    state, _ = operator_resume(halted, "reviewed", lim, NOW + 1, confirmed=True)  # type: ignore[misc]
    assert state.trading_state == "ACTIVE"


@pytest.mark.parametrize("code", ["manual_halt", "bot_gave_up", "bot_hung"])
def test_other_halts_resume_without_confirmation(code: str) -> None:
    lim = limits()
    halted, _ = halt(ready(lim), "by hand", NOW, code=code)
    assert resume_refusal(halted, confirmed=False) is None
    answer = operator_resume(halted, "back", lim, NOW + 1, confirmed=False)
    assert not isinstance(answer, Refused) and answer[0].trading_state == "ACTIVE"


def test_an_adviser_may_lower_the_multiplier_but_never_raise_it() -> None:
    lim = limits()
    state, _ = set_risk_multiplier(ready(lim), 0.5, "person", lim, NOW)
    lower = multiplier_request(state, 0.3, requested_by="moderator:llm", reason="vol",
                               limits=lim, now=NOW)
    assert not isinstance(lower, Refused) and lower[0].risk_multiplier == 0.3
    higher = multiplier_request(state, 0.8, requested_by="moderator:llm", reason="calm",
                                limits=lim, now=NOW)
    assert higher == Refused("moderator:llm asked to raise risk_multiplier from 0.5 to 0.8; "
                             "only a person may raise it")


def test_a_person_may_set_any_value_within_the_bounds() -> None:
    lim = limits()
    state, _ = set_risk_multiplier(ready(lim), 0.5, "person", lim, NOW)
    raised = multiplier_request(state, 1.0, requested_by="operator:ana", reason="calm",
                                limits=lim, now=NOW)
    assert not isinstance(raised, Refused) and raised[0].risk_multiplier == 1.0
    out = multiplier_request(state, 3.0, requested_by="operator:ana", reason="x",
                             limits=lim, now=NOW)
    assert isinstance(out, Refused) and "outside its bounds [0.1, 1]" in out.reason
    assert is_adviser("moderator") and not is_adviser("operator:moderator")
