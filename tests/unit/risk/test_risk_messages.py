"""Events on the wire, the status snapshot, the config file, and the purity rule."""

from __future__ import annotations

import typing
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from bus.protocol import LinkMessage
from kernel.config import ConfigError, load_yaml
from risk import RiskLimits, RiskState, check_limits, order_decision, snapshot
from risk.engine import evaluate
from risk.messages import RiskEvent, RiskStateSnapshot, TradingStateChanged
from tests.unit.risk.risk_world import NOW, limits, order, ready

ROOT = Path(__file__).resolve().parents[3]
RISK = ROOT / "risk"


def _tags(union: object) -> list[str]:
    return [msgspec.inspect.type_info(t).tag for t in typing.get_args(union)]  # type: ignore[attr-defined]


def test_event_tags_are_unique_and_do_not_clash_with_the_contract() -> None:
    ours = _tags(RiskEvent)
    assert len(ours) == len(set(ours))
    assert not set(ours) & set(_tags(LinkMessage))


def test_event_topics_are_risk_or_anomaly() -> None:
    """``shadow.decision`` is the name docs/replay.md gives: the shadow limits'
    evidence, kept apart from ``risk.`` so that no subscriber takes it for the engine's."""
    for cls in typing.get_args(RiskEvent):
        assert cls.topic.startswith(("risk.", "anomaly", "shadow.")), cls
    assert TradingStateChanged.topic == "risk.halt"
    assert RiskStateSnapshot.topic == "risk.state"


def test_events_round_trip_through_msgpack_and_json() -> None:
    lim = limits()
    state = msgspec.structs.replace(ready(lim, positions={"ETHUSDT": (2.0, 2_500.0)}),
                                    cash=Decimal(9_000))
    _, events = check_limits(state, lim, NOW)
    events.append(snapshot(state, lim, NOW))
    decoder = msgspec.msgpack.Decoder(RiskEvent)
    for event in events:
        assert decoder.decode(msgspec.msgpack.encode(event)) == event
        assert msgspec.json.decode(msgspec.json.encode(event), type=RiskEvent) == event


def test_snapshot_shows_what_a_person_checks_first() -> None:
    lim = limits()
    state = ready(lim, positions={"ETHUSDT": (2.0, 2_500.0)})
    state = msgspec.structs.replace(state, cash=Decimal(9_800))
    snap = snapshot(state, lim, NOW)
    assert snap.trading_state == "ACTIVE" and snap.day == "2024-05-01"
    assert (snap.daily_loss, snap.max_daily_loss) == (Decimal(200), Decimal(300))
    assert (snap.drawdown, snap.max_drawdown) == (Decimal(200), Decimal(500))
    assert snap.notional == {"ETHUSDT": Decimal(5_000)}
    assert snap.leverage == Decimal("0.5102")  # 5000 / 9800, shown at four places
    assert snap.max_leverage == Decimal(2)
    assert not snap.manual_close_needed


def test_order_decision_is_the_contract_reply() -> None:
    lim = limits()
    state = ready(lim)
    o = order(qty=10.0)
    reply = order_decision(o, evaluate(o, state, lim, NOW), state.trading_state, NOW)
    assert (reply.request_id, reply.verdict, reply.code) == (o.request_id, "DENY",
                                                            "fat_finger_qty")
    assert reply.trading_state == "ACTIVE" and reply.bot_id == "qe"


def test_state_survives_json_storage() -> None:
    lim = limits()
    state = ready(lim, positions={"ETHUSDT": (2.0, 2_500.0)})
    assert msgspec.json.decode(msgspec.json.encode(state), type=RiskState) == state


def test_the_shipped_config_loads() -> None:
    lim = load_yaml(ROOT / "config" / "risk.yaml", RiskLimits)
    assert sorted(lim.symbols) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert lim.max_daily_loss.amount(Decimal(10_000)) == Decimal(300)
    assert lim.on_loss_halt == "close_all"
    assert lim.utc_offset_s == 0


@pytest.mark.parametrize(("text", "expected"), [
    ("max_daily_loss: {pct: 3, usdt: 500}", "set exactly one of `pct`"),
    ("max_daily_loss: {}", "set exactly one of `pct`"),
    ("max_daily_loss: {pct: 300}", "max_daily_loss.pct"),
    ("max_drawdown: 5", "max_drawdown"),
    ("max_leverge: 2", "`max_leverge` is not a known setting"),
    ("timezone: Europe/Kyiv", "timezone"),
    ("timezone: UTC+25:00", "offset out of range"),
    ("risk_multiplier: {min: 0.5, max: 1, default: 0.2}", "min <= default <= max"),
    ("symbols: {BTCUSDT: {max_order_qty: 0}}", "max_order_qty"),
    ("on_loss_halt: shrug", "on_loss_halt"),
])
def test_config_errors_name_the_field(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "risk.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"risk\.yaml") as error:
        load_yaml(path, RiskLimits)
    assert expected in str(error.value)


def test_usdt_loss_limits() -> None:
    lim = msgspec.convert({"max_daily_loss": {"usdt": 500}}, RiskLimits)
    assert lim.max_daily_loss.amount(Decimal(123_456)) == Decimal(500)
