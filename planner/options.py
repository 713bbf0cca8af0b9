"""OPTIONS plans: the stock plan, expressed through one validated option contract.

``plan_with_options`` takes a finished stock plan (``build_plan``) and an option
chain and returns the same plan with its ``options`` block, its stop in premium
beside the stock stop it follows from (``stop_loss.stock_price_range``), and a
position counted in contracts. The stock plan decides direction, entry, stop
and targets; this module only chooses how to hold that view: long calls for a
LONG, long puts for a SHORT, never written options. Pure like the rest of
``planner/``: ``now`` is passed in, the chain is already decoded.

    plan = build_plan(technical, macro, wildcard, snapshot, account, style, now, config)
    chain = decode_chain(chain_bytes, underlying=plan.symbol)
    plan = plan_with_options(plan, chain, snapshot, now, options_config)
"""

from __future__ import annotations

import msgspec

from planner.contracts import (
    ChainView,
    ContractChoice,
    Greeks,
    OptionContract,
    OptionQuote,
    OptionsBlock,
    OptionsStatus,
    Phase,
)
from planner.contracts_validation import FAILED, ContractCheck, choice_of, validate_contract
from planner.messages import MarketSnapshot, TradePlan
from planner.options_config import OptionsConfig
from planner.options_expiry import days_to_expiry, expiry_window, trading_date
from planner.options_select import Candidate, SearchContext, judge, select_contract
from planner.options_stops import premium_targets, stock_stop
from planner.options_text import cautions, external_cautions, rationale, stop_rationale
from planner.parts import AssetClass, PositionPlan, Range, SizeLimit, StopLoss
from planner.prices import price_tick
from planner.sizing import CAP_NOTE, FRACTION
from planner.validation import plan_problems


def underlying_asset_class(symbol: str, config: OptionsConfig) -> AssetClass:
    """The asset class of an option's underlying: index ETF when it lists daily expiries."""
    daily = {s.upper() for s in config.daily_expiry_symbols}
    return "index_etf" if symbol.upper() in daily else "stock"


def plan_with_options(plan: TradePlan, chain: ChainView, snapshot: MarketSnapshot,
                      now: float, config: OptionsConfig, *,
                      choice: ContractChoice | None = None) -> TradePlan:
    """The plan with its options block; NO TRADE when no contract qualifies or validates.

    ``choice`` is a contract named outside the selector (an LLM, a bot): it is
    validated against ``chain`` instead of searched for. A NO TRADE stock plan is
    returned unchanged: there is no view to express.
    """
    if plan.decision != "TRADE" or plan.direction is None or plan.entry is None \
            or plan.position is None or plan.stop_loss is None:
        return plan
    problem = _input_problem(plan, chain, snapshot)
    if problem:
        return _refuse(plan, "NO_CONTRACT", problem)
    ctx = _context(plan, chain, snapshot, now, config)
    if isinstance(ctx, str):
        return _refuse(plan, "NO_CONTRACT", ctx)
    if choice is not None:
        return _external(plan, chain, snapshot, choice, ctx)
    if not ctx.window.expirations:
        return _refuse(plan, "NO_CONTRACT", f"No suitable options contract: {ctx.window.reason}")
    selection = select_contract(chain, ctx)
    if selection.best is None or selection.phase is None:
        return _refuse(plan, "NO_CONTRACT", "No suitable options contract: every search phase "
                       "came back empty", search=selection.search)
    check = validate_contract(choice_of(selection.best.contract), chain)
    if not check.ok:
        return _refuse(plan, "REJECTED", check.reason, search=selection.search)
    notes = cautions(selection.best, selection.phase, ctx.window, chain, ctx.spot, plan.style,
                     config)
    why = rationale(selection.best, selection.ranked, ctx.budget, config)
    search = [*selection.search, f"ranked {len(selection.ranked)} candidates; best score "
              f"{selection.best.score:.3f} (weights: volume {config.ranking.volume:g}, theta "
              f"{config.ranking.theta:g}, delta {config.ranking.delta:g}, open interest "
              f"{config.ranking.open_interest:g})"]
    return _with_contract(plan, selection.best, selection.phase, ctx, check,
                          rationale=why, notes=notes, search=search)


