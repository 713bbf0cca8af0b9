"""Choosing one contract: three search phases, then a ranking by the seed's five criteria.

The phases run in order and stop at the first that finds anything: **primary**
wants the delta sweet spot with good liquidity and a tight spread; **expanded**
relaxes all three but still refuses the extremes (lottery tickets and deep
in-the-money contracts); **fallback** accepts valid pricing alone, even without
greeks, when the strike is near the stock. Every phase requires that at least one
contract fits the risk budget (criterion 1, price). Survivors are ranked by a
weighted score over the other four criteria, weights in priority order: volume,
lower |theta|, delta nearest the target, open interest. When every phase
comes back empty the plan is NO TRADE rather than a forced poor choice.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import msgspec

from planner.contracts import ChainView, OptionContract, Phase
from planner.options_config import OptionsConfig, PhaseConfig, RankingConfig
from planner.options_expiry import ExpiryWindow
from planner.options_stops import (
    ContractSize,
    PremiumPlan,
    StockStop,
    premium_plan,
    quick_fit,
    size_contracts,
)
from planner.parts import EntryZone, Range, TradeDirection


class SearchContext(msgspec.Struct, frozen=True, kw_only=True):
    """What every candidate of one plan is judged against."""

    direction: TradeDirection
    zone: EntryZone
    stop: StockStop
    targets: list[Range]
    spot: float
    window: ExpiryWindow
    dte: dict[str, int]
    theta_days: int
    budget: float
    """Dollars the plan may lose at the stop (the stock plan's budget × its size tier)."""
    account: float
    config: OptionsConfig


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    contract: OptionContract
    dte: int
    premium: PremiumPlan
    size: ContractSize
    score: float = 0.0


class Selection(msgspec.Struct, frozen=True, kw_only=True):
    best: Candidate | None
    phase: Phase | None
    ranked: list[OptionContract]
    """Every contract of the winning phase, best first."""
    search: list[str]


def wanted_type(direction: TradeDirection) -> str:
    """Long options only: calls for a LONG view, puts for a SHORT one."""
    return "call" if direction == "LONG" else "put"


def select_contract(chain: ChainView, ctx: SearchContext) -> Selection:
    """The best contract of the first phase that finds any, or none with the reasons."""
    want, window = wanted_type(ctx.direction), ctx.window.expirations
    pool = chain.pool(want, window)
    phases = ctx.config.phases
    search = [f"{len(pool)} {want}s in the window ({ctx.window.label}) of "
              f"{chain.count()} contracts"]
    steps: list[tuple[Phase, PhaseConfig | None]] = [
        ("primary", phases.primary), ("expanded", phases.expanded), ("fallback", None)]
    for name, phase in steps:
        passed, left_out = _phase(pool, phase, ctx)
        search.append(_summary(name, phase, ctx.config, len(passed), len(pool), left_out))
        ranked = rank(passed, ctx.config.ranking)
        for score, contract in ranked:  # priced exactly now; the quick check may err by a cent
            judged = judge(contract, ctx)
            if isinstance(judged, Candidate):
                return Selection(best=msgspec.structs.replace(judged, score=score), phase=name,
                                 ranked=[c for _, c in ranked], search=search)
    return Selection(best=None, phase=None, ranked=[], search=search)


def judge(contract: OptionContract, ctx: SearchContext) -> Candidate | str:
    """Price the contract against the plan: a candidate, or why it does not fit the budget."""
    days = ctx.dte.get(contract.expiration or "", -1)
    premium = premium_plan(contract, zone=ctx.zone, stop=ctx.stop, spot=ctx.spot,
                           theta_days=ctx.theta_days,
                           assumed_delta=ctx.config.phases.fallback.assumed_delta)
    size = size_contracts(premium, contract, budget=ctx.budget, account=ctx.account,
                          cfg=ctx.config.sizing)
    if isinstance(size, str):
        return size
    return Candidate(contract=contract, dte=days, premium=premium, size=size)


def _phase(pool: Sequence[OptionContract], phase: PhaseConfig | None,
           ctx: SearchContext) -> tuple[list[OptionContract], Counter[str]]:
    passed: list[OptionContract] = []
    left_out: Counter[str] = Counter()
    fallback = ctx.config.phases.fallback
    for contract in pool:
        why = _filter(contract, phase, ctx)
        if why is None:
            if quick_fit(contract, zone=ctx.zone, stop=ctx.stop, spot=ctx.spot,
                         theta_days=ctx.theta_days, assumed_delta=fallback.assumed_delta,
                         budget=ctx.budget, account=ctx.account, cfg=ctx.config.sizing):
                passed.append(contract)
                continue
            why = "does not fit the risk budget"
        left_out[why] += 1
    return passed, left_out


def _filter(c: OptionContract, phase: PhaseConfig | None, ctx: SearchContext) -> str | None:
    """Why the contract is out of this phase (cheapest checks first); None if it is in."""
    bid, ask = c.bid, c.ask
    if bid is None or ask is None or bid <= 0 or ask < bid:
        return "no valid bid/ask"
    spread = (ask - bid) / ((ask + bid) / 2) * 100
    if phase is None:
        fallback = ctx.config.phases.fallback
        if c.delta is None:
            if c.strike is None or abs(c.strike - ctx.spot) / ctx.spot * 100 \
                    > fallback.max_moneyness_pct:
                return "no delta, strike far from the stock"
        elif not _in_band(c.delta, ctx.config.phases.expanded.delta):
            return "delta extreme"
        return "spread too wide" if spread > fallback.max_spread_pct else None
    if c.delta is None or c.theta is None:
        return "no greeks"
    if not _in_band(c.delta, phase.delta):
        return "delta outside band"
    if spread > phase.max_spread_pct:
        return "spread too wide"
    if (c.volume or 0.0) < phase.min_volume:
        return "volume too low"
    if (c.open_interest or 0.0) < phase.min_open_interest:
        return "open interest too low"
    return None


def _in_band(delta: float, band: Sequence[float]) -> bool:
    return band[0] <= abs(delta) <= band[1]


def _summary(name: Phase, phase: PhaseConfig | None, cfg: OptionsConfig, passed: int,
             pool: int, left_out: Counter[str]) -> str:
    if phase is None:
        fb = cfg.phases.fallback
        rule = (f"valid bid/ask, spread ≤ {fb.max_spread_pct:g}%, delta "
                f"{_band(cfg.phases.expanded.delta)} or, without greeks, strike within "
                f"{fb.max_moneyness_pct:g}% of the stock")
    else:
        rule = (f"delta {_band(phase.delta)}, volume ≥ {phase.min_volume:,.0f}, open interest "
                f"≥ {phase.min_open_interest:,.0f}, spread ≤ {phase.max_spread_pct:g}%")
    out = ", ".join(f"{why} {n}" for why, n in sorted(left_out.items(), key=lambda kv: -kv[1]))
    return f"{name} ({rule}): {passed} of {pool} passed" + (f"; left out: {out}" if out else "")


def _band(band: Sequence[float]) -> str:
    return f"{band[0]:.2f}–{band[1]:.2f}"


def rank(contracts: Sequence[OptionContract],
         cfg: RankingConfig) -> list[tuple[float, OptionContract]]:
    """(score, contract), best first; the symbol breaks ties so the order is stable."""
    if not contracts:
        return []
    top_volume = max(k.volume or 0.0 for k in contracts)
    top_oi = max(k.open_interest or 0.0 for k in contracts)
    top_theta = max(abs(k.theta or 0.0) for k in contracts)
    weights = cfg.volume + cfg.theta + cfg.delta + cfg.open_interest or 1.0
    reach = max(cfg.target_delta, 1 - cfg.target_delta)
    scored = []
    for k in contracts:
        parts = (cfg.volume * _log_share(k.volume, top_volume),
                 cfg.theta * (0.0 if k.theta is None else
                              1 - abs(k.theta) / top_theta if top_theta > 0 else 1.0),
                 cfg.delta * (0.0 if k.delta is None else
                              max(0.0, 1 - abs(abs(k.delta) - cfg.target_delta) / reach)),
                 cfg.open_interest * _log_share(k.open_interest, top_oi))
        scored.append((round(sum(parts) / weights, 6), k))
    return sorted(scored, key=lambda sc: (-sc[0], sc[1].symbol))


def _log_share(value: float | None, top: float) -> float:
    """Where ``value`` sits between 0 and the best, on a log scale (liquidity is multiplicative)."""
    if not value or value <= 0 or top <= 0:
        return 0.0
    return math.log1p(value) / math.log1p(top)
