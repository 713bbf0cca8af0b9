"""The "already running" refusal says how to stop the other kernel on the OS at hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kernel.lockfile import LockHeld, PidRecord, stop_advice


def test_posix_is_told_kill_which_stops_the_kernel_as_politely_as_ctrl_c() -> None:
    assert stop_advice(4321, "linux") == (
        "stop it first (Ctrl-C in its window, `kernel stop --reason R`, or `kill 4321`)")
    assert "kill 4321" in stop_advice(4321, "darwin")


def test_windows_is_told_ctrl_c_or_its_service_first_and_taskkill_last() -> None:
    advice = stop_advice(4321, "win32")
    assert "kill 4321" not in advice.replace("taskkill", "")  # no POSIX command on Windows
    assert (advice.index("Ctrl-C") < advice.index("kernel stop") < advice.index("service")
            < advice.index("taskkill"))
    assert "`taskkill /F /T /PID 4321`" in advice and "without a clean stop" in advice
    assert "docs/windows.md" in advice


def test_an_unknown_holder_is_not_given_a_pid_to_stop() -> None:
    assert stop_advice(None, "win32") == stop_advice(None, "linux") == (
        "stop the other kernel first")


@pytest.mark.parametrize(("platform", "command"), [("win32", "taskkill /F /T /PID 77"),
                                                   ("linux", "kill 77")])
def test_the_refusal_uses_the_advice_of_the_os_it_runs_on(
    monkeypatch: pytest.MonkeyPatch, platform: str, command: str,
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    refusal = str(LockHeld(Path("data"), PidRecord(pid=77, started_at=0.0)))
    assert f"`{command}`" in refusal and "already running" in refusal
