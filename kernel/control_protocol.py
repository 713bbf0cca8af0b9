"""Typed requests and replies of the control socket (REQ/REP on loopback).

Kept apart from the bot link: the control socket is for operators and their
tools. Each request is a tagged Struct; the server answers every request with
exactly one reply, an :class:`ControlError` when it cannot do what was asked.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

import msgspec

from bus.protocol import Mode, TradingState

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
User = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


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


class SnapshotRequest(ControlMessage, frozen=True, tag="snapshot"):
    """Status plus the latest message on each state topic, so a viewer that
    starts now shows the current state before the next update arrives."""


class SnapshotReply(ControlMessage, frozen=True, tag="snapshot_reply"):
    status: StatusReply
    latest: dict[str, bytes]
    """Topic -> msgpack payload of the newest message seen on it."""


class OperatorRequest(ControlMessage, frozen=True, kw_only=True):
    """Every operator action says why and who; both go to the journal."""

    reason: Reason
    user: User


class HaltRequest(OperatorRequest, frozen=True, tag="halt"):
    pass


class ResumeRequest(OperatorRequest, frozen=True, tag="resume"):
    confirmed: bool = False
    """Required to resume after a limit halt (``kernel resume --yes``)."""


class CloseAllRequest(OperatorRequest, frozen=True, tag="close_all"):
    pass


class ModeRequest(OperatorRequest, frozen=True, tag="mode"):
    mode: Mode


class RiskMultiplierRequest(OperatorRequest, frozen=True, tag="risk_multiplier"):
    """Set the risk multiplier (the risk engine checks it against risk.yaml bounds).

    Raising it back after the moderator lowered it is a person's act: this.
    """

    value: Annotated[float, msgspec.Meta(ge=0, le=10)]


class ModeratorAskRequest(OperatorRequest, frozen=True, tag="moderator_ask"):
    """Run one moderation now; its results are journaled under ``request_id``."""

    request_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class RecordRequest(ControlMessage, frozen=True, tag="record"):
    """Journal one message for a tool (``kernel proposals``, ``kernel meta run``,
    ``kernel report``) and answer only once its row is committed.

    The bus would echo a message before the journal commits it, so a decision
    could be reported "journaled" and then be lost with a failing journal; this
    waits for the durable commit. Only the topics of those tools are taken.
    """

    payload: Annotated[bytes, msgspec.Meta(max_length=1_048_576)]
    """The message's msgpack bytes (``bus.codec.encode``)."""
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    """Who asks (journaled as ``control:<source>``)."""


class Recorded(ControlMessage, frozen=True, tag="recorded"):
    """The message is committed in the journal as row ``seq``, and published."""

    seq: int
    topic: str


class ActionAccepted(ControlMessage, frozen=True, tag="accepted"):
    """The action is journaled (``seq``) and handed to the actor that owns it."""

    action: Literal["halt", "resume", "close_all", "mode", "risk_multiplier", "moderator_ask"]
    detail: str
    seq: int


class ControlError(ControlMessage, frozen=True, tag="control_error"):
    reason: str


ControlRequest: TypeAlias = (
    StatusRequest | SnapshotRequest | HaltRequest | ResumeRequest | CloseAllRequest | ModeRequest
    | RiskMultiplierRequest | ModeratorAskRequest | RecordRequest
)
ControlReply: TypeAlias = StatusReply | SnapshotReply | ActionAccepted | Recorded | ControlError
