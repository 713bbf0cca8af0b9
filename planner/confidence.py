"""Confidence after the context is weighed, as a range, with the sentence that explains it.

The conflict table gives a base confidence; the VWAP bias and the Wild Card's
worst risk then take points off (they never add: context can only make a plan
less sure). The seed asks for ranges, so the point value travels with a range
whose width grows with the disagreement between the agents.

One model gives every percentage of a plan: the confidence is the chance that
price reaches TP1 before the stop. TP1's probability is therefore the confidence
range itself, the explanation's chance that the trade fails is its complement,
and TP2's probability is TP1's, halved over every ``reach_half_life_atr`` between
them (planner/exits.py).
"""

from __future__ import annotations

import msgspec

from planner.config import SynthesisConfig
from planner.parts import Agreement, Direction, Range, Severity, TradeDirection


class Adjusted(msgspec.Struct, frozen=True, kw_only=True):
    confidence: float
    warnings: tuple[str, ...] = ()


def clamp_confidence(value: float, cap: float = 100.0) -> float:
    return max(0.0, min(cap, value))


def against_vwap(
    confidence: float, direction: TradeDirection, bias: Direction, cfg: SynthesisConfig
) -> Adjusted:
    """A trade against the VWAP bias loses ``vwap_against_penalty`` points."""
    if bias == "NEUTRAL" or bias == direction or cfg.vwap_against_penalty == 0:
        return Adjusted(confidence=confidence)
    side = "below" if direction == "LONG" else "above"
    return Adjusted(
        confidence=clamp_confidence(confidence - cfg.vwap_against_penalty),
        warnings=(f"{direction} with price {side} VWAP (VWAP favours {bias}): confidence "
                  f"-{cfg.vwap_against_penalty:g}",),
    )


def wildcard_risk(confidence: float, worst: Severity, cfg: SynthesisConfig) -> Adjusted:
    """The Wild Card's worst risk takes its configured points off."""
    points = cfg.wildcard_penalty.of(worst)
    if points == 0:
        return Adjusted(confidence=confidence)
    return Adjusted(confidence=clamp_confidence(confidence - points),
                    warnings=(f"Wild Card risk is {worst}: confidence -{points:g}",))


def spread(technical: float, macro: float) -> float:
    """Half-width of the range: 5 + |Technical − Macro| / 5 points, at most 15."""
    return min(15.0, 5.0 + abs(technical - macro) / 5.0)


def base_range(base: float, half_width: float, ceiling: float) -> tuple[float, float]:
    """The conflict table's base ± ``half_width``, inside 0 and the row's own ceiling.

    The caller sends both ends through the same adjustments as the point, so that
    every penalty moves the range and every cap bounds it.
    """
    return max(0.0, base - half_width), max(base, min(ceiling, base + half_width))


def conviction(point: float, cfg: SynthesisConfig) -> str:
    if point >= cfg.strong_conviction:
        return "strong"
    if point >= cfg.moderate_conviction:
        return "moderate"
    return "weak"


def _article(n: int) -> str:
    return "an" if n in (8, 11, 18) or 80 <= n <= 89 else "a"


def explain(
    point: float,
    band: Range,
    agreement: Agreement,
    direction: TradeDirection,
    main_risk: str,
    cfg: SynthesisConfig,
) -> str:
    """The seed's form: what the percentage means, and what the rest stands for.

    The percentage is the chance of reaching TP1 before the stop, the same number as
    TP1's probability, so the sentence and the targets cannot disagree.
    """
    level = conviction(point, cfg)
    meaning = {
        "agree": f"Technical and Macro align on {direction} with {level} conviction",
        "conflict": f"Technical's {direction} read overrides a conflicting Macro view, "
                    f"leaving {level} conviction",
        "technical_only": f"Technical calls {direction} with {level} conviction while Macro "
                          "is neutral",
        "macro_only": f"Macro calls {direction} with {level} conviction while Technical is "
                      "neutral",
        "none": "no agent gives a direction",
    }[agreement]
    level_word = "support" if direction == "LONG" else "resistance"
    p, low, high = round(point), round(band.low), round(band.high)
    within = f" ({low}–{high}%)" if low != high else ""
    return (f"{p}% confidence means {meaning}: {_article(p)} {p}% chance{within} that price "
            f"reaches TP1 before the stop. There's {_article(100 - p)} {100 - p}% chance the "
            f"trade fails due to {main_risk} or failed {level_word}.")
