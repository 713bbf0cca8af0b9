"""The loop mode switch (bus/loops.py): ``QE_LOOP=select`` runs on the selector Windows uses."""

from __future__ import annotations

import selectors

import pytest

from bus.loops import LoopModeError, loop_mode, new_selector


@pytest.mark.parametrize(("value", "mode"), [(None, "default"), ("", "default"),
                                             ("default", "default"), ("select", "select"),
                                             (" SELECT ", "select")])
def test_the_mode_is_read_from_qe_loop(value: str | None, mode: str) -> None:
    environ = {} if value is None else {"QE_LOOP": value}
    assert loop_mode(environ) == mode


def test_select_mode_gives_select_itself_and_the_default_the_platforms_best() -> None:
    chosen = new_selector({"QE_LOOP": "select"})
    best = new_selector({})
    try:
        assert type(chosen) is selectors.SelectSelector
        assert type(best) is selectors.DefaultSelector
    finally:
        chosen.close()
        best.close()


def test_a_mistyped_mode_names_the_variable_the_value_and_the_fix() -> None:
    with pytest.raises(LoopModeError) as caught:
        loop_mode({"QE_LOOP": "selekt"})
    assert "QE_LOOP='selekt'" in str(caught.value)
    assert "default, select" in str(caught.value) and "Fix:" in str(caught.value)
