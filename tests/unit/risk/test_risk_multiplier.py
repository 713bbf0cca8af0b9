"""The risk multiplier says who set it and why, and an adviser's cut ends with its day.

Before, the moderator's cut was silent and sticky: three small losses cut the
multiplier to 0.5, a halt to 0.25, and it stayed across restarts with nothing to
say so. Now a person's value stays until a person changes it, an adviser's cut
returns to the value it cut at the next trading day, and both say who and why.
"""

from __future__ import annotations

import msgspec

from risk import (
    MultiplierBounds,
    after_restart,
    check_limits,
    roll_day,
    set_risk_multiplier,
    snapshot,
)
from risk.messages import RiskMultiplierChanged
from risk.multiplier import setting, until
from risk.requests import Refused, multiplier_request
from risk.state import RiskState
from tests.unit.risk.risk_world import MIDNIGHT, NOW, limits, ready


def cut(state: RiskState, value: float, now: float = NOW) -> RiskState:
    answer = multiplier_request(state, value, requested_by="moderator:offline",
                                reason="moderator (offline): loss at 52% of its limit",
                                limits=limits(), now=now)
    assert not isinstance(answer, Refused)
    return answer[0]


def person(state: RiskState, value: float, now: float = NOW) -> RiskState:
    answer = multiplier_request(state, value, requested_by="operator:ana", reason="thin market",
                                limits=limits(), now=now)
    assert not isinstance(answer, Refused)
    return answer[0]


def test_the_first_start_is_risk_yamls_default_and_stays() -> None:
    lim = limits()
    state = ready(lim)
    who = setting(state, lim)
    assert (who.value, who.by) == (1.0, "risk.yaml")
    assert until(state, lim).startswith("until a person changes it")


def test_an_advisers_cut_says_who_and_why_and_ends_at_the_next_trading_day() -> None:
    lim = limits()
    state = cut(ready(lim), 0.5)
    shown = snapshot(state, lim, NOW)
    assert (shown.risk_multiplier, shown.risk_multiplier_by) == (0.5, "moderator:offline")
    assert "loss at 52%" in shown.risk_multiplier_reason and shown.risk_multiplier_since == NOW
    assert shown.risk_multiplier_until == ("until the next trading day (midnight UTC), then "
                                           "back to 1 (set by risk.yaml)")
    same_day, events = check_limits(state, lim, MIDNIGHT - 1)
    assert same_day.risk_multiplier == 0.5 and not events
    rolled, events = roll_day(state, lim, MIDNIGHT)
    assert rolled.risk_multiplier == 1.0 and setting(rolled, lim).by == "risk.yaml"
    [back] = [e for e in events if isinstance(e, RiskMultiplierChanged)]
    assert (back.previous, back.current, back.by) == (0.5, 1.0, "rollover")
    assert "for trading day 2024-05-01 only" in back.reason


def test_several_cuts_in_a_day_return_to_the_setting_before_the_first() -> None:
    lim = limits()
    state = cut(cut(person(ready(lim), 0.8), 0.5), 0.25)  # the reported 0.5 then 0.25
    assert state.risk_multiplier == 0.25
    rolled, _ = roll_day(state, lim, MIDNIGHT)
    who = setting(rolled, lim)
    assert (rolled.risk_multiplier, who.by, who.reason) == (0.8, "operator:ana", "thin market")


def test_a_persons_value_outlives_the_rollover_and_lifts_a_cut_at_once() -> None:
    lim = limits()
    state = person(cut(ready(lim), 0.5), 0.5)  # the same value, now a person's
    assert state.multiplier_base is None and setting(state, lim).by == "operator:ana"
    rolled, events = roll_day(state, lim, MIDNIGHT)
    assert rolled.risk_multiplier == 0.5
    assert not [e for e in events if isinstance(e, RiskMultiplierChanged)]


def test_a_cut_survives_a_restart_within_its_day_but_not_past_it() -> None:
    lim = limits()
    saved = msgspec.json.decode(msgspec.json.encode(cut(ready(lim), 0.5)), type=RiskState)
    restarted, _ = after_restart(saved, lim, NOW + 600)
    assert restarted.risk_multiplier == 0.5 and setting(restarted, lim).by == "moderator:offline"
    next_day, _ = after_restart(saved, lim, MIDNIGHT + 600)
    assert next_day.risk_multiplier == 1.0


def test_a_save_that_did_not_record_who_is_kept_until_a_person_changes_it() -> None:
    lim = limits()
    old = msgspec.structs.replace(ready(lim), risk_multiplier=0.25)  # an older kernel's save
    who = setting(old, lim)
    assert who.by == "unknown" and "did not record" in who.reason
    rolled, _ = roll_day(old, lim, MIDNIGHT)
    assert rolled.risk_multiplier == 0.25  # never raised by itself


def test_the_return_stays_within_the_bounds_of_the_day() -> None:
    state = cut(ready(limits()), 0.5)
    tighter = limits(risk_multiplier=MultiplierBounds(min=0.1, max=0.6, default=0.6))
    rolled, _ = roll_day(state, tighter, MIDNIGHT)
    assert rolled.risk_multiplier == 0.6


def test_set_risk_multiplier_keeps_its_signature_and_records_the_setter() -> None:
    lim = limits()
    state, [event] = set_risk_multiplier(ready(lim), 0.5, "why", lim, NOW, by="operator:bo")
    assert state.risk_multiplier == 0.5 and isinstance(event, RiskMultiplierChanged)
    assert (event.by, event.reason) == ("operator:bo", "why (by operator:bo)")
    assert event.until.startswith("until a person changes it")
