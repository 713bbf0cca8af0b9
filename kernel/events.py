"""Internal events of the kernel itself: actor lifecycle, kernel state, anomalies.

Events are named for what happened. They travel on the bus like any other
message and are journaled; none of them crosses the bot link.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, TypeAlias

import msgspec

from bus.protocol import Message, Multiplier, Text, Timestamp

ActorState: TypeAlias = Literal["READY", "STARTING", "RUNNING", "STOPPING", "STOPPED", "FAULTED"]
RequestId = Annotated[str, msgspec.Meta(max_length=64)]
"""The id of one request for advice (a moderation asked for now)."""
Severity: TypeAlias = Literal["debug", "info", "warning", "error", "critical"]


class ActorStatusChanged(Message, frozen=True, tag="actor_status"):
    """An actor moved in its lifecycle; ``restarts`` counts its restarts so far."""

    topic: ClassVar[str] = "kernel.actor"
    actor: str
    state: ActorState
    ts: Timestamp
    detail: Text = ""
    restarts: int = 0


class KernelStateChanged(Message, frozen=True, tag="kernel_state"):
    """The kernel started, is stopping, or gave up (``halted``) and why."""

    topic: ClassVar[str] = "kernel.state"
    state: Literal["starting", "running", "stopping", "stopped", "halted"]
    ts: Timestamp
    reason: Text = ""


class AnomalyDetected(Message, frozen=True, tag="anomaly"):
    """Something unexpected that a person should see: a bad frame, a lagging
    subscriber, a hung bot. ``kind`` is a stable machine word."""

    topic: ClassVar[str] = "anomaly"
    kind: str
    severity: Severity
    ts: Timestamp
    source: str
    detail: Text = ""


class BotLifecycleChanged(Message, frozen=True, tag="bot_lifecycle"):
    """A step in the life of the supervised bot process (or a bot link session)."""

    topic: ClassVar[str] = "bot.lifecycle"
    bot_id: str
    state: Literal[
        "starting", "connected", "running", "hung", "crashed", "restarting",
        "stopped", "gave_up", "disconnected",
    ]
    ts: Timestamp
    detail: Text = ""
    pid: int | None = None


class ModeChangeRequested(Message, frozen=True, tag="mode_change_requested"):
    """Someone (an operator, the moderator) asked for another trading mode.

    The watchdog owns the bot process and carries it out (restarting the bot in
    the new mode, or stopping it for ``off``); ``requested_by`` and ``reason``
    are journaled with the request so every change says who and why.
    """

    topic: ClassVar[str] = "kernel.mode"
    mode: Literal["off", "paper", "demo"]
    requested_by: str
    reason: Text
    ts: Timestamp
    bot_id: Annotated[str, msgspec.Meta(max_length=128)] = ""
    """The one bot whose mode changes; "": every bot."""


class OperatorCommandIssued(Message, frozen=True, tag="operator_command"):
    """An operator asked, through the control socket, to halt, resume or close all.

    The risk engine carries it out (it owns the trading state); the event itself
    is the journal's record of who asked, from which account, and why.
    """

    topic: ClassVar[str] = "operator.command"
    action: Literal["halt", "resume", "close_all"]
    reason: Text
    user: str
    ts: Timestamp
    confirmed: bool = False
    """For ``resume`` after a limit halt: the operator confirmed (``--yes``)."""
    request_id: RequestId = ""
    """Set by the control socket: the risk engine answers it with an
    :class:`OperatorCommandAnswered` of the same id, which the operator waits for."""
    bot_id: Annotated[str, msgspec.Meta(max_length=128)] = ""
    """In a fleet, the one bot whose engine carries it out ("": every engine)."""


class ModerationRequested(Message, frozen=True, tag="moderation_requested"):
    """Someone asked for one moderation now (``kernel moderator ask``)."""

    topic: ClassVar[str] = "moderator.request"
    request_id: RequestId
    requested_by: str
    reason: Text
    ts: Timestamp


class RiskMultiplierChangeRequested(Message, frozen=True, tag="risk_multiplier_requested"):
    """Someone asks the risk engine to set the risk multiplier.

    The engine owns the value and checks it against ``risk.yaml`` bounds; the
    moderator only ever asks for a lower one, an operator for any within bounds.
    """

    topic: ClassVar[str] = "risk.multiplier_request"
    value: Multiplier
    requested_by: str
    reason: Text
    ts: Timestamp
    request_id: RequestId = ""
    """Set for an operator's request: answered with :class:`OperatorCommandAnswered`."""
    bot_id: Annotated[str, msgspec.Meta(max_length=128)] = ""
    """In a fleet, the one bot whose multiplier changes ("": every bot's)."""


class OperatorCommandAnswered(Message, frozen=True, tag="operator_answer"):
    """The owner's answer to an operator's request (``request_id``): carried out or refused.

    The risk engine publishes it, journaled, after the state it leaves is saved; the
    control socket waits for it so that ``kernel halt|resume|close-all|risk-multiplier``
    print what happened and exit non-zero on a refusal, instead of "requested".
    """

    topic: ClassVar[str] = "operator.answer"
    request_id: RequestId
    action: str
    outcome: Literal["applied", "refused"]
    detail: Text
    ts: Timestamp


class OperatorCommandTaken(Message, frozen=True, tag="operator_taken"):
    """The risk engine took an operator's request (``request_id``): its state from here on
    is the one the request left (its save follows).

    Queued in the same step as the change, so every order decided on the state before
    it is journaled before this row and every one decided after it, after: the moment
    ``kernel replay`` applies the request at. The request's own row is earlier, by the
    commit and the hop to the engine, and its answer later, after the save.
    """

    topic: ClassVar[str] = "operator.taken"
    request_id: RequestId
    ts: Timestamp


class DecidedAheadOfFacts(Message, frozen=True, tag="decided_ahead"):
    """The gate decided an order while the risk engine had not yet taken the last
    ``facts`` heartbeats, fills and order updates journaled before it (they were on
    the bus, a hop behind the gateway).

    The gateway decides synchronously and the engine takes facts from the bus, so
    a decision can precede facts the journal holds before it. This row, journaled
    between the request and its decision only when that happens, is what lets
    ``kernel replay`` take those facts after the decision, as the engine did.
    """

    topic: ClassVar[str] = "order.ahead"
    request_id: RequestId
    facts: int
    ts: Timestamp
    bot_id: Annotated[str, msgspec.Meta(max_length=128)] = ""
    """In a fleet, the ordering bot: ``facts`` are its own, which its engine had not
    taken (the other bots' facts go to other engines). "": the one engine's facts."""


KernelEvent: TypeAlias = (
    ActorStatusChanged | KernelStateChanged | AnomalyDetected | BotLifecycleChanged
    | ModeChangeRequested | OperatorCommandIssued | ModerationRequested
    | RiskMultiplierChangeRequested | OperatorCommandAnswered | OperatorCommandTaken
    | DecidedAheadOfFacts
)
"""Every event of the kernel itself; the kernel composes it into the bus union."""
