"""Events of the process watchdog: what happened to the bot process, and why.

The kernel's generic :class:`kernel.events.BotLifecycleChanged` says *that* the
bot started, crashed or hung; these say the rest a person needs afterwards:
the exit code and the last lines the bot printed, the state summary behind
``kernel status``, who changed the mode, and the watchdog's request that
trading halt (the risk engine owns the trading state and acts on it; the
watchdog also closes the order gate at once so nothing waits on that).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, TypeAlias

import msgspec

from bus.protocol import Message, Mode, Text, Timestamp

BotState: TypeAlias = Literal[
    "off", "starting", "running", "hung", "restarting", "stopping", "stopped", "gave_up",
    "halted", "external",
]
"""``external``: the watchdog's own bot is not running and a bot started by hand said
hello; the watchdog shows it but neither restarts nor stops it."""
"""``off``: the mode is off. ``gave_up``: too many failures, or the bot cannot be
started at all. ``halted``: hung with ``on_hang: halt``. Both leave the bot down
and trading halted until a person acts (a mode change tries again)."""

Line = Annotated[str, msgspec.Meta(max_length=4096)]


class BotStateReported(Message, frozen=True, tag="bot_state"):
    """The watchdog's view of the bot, on every change and every ``state_interval_s``."""

    topic: ClassVar[str] = "bot.state"
    state: BotState
    mode: Mode
    ts: Timestamp
    pid: int | None = None
    bot_id: str = ""
    uptime_s: float | None = None
    """Since the watchdog started this bot process."""
    last_heartbeat_age_s: float | None = None
    equity: float | None = None
    realized_pnl: float | None = None
    unrealized_pnl: float | None = None
    positions: int = 0
    last_tick_age_s: float | None = None
    """Age of the bot's last market tick when it last beat (its own clock)."""
    restarts: int = 0
    """Restarts after a crash or hang since the kernel started."""
    last_exit: Text = ""
    last_exit_code: int | None = None
    detail: Text = ""


class BotExited(Message, frozen=True, tag="bot_exited"):
    """A bot process ended, expectedly or not, with the tail of its output."""

    topic: ClassVar[str] = "bot.exit"
    pid: int
    exit_code: int | None
    """Negative on POSIX: killed by that signal. None: not our child (a leftover)."""
    description: Text
    expected: bool
    """True when the watchdog stopped it (shutdown, mode change, hang)."""
    mode: Mode
    uptime_s: float
    ts: Timestamp
    last_lines: Annotated[list[Line], msgspec.Meta(max_length=10_000)] = msgspec.field(
        default_factory=list)


class ModeChanged(Message, frozen=True, tag="mode_changed"):
    """The watchdog carried out a mode change: the bot restarts in ``mode`` (or stops)."""

    topic: ClassVar[str] = "kernel.mode"
    previous: Mode
    mode: Mode
    requested_by: str
    reason: Text
    ts: Timestamp


class TradingHaltRequested(Message, frozen=True, tag="trading_halt_requested"):
    """A component lost control of something and asks that trading halt.

    ``code`` is stable for machines (``bot_gave_up``, ``bot_hung``); the watchdog
    has already closed the order gate with the same code when it sends this.
    """

    topic: ClassVar[str] = "risk.halt_request"
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    reason: Text
    source: str
    ts: Timestamp
    bot_id: Annotated[str, msgspec.Meta(max_length=128)] = ""
    """The bot whose trading halts; "": every bot (the one-bot shorthand)."""


WatchdogEvent: TypeAlias = BotStateReported | BotExited | ModeChanged | TradingHaltRequested
"""Every event of the watchdog; the kernel composes it into the bus union."""
