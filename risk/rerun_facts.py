"""What a replay is fed: the journal's facts, in the words of the risk engine.

A replay (``risk.rerun``) runs a stretch of the journal through the pure engine
under other limits. Most of what it needs are bot-link messages (requests,
decisions, heartbeats, fills, order updates), which ``risk/`` may import. What
people and the kernel did (a restart, a halt, a resume, a multiplier change)
arrives in the journal as runtime events that ``risk/`` must not know; the
reader turns each into one of the small facts below, so the engine stays pure.
"""

from __future__ import annotations

from typing import Final, TypeAlias, get_args

import msgspec

from bus.protocol import (
    Fill,
    Heartbeat,
    KernelCode,
    OrderDecision,
    OrderRequest,
    OrderUpdate,
    WatchdogCode,
)
from risk.messages import Actor
from risk.state import RiskState


class Restarted(msgspec.Struct, frozen=True, kw_only=True, tag="restarted"):
    """The kernel started: the engine restored its state (``after_restart``)."""


class Halted(msgspec.Struct, frozen=True, kw_only=True, tag="halted"):
    """Trading was halted by a person or the watchdog; ``reason`` is as the engine
    words it (``risk.lifecycle.halt``)."""

    reason: str
    code: str = "manual_halt"
    by: Actor = "human"
    bot_id: str = ""
    """In a fleet, the one bot halted ("": every bot)."""


class Resumed(msgspec.Struct, frozen=True, kw_only=True, tag="resumed"):
    """A person's ``kernel resume``; refused as live when a limit halt is unconfirmed."""

    reason: str
    confirmed: bool = False
    bot_id: str = ""
    """In a fleet, the one bot resumed ("": every bot)."""


class MultiplierAsked(msgspec.Struct, frozen=True, kw_only=True, tag="multiplier_asked"):
    """Someone asked for another risk multiplier (an operator or an adviser)."""

    value: float
    requested_by: str
    reason: str
    bot_id: str = ""
    """In a fleet, the one bot whose multiplier it is ("": every bot's)."""


class Ahead(msgspec.Struct, frozen=True, kw_only=True, tag="ahead"):
    """The next decision was made before the engine took the last ``facts``
    heartbeats, fills and updates journaled before it (they were on the bus)."""

    facts: int
    bot_id: str = ""
    """In a fleet, whose facts: the last ``facts`` of this bot's (its own engine's)."""


class Based(msgspec.Struct, frozen=True, kw_only=True, tag="based"):
    """The engine's state as saved at this point: where a replay starts from."""

    state: RiskState
    bot_id: str = ""
    """In a fleet, the bot whose engine saved it ("": the one engine of the account)."""


class Loaded(msgspec.Struct, frozen=True, kw_only=True, tag="loaded"):
    """In a fleet, a bot's engine saved: after a start, its ledger is loaded from here
    on (it saves once restored, then takes its orders), so the portfolio's sums are
    known again once every bot's is."""

    bot_id: str


Fact: TypeAlias = (OrderRequest | OrderDecision | Heartbeat | Fill | OrderUpdate | Restarted
                   | Halted | Resumed | MultiplierAsked | Based | Ahead | Loaded)
"""One journaled fact a replay acts on."""


class Row(msgspec.Struct, frozen=True, array_like=True):
    """A fact with its journal row's number and time."""

    seq: int
    ts: float
    fact: Fact


KERNEL_CODES: Final = (frozenset(get_args(KernelCode)) | frozenset(get_args(WatchdogCode))) - {
    "internal_error", "invalid_request"}
"""Denials the gateway or the watchdog gave without asking the engine: a replay
keeps them as they were (other limits cannot change them) and counts them apart."""
