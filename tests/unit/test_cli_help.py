"""``kernel --help`` explains what a person needs without opening the README."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.console import cli
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


def _top_level_commands(parser: argparse.ArgumentParser) -> set[str]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(actions[0].choices)


def test_each_group_registers_exactly_the_commands_it_is_loaded_for() -> None:
    """A command runs with only its group's module loaded: the table must be exact."""
    whole = _top_level_commands(cli._parser())
    named = [name for names, _ in cli._GROUPS for name in names]
    assert sorted(named) == sorted(whole)  # each command in one group, none missing
    for names, _ in cli._GROUPS:
        for name in names:
            assert _top_level_commands(cli._parser(name)) == names


@pytest.mark.parametrize(("argv", "command"), [
    (["status", "--json"], "status"),
    (["--config-dir", "status", "run"], "run"),
    (["--config", "status", "run"], "run"),  # argparse takes the prefix too
    (["--config-dir=x", "replay", "--day", "2024-05-01"], "replay"),
    (["--help"], None),
    (["no-such-command"], None),
    ([], None),
])
def test_the_command_is_found_past_the_config_dir(argv: list[str], command: str | None) -> None:
    assert cli._command_named(argv) == command


def test_an_unknown_command_is_answered_by_the_whole_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["stauts"])
    said = capsys.readouterr().err
    assert "invalid choice: 'stauts'" in said and "status" in said and "replay" in said


def test_a_short_command_does_not_load_the_kernel_or_the_alert_senders() -> None:
    """``kernel status`` answers sooner: it imports only what it asks with."""
    probe = ("import sys; from kernel.console import cli; cli._parser('status'); "
             "print(sorted(m for m in ('kernel.microkernel', 'apprise', 'agents.feeds.sources')"
             " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.strip() == "[]"


def test_kernel_run_loads_the_optional_features_libraries_only_when_they_run() -> None:
    """The actors' table (what ``kernel run`` imports) leaves out Prometheus' client, the
    Massive client's urllib3 and the Meta-Agent's pipeline: a kernel loads each when it
    serves ``/metrics``, polls Massive or runs a job (about 0.1 s sooner up without)."""
    heavy = ("prometheus_client", "urllib3", "agents.meta.pipeline",
             "agents.feeds._massive_source", "apprise", "telegram")
    probe = (f"import sys; import kernel.registry, kernel.microkernel; "
             f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.strip() == "[]"
