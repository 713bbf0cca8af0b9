"""When the risk engine saves: at once, or within save_every_s (agents/risk/_save_rule.py)."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from agents.risk._save_rule import SaveRule
from risk import initial_state
from tests.unit.risk.risk_world import NOW, limits


def rule() -> SaveRule:
    return SaveRule(save_every_s=5.0, refresh_every_s=600.0)


def test_the_first_state_and_a_changed_fact_save_at_once() -> None:
    saves, state = rule(), initial_state(limits(), NOW)
    assert saves.due(state, NOW)
    assert not saves.due(state, NOW + 1)
    cut = msgspec.structs.replace(state, risk_multiplier=0.5)
    assert saves.due(cut, NOW + 1)


def test_a_replayable_fill_waits_for_the_timer_and_a_beat_after_it_too() -> None:
    saves, state = rule(), initial_state(limits(), NOW)
    saves.due(state, NOW)
    filled = msgspec.structs.replace(state, realized_pnl=Decimal("-5"))
    assert not saves.due(filled, NOW + 1, replayable=True)
    assert not saves.due(filled, NOW + 2)  # a heartbeat after it moves no ledger
    assert saves.due(filled, NOW + 5)  # the timer


def test_a_ledger_moved_by_anything_but_a_replayable_fill_saves_at_once() -> None:
    saves, state = rule(), initial_state(limits(), NOW)
    saves.due(state, NOW)
    assert saves.due(msgspec.structs.replace(state, realized_pnl=Decimal("-5")), NOW + 1)
    filled = msgspec.structs.replace(state, realized_pnl=Decimal("-7"))
    assert not saves.due(filled, NOW + 2, replayable=True)
    reconciled = msgspec.structs.replace(filled, consecutive_losses=3)
    assert saves.due(reconciled, NOW + 2)


def test_an_unchanged_state_is_saved_again_every_refresh() -> None:
    saves, state = rule(), initial_state(limits(), NOW)
    saves.due(state, NOW)
    assert not saves.due(state, NOW + 599)
    assert saves.due(state, NOW + 600)
