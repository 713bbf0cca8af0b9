"""The words of an options plan: the five-criteria rationale, caution notes, the stop's reason.

Kept apart from the arithmetic so that the numbers can be tested without the
prose and the prose read in one place. The stop rationale always opens with the
stock level ("Stop below $681.00 …"): people act on the chart, not on a premium.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.contracts import ChainView, OptionContract, Phase
from planner.options_config import OptionsConfig
from planner.options_expiry import ExpiryWindow
from planner.options_select import Candidate
from planner.options_stops import StockStop
from planner.parts import Style, TradeDirection
from planner.prices import fmt_money, fmt_price

_GAMMA_SHIFT = 0.2
"""Delta change over the stop distance beyond which the premium stop is called approximate."""


def rationale(best: Candidate, ranked: Sequence[OptionContract], budget: float,
              cfg: OptionsConfig) -> list[str]:
    """One line per criterion, in the seed's priority order."""
    k, size, n = best.contract, best.size, len(ranked)
    ask = k.ask or 0.0
    top_volume = max((c.volume or 0.0) for c in ranked)
    thetas = [abs(c.theta) for c in ranked if c.theta is not None]
    theta = ("unknown (greeks missing)" if k.theta is None else
             f"{k.theta:+.3f} per day ({fmt_money(abs(k.theta) * k.shares_per_contract)} per "
             f"contract; lowest of {n}: {min(thetas):.3f})")
    delta = ("unknown (greeks missing): the stop assumes |delta| "
             f"{cfg.phases.fallback.assumed_delta:g}" if k.delta is None else
             f"{k.delta:+.2f}, {abs(abs(k.delta) - cfg.ranking.target_delta):.2f} from the "
             f"balanced {cfg.ranking.target_delta:.2f}")
    oi = ("unknown" if k.open_interest is None else
          f"{k.open_interest:,.0f}; {_contracts(size.contracts)} "
          f"{'is' if size.contracts == 1 else 'are'} "
          f"{100 * size.contracts / max(k.open_interest, 1):.1f}% of it")
    return [
        f"1. Price: ask {fmt_money(ask)} ({fmt_money(ask * k.shares_per_contract)} per "
        f"contract); {_contracts(size.contracts)} "
        f"{'risks' if size.contracts == 1 else 'risk'} {fmt_money(size.max_risk)} at the "
        f"stop, within the {fmt_money(budget)} budget (count set by the {size.limit})",
        f"2. Volume: {k.volume or 0:,.0f} today (best of {n}: {top_volume:,.0f})",
        f"3. Theta: {theta}",
        f"4. Delta: {delta}",
        f"5. Open interest: {oi}",
    ]


def cautions(best: Candidate, phase: Phase, window: ExpiryWindow, chain: ChainView,
             spot: float, style: Style, cfg: OptionsConfig) -> list[str]:
    """Everything that makes this contract less trustworthy than a primary pick."""
    k, notes = best.contract, []
    if phase == "expanded":
        notes.append("Found by the expanded search: no contract met the primary criteria")
    elif phase == "fallback":
        notes.append("Found by the fallback search: no contract met the expanded criteria")
    if k.delta is None or k.theta is None:
        notes.append(f"Greeks missing: the premium stop assumes |delta| "
                     f"{best.premium.delta:g}, has no theta buffer, and premium targets are "
                     "not estimated")
    shift = abs(k.gamma or 0.0) * best.premium.stock_move
    if shift > _GAMMA_SHIFT:
        notes.append(f"High gamma: delta moves by about {shift:.2f} between the entry and the "
                     "stop, so the first-order premium stop is approximate; trust the stock level")
    if style == "SCALP" and not window.true_0dte:
        notes.append(window.label)
    bid, ask = k.bid or 0.0, k.ask or 0.0
    spread_pct = (ask - bid) / ((ask + bid) / 2) * 100 if ask + bid > 0 else 0.0
    if spread_pct > cfg.caution.wide_spread_pct:
        notes.append(f"Wide spread: {spread_pct:.1f}% of the mid; use a limit order")
    if k.missing:
        notes.append(f"Vendor data missing for this contract: {', '.join(k.missing[:12])}")
    if best.premium.stop.low <= 0:
        notes.append("The premium stop reaches $0.00: a move to the stock stop may cost the "
                     "whole premium")
    if chain.underlying_price is not None and spot > 0:
        drift = abs(chain.underlying_price - spot) / spot * 100
        if drift > cfg.caution.underlying_drift_pct:
            notes.append(f"The chain's underlying price {fmt_price(chain.underlying_price)} is "
                         f"{drift:.1f}% from the snapshot's {fmt_price(spot)}: quotes may be "
                         "stale")
    return notes


def stop_rationale(direction: TradeDirection, symbol: str, stop: StockStop, stock_reason: str,
                   best: Candidate, style: Style, min_gap_atr: float) -> str:
    """Names the stock level first, then how the premium stop follows from it."""
    side = "below" if direction == "LONG" else "above"
    premium = best.premium
    origin = stock_reason.rstrip(".")
    origin = origin[:1].lower() + origin[1:]
    text = (f"Stop {side} {fmt_price(stop.near(direction))} on {symbol}: the stock level "
            f"decides the exit (from the stock plan: {origin}). Premium stop "
            f"{fmt_money(premium.stop.low)}–{fmt_money(premium.stop.high)} follows from it: "
            f"premium change = stock change × delta "
            f"{premium.delta:.2f}{' (assumed: greeks missing)' if premium.delta_assumed else ''}")
    if premium.theta_buffer > 0:
        text += (f", less {fmt_money(premium.theta_buffer)} of theta as a {style} buffer "
                 f"against time decay")
    if stop.shifted and stop.moved_from is not None:
        text += (f"; moved from {fmt_price(stop.moved_from)} to keep {min_gap_atr:g}× ATR "
                 f"from the entry zone")
    return text[:4096]


def external_cautions(contract: OptionContract, days: int, window: ExpiryWindow,
                      cfg: OptionsConfig) -> list[str]:
    """An outside pick passed validation; say where it strays from what the selector wants."""
    notes = ["Contract chosen outside the selector (an LLM or a bot) and validated against "
             "the chain"]
    if not window.low <= days <= window.high:
        notes.append(f"Expires in {days} days, outside the window ({window.label})")
    band = cfg.phases.expanded.delta
    if contract.delta is not None and not band[0] <= abs(contract.delta) <= band[1]:
        notes.append(f"Delta {contract.delta:+.2f} is outside {band[0]:.2f}–{band[1]:.2f}: an "
                     "extreme the selector would refuse")
    return notes


def _contracts(n: int) -> str:
    return f"{n} contract{'' if n == 1 else 's'}"
