"""The seed's SHORT safety checks, one function per row of its table.

Shorts get extra scrutiny because losses on them are open-ended and a bullish
tape punishes anticipation. None of this applies to LONG plans: the Technical
agent has full authority for longs, so :func:`check_short` returns a LONG plan's
confidence untouched.

The regime rows and the confidence cap apply to every SHORT plan; the pattern
and vocabulary rows judge the Technical agent's own SHORT call, so they run only
when Technical said SHORT (a Macro-led SHORT has no pattern to judge).
"""

from __future__ import annotations

import msgspec

from planner.config import ShortSafetyConfig
from planner.messages import MacroVerdict, TechnicalVerdict
from planner.parts import PatternState, Regime, TradeDirection

ANTICIPATORY = "anticipatory signal - wait for breakdown"
EXTRA_CAUTION = "extra caution advised"
SHORT_MIRROR = {
    "buy_support": "short_resistance", "bounce": "rejection", "pullback_buy": "rally_short",
    "breakout": "breakdown", "breakout_retest": "breakdown_retest",
}
"""A LONG entry word and the SHORT word that mirrors it: how a mismatched entry is read."""


class ShortCheck(msgspec.Struct, frozen=True, kw_only=True):
    confidence: float
    warnings: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    anticipatory: bool = False
    vocabulary_mismatch: bool = False
    capped: bool = False


def regime_row(confidence: float, regime: Regime, cfg: ShortSafetyConfig) -> tuple[float, str]:
    """Rows 1–3: risk_on costs points and warns; neutral asks for caution; risk_off aligns."""
    if regime == "risk_on":
        return (max(0.0, confidence - cfg.risk_on_penalty),
                f"SHORT against a risk_on (bullish) macro: confidence -{cfg.risk_on_penalty:g}")
    if regime == "neutral":
        return confidence, f"SHORT with neutral macro: {EXTRA_CAUTION}"
    return confidence, "SHORT with risk_off (bearish) macro: full confidence, conditions aligned"


def pattern_row(pattern_state: PatternState) -> str | None:
    """Row 4: a pattern that has not broken yet is a forecast, not a signal."""
    return ANTICIPATORY if pattern_state == "not_yet_broken" else None


def normalize_entry_type(entry_type: str) -> str:
    return entry_type.strip().lower().replace("-", "_").replace(" ", "_")


def vocabulary_row(entry_type: str, cfg: ShortSafetyConfig) -> str | None:
    """Row 5: a SHORT described with long words (``breakout``, ``buy_support``) is suspect."""
    word = normalize_entry_type(entry_type)
    if word in {normalize_entry_type(w) for w in cfg.short_entry_types}:
        return None
    return (f"entry type mismatch: '{entry_type}' is not SHORT vocabulary "
            f"(expected one of {', '.join(cfg.short_entry_types)})")


def vocabulary_action(
    confidence: float, entry_type: str, cfg: ShortSafetyConfig
) -> tuple[float, str]:
    """What row 5 does to the plan: the entry is read in short words and costs points.

    A Technical agent that calls SHORT in long words may have its direction or its
    entry confused, so the plan neither repeats the long word nor trusts it fully.
    """
    mirror = SHORT_MIRROR.get(normalize_entry_type(entry_type))
    reading = (f"its SHORT mirror '{mirror}'" if mirror
               else "a short at resistance (no SHORT word mirrors it)")
    points = cfg.vocabulary_mismatch_penalty
    return (max(0.0, confidence - points),
            f"Entry type '{entry_type}' is not SHORT vocabulary: the entry is read as "
            f"{reading}, confidence -{points:g}")


def cap_row(confidence: float, regime: Regime, cfg: ShortSafetyConfig) -> tuple[float, bool]:
    """Row 6: never above the cap unless Macro confirms bearish (``risk_off``)."""
    cap = cfg.cap_without_bearish_macro
    if regime != "risk_off" and confidence > cap:
        return cap, True
    return confidence, False


def check_short(
    direction: TradeDirection,
    confidence: float,
    technical: TechnicalVerdict,
    macro: MacroVerdict,
    cfg: ShortSafetyConfig,
) -> ShortCheck:
    """All six rows in order; the cap comes last so nothing can lift a SHORT above it.

    Row 4 changes the entry (planner/anticipation.py) and the size; row 5 the entry's
    words and the confidence; the others the confidence and the warnings.
    """
    if direction != "SHORT":
        return ShortCheck(confidence=confidence)
    confidence, regime_text = regime_row(confidence, macro.regime, cfg)
    warnings = [regime_text] if macro.regime != "risk_off" else []
    flags = [regime_text]
    anticipatory = mismatch = False
    if technical.direction == "SHORT":
        pattern = pattern_row(technical.pattern_state)
        vocabulary = vocabulary_row(technical.entry_type, cfg)
        anticipatory, mismatch = pattern is not None, vocabulary is not None
        flags += [text for text in (pattern, vocabulary) if text]
        warnings += [pattern] if pattern else []
        if vocabulary:
            confidence, action = vocabulary_action(confidence, technical.entry_type, cfg)
            warnings.append(action)
    confidence, capped = cap_row(confidence, macro.regime, cfg)
    if capped:
        text = (f"SHORT confidence capped at {cfg.cap_without_bearish_macro:g}%: "
                "Macro does not confirm bearish")
        flags.append(text)
        warnings.append(text)
    return ShortCheck(confidence=confidence, warnings=tuple(warnings), flags=tuple(flags),
                      anticipatory=anticipatory, vocabulary_mismatch=mismatch, capped=capped)
