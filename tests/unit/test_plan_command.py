"""``kernel plan`` in-process: request files in, plans or precise errors out.

Each bad request must fail with the file, the field, what was expected and what
was found, never with a traceback or a plan built on nonsense.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import msgspec
import pytest
from rich.console import Console

from kernel.console._plan_panel import render
from kernel.console._plan_request import RequestError, load_request
from kernel.console.commands.plan import plan_command
from planner.builder import build_plan
from planner.config import PlannerConfig
from planner.contracts_page import ChainPage
from planner.contracts_polygon import decode_chain
from planner.events import EventCalendar
from planner.messages import TradePlan
from planner.options import plan_with_options
from planner.options_config import OptionsConfig

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CONFIG = PlannerConfig()
CALENDAR = msgspec.convert({"covers_until": "2026-03-31T23:59:00Z", "events": [
    {"name": "US CPI (February)", "kind": "CPI", "at": "2026-03-11T08:30:00-04:00"}]},
    EventCalendar)


def plan_of(path: Path) -> TradePlan:
    inputs = load_request(path, CONFIG, CALENDAR)
    v = inputs.verdicts
    return build_plan(v.technical, v.macro, v.wildcard, inputs.snapshot, inputs.account,
                      inputs.style, inputs.now, CONFIG)


def test_the_stock_example_is_a_day_long_with_the_calendar_risk() -> None:
    plan = plan_of(EXAMPLES / "stock_day_long.json")
    assert (plan.decision, plan.direction, plan.style) == ("TRADE", "LONG", "DAY")
    assert plan.position is not None and plan.position.max_risk <= 1_000.0
    assert plan.synthesis is not None and "US CPI" in plan.synthesis.wildcard_summary
    assert plan.time_stop is not None and plan.time_stop.kind == "market_close"


def test_the_crypto_example_is_a_scalp_short_from_builtin_verdicts_only() -> None:
    plan = plan_of(EXAMPLES / "crypto_scalp_short.json")
    assert (plan.decision, plan.direction, plan.style) == ("TRADE", "SHORT", "SCALP")
    assert plan.position is not None and plan.position.unit == "coins"
    assert plan.position.max_risk <= 50.0  # 0.5 % of 10,000
    assert "4:00 PM" not in msgspec.json.encode(plan).decode()


def test_the_no_trade_example_says_why() -> None:
    plan = plan_of(EXAMPLES / "no_trade_neutral.json")
    assert plan.decision == "NO_TRADE" and plan.position is None
    assert any("NEUTRAL" in reason for reason in plan.no_trade_reasons)


def edited(tmp_path: Path, change: Any, name: str = "no_trade_neutral.json") -> Path:
    raw = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "request.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def _set(keys: str, value: Any) -> Any:
    def change(raw: dict[str, Any]) -> None:
        *parents, last = keys.split(".")
        for key in parents:
            raw = raw[int(key)] if key.isdigit() else raw[key]  # type: ignore[index]
        raw[last] = value
    return change


@pytest.mark.parametrize(("change", "expected"), [
    (_set("account.risk_pct", 150), "field `account.risk_pct`: expected `float` <= 100.0, "
                                    "found 150"),
    (_set("technical.confidence", 120), "field `technical.confidence`: expected `float` <= "
                                        "100.0, found 120"),
    (_set("snapshot.atr_30d", 0), "field `snapshot.atr_30d`: expected `float` > 0.0, found 0"),
    (_set("snapshot.bars.2.high", -3), "field `snapshot.bars[2].high`"),
    (_set("snapshot.hod", 600), "snapshot.hod 600 is below snapshot.lod 687.9"),
    (_set("style", "SWINGY"), "field `style`: invalid enum value 'SWINGY'; expected one of "
                              "DAY, INVESTMENT, SCALP, SWING"),
    (_set("macro.regime", "bullish"), "field `macro.regime`: invalid enum value 'bullish'; "
                                      "expected one of neutral, risk_off, risk_on"),
    (_set("acount", {}), "field `acount` is not a known field"),
    (_set("snapshot.asset_class", "crypto"), "does not match instrument 'index_etf'"),
    (lambda raw: raw.pop("snapshot"), "field `snapshot` is missing"),
    (lambda raw: raw.pop("symbol"), "field `symbol` is required"),
])
def test_bad_requests_name_the_field_and_what_was_expected(
    tmp_path: Path, change: Any, expected: str
) -> None:
    path = edited(tmp_path, change)
    with pytest.raises(RequestError) as caught:
        load_request(path, CONFIG, CALENDAR)
    assert str(path) in str(caught.value) and expected in str(caught.value)
    assert "Fix:" in str(caught.value)


def test_too_few_bars_for_the_builtin_technical_analysis(tmp_path: Path) -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["bars"] = raw["bars"][:20]
        del raw["technical"]
    path = edited(tmp_path, change, "stock_day_long.json")
    with pytest.raises(RequestError, match=r"field `bars`: the technical analysis needs at "
                                           r"least 50 bars, got 20"):
        load_request(path, CONFIG, CALENDAR)


def test_invalid_json_and_a_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"symbol": "X",,}', encoding="utf-8")
    with pytest.raises(RequestError, match="not valid JSON"):
        load_request(bad, CONFIG, CALENDAR)
    with pytest.raises(RequestError, match="cannot be read"):
        load_request(tmp_path / "absent.json", CONFIG, CALENDAR)


@pytest.mark.parametrize(("name", "headline"), [
    ("stock_day_long", "AAPL · DAY · stock"), ("crypto_scalp_short", "BTCUSDT · SCALP · crypto"),
    ("no_trade_neutral", "SPY · DAY · index_etf"),
])
def test_the_panel_fits_80_columns_without_colour(name: str, headline: str) -> None:
    out = StringIO()
    render(plan_of(EXAMPLES / f"{name}.json"), Console(file=out, width=80, highlight=False))
    text = out.getvalue()
    assert "\x1b[" not in text  # not a terminal: no colour codes
    assert max(len(line) for line in text.splitlines()) <= 80
    assert headline in text


def test_plan_command_prints_json_that_parses_back(capsys: pytest.CaptureFixture[str]) -> None:
    code = plan_command(ROOT / "config", EXAMPLES / "crypto_scalp_short.json", as_json=True)
    plan = msgspec.json.decode(capsys.readouterr().out, type=TradePlan)
    assert code == 0 and plan.symbol == "BTCUSDT"


def test_plan_command_exits_2_on_a_bad_request(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = edited(tmp_path, _set("account.size", -5))
    assert plan_command(ROOT / "config", path) == 2
    assert "account.size" in capsys.readouterr().err


def test_plan_command_without_input_or_schema_says_what_to_give(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert plan_command(ROOT / "config", None) == 2
    assert "--input" in capsys.readouterr().err


def test_plan_command_runs_without_a_config_folder(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_command(tmp_path, EXAMPLES / "no_trade_neutral.json", as_json=True) == 0
    captured = capsys.readouterr()
    assert "shipped planner defaults" in captured.err
    assert msgspec.json.decode(captured.out, type=TradePlan).decision == "NO_TRADE"


def test_the_schema_is_the_trade_plans(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_command(ROOT / "config", None, schema=True) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$ref"] == "#/$defs/TradePlan"
    assert {"decision", "position", "stop_loss"} <= set(schema["$defs"]["TradePlan"]
                                                       ["properties"])


def test_a_chain_file_is_read_lazily_and_plans_as_the_decoded_chain() -> None:
    inputs = load_request(EXAMPLES / "spy_options_swing.json", CONFIG, CALENDAR)
    assert isinstance(inputs.chain, ChainPage)
    whole = decode_chain(inputs.chain._data, underlying="SPY")
    v = inputs.verdicts
    plan = build_plan(v.technical, v.macro, v.wildcard, inputs.snapshot, inputs.account,
                      inputs.style, inputs.now, CONFIG)
    options = OptionsConfig()
    lazy = plan_with_options(plan, inputs.chain, inputs.snapshot, inputs.now, options)
    assert lazy.options is not None and lazy.options.status == "SELECTED"
    assert lazy == plan_with_options(plan, whole, inputs.snapshot, inputs.now, options)
    assert inputs.chain.ts == whole.ts and inputs.chain.count() == whole.count()
