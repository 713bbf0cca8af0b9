"""Position size = account × risk % ÷ stop distance, with numbers worked by hand."""

from __future__ import annotations

import pytest

from planner.config import RiskConfig
from planner.parts import AssetClass, PositionPlan
from planner.sizing import (
    Sized,
    SizingRefusal,
    choose_tier,
    risk_budget,
    size_position,
    size_tier,
)

CFG = RiskConfig()


def size(
    account: float, risk_pct: float, entry_price: float, stop_worst: float, *,
    confidence: float = 75, entry_high: float | None = None, symbol: str = "AAPL",
    asset_class: AssetClass = "stock", cap: float = 100.0, cfg: RiskConfig = CFG,
) -> PositionPlan | SizingRefusal:
    tier, reason = choose_tier(confidence, cfg)
    result = size_position(account=account, risk_pct=risk_pct, entry_price=entry_price,
                           entry_high=entry_high if entry_high is not None else entry_price,
                           stop_worst=stop_worst, tier=tier, tier_reason=reason,
                           notional_cap_pct=cap, symbol=symbol, asset_class=asset_class,
                           cfg=cfg)
    return result.position if isinstance(result, Sized) else result


def plan(*args: float, **kw: object) -> PositionPlan:
    result = size(*args, **kw)  # type: ignore[arg-type]
    assert isinstance(result, PositionPlan), result
    return result


def test_full_position_shares_hand_computed() -> None:
    # 100,000 × 1% = 1,000; stop distance 50.50 − 49.00 = 1.50; 1,000 / 1.50 = 666.67 → 666
    p = plan(100_000, 1.0, 50.50, 49.00)
    assert (p.size, p.quantity, p.unit) == ("full", 666, "shares")
    assert p.max_risk == 999.00  # 666 × 1.50
    assert p.total_cost == 33_633.00  # 666 × 50.50: the same price as the risk
    assert (p.entry_price, p.size_limit) == (50.50, "risk budget")
    assert p.risk_budget == 1_000.00
    assert p.stop_distance == 1.50


@pytest.mark.parametrize(("confidence", "tier", "quantity", "max_risk"), [
    (75, "full", 666, 999.00),
    (60, "half", 333, 499.50),     # 500 / 1.50 = 333.3
    (40, "quarter", 166, 249.00),  # 250 / 1.50 = 166.7
])
def test_tiers_scale_the_risk(
    confidence: float, tier: str, quantity: float, max_risk: float
) -> None:
    p = plan(100_000, 1.0, 50.50, 49.00, confidence=confidence)
    assert (p.size, p.quantity, p.max_risk) == (tier, quantity, max_risk)


@pytest.mark.parametrize(("confidence", "tier"), [
    (100, "full"), (70, "full"), (69.9, "half"), (50, "half"), (49.9, "quarter"), (0, "quarter"),
])
def test_tier_boundaries(confidence: float, tier: str) -> None:
    assert size_tier(confidence, CFG) == tier


def test_short_distance_is_stop_above_entry() -> None:
    # SHORT: worst entry is the zone's low 99.80, worst stop 100.30: 0.50 per share;
    # 100,000 × 0.5% = 500 → 1,000 shares
    p = plan(100_000, 0.5, 99.80, 100.30)
    assert p.quantity == 1_000 and p.max_risk == 500.00


def test_crypto_rounds_down_to_the_configured_step() -> None:
    # 100,000 × 0.5% = 500; distance 60,100 − 59,500 = 600; 0.833333… → 0.8333 coins
    p = plan(100_000, 0.5, 60_100, 59_500, symbol="SOLUSDT", asset_class="crypto")
    assert (p.quantity, p.unit) == (0.8333, "coins")
    assert p.max_risk == 499.98  # 0.8333 × 600
    assert p.total_cost == 50_081.33  # 0.8333 × 60,100 = 50,081.33


def test_crypto_per_symbol_step_override() -> None:
    # BTCUSDT steps 0.00001: 0.83333; risk 499.998 rounds up to 500.00, still in budget
    p = plan(100_000, 0.5, 60_100, 59_500, symbol="BTCUSDT", asset_class="crypto")
    assert p.quantity == 0.83333
    assert p.max_risk == 500.00 <= p.risk_budget


