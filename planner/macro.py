"""The built-in Macro analysis: a regime from a cross-asset snapshot.

Each component is scored in −1..+1, positive meaning risk-on: the index trend,
the volatility index (level and change), the dollar and yields (both rising is
read as risk-off), and for crypto the BTC trend and extreme funding (read
contrarily: a crowded side tends to be flushed). Weights per asset class come
from config; missing components drop out and lower the confidence in proportion
to the weight they carried. The formulas are written out in docs/planner.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.config import MacroConfig, MacroWeights
from planner.indicators import clamp, sma
from planner.messages import CrossAssetSnapshot, MacroVerdict
from planner.parts import AssetClass, Direction, Regime

_COMPONENTS = ("index", "vix", "dollar", "yields", "btc", "funding")


def trend_score(closes: Sequence[float], cfg: MacroConfig) -> float | None:
    """(sign(close − fast MA) + sign(fast MA − slow MA)) / 2; None without enough closes."""
    if len(closes) < cfg.slow_ma:
        return None
    fast, slow = sma(closes, cfg.fast_ma), sma(closes, cfg.slow_ma)
    return (_sign(closes[-1] - fast) + _sign(fast - slow)) / 2


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def vix_score(snap: CrossAssetSnapshot, cfg: MacroConfig) -> float | None:
    """Mean of the level score (calm +1 … stress −1) and the change score."""
    parts = []
    if snap.vix is not None:
        parts.append(clamp(1 - 2 * (snap.vix - cfg.vix_calm) / (cfg.vix_stress - cfg.vix_calm)))
    if snap.vix_change_pct is not None:
        parts.append(clamp(-snap.vix_change_pct / cfg.vix_change_full_pct))
    return sum(parts) / len(parts) if parts else None


def funding_score(rate: float | None, cfg: MacroConfig) -> float | None:
    """0 while funding is ordinary; −sign(rate) once it is extreme (crowded side)."""
    if rate is None:
        return None
    if abs(rate) < cfg.funding_extreme:
        return 0.0
    return -1.0 if rate > 0 else 1.0


def components(snap: CrossAssetSnapshot, cfg: MacroConfig) -> dict[str, float | None]:
    """Every component's score; None where the snapshot lacks its data."""
    def neg(value: float | None, full: float) -> float | None:
        return None if value is None else clamp(-value / full)

    return {
        "index": trend_score(snap.index_closes, cfg),
        "vix": vix_score(snap, cfg),
        "dollar": neg(snap.dollar_change_pct, cfg.dollar_full_pct),
        "yields": neg(snap.yield_change_bp, cfg.yield_full_bp),
        "btc": trend_score(snap.btc_closes, cfg),
        "funding": funding_score(snap.funding_rate, cfg),
    }


def _weights(asset_class: AssetClass, cfg: MacroConfig) -> MacroWeights:
    return cfg.crypto_weights if asset_class == "crypto" else cfg.stock_weights


def _regime(score: float, threshold: float) -> tuple[Regime, Direction]:
    if score >= threshold:
        return "risk_on", "LONG"
    if score <= -threshold:
        return "risk_off", "SHORT"
    return "neutral", "NEUTRAL"


def analyze_macro(
    snap: CrossAssetSnapshot, asset_class: AssetClass, cfg: MacroConfig
) -> MacroVerdict:
    """Weighted score S in −1..1 → regime; confidence from |S|, alignment and coverage."""
    weights = _weights(asset_class, cfg)
    scores = components(snap, cfg)
    total = sum(getattr(weights, name) for name in _COMPONENTS)
    present = {n: s for n, s in scores.items() if s is not None and getattr(weights, n) > 0}
    have = sum(getattr(weights, n) for n in present)
    if total <= 0 or have <= 0:
        return MacroVerdict(ts=snap.ts, regime="neutral", direction="NEUTRAL", confidence=0.0,
                            alignment=0.0, economic_assessment="No cross-asset data available")
    score = sum(getattr(weights, n) * s for n, s in present.items()) / have
    regime, direction = _regime(score, cfg.regime_threshold)
    agreeing = sum(getattr(weights, n) for n, s in present.items() if _agrees(s, regime, cfg))
    alignment = 100 * agreeing / have
    coverage = have / total
    if regime == "neutral":
        raw = 100 * coverage * (0.6 - 0.4 * abs(score) / cfg.regime_threshold)
    else:
        raw = 100 * coverage * (0.3 + 0.4 * abs(score) + 0.3 * alignment / 100)
    return MacroVerdict(
        ts=snap.ts, regime=regime, direction=direction,
        confidence=float(round(clamp(raw, 0.0, cfg.max_confidence))),
        alignment=float(round(alignment)), economic_assessment=assessment(snap, scores, score),
        notes=[f"score {score:+.2f} (threshold ±{cfg.regime_threshold:g})",
               f"data coverage {100 * coverage:.0f}% of the weight"],
    )


def _agrees(score: float, regime: Regime, cfg: MacroConfig) -> bool:
    if regime == "risk_on":
        return score > 0
    if regime == "risk_off":
        return score < 0
    return abs(score) < cfg.regime_threshold


def assessment(snap: CrossAssetSnapshot, scores: dict[str, float | None], score: float) -> str:
    """One line a person can check against the data."""
    words = []
    if scores["index"] is not None:
        words.append(f"{snap.index_symbol} trend {_trend_word(scores['index'])}")
    if snap.vix is not None:
        change = f" ({snap.vix_change_pct:+.1f}%)" if snap.vix_change_pct is not None else ""
        words.append(f"VIX {snap.vix:.1f}{change}")
    if snap.dollar_change_pct is not None:
        words.append(f"dollar {snap.dollar_change_pct:+.2f}%")
    if snap.yield_change_bp is not None:
        words.append(f"10Y yield {snap.yield_change_bp:+.1f} bp")
    if scores["btc"] is not None:
        words.append(f"BTC trend {_trend_word(scores['btc'])}")
    if snap.funding_rate is not None:
        words.append(f"funding {100 * snap.funding_rate:+.3f}%/8h")
    tone = "risk-on" if score > 0 else "risk-off" if score < 0 else "balanced"
    return f"{'; '.join(words)}: overall {tone} ({score:+.2f})"


def _trend_word(score: float | None) -> str:
    if score is None or score == 0:
        return "mixed"
    return "up" if score > 0 else "down"
