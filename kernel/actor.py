"""The actor base: a thin shell that turns messages into calls of pure logic.

An actor names the topic prefixes it listens to, gets each message in
:meth:`Actor.handle`, and returns the messages to publish. A message published in
the kernel reaches it as the very object its emitter built (no decode); one from
another process, decoded. Messages are frozen Structs shared by every listener: an
actor never changes a list or dict field of one it got (``Heartbeat.positions``).
Sources (a watchdog, a timer) also override :meth:`Actor.run`. Actors never call each other; they
reach the rest of the system only through their :class:`ActorContext`. The
kernel drives the lifecycle (see ``kernel/_runner.py``) and restarts a crashed
actor as a fresh instance, so an actor keeps no state it cannot rebuild.

An actor's configuration comes through its constructor, as a small frozen slice
of what it needs (its yaml file, the few resolved paths and values of the
kernel's) defined in its feature folder; the composition root
(``kernel/registry.py``) cuts the slices from the settings and hands the kernel
zero-argument factories. The context carries no configuration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from bus.protocol import Message

if TYPE_CHECKING:
    from bus.pubsub import BusFrame
    from kernel.control_protocol import ControlMessage
    from kernel.emitter import Emitter
    from kernel.gate import OrderGate
    from kernel.journal import Journal
    from kernel.plan_service import PlanService


class KernelServices:
    """What the kernel lends its actors beyond publishing. Kept deliberately small."""

    def __init__(
        self,
        *,
        set_gate: Callable[[OrderGate | None], None],
        send_command: Callable[..., int],
        request_stop: Callable[[str], None],
        set_planner: Callable[[PlanService | None], None] | None = None,
        ask_control: Callable[[ControlMessage], Awaitable[ControlMessage]] | None = None,
    ) -> None:
        self.set_gate = set_gate
        """Install (or, with None, withdraw) the order gate the bot link uses."""
        self.set_planner: Callable[[PlanService | None], None] = (
            set_planner or (lambda _service: None))
        """Install (or withdraw) the planner that answers ``plan_request`` on the bot link."""
        self.send_command = send_command
        """Send a ``command`` over the bot link: ``send_command(cmd, bot_id="")``."""
        self.request_stop = request_stop
        """Ask the kernel to stop, with a reason."""
        self.ask_control = ask_control
        """Answer a control request (``kernel/control_protocol.py``) as the control socket
        would: the operator's commands from elsewhere take the terminal's path. None
        where no control socket runs (tests that build services by hand)."""


class ActorContext:
    """Everything an actor may touch at run time: its emitter, the journal, the clock and
    the kernel's services. Its configuration is not here: each actor is constructed with
    its own config slice by the composition root (``kernel/registry.py``)."""

    def __init__(
        self,
        *,
        name: str,
        emitter: Emitter,
        journal: Journal,
        clock: Callable[[], float],
        services: KernelServices,
    ) -> None:
        self.name = name
        self.emitter = emitter
        self.journal = journal
        self.clock = clock
        self.services = services
        self.spare_copy: Callable[[Message], bool] = nothing_spared
        """Keep the bus copy of ``message``, the frame just sent, from this actor's own
        subscription (:meth:`bus.pubsub.Publisher.spare_last`); True when it will not
        arrive. The runner sets it; a context made elsewhere spares nothing."""
        self.inbox: Callable[[], Sequence[BusFrame]] = nothing_waiting
        """The frames waiting in this actor's inbox, oldest first (a look, not a take):
        the risk engine counts the facts still queued for it as it opens its gate. The
        runner sets it; a context made elsewhere has none waiting."""
        self.as_sent = False
        """Whether the message of the current :meth:`Actor.handle` is the very object its
        emitter in this process sent (``bus.pubsub.BusFrame.message``: True) or a copy
        decoded from the frame's payload (from another process: False). The runner
        sets it before each ``handle``; the risk engine recognises the copies of facts
        it took on the gateway's path by identity when True, by value otherwise."""

    def publish(self, message: Message, *, topic: str | None = None) -> None:
        self.emitter.emit(message, topic=topic)

    async def publish_durable(self, message: Message, *, topic: str | None = None) -> int:
        return await self.emitter.emit_durable(message, topic=topic)


def nothing_spared(message: Message) -> bool:
    """What :attr:`ActorContext.spare_copy` is where no publisher can spare a copy."""
    return False


def nothing_waiting() -> Sequence[BusFrame]:
    """What :attr:`ActorContext.inbox` is where no subscription feeds the actor."""
    return ()


class Actor:
    """Base class; subclasses set ``name`` and ``subscriptions``."""

    name: ClassVar[str] = "actor"
    subscriptions: ClassVar[tuple[str, ...]] = ()
    inbox_frames: ClassVar[int] = 200_000
    """The most frames waiting in this actor's inbox; past it new ones are dropped,
    counted and reported (``subscriber_behind``). An actor whose frames are evidence
    the journal keeps anyway may hold fewer: each waiting frame is a few hundred
    bytes that the allocator keeps after the inbox has drained."""
    kept_topics: ClassVar[tuple[str, ...]] = ()
    """Topics (whole names) whose frames wait past that bound (``bus.pubsub.KEPT_BEYOND``
    more at most): requests someone waits on or that change what trading may do, which a
    flood of other frames must never cost."""

    def __init__(self) -> None:
        self._ctx: ActorContext | None = None

    @property
    def ctx(self) -> ActorContext:
        if self._ctx is None:
            raise RuntimeError(f"actor {self.name} used before start()")
        return self._ctx

    async def start(self, ctx: ActorContext) -> None:
        """Acquire resources; an exception here is a failed start."""
        self._ctx = ctx

    def bots(self) -> frozenset[str] | None:
        """Of the messages that concern one bot, which bots' this actor hears (None:
        every bot's). A fleet bot's own actor (its risk engine, its watchdog) names its
        bot, so the kernel never wakes it for the others' heartbeats and order updates;
        messages that concern no bot (an operator's command for all) still reach it."""
        return None

    async def handle(self, message: Message) -> Sequence[Message]:
        """React to one message; return what to publish."""
        return ()

    async def rejected(self, topic: str, source: str, error: str) -> Sequence[Message]:
        """A frame on a subscribed topic did not decode (a bound broken, an unknown word).

        The kernel logs and skips it; an actor that owns the topic's contract (a
        verdict adapter) returns an anomaly naming the field, so it is journaled.
        """
        return ()

    def frames_dropped(self, dropped: int) -> None:
        """Frames meant for this actor were dropped, its inbox at its bound (``dropped``:
        how many since it started); called before the next frame is handled. An actor
        that counts what it took (the risk engine, ``kernel.gate.FactCounter``) starts
        its count over: the dropped frames will never reach it."""

    async def run(self) -> None:
        """For sources: runs beside :meth:`handle` until it returns or the actor stops."""

    async def stop(self) -> None:
        """Release resources; called on shutdown and before a restart."""

    @classmethod
    def has_run(cls) -> bool:
        return cls.run is not Actor.run


ActorFactory = Callable[[], Actor]
