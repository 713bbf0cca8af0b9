"""Text blocks for the LLM layer: the anti-chase rules and the live context.

This is layer 1 of the seed's anti-chase defence. The rules quote the same
thresholds as the deterministic guard (``planner.chase``) from the same config,
so the adviser is told exactly what the guard will enforce and fewer of its
plans get blocked. The blocks are plain strings; sending them is an actor's job.
"""

from __future__ import annotations

from planner.chase import chase_zones, opposite_bars
from planner.config import ChaseConfig
from planner.messages import MarketSnapshot
from planner.prices import fmt_delta, fmt_price, fmt_range
from planner.synthesis import vwap_bias, vwap_note


def chase_rules(cfg: ChaseConfig) -> str:
    """The system-prompt section: the guard's rules in words."""
    pct, bars = f"{cfg.zone_atr_pct:g}%", cfg.pullback_bars
    return "\n".join([
        "ANTI-CHASE RULES (a deterministic guard enforces them after you answer):",
        f"- The LONG chase zone is from HOD minus {pct} of the 30-day ATR up to the HOD.",
        f"- The SHORT chase zone is from the LOD up to LOD plus {pct} of the 30-day ATR.",
        f"- A pullback is at least {bars} opposite-colour bars in the last {cfg.lookback_bars} "
        "bars: red bars before a LONG, green bars before a SHORT.",
        "- BLOCK a LONG when price is in the LONG chase zone without a pullback.",
        "- BLOCK a SHORT when price is in the SHORT chase zone without a pullback.",
        "- Prefer entries at support for longs and at resistance for shorts.",
        "- If price is in a chase zone with no pullback, recommend waiting for the pullback "
        "(name the zone) or NO TRADE; never enter at the extreme.",
        "- Give ranges, not single numbers: entry zone low/mid/high, targets with a "
        "probability range, and what the confidence percentage means.",
    ])


def chase_context(snapshot: MarketSnapshot, cfg: ChaseConfig) -> str:
    """The per-request section: live prices, distances, zones and the pullback count."""
    price, atr = snapshot.price, snapshot.atr_30d
    hod, lod = max(snapshot.hod, price), min(snapshot.lod, price)
    long_zone, short_zone = chase_zones(hod, lod, atr, cfg)
    red = opposite_bars(snapshot.bars, "LONG", cfg.lookback_bars)
    green = opposite_bars(snapshot.bars, "SHORT", cfg.lookback_bars)
    lines = [
        f"MARKET CONTEXT for {snapshot.symbol}:",
        f"- Current price {fmt_price(price)}; HOD {fmt_price(hod)}; LOD {fmt_price(lod)}",
        f"- Distance to HOD {fmt_delta(hod - price, price)} ({(hod - price) / atr:.2f}× ATR); "
        f"distance to LOD {fmt_delta(price - lod, price)} ({(price - lod) / atr:.2f}× ATR)",
        f"- 30-day ATR {fmt_delta(atr, price)}",
        f"- LONG chase zone {fmt_range(long_zone.low, long_zone.high)}; "
        f"SHORT chase zone {fmt_range(short_zone.low, short_zone.high)}",
        f"- Last {cfg.lookback_bars} bars: {red} red, {green} green",
    ]
    if price >= long_zone.low and red < cfg.pullback_bars:
        lines.append("- WARNING: price is in the LONG chase zone with no pullback structure")
    if price <= short_zone.high and green < cfg.pullback_bars:
        lines.append("- WARNING: price is in the SHORT chase zone with no pullback structure")
    bias = vwap_bias(price, snapshot.vwap, atr, 0.0)
    lines.append(f"- {vwap_note(price, snapshot.vwap, bias)}")
    return "\n".join(lines)
