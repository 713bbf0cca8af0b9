"""What ``kernel check`` can prove about a whole config without starting anything.

Each file alone may be well-formed and the whole still unable to work: a bot
command whose script is not there crashes the bot until the watchdog gives up
and halts trading; an empty allow-list in a trading mode refuses every order
("allowed: none"). Each message names the file, the field, the value and a fix.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from kernel.config import KernelConfig, PathsConfig, python_command


class _AllowList(Protocol):
    """``risk.limits.RiskLimits`` as far as these checks go (the runtime may not import it)."""

    @property
    def symbols(self) -> Mapping[str, object]: ...
    @property
    def bots(self) -> Mapping[str, object]: ...


class _Whole(Protocol):
    """The part of ``Settings`` the checks read (kept narrow so tests build it easily)."""

    @property
    def config_dir(self) -> Path: ...
    @property
    def kernel(self) -> KernelConfig: ...
    @property
    def paths(self) -> PathsConfig: ...
    @property
    def risk(self) -> _AllowList: ...

    def resolve(self, path: str) -> Path: ...


def whole_config_problems(settings: _Whole) -> list[str]:
    """Every problem across files; empty when the config can run as written."""
    return [*_bot_command_problems(settings), *_allow_list_problems(settings),
            *_risk_bots_problems(settings), *_bot_key_problems(settings)]


def _bot_key_problems(settings: _Whole) -> list[str]:
    """``gateway.curve`` needs a fleet and a key per bot, or those bots cannot connect."""
    if not settings.kernel.gateway.curve:
        return []
    kernel_file = settings.config_dir / "kernel.yaml"
    if not settings.paths.fleet:
        return [f"{kernel_file}: field `gateway.curve` is on, but paths.yaml has no `bots:`: "
                "keys are given per bot id. Fix: list the bots under `bots:`, or turn "
                "gateway.curve off (and bind the bot link to 127.0.0.1)."]
    folder = settings.resolve(settings.kernel.control.keys_dir) / "bots"
    return [f"{kernel_file}: field `gateway.curve` is on, but bot {bot.id!r} has no key "
            f"({folder / (bot.id + '.key')} is missing), so it cannot connect. Fix: run "
            f"`kernel keys generate --bot {bot.id}`."
            for bot in settings.paths.bots if not (folder / f"{bot.id}.key").exists()]


def _risk_bots_problems(settings: _Whole) -> list[str]:
    """A per-bot override for an id the fleet does not have would silently not apply."""
    known = {bot.id for bot in settings.paths.bots}
    return [f"{settings.config_dir / 'risk.yaml'}: field `bots.{name}`: no bot {name!r} in "
            f"{settings.config_dir / 'paths.yaml'} `bots:` (has: "
            f"{', '.join(sorted(known)) or 'none, the one-bot `bot:` shorthand'}), so these "
            "limits would apply to nothing. Fix: correct the id, or remove the entry."
            for name in settings.risk.bots if name not in known]


def _bot_command_problems(settings: _Whole) -> list[str]:
    """Each bot the kernel starts (an external bot has no command to check)."""
    problems: list[str] = []
    for number, bot in enumerate(settings.paths.bot_list()):
        mode = bot.mode or settings.kernel.mode
        if mode == "off" or bot.external:
            continue
        field = f"bots[{number}]" if settings.paths.fleet else "bot"
        problems += _command_problems(settings, field, bot.cwd, bot.command)
    return problems


def _command_problems(settings: _Whole, field: str, cwd_text: str,
                      command_text: list[str]) -> list[str]:
    paths_file = settings.config_dir / "paths.yaml"
    cwd = settings.resolve(cwd_text)
    if not cwd.is_dir():
        return [f"{paths_file}: field `{field}.cwd`: the folder {str(cwd)!r} does not exist. "
                "Fix: set it to the folder the bot runs in (relative paths are relative "
                "to the project root, the folder holding config/)."]
    command = python_command(list(command_text))
    executable, problems = command[0], []
    if _find_executable(executable, cwd) is None:
        problems.append(
            f"{paths_file}: field `{field}.command`: the executable {executable!r} was not found "
            f"(looked in {str(cwd)!r} and on PATH). Fix: write its full path, or "
            "\"{python}\" for the interpreter running the kernel.")
    script = _script_of(command)
    if script is not None and not (cwd / script).is_file():
        problems.append(
            f"{paths_file}: field `{field}.command`: the script {script!r} does not exist in "
            f"{str(cwd)!r}; the bot would crash at every start until the watchdog halts "
            f"trading. Fix: correct the path (relative to `{field}.cwd`), or set "
            "`mode: off` in kernel.yaml to run without a bot.")
    return problems


def _find_executable(executable: str, cwd: Path) -> str | None:
    if "/" in executable or "\\" in executable:
        path = Path(executable).expanduser()
        path = path if path.is_absolute() else cwd / path
        return str(path) if path.is_file() else None
    return shutil.which(executable)


def _script_of(command: list[str]) -> str | None:
    """The script a Python command runs: its first argument that is not an option."""
    name = Path(command[0]).name.lower()
    if not name.startswith(("python", "py")):
        return None
    rest = command[1:]
    if rest[:1] == ["-m"] or not rest or rest[0].startswith("-"):
        return None  # `python -m package`: a module, not a file to check
    return rest[0]


def _allow_list_problems(settings: _Whole) -> list[str]:
    if settings.kernel.mode == "off" or settings.risk.symbols:
        return []
    return [f"{settings.config_dir / 'risk.yaml'}: field `symbols` is empty while "
            f"{settings.config_dir / 'kernel.yaml'} has `mode: {settings.kernel.mode}`: "
            "every order would be refused (\"allowed: none\"). Fix: list the symbols the "
            "bot trades, e.g. `symbols: {BTCUSDT: {}}`, or set `mode: off`."]