def _input_problem(plan: TradePlan, chain: ChainView, snapshot: MarketSnapshot) -> str:
    if plan.asset_class == "crypto":
        return "Options are planned for stocks and index ETFs, not crypto"
    if chain.underlying.upper() != plan.symbol.upper():
        return (f"Critical system error: invalid input: the option chain is for "
                f"{chain.underlying}, the plan for {plan.symbol}")
    if snapshot.symbol.upper() != plan.symbol.upper():
        return (f"Critical system error: invalid input: the snapshot is for {snapshot.symbol}, "
                f"the plan for {plan.symbol}")
    return ""


def _context(plan: TradePlan, chain: ChainView, snapshot: MarketSnapshot, now: float,
             config: OptionsConfig) -> SearchContext | str:
    """Everything one search needs, or why the stock plan cannot carry an option."""
    assert plan.entry is not None and plan.position is not None and plan.stop_loss is not None
    direction = plan.direction or "LONG"
    tick = price_tick(snapshot.price, snapshot.asset_class)
    stop = stock_stop(direction, plan.entry.zone, plan.stop_loss.price_range,
                      snapshot.atr_30d, config.stops.min_gap_atr, tick)
    if stop is None:
        return (f"No room for the stock stop {config.stops.min_gap_atr:g}× ATR below the entry "
                "zone: it would be at or below $0")
    today, _ = trading_date(now, config.expiry_close_hour)
    dte = days_to_expiry(chain.expirations(), today)
    position = plan.position
    budget = position.risk_budget * float(FRACTION[position.size])
    return SearchContext(
        direction=direction, zone=plan.entry.zone, stop=stop,
        targets=[t.price_range for t in plan.targets], spot=snapshot.price,
        window=expiry_window(plan.style, plan.symbol, dte, now, config), dte=dte,
        theta_days=config.stops.theta_buffer_days.get(plan.style, 0), budget=budget,
        account=position.risk_budget * 100 / position.risk_pct, config=config)


def _external(plan: TradePlan, chain: ChainView, snapshot: MarketSnapshot,
              choice: ContractChoice, ctx: SearchContext) -> TradePlan:
    """An outside pick: validated first, then priced like the selector's own."""
    check = validate_contract(choice, chain)
    if not check.ok or check.contract is None:
        return _refuse(plan, "REJECTED", check.reason, validation=_outcomes(check))
    contract = check.contract
    wanted = "call" if ctx.direction == "LONG" else "put"
    if contract.contract_type != wanted:
        return _refuse(plan, "REJECTED", f"{FAILED}: type: {contract.symbol} is a "
                       f"{contract.contract_type}; a {plan.direction} plan buys {wanted}s",
                       validation=_outcomes(check))
    judged = judge(contract, ctx)
    if isinstance(judged, str):
        return _refuse(plan, "NO_CONTRACT", f"The chosen contract {contract.symbol} does not "
                       f"fit: {judged}", validation=_outcomes(check))
    days = ctx.dte.get(contract.expiration or "", -1)
    notes = [*external_cautions(contract, days, ctx.window, ctx.config),
             *cautions(judged, "external", ctx.window, chain, ctx.spot, plan.style,
                       ctx.config)]
    why = rationale(judged, [contract], ctx.budget, ctx.config)
    return _with_contract(plan, judged, "external", ctx, check, rationale=why, notes=notes,
                          search=["contract chosen outside the selector; no search ran"])


