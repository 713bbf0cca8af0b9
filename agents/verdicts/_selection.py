"""Which verdict the planner uses: the freshness rule, kept pure so it is tested by table.

An external agent's verdict takes precedence over the built-in one while it is
fresh: ``now − verdict.ts ≤ live.external_max_age_s.<agent>`` (300 s for
Technical, 3600 s for Macro, 900 s for Wild Card as shipped). It is refused
outright, with an anomaly naming the field, when it breaks a field bound or is
stamped more than ``live.max_clock_skew_s`` in the future. Once it ages out, the
built-in verdict is used again until a newer external one arrives.
"""

from __future__ import annotations

import re
from typing import Literal, TypeAlias, TypeVar

import msgspec

from kernel.events import AnomalyDetected
from planner.live import LiveConfig
from planner.messages import MacroVerdict, TechnicalVerdict, WildCardVerdict
from planner.validation import field_problem

Kind: TypeAlias = Literal["technical", "macro", "wildcard"]
Verdict: TypeAlias = TechnicalVerdict | MacroVerdict | WildCardVerdict
V = TypeVar("V", TechnicalVerdict, MacroVerdict, WildCardVerdict)

BUILTIN = "builtin"
EXTERNAL = "external"
"""The ``source`` given to an external verdict that claims to be built in."""

_AT = re.compile(r"^(?P<what>.*?) - at `\$(?P<where>[^`]*)`$")


def external_problem(verdict: Verdict, kind: Kind, now: float, live: LiveConfig) -> str | None:
    """Why an external verdict is refused, naming the field; None when it is acceptable."""
    problem = field_problem(verdict, kind)
    if problem is not None:
        return problem
    ahead = verdict.ts - now
    if ahead > live.max_clock_skew_s:
        return (f"{kind}.ts: {verdict.ts:.3f} is {ahead:.0f} s in the future (more than the "
                f"{live.max_clock_skew_s:g} s allowed for clock skew)")
    return None


def is_fresh(verdict: Verdict, kind: Kind, now: float, live: LiveConfig) -> bool:
    """Whether an external verdict still takes precedence over the built-in one."""
    return now - verdict.ts <= live.external_max_age_s.of(kind)


def choose(external: V | None, builtin: V | None, kind: Kind, now: float,
           live: LiveConfig) -> V | None:
    """The fresh external verdict, else the built-in one (either may be missing)."""
    if external is not None and is_fresh(external, kind, now, live):
        return external
    return builtin


def as_external(verdict: V) -> V:
    """An external verdict must not pass for a built-in one in the journal or the plan."""
    if verdict.source == BUILTIN:
        return msgspec.structs.replace(verdict, source=EXTERNAL)
    return verdict


def same_content(a: Verdict | None, b: Verdict | None) -> bool:
    """Equal but for ``ts``: republishing an unchanged verdict would only add noise."""
    if a is None or b is None:
        return a is b
    return type(a) is type(b) and msgspec.structs.replace(a, ts=0.0) == \
        msgspec.structs.replace(b, ts=0.0)


def decode_problem(error: str, kind: Kind) -> str:
    """msgspec's "Expected `float` <= 100.0 - at `$.confidence`" as "technical.confidence: …"."""
    match = _AT.match(error)
    if match is None:
        return f"{kind}: {error}"
    return f"{kind}{match['where']}: {match['what']}"


def invalid_verdict(kind: Kind, detail: str, *, source: str, now: float) -> AnomalyDetected:
    return AnomalyDetected(kind="invalid_verdict", severity="warning", ts=now, source=source,
                           detail=f"{kind} verdict refused: {detail}"[:4096])
