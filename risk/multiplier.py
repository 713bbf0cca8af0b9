"""The risk multiplier: who set it, why, and how it comes back. Pure.

The multiplier scales every size limit, so a trader must always be able to see
who moved it, why, and when it ends. The rules:

- At the first start it is ``risk.yaml``'s ``risk_multiplier.default``.
- A person's value (``kernel risk-multiplier``) stays until a person changes it:
  across restarts and day rollovers alike.
- An adviser's cut (the moderator, LLM or offline rules; it may only lower the
  multiplier) lasts for the trading day it was made on. At the next day rollover
  the multiplier returns to the setting it cut (a person's value, or the default),
  with a ``RiskMultiplierChanged`` by ``rollover`` that says so. A restart within
  the day keeps the cut (the state is saved). A person may lift it at any time.
  Several cuts on one day return to the setting before the first of them.

A cut never outlives its day silently, and nothing raises the multiplier above
what a person (or ``risk.yaml``) set: the return is to that value, within the
bounds of ``risk.yaml`` as they are at the rollover.
"""

from __future__ import annotations

import math

import msgspec

from risk.limits import RiskLimits
from risk.messages import RiskEvent, RiskMultiplierChanged
from risk.state import MultiplierSetting, RiskState

DEFAULT_BY = "risk.yaml"


def setting(state: RiskState, limits: RiskLimits) -> MultiplierSetting:
    """Who set the multiplier now in force. A state that does not say (a first start,
    or a save from before this was recorded) is risk.yaml's default when the value
    is the default, and an unknown person's otherwise: it then stays until a person
    changes it, never lifted by itself."""
    known = state.multiplier_set
    if known is not None and known.value == state.risk_multiplier:
        return known
    if state.risk_multiplier == limits.risk_multiplier.default:
        return MultiplierSetting(value=state.risk_multiplier, by=DEFAULT_BY,
                                 reason="risk.yaml risk_multiplier.default", ts=0.0,
                                 day=state.day)
    return MultiplierSetting(value=state.risk_multiplier, by="unknown",
                             reason="kept from an earlier run that did not record who set it",
                             ts=0.0, day=state.day)


def until(state: RiskState, limits: RiskLimits) -> str:
    """How the multiplier in force ends, in words for people and bots."""
    base = state.multiplier_base
    if base is None:
        return "until a person changes it (kernel risk-multiplier)"
    return (f"until the next trading day (midnight {limits.timezone}), then back to "
            f"{base.value:g} (set by {base.by})")


def set_multiplier(state: RiskState, value: float, *, by: str, reason: str,
                   limits: RiskLimits, now: float, temporary: bool) -> tuple[RiskState,
                                                                             list[RiskEvent]]:
    """Set the factor; ``temporary`` for an adviser's cut (it ends with the trading day).

    Outside ``risk_multiplier`` bounds is a ``ValueError`` that names them.
    """
    bounds = limits.risk_multiplier
    if not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not bounds.min <= value <= bounds.max:
        raise ValueError(f"risk_multiplier {value!r} is outside its bounds "
                         f"[{bounds.min:g}, {bounds.max:g}] (risk.yaml risk_multiplier)")
    now_set = MultiplierSetting(value=float(value), by=by, reason=reason, ts=now, day=state.day)
    base = (state.multiplier_base or setting(state, limits)) if temporary else None
    changed = msgspec.structs.replace(state, risk_multiplier=float(value),
                                      multiplier_set=now_set, multiplier_base=base)
    return changed, [RiskMultiplierChanged(previous=state.risk_multiplier, current=float(value),
                                           reason=f"{reason} (by {by})", ts=now, by=by,
                                           until=until(changed, limits))]


def end_of_day(state: RiskState, limits: RiskLimits, now: float, previous_day: str
               ) -> tuple[RiskState, list[RiskEvent]]:
    """At the day rollover: an adviser's cut from an earlier day ends, back to its base."""
    base = state.multiplier_base
    if base is None:
        return state, []
    bounds = limits.risk_multiplier
    value = min(max(base.value, bounds.min), bounds.max)
    back = msgspec.structs.replace(base, value=value)
    restored = msgspec.structs.replace(state, risk_multiplier=value, multiplier_set=back,
                                       multiplier_base=None)
    cut = state.multiplier_set
    who = cut.by if cut is not None else "an adviser"
    reason = (f"the cut to {state.risk_multiplier:g} by {who} was for trading day "
              f"{previous_day} only: back to {value:g} as set by {base.by} ({base.reason})")
    return restored, [RiskMultiplierChanged(previous=state.risk_multiplier, current=value,
                                            reason=reason, ts=now, by="rollover",
                                            until=until(restored, limits))]