def _with_contract(plan: TradePlan, best: Candidate, phase: Phase, ctx: SearchContext,
                   check: ContractCheck, *, rationale: list[str], notes: list[str],
                   search: list[str]) -> TradePlan:
    """The plan re-expressed in contracts; a NO TRADE if it then fails its own checks."""
    assert plan.position is not None and plan.stop_loss is not None
    premium, size = best.premium, best.size
    reason = stop_rationale(ctx.direction, plan.symbol, ctx.stop, plan.stop_loss.rationale,
                            best, plan.style, ctx.config.stops.min_gap_atr)
    block = _block(plan, best, phase, ctx, rationale=rationale, notes=notes, search=search,
                   validation=_outcomes(check))
    options_plan = msgspec.structs.replace(
        plan, options=block,
        stop_loss=StopLoss(price_range=premium.stop, stock_price_range=ctx.stop.price_range,
                           rationale=reason, total_loss=size.max_risk,
                           level=plan.stop_loss.level, stop_auto_shifted=ctx.stop.shifted),
        position=PositionPlan(size=plan.position.size, quantity=float(size.contracts),
                              unit="contracts", total_cost=size.total_cost,
                              max_risk=size.max_risk, risk_budget=plan.position.risk_budget,
                              risk_pct=plan.position.risk_pct,
                              stop_distance=premium.risk_per_contract,
                              entry_price=premium.entry.high, size_limit=size.limit,
                              size_reason=_size_reason(plan.position.size_reason, size.limit)),
        # the stock plan's share cap does not size contracts: the premium cap does
        warnings=[w for w in plan.warnings if not w.startswith(CAP_NOTE)])
    broken = plan_problems(options_plan)
    if premium.stop.high >= premium.entry.low:
        broken.append("premium stop is not below the entry premium")
    if broken:
        return _refuse(plan, "NO_CONTRACT", "Critical system error: options plan failed its "
                       f"checks: {'; '.join(broken)}", search=search)
    return options_plan


def _size_reason(stock_reason: str, limit: SizeLimit) -> str:
    """The stock plan's tier reason, without its share cap, and what set the contract count."""
    tier = stock_reason.split("; quantity set by the ")[0]
    return f"{tier}; contracts set by the {limit}" if tier else f"contracts set by the {limit}"


def _block(plan: TradePlan, best: Candidate, phase: Phase, ctx: SearchContext, *,
           rationale: list[str], notes: list[str], search: list[str],
           validation: list[str]) -> OptionsBlock:
    k, premium = best.contract, best.premium
    return OptionsBlock(
        status="SELECTED", underlying=plan.symbol, symbol=k.symbol,
        contract_type=k.contract_type, strike=k.strike, expiration=k.expiration, dte=best.dte,
        true_0dte=best.dte == 0, expiry_label=_expiry_label(best, ctx),
        greeks=Greeks(delta=k.delta, gamma=k.gamma, theta=k.theta, vega=k.vega,
                      implied_volatility=k.implied_volatility),
        quote=_quote(k), volume=k.volume, open_interest=k.open_interest,
        shares_per_contract=k.shares_per_contract, phase=phase, rationale=rationale,
        caution_notes=notes[:256], entry_premium=premium.entry,
        premium_targets=premium_targets(k, ctx.targets, ctx.spot),
        premium_risk_per_contract=premium.risk_per_contract,
        contracts=best.size.contracts, validation=validation, search=search[:256])


def _expiry_label(best: Candidate, ctx: SearchContext) -> str:
    if best.dte == 0:
        return f"0DTE: expires today ({best.contract.expiration}) at the close"
    if best.contract.expiration in ctx.window.expirations:
        return ctx.window.label if ctx.window.low == ctx.window.high else \
            f"{best.dte} DTE ({ctx.window.label})"
    return f"{best.dte} DTE, outside the window ({ctx.window.label})"


def _quote(k: OptionContract) -> OptionQuote:
    bid, ask = k.bid or 0.0, k.ask or 0.0
    mid = (bid + ask) / 2
    return OptionQuote(bid=bid, ask=ask, mid=round(mid, 4), spread=round(ask - bid, 4),
                       spread_pct=round((ask - bid) / mid * 100, 2) if mid > 0 else 0.0)


def _outcomes(check: ContractCheck) -> list[str]:
    return [f"passed: {name}" for name in check.passed] + \
        [f"failed: {name}" for name in check.failed]


def _refuse(plan: TradePlan, status: OptionsStatus, reason: str, *,
            search: list[str] | None = None, validation: list[str] | None = None) -> TradePlan:
    """The plan as NO TRADE, keeping its synthesis; the options block says what went wrong."""
    block = OptionsBlock(status=status, underlying=plan.symbol, reason=reason[:4096],
                         search=(search or [])[:256], validation=(validation or [])[:256])
    return msgspec.structs.replace(
        plan, decision="NO_TRADE", direction=None, confidence=0.0,
        confidence_range=Range(low=0.0, high=0.0),
        confidence_explanation=f"No trade: {reason}"[:4096], entry=None, position=None,
        stop_loss=None, targets=[], time_stop=None, target_warning=None,
        no_trade_reasons=[reason[:4096]], options=block)
