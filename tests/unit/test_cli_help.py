"""``kernel --help`` explains what a person needs without opening the README."""

from __future__ import annotations

import pytest

from kernel.console.cli import main


def help_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_top_level_help_lists_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(capsys)
    assert "Exit codes:" in text
    for code in range(8):
        assert f" {code} " in text.split("Exit codes:", 1)[1]


def test_run_log_level_and_mode_argument_have_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert "the least severe line the console log shows" in help_of(capsys, "run")
    assert "off: stop the bot and keep it stopped" in help_of(capsys, "mode")


def test_meta_task_and_meta_run_say_the_same_day_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (("meta", "task"), ("meta", "run")):
        assert "default: the last complete day" in help_of(capsys, *argv)