def test_buying_power_caps_the_quantity() -> None:
    # risk allows 200 / 0.20 = 1,000 shares ($100,100) but the account holds 10,000:
    # 10,000 / 100.10 = 99.9 → 99 shares
    p = plan(10_000, 2.0, 100.10, 99.90)
    assert p.quantity == 99
    assert p.max_risk == 19.80
    assert p.total_cost <= 10_000


def test_quantity_that_rounds_to_zero_is_refused_with_the_numbers() -> None:
    # 1,000 × 1% = 10 budget; 10 / 15 per share = 0.67 → 0 shares
    result = size(1_000, 1.0, 115, 100)
    assert isinstance(result, SizingRefusal)
    assert "zero shares" in result.reason and "$10.00" in result.reason
    assert "$15.00" in result.reason


def test_zero_stop_distance_is_refused() -> None:
    assert isinstance(size(1_000, 1.0, 100, 100), SizingRefusal)


def test_budget_is_rounded_down_to_the_cent() -> None:
    assert float(risk_budget(12_345.67, 1.0)) == 123.45


# --- one entry price, and the per-plan notional cap ----------------------------------


def test_cost_and_risk_use_one_entry_price() -> None:
    """Probe: cost at the zone's middle, risk at its worst edge. Now both at the worst fill."""
    p = plan(100_000, 1.0, 50.50, 49.00, entry_high=50.50)
    assert p.total_cost == pytest.approx(p.quantity * p.entry_price)  # type: ignore[operator]
    assert p.max_risk == pytest.approx(p.quantity * (p.entry_price - 49.00))  # type: ignore[operator]


def test_notional_cap_binds_and_the_plan_says_so() -> None:
    # risk allows 666 shares ($33,633) but 25% of $100,000 is $25,000: 25,000 / 50.50 = 495
    tier, reason = choose_tier(75, CFG)
    result = size_position(account=100_000, risk_pct=1.0, entry_price=50.50, entry_high=50.50,
                           stop_worst=49.00, tier=tier, tier_reason=reason, notional_cap_pct=25,
                           symbol="AAPL", asset_class="stock", cfg=CFG)
    assert isinstance(result, Sized)
    p = result.position
    assert (p.quantity, p.size_limit, p.total_cost, p.max_risk) == (495, "notional cap",
                                                                    24_997.50, 742.50)
    assert p.size_reason.endswith("; quantity set by the notional cap")
    assert result.cap_note == (
        "Size capped by the notional cap: 495 shares at $50.50 cost $24,997.50, within 25% of "
        "the $100,000.00 account, and risk $742.50 at the stop; the full risk budget of "
        "$1,000.00 alone would buy 666")


def test_notional_cap_is_checked_at_the_dearest_fill() -> None:
    """A SHORT's worst fill is the zone's low, but a fill at its high costs more."""
    p = plan(100_000, 1.0, 99.80, 100.30, entry_high=100.00, cap=25)
    assert p.quantity == 250  # 25,000 / 100.00, not 25,000 / 99.80 = 250.5
    assert p.total_cost == 24_950.00  # at the one entry price, 99.80


def test_a_cap_looser_than_buying_power_leaves_buying_power_in_charge() -> None:
    p = plan(10_000, 2.0, 100.10, 99.90, cap=400)
    assert (p.quantity, p.size_limit) == (99, "buying power")


@pytest.mark.parametrize(("confidence", "steps", "tier"), [
    (95, 1, "half"), (60, 1, "quarter"), (30, 1, "quarter"), (95, 2, "quarter"), (95, 0, "full"),
])
def test_a_tier_can_be_lowered_for_a_reason(confidence: float, steps: int, tier: str) -> None:
    lowered, reason = choose_tier(confidence, CFG, steps_down=steps, why="anticipatory signal")
    assert lowered == tier
    assert reason.startswith(f"{tier}: confidence {confidence:g}%")
    if tier != size_tier(confidence, CFG):
        assert reason.endswith(f"lowered to {tier} for the anticipatory signal")


def test_low_confidence_sizes_a_quarter_and_says_it_does_not_refuse() -> None:
    tier, reason = choose_tier(5, CFG)
    assert tier == "quarter"
    assert "it does not refuse the trade" in reason
