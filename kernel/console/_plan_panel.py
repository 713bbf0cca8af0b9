"""A trade plan as a rich panel: what a person reads before acting on it.

The order follows how a trader uses a plan: the decision and how sure it is,
(for options, which contract), where to get in, how much, where it is wrong
(stop), where to get out (targets, time stop), then why (synthesis, and for
options the selection) and what to watch (warnings). Labels sit in a narrow
column and values wrap, so the panel reads well in 80 columns; rich drops
colour by itself when the output is not a terminal or NO_COLOR is set. Values
are plain Text, never markup: a rationale may contain brackets.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from kernel.untrusted import ident
from planner.contracts import OptionsBlock
from planner.messages import TradePlan
from planner.parts import Entry, PositionPlan, Range, StopLoss, Synthesis, Target
from planner.prices import fmt_money, fmt_price, fmt_range

Row = tuple[str, Text | str]
_STATUS = {"REJECTED": "REJECTED: the chosen contract failed validation",
           "NO_CONTRACT": "NO_CONTRACT: no contract could carry the plan"}


def render(plan: TradePlan, console: Console) -> None:
    console.print(panel(plan))


def panel(plan: TradePlan) -> Panel:
    title = f"{ident(plan.symbol)} · {plan.style} · {plan.asset_class}"
    if plan.options is not None:
        title += " · options"
    body: list[RenderableType] = [_headline(plan), Text(plan.confidence_explanation)]
    rows = Table.grid(padding=(0, 1))
    rows.add_column(style="bold", no_wrap=True)
    rows.add_column(overflow="fold")
    for label, value in _rows(plan):
        rows.add_row(label, Text(value) if isinstance(value, str) else value)
    body += [Text(""), rows]
    colour = "green" if plan.decision == "TRADE" else "yellow"
    return Panel(Group(*body), title=Text(title), title_align="left", border_style=colour)


def _headline(plan: TradePlan) -> Text:
    if plan.decision == "NO_TRADE":
        return Text("NO TRADE", style="bold yellow")
    low, high = plan.confidence_range.low, plan.confidence_range.high
    text = Text(f"TRADE {plan.direction}", style="bold green")
    text.append(f"  {plan.confidence:g}% (range {low:g}–{high:g}%)")
    return text


def _rows(plan: TradePlan) -> list[Row]:
    rows: list[Row] = []
    opts = plan.options
    if plan.decision == "NO_TRADE":
        rows += [("Why", "\n".join(f"• {r}" for r in plan.no_trade_reasons))]
    if opts is not None:
        rows += _contract(opts)
    if plan.entry is not None:
        rows += _entry(plan.entry, opts)
    if plan.position is not None:
        rows.append(("Position", _position(plan.position, opts)))
    if plan.stop_loss is not None:
        rows.append(("Stop", _stop(plan.symbol, plan.stop_loss)))
    premiums = opts.premium_targets if opts is not None else []
    rows += [(t.label, _target(t, premiums[i] if i < len(premiums) else None))
             for i, t in enumerate(plan.targets)]
    if plan.time_stop is not None:
        rows.append(("Time stop", plan.time_stop.text))
    if plan.chase is not None:
        rows.append(("Chase", f"{plan.chase.status}: {plan.chase.reason}"))
    if plan.synthesis is not None:
        rows.append(("Synthesis", _synthesis(plan.synthesis)))
    if opts is not None:
        rows += _selection(opts)
    if plan.target_warning:
        rows.append(("Target", plan.target_warning))
    warnings = [w for w in plan.warnings if w not in plan.no_trade_reasons]
    if warnings:
        rows.append(("Warnings", _bullets(warnings)))
    if plan.flags.suggestion:
        rows.append(("Suggestion", plan.flags.suggestion))
    return rows


def _entry(entry: Entry, opts: OptionsBlock | None) -> list[Row]:
    zone = entry.zone
    text = (f"{entry.strategy}: {fmt_range(zone.low, zone.high)} (mid {fmt_price(zone.mid)}), "
            f"{zone.confidence:g}% chance of a fill")
    if opts is not None and opts.entry_premium is not None:
        text += f"\n{_premium(opts.entry_premium)} for the {opts.contract_type} in that zone"
    rows: list[Row] = [("Entry", text), ("Trigger", entry.trigger)]
    if entry.waiting_instructions:
        rows.append(("Wait", _bullets(entry.waiting_instructions)))
    return rows


def _position(position: PositionPlan, opts: OptionsBlock | None) -> str:
    """Every figure at the one entry price it was computed from, then why this size."""
    at = ""
    if position.entry_price is not None:
        price = position.entry_price
        at = f" at {fmt_money(price) if opts is not None else fmt_price(price)}"
    text = (f"{position.size}: {position.quantity:g} {position.unit}{at}, cost "
            f"{fmt_money(position.total_cost)}, max risk {fmt_money(position.max_risk)} "
            f"({position.risk_pct:g}% budget {fmt_money(position.risk_budget)})")
    if opts is not None and opts.premium_risk_per_contract is not None:
        text += (f"; {fmt_money(opts.premium_risk_per_contract)} premium at risk per contract "
                 f"of {opts.shares_per_contract or 100:g} shares")
    if position.size_reason:
        text += f"\n{position.size_reason}"
    return text


def _stop(symbol: str, stop: StopLoss) -> Text:
    """Options: the stock level first (it decides the exit), the premium only for reference."""
    loss = f", loses {fmt_money(stop.total_loss)}"
    if stop.stock_price_range is None:
        return Text(f"{fmt_range(stop.price_range.low, stop.price_range.high)}{loss}. "
                    f"{stop.rationale}")
    stock = stop.stock_price_range
    text = Text(f"{symbol} @ {fmt_price(stock.low)} - {fmt_price(stock.high)}", style="bold")
    text.append(f"\n{_premium(stop.price_range)}{loss}")
    if stop.stop_auto_shifted:
        text.append(" (stock stop shifted away from the entry zone)")
    text.append(f"\n{stop.rationale}")
    return text


def _target(target: Target, premium: Range | None) -> str:
    rng, chance = target.price_range, target.probability
    text = (f"{fmt_range(rng.low, rng.high)}, sell {target.exit_fraction:.0%}, "
            f"{chance.low:g}–{chance.high:g}% chance. {target.rationale}")
    return text + (f"\n{_premium(premium)}" if premium is not None else "")


def _premium(rng: Range) -> str:
    """Option premiums are quoted in cents, whatever the stock's price."""
    return f"Premium: {fmt_money(rng.low)} - {fmt_money(rng.high)}"


