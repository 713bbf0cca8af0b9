"""``kernel plan`` as a user runs it: a child process on the shipped examples."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import msgspec
import pytest
import zmq

from bus.codec import decode_header
from kernel.journal import read_journal
from planner.messages import TradePlan
from tests.conftest import write_config
from tests.support.processes import NEW_GROUP, ROOT, free_ports, interrupt, kernel_command

EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
EXPECTED = {"stock_day_long": ("TRADE", "LONG"), "crypto_scalp_short": ("TRADE", "SHORT"),
            "no_trade_neutral": ("NO_TRADE", None), "spy_options_swing": ("TRADE", "LONG")}
"""Every example; the OPTIONS one is held to more in test_plan_options_cli.py."""


def kernel_plan(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": str(columns)}
    return subprocess.run(kernel_command("--config-dir", str(ROOT / "config"), "plan", *args),
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)


def test_every_example_is_covered() -> None:
    assert {path.stem for path in EXAMPLES} == set(EXPECTED)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_json_output_parses_back_into_a_trade_plan(path: Path) -> None:
    result = kernel_plan("--input", str(path), "--json")
    assert result.returncode == 0, result.stderr
    plan = msgspec.json.decode(result.stdout, type=TradePlan)
    assert (plan.decision, plan.direction) == EXPECTED[path.stem]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_panel_is_plain_and_fits_80_columns(path: Path) -> None:
    result = kernel_plan("--input", str(path))
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert ("NO TRADE" if EXPECTED[path.stem][0] == "NO_TRADE" else "TRADE") in result.stdout


def test_a_bad_request_exits_2_naming_the_file_and_the_field(tmp_path: Path) -> None:
    raw = json.loads((ROOT / "examples" / "no_trade_neutral.json").read_text(encoding="utf-8"))
    raw["technical"]["confidence"] = 120
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    result = kernel_plan("--input", str(bad), columns=300)
    assert result.returncode == 2 and result.stdout == ""
    assert str(bad) in result.stderr and "technical.confidence" in result.stderr
    assert "Traceback" not in result.stderr


def test_schema_prints_the_trade_plan_json_schema() -> None:
    result = kernel_plan("--schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert "TradePlan" in schema["$defs"] and "request_id" in \
        schema["$defs"]["TradePlan"]["properties"]


def test_kernel_run_with_the_reference_bot_publishes_plans(tmp_path: Path) -> None:
    """The live path: the watchdog starts the bot, its bars become plans on plan.trade."""
    link, pub, sub, control = free_ports(4)
    config = write_config(tmp_path, mode="paper", ports={"link": link, "pub": pub, "sub": sub,
                                                         "control": control})
    watcher: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
    watcher.linger = 0
    watcher.subscribe(b"plan.trade")
    watcher.connect(f"tcp://127.0.0.1:{sub}")  # connects once the kernel binds
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    with open(tmp_path / "kernel.stderr", "wb") as stderr:
        kernel = subprocess.Popen(kernel_command("--config-dir", str(config), "run"), cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=stderr, env=env,
                                  **NEW_GROUP)
    try:
        got = watcher.poll(30_000)  # the history on welcome, or the next bar at the latest
        assert got, (tmp_path / "kernel.stderr").read_text(errors="replace")
        topic, payload, header = watcher.recv_multipart()
    finally:
        watcher.close()
        interrupt(kernel)
        try:
            kernel.wait(20)
        except subprocess.TimeoutExpired:
            kernel.kill()
            raise
    plan = msgspec.msgpack.decode(payload, type=TradePlan)
    assert topic == b"plan.trade" and plan.symbol in {"BTCUSDT", "ETHUSDT"}
    assert plan.style == "SCALP" and decode_header(header).source == "planner"
    rows = read_journal(tmp_path / "data" / "journal.sqlite3", topic_prefix="market.bars")
    assert rows and rows[0].source == "gateway"
