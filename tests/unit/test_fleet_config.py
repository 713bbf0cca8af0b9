"""``paths.yaml`` ``bots:``: several bots, each with a safe, unique id (docs/fleet.md).

The ``bot:`` shorthand stays valid as one bot; a bot with no command is external;
``kernel check`` names the entry, the field, the value and the fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.risk.actor import RiskEngine
from agents.watchdog.actor import Watchdog, _for_another_bot
from bus.protocol import Heartbeat, Hello
from kernel.config import BotConfig, ConfigError, PathsConfig, load_yaml
from kernel.events import ModeChangeRequested
from kernel.keys import generate_bot
from kernel.registry import default_actors
from kernel.settings import check_all, load_settings
from kernel.slots import until_slot
from tests.conftest import write_config
from tests.unit.test_config import copy_config, edit

TWO = """\
bots:
  - {id: grid-btc, command: ["{python}", "scripts/run_bot.py"], account: main}
  - {id: far.eth_2, account: sub}
"""


def paths(tmp_path: Path, text: str) -> PathsConfig:
    (tmp_path / "paths.yaml").write_text(text, encoding="utf-8")
    return load_yaml(tmp_path / "paths.yaml", PathsConfig)


def test_bots_are_listed_with_their_fields(tmp_path: Path) -> None:
    loaded = paths(tmp_path, TWO)
    assert loaded.fleet
    grid, far = loaded.bot_list()
    assert (grid.id, grid.account, grid.external, grid.mode) == ("grid-btc", "main", False, None)
    assert (far.id, far.account, far.external) == ("far.eth_2", "sub", True)


def test_the_bot_shorthand_is_one_bot_with_any_id(tmp_path: Path) -> None:
    loaded = paths(tmp_path, "bot: {command: [run-it]}\n")
    assert not loaded.fleet
    [only] = loaded.bot_list()
    assert (only.id, only.command, only.external) == ("", ["run-it"], False)


def test_a_fleets_accounts_are_known_by_bot_and_one_bot_has_none(tmp_path: Path) -> None:
    assert paths(tmp_path, TWO).accounts() == {"grid-btc": "main", "far.eth_2": "sub"}
    assert paths(tmp_path, "bot: {command: [run-it]}\n").accounts() is None


@pytest.mark.parametrize(("text", "words"), [
    ("bots: [{id: a}, {id: A}]", "bots ids must be unique (case aside): 'a' and 'A'"),
    ("bots: [{id: 'a b'}]", "bots entry 1: id 'a b' is not a safe name"),
    ("bots: [{id: ok}, {id: '../x'}]", "bots entry 2: id '../x' is not a safe name"),
    ("bots: [{id: portfolio}]", "bots id 'portfolio' is a reserved word"),
    ("bots: [{id: ''}]", "field `bots[0].id`"),
    ("bots: [{id: a}]\nbot: {command: [y]}", "bot and bots are both set"),
    ("bots: [{id: a, mode: live}]", "field `bots[0].mode`"),
])
def test_a_bad_bots_entry_is_named_with_the_fix(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        paths(tmp_path, text)
    assert str(tmp_path / "paths.yaml") in str(caught.value)
    assert words in str(caught.value)


def test_check_names_the_bots_entry_whose_script_is_missing(tmp_path: Path) -> None:
    folder = copy_config(tmp_path)
    (folder / "paths.yaml").write_text(TWO.replace("scripts/run_bot.py", "scripts/nope.py")
                                       + "  - {id: off-bot, command: [x], mode: 'off'}\n",
                                       encoding="utf-8")
    [problem] = check_all(folder)  # the external bot and the bot in mode off are not run
    assert "field `bots[0].command`" in problem and "'scripts/nope.py' does not exist" in problem
    edit(folder / "paths.yaml", "scripts/nope.py", "scripts/run_bot.py")
    assert check_all(folder) == []


def test_one_watchdog_per_bot_each_with_its_own_files(tmp_path: Path) -> None:
    config = write_config(tmp_path, mode="paper", bots="""\
        - {id: qe-1, command: ["{python}", "scripts/run_bot.py"]}
        - {id: qe-2, command: ["{python}", "scripts/run_bot.py"], mode: demo}
        - {id: qe-3}
        """)
    settings = load_settings(config)
    dogs = [d for d in (make() for make in default_actors(settings)) if isinstance(d, Watchdog)]
    assert [d.name for d in dogs] == ["watchdog.qe-1", "watchdog.qe-2", "watchdog.qe-3"]
    one, two, three = (d._config for d in dogs)
    assert (one.bot_id, one.mode, two.mode, three.external) == ("qe-1", "paper", "demo", True)
    assert one.pid_file != two.pid_file and one.log_dir != two.log_dir
    assert one.pid_file.name == "bot-qe-1.pid" and one.log_dir.name == "qe-1"
    dogs[0]._endpoint = "tcp://127.0.0.1:1"
    assert dogs[0]._argv("paper")[-1] == "--bot-id=qe-1"  # two bots' command lines differ


def test_a_fleets_periodic_work_is_spread_over_the_period(tmp_path: Path) -> None:
    """Engines' ticks and watchdogs' reports all at once held the loop 5-9 ms, every order
    arriving then waiting behind them (docs/fleet.md, "Cost per decision")."""
    config = write_config(tmp_path, mode="paper", bots="""\
        - {id: qe-1}
        - {id: qe-2}
        - {id: qe-3}
        - {id: qe-4}
        """)
    actors = [make() for make in default_actors(load_settings(config))]
    engines = [a for a in actors if isinstance(a, RiskEngine)]
    dogs = [d for d in actors if isinstance(d, Watchdog)]
    assert [e._tick_phase for e in engines] == [0.0, 0.25, 0.5, 0.75]
    interval = dogs[0]._cfg.state_interval_s
    assert [d._report_offset_s for d in dogs] == [n / 4 * interval for n in range(4)]
    one = [make() for make in default_actors(load_settings(write_config(tmp_path / "one")))]
    assert [a._tick_phase for a in one if isinstance(a, RiskEngine)] == [None]
    assert [a._report_offset_s for a in one if isinstance(a, Watchdog)] == [0.0]


@pytest.mark.parametrize(("now", "phase", "wait"), [
    (10.0, 0.0, 1.0), (10.2, 0.0, 0.8), (10.2, 0.25, 0.05), (10.3, 0.25, 0.95),
    (10.99, 0.5, 0.51), (3.7, 0.75, 0.05)])
def test_an_engine_ticks_in_its_own_slot_of_each_second(now: float, phase: float,
                                                        wait: float) -> None:
    assert until_slot(now, 1.0, phase) == pytest.approx(wait)
    assert (now + until_slot(now, 1.0, phase)) % 1.0 == pytest.approx(phase, abs=1e-9) \
        or phase == 0.0


def test_a_fleet_watchdog_hears_its_own_bot_only() -> None:
    hello = Hello(bot_id="qe-2", mode="paper", pid=1)
    beat = Heartbeat(bot_id="qe-2", seq=1, ts=1.0, uptime_s=1.0, equity=1.0,
                     realized_pnl=0.0, unrealized_pnl=0.0, positions=[], marks={},
                     last_tick_ts=1.0)
    mode_all = ModeChangeRequested(mode="off", requested_by="op", reason="r", ts=1.0)
    mode_two = ModeChangeRequested(mode="off", requested_by="op", reason="r", ts=1.0,
                                   bot_id="qe-2")
    assert [_for_another_bot(m, "qe-1") for m in (hello, beat, mode_all, mode_two)] == \
        [True, True, False, True]
    assert not any(_for_another_bot(m, "qe-2") for m in (hello, beat, mode_all, mode_two))
    assert not any(_for_another_bot(m, "") for m in (hello, beat, mode_two))


def test_a_bot_is_in_the_main_account_unless_it_says() -> None:
    assert BotConfig(id="x").account == "main"


def test_check_refuses_risk_overrides_for_a_bot_not_in_the_fleet(tmp_path: Path) -> None:
    folder = copy_config(tmp_path)
    (folder / "paths.yaml").write_text(TWO, encoding="utf-8")
    with (folder / "risk.yaml").open("a", encoding="utf-8") as risk:
        risk.write("bots:\n  grid-btc: {max_leverage: 1}\n  grid-bt: {max_leverage: 1}\n"
                   "portfolio: {max_leverage: 1.5, max_daily_loss: {pct: 2}}\n")
    [problem] = check_all(folder)
    assert "field `bots.grid-bt`: no bot 'grid-bt'" in problem
    assert "(has: far.eth_2, grid-btc)" in problem and "Fix:" in problem
    settings = load_settings(folder)
    assert settings.risk.for_bot("grid-btc").max_leverage == 1
    assert settings.risk.for_bot("far.eth_2").max_leverage == settings.risk.max_leverage


def test_check_wants_a_key_per_bot_with_gateway_curve(tmp_path: Path) -> None:
    folder = copy_config(tmp_path)
    (folder / "paths.yaml").write_text(TWO, encoding="utf-8")
    edit(folder / "kernel.yaml", "gateway:\n", "gateway:\n  curve: true\n")
    generate_bot(tmp_path / "keys", "grid-btc")
    [problem] = check_all(folder)
    assert "bot 'far.eth_2' has no key" in problem
    assert "kernel keys generate --bot far.eth_2" in problem
