"""Every reason that holds trading says since when and the way out of it (issue 15)."""

from __future__ import annotations

import msgspec
from rich.console import Console

from bus.codec import encode
from kernel.console._dashboard_panels import risk_lines
from kernel.console._dashboard_parts import risk_from_snapshot
from kernel.console.commands.status import _print_risk
from kernel.summaries import reason_line, summarize
from risk import apply_heartbeat, halt, initial_state, reduce, snapshot
from risk.reasons import for_bot, views
from tests.unit.risk.risk_world import MIDNIGHT, NOW, heartbeat, limits, ready


def test_waiting_for_a_heartbeat_lifts_itself() -> None:
    (view,) = views(initial_state(limits(), NOW))
    assert view.since == NOW and "lifts itself at the bot's next heartbeat" in view.way_out


def test_a_halt_by_hand_names_the_exact_resume_command() -> None:
    state, _ = halt(ready(), "lunch", NOW)
    state, _ = reduce(state, "news", NOW + 1)
    halted, reducing = views(state)
    assert halted.way_out == 'kernel resume --reason "<why>"'
    assert reducing.way_out == 'kernel resume --reason "<why>"' and reducing.since == NOW + 1


def test_a_bot_that_gave_up_needs_its_cause_fixed_then_resume_yes() -> None:
    state, _ = halt(ready(), "the bot failed 5 times", NOW, code="bot_gave_up", by="watchdog")
    (view,) = views(state)
    assert "start it with kernel mode paper" in view.way_out
    assert view.way_out.endswith('then: kernel resume --reason "<why>" --yes')


def test_a_fleet_bots_way_out_names_the_bot_in_every_command() -> None:
    """Without ``--bot`` a fleet's ``kernel mode`` restarts and ``kernel resume``
    resumes every bot: the way out of one bot's watchdog halt names that bot."""
    state, _ = halt(ready(), "the bot failed 5 times", NOW, code="bot_gave_up", by="watchdog")
    (view,) = views(state)
    mine = for_bot(view.way_out, "qe-2")
    assert mine == ("fix the bot (its log, its entry qe-2 in paths.yaml bots:), start it with "
                    'kernel mode paper|demo --bot qe-2 --reason "<why>", then: '
                    'kernel resume --bot qe-2 --reason "<why>" --yes')
    state, _ = halt(ready(), "by hand", NOW)
    (view,) = views(state)
    assert for_bot(view.way_out, "qe-2") == 'kernel resume --bot qe-2 --reason "<why>"'


def test_a_daily_limit_lifts_itself_at_the_rollover_and_says_when() -> None:
    lim = limits()
    eth = {"ETHUSDT": (2.0, 2_500.0)}
    state = ready(lim, positions=eth)
    state, _ = apply_heartbeat(state, heartbeat(9_700.0, eth, {"BTCUSDT": 50_000.0,
                                                               "ETHUSDT": 2_350.0}), lim, NOW)
    (view,) = [v for v in views(state) if v.code == "daily_loss_limit"]
    assert view.lifts_at == MIDNIGHT
    assert view.way_out.startswith("lifts itself at the day rollover once the bot is flat")
    assert "--yes" in view.way_out
    line = reason_line({"text": view.text, "since": view.since, "way_out": view.way_out,
                        "lifts_at": view.lifts_at})
    assert "(since 2024-05-01 12:00:00 UTC)" in line and "(at 2024-05-02 00:00:00 UTC)" in line


def test_the_console_line_of_a_state_change_names_the_way_out() -> None:
    _, events = halt(ready(), "lunch", NOW)
    (event,) = events
    line = summarize({
        "type": "trading_state_changed", "previous": "ACTIVE", "current": "HALTED",
        "by": "human", "cause": "halt: lunch",
        "reasons": [{"text": r.text, "since": r.since, "way_out": r.way_out} for r in
                    event.reasons]})
    assert 'way out: kernel resume --reason "<why>"' in line and "since 2024-05-01" in line


def test_kernel_status_and_the_dashboard_print_why_since_and_the_way_out() -> None:
    state, _ = halt(ready(), "lunch", NOW)
    body = msgspec.msgpack.decode(encode(snapshot(state, limits(), NOW)))
    out = Console(record=True, width=400, color_system=None)
    _print_risk(body, out)
    printed = out.export_text()
    assert "halted by hand: lunch (since 2024-05-01 12:00:00 UTC)" in printed
    assert 'way out: kernel resume --reason "<why>"' in printed
    shown = " ".join(line.text.plain for line in risk_lines(risk_from_snapshot(body), 400))
    assert 'way out: kernel resume --reason "<why>"' in shown and "since 2024-05-01" in shown
