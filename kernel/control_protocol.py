"""Typed requests and replies of the control socket (REQ/REP on loopback).

Kept apart from the bot link: the control socket is for operators and their
tools. Each request is a tagged Struct; the server answers every request with
exactly one reply, an :class:`ControlError` when it cannot do what was asked.
"""

from __future__ import annotations

from typing import TypeAlias

import msgspec

from bus.protocol import TradingState


class ControlMessage(msgspec.Struct, frozen=True, tag_field="type", kw_only=True):
    """Base of control requests and replies (not bus messages)."""


class StatusRequest(ControlMessage, frozen=True, tag="status"):
    pass


class ActorInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    state: str
    restarts: int
    last_error: str = ""


class BotInfo(msgspec.Struct, frozen=True, kw_only=True):
    bot_id: str
    pid: int
    mode: str
    version: str
    connected_s: float
    last_seen_s_ago: float


class StatusReply(ControlMessage, frozen=True, tag="status_reply"):
    version: str
    pid: int
    uptime_s: float
    mode: str
    trading_state: TradingState
    gate: str
    endpoints: dict[str, str]
    actors: list[ActorInfo]
    bots: list[BotInfo]
    journal_path: str
    journal_last_seq: int
    decisions: int
    anomalies: dict[str, int]


class ControlError(ControlMessage, frozen=True, tag="control_error"):
    reason: str


ControlRequest: TypeAlias = StatusRequest
ControlReply: TypeAlias = StatusReply | ControlError
