"""A trade plan as a rich panel: what a person reads before acting on it.

The order follows how a trader uses a plan: the decision and how sure it is,
where to get in, how much, where it is wrong (stop), where to get out (targets,
time stop), then why (synthesis) and what to watch (warnings). Labels sit in a
narrow column and values wrap, so the panel reads well in 80 columns; rich
drops colour by itself when the output is not a terminal or NO_COLOR is set.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from planner.messages import TradePlan
from planner.parts import Entry, PositionPlan, Synthesis, Target
from planner.prices import fmt_money, fmt_price, fmt_range


def render(plan: TradePlan, console: Console) -> None:
    console.print(panel(plan))


def panel(plan: TradePlan) -> Panel:
    title = f"{plan.symbol} · {plan.style} · {plan.asset_class}"
    body: list[RenderableType] = [_headline(plan), Text(plan.confidence_explanation)]
    rows = Table.grid(padding=(0, 1))
    rows.add_column(style="bold", no_wrap=True)
    rows.add_column(overflow="fold")
    for label, value in _rows(plan):
        rows.add_row(label, value)
    body += [Text(""), rows]
    colour = "green" if plan.decision == "TRADE" else "yellow"
    return Panel(Group(*body), title=title, title_align="left", border_style=colour)


def _headline(plan: TradePlan) -> Text:
    if plan.decision == "NO_TRADE":
        return Text("NO TRADE", style="bold yellow")
    low, high = plan.confidence_range.low, plan.confidence_range.high
    text = Text(f"TRADE {plan.direction}", style="bold green")
    text.append(f"  {plan.confidence:g}% (range {low:g}–{high:g}%)")
    return text


def _rows(plan: TradePlan) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if plan.decision == "NO_TRADE":
        rows += [("Why", "\n".join(f"• {r}" for r in plan.no_trade_reasons))]
    if plan.entry is not None:
        rows += _entry(plan.entry)
    if plan.position is not None:
        rows.append(("Position", _position(plan.position)))
    if plan.stop_loss is not None:
        stop = plan.stop_loss
        rows.append(("Stop", f"{fmt_range(stop.price_range.low, stop.price_range.high)}, "
                             f"loses {fmt_money(stop.total_loss)}. {stop.rationale}"))
    rows += [(target.label, _target(target)) for target in plan.targets]
    if plan.time_stop is not None:
        rows.append(("Time stop", plan.time_stop.text))
    if plan.chase is not None:
        rows.append(("Chase", f"{plan.chase.status}: {plan.chase.reason}"))
    if plan.synthesis is not None:
        rows.append(("Synthesis", _synthesis(plan.synthesis)))
    if plan.target_warning:
        rows.append(("Target", plan.target_warning))
    warnings = [w for w in plan.warnings if w not in plan.no_trade_reasons]
    if warnings:
        rows.append(("Warnings", "\n".join(f"• {w}" for w in warnings)))
    if plan.flags.suggestion:
        rows.append(("Suggestion", plan.flags.suggestion))
    return rows


def _entry(entry: Entry) -> list[tuple[str, str]]:
    zone = entry.zone
    rows = [("Entry", f"{entry.strategy}: {fmt_range(zone.low, zone.high)} "
                      f"(mid {fmt_price(zone.mid)}), {zone.confidence:g}% chance of a fill"),
            ("Trigger", entry.trigger)]
    if entry.waiting_instructions:
        rows.append(("Wait", "\n".join(f"• {w}" for w in entry.waiting_instructions)))
    return rows


def _position(position: PositionPlan) -> str:
    return (f"{position.size}: {position.quantity:g} {position.unit}, cost "
            f"{fmt_money(position.total_cost)}, max risk {fmt_money(position.max_risk)} "
            f"({position.risk_pct:g}% budget {fmt_money(position.risk_budget)})")


def _target(target: Target) -> str:
    rng, chance = target.price_range, target.probability
    return (f"{fmt_range(rng.low, rng.high)}, sell {target.exit_fraction:.0%}, "
            f"{chance.low:g}–{chance.high:g}% chance. {target.rationale}")


def _synthesis(syn: Synthesis) -> str:
    t, m = syn.technical, syn.macro
    return "\n".join([
        f"Technical {t.direction} {t.confidence:g}% ({t.stance}); Macro {m.direction} "
        f"{m.confidence:g}% ({m.stance}): {syn.agreement}",
        syn.resolution,
        f"Wild Card (worst {syn.wildcard_risk}): {syn.wildcard_summary}",
        f"VWAP: {syn.vwap_note}",
    ])