def _contract(opts: OptionsBlock) -> list[Row]:
    """Which contract and what it costs to hold; only the status when none was chosen."""
    if opts.status != "SELECTED":
        return [("Options", _STATUS.get(opts.status, opts.status))]
    kind = opts.contract_type or "contract"
    strike = fmt_price(opts.strike) if opts.strike is not None else "strike unknown"
    label = opts.expiry_label or f"{opts.dte} DTE"
    rows: list[Row] = [("Contract", f"{opts.symbol}\n{kind} {strike}, expires "
                                    f"{opts.expiration}; {label}")]
    if opts.greeks is not None:
        g = opts.greeks
        iv = f"{g.implied_volatility:.1%}" if g.implied_volatility is not None else "n/a"
        rows.append(("Greeks", f"delta {_num(g.delta, '+.2f')}, gamma {_num(g.gamma, '.3f')}, "
                               f"theta {_num(g.theta, '.3f')}/day, vega {_num(g.vega, '.3f')}, "
                               f"IV {iv}"))
    if opts.quote is not None:
        q = opts.quote
        rows.append(("Quote", f"bid {fmt_money(q.bid)}, ask {fmt_money(q.ask)}, spread "
                              f"{fmt_money(q.spread)} ({q.spread_pct:g}% of the mid)"))
    rows.append(("Liquidity", f"volume {_num(opts.volume, ',.0f')} today, open interest "
                              f"{_num(opts.open_interest, ',.0f')}"))
    return rows


def _selection(opts: OptionsBlock) -> list[Row]:
    """Why this contract: the five criteria, the cautions, the search and the checks."""
    rows: list[Row] = []
    if opts.rationale:
        rows.append(("Selection", f"{opts.phase} phase\n" + "\n".join(opts.rationale)))
    if opts.caution_notes:
        rows.append(("Cautions", _bullets(opts.caution_notes)))
    if opts.search:
        rows.append(("Search", _bullets(opts.search)))
    if opts.validation:
        failed = [v for v in opts.validation if not v.startswith("passed: ")]
        passed = len(opts.validation) - len(failed)
        rows.append(("Checks", _bullets([f"{passed} of {len(opts.validation)} contract "
                                         "checks passed", *failed])))
    return rows


def _num(value: float | None, spec: str) -> str:
    return format(value, spec) if value is not None else "n/a"


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"• {line}" for line in lines)


def _synthesis(syn: Synthesis) -> str:
    t, m = syn.technical, syn.macro
    return "\n".join([
        f"Technical {t.direction} {t.confidence:g}% ({t.stance}); Macro {m.direction} "
        f"{m.confidence:g}% ({m.stance}): {syn.agreement}",
        syn.resolution,
        f"Wild Card (worst {syn.wildcard_risk}): {syn.wildcard_summary}",
        f"VWAP: {syn.vwap_note}",
    ])
