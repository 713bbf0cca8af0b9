"""Typed requests and replies of the control socket (REQ clients, loopback).

Kept apart from the bot link: the control socket is for operators and their
tools. Each request is a tagged Struct; the server answers every request with
exactly one reply, an :class:`ControlError` when it cannot do what was asked.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, TypeAlias

import msgspec

from bus.protocol import Mode, TradingState

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
EngineAction: TypeAlias = Literal["halt", "resume", "close_all", "risk_multiplier"]
"""The operator's requests that the risk engine answers (see :class:`EngineRequest`)."""
DEFAULT_WAIT_S: Final = 3.0
"""How long the kernel waits for the risk engine's answer to an operator's request;
a healthy engine answers in milliseconds."""
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
    bot_id: Annotated[str, msgspec.Meta(max_length=64)] = ""
    """``--bot ID``: one bot of a fleet; "": every bot (the portfolio)."""


class EngineRequest(OperatorRequest, frozen=True, kw_only=True):
    """An operator's request that the risk engine carries out or refuses.

    The kernel journals it, hands it to the engine with a ``request_id`` and waits
    up to ``wait_s`` for the engine's journaled answer, so the reply says what
    happened (:class:`ActionAnswered`), not only that it was asked.
    """

    wait_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = DEFAULT_WAIT_S


class HaltRequest(EngineRequest, frozen=True, tag="halt"):
    pass


class ResumeRequest(EngineRequest, frozen=True, tag="resume"):
    confirmed: bool = False
    """Required to resume after a limit halt (``kernel resume --yes``)."""


class CloseAllRequest(EngineRequest, frozen=True, tag="close_all"):
    pass


class ModeRequest(OperatorRequest, frozen=True, tag="mode"):
    mode: Mode


class StopRequest(OperatorRequest, frozen=True, tag="stop"):
    """Stop the kernel in order, as Ctrl-C in its window would: for a kernel with no
    window to press it in (a Windows service or scheduled task, docs/windows.md)."""


class RiskMultiplierRequest(EngineRequest, frozen=True, tag="risk_multiplier"):
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

    action: Literal["halt", "resume", "close_all", "mode", "risk_multiplier", "moderator_ask",
                    "stop"]
    detail: str
    seq: int


class ActionAnswered(ControlMessage, frozen=True, tag="answered"):
    """The risk engine's answer to an :class:`EngineRequest`, journaled as ``seq``.

    ``applied``: carried out; ``refused``: not carried out, ``detail`` says why and
    what to do; ``unanswered``: journaled and handed over, but the engine did not
    answer within ``wait_s`` (it may be down or restarting), so whether it took
    effect is unknown: check ``kernel status`` and repeat it.
    """

    action: EngineAction
    outcome: Literal["applied", "refused", "unanswered"]
    detail: str
    seq: int
    request_id: str


class ControlError(ControlMessage, frozen=True, tag="control_error"):
    reason: str


ControlRequest: TypeAlias = (
    StatusRequest | SnapshotRequest | HaltRequest | ResumeRequest | CloseAllRequest | ModeRequest
    | RiskMultiplierRequest | ModeratorAskRequest | RecordRequest | StopRequest
)
ControlReply: TypeAlias = (
    StatusReply | SnapshotReply | ActionAccepted | ActionAnswered | Recorded | ControlError
)
