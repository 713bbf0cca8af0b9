"""Publishing and subscribing on the bus with msgspec-encoded messages.

The same helpers serve listeners inside the kernel (inproc endpoints) and
processes elsewhere (``kernel tap``, remote actors) over TCP. Frames are
``[topic, payload, header]`` (see :mod:`bus.codec`).

Actors inside the kernel do not go through the proxy at all: everything they
can hear is published by the kernel's one :class:`Publisher` (its own emitters)
or recorded from other processes by the kernel's recorder, which hands those
frames to the same publisher; the publisher gives each frame to their
:class:`LocalSubscription` directly, a deque append in the same loop, in
publishing order.

Routing by bot: a frame sent with a ``bot_id`` (the kernel's emitters pass the
message's own) reaches only the subscriptions that want that bot (``bots=``) and
those that want every bot; a frame without one reaches every subscription whose
prefixes match. In a fleet of twenty bots each bot's risk engine would otherwise
wake for, and decode, the nineteen other bots' heartbeats and order updates only
to drop them. Which subscriptions a (topic, bot) pair reaches is worked out once
and kept (:class:`Publisher` ``_routes``) until a subscription comes or goes.

Copies nobody subscribes to: the publisher's socket is an XPUB, so it hears the
subscriptions of every process behind the proxy (``kernel tap``, remote actors,
the kernel's own SUB sockets) and sends a frame only when one of them matches its
topic. At 64 orders in flight with no process subscribed to ``order.*`` that is
three copies an order (request, decision, update), three socket calls each,
skipped; the frames still reach this process's own subscriptions. A new subscription is heard within
:data:`_LOOK_S` of the publisher's next send, the delay with which a PUB socket
itself takes it up (libzmq processes a sending socket's commands about once a
millisecond): from then on the subscriber gets every frame, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable
from functools import lru_cache
from time import monotonic
from typing import Any, Final

import msgspec
import zmq

from bus.codec import Header, decode_header, encode, encode_header
from bus.drain import SocketDrain
from bus.frames import send_frames
from bus.protocol import Message
from bus.topics import subscription

log = logging.getLogger("bus")


class BusFrame(msgspec.Struct, frozen=True, gc=False):
    """One message as it travelled: topic, msgpack payload and its header.

    Not tracked by the garbage collector (``gc=False``; it holds a str, bytes, a
    :class:`Header` and perhaps a message, none of which can refer back to a frame,
    so it can never be part of a cycle; the message is tracked as any object is).
    Under a flood an actor's inbox holds up to 200,000 of them, and while they were
    tracked each full collection walked them all: 14 to 68 ms of the loop, several times during an
    8-s flood of orders, the largest stalls a quiet bot's order met.
    """

    topic: str
    payload: bytes
    header: Header
    message: Message | None = None
    """The message itself, for a frame this process's publisher sent: listeners in
    the process take it as it is instead of decoding ``payload`` again, and the risk
    engine recognises the copy of a fact it took on the gateway's path as that very
    object (docs/risk.md, "Facts on the gateway's path"). None for a frame from
    another process (:meth:`Publisher.deliver_local`, :func:`parse_frames`). The
    message is a frozen Struct shared by every listener: none may change its list
    or dict fields. A subscription :data:`MESSAGES_WITHIN` frames behind or more keeps
    the payload alone (:meth:`LocalSubscription.offer`)."""


class Publisher:
    """An XPUB socket connected to the bus's XSUB side. Sending never blocks."""

    def __init__(self, context: zmq.Context[Any], endpoint: str, *, source: str) -> None:
        self._sock: zmq.Socket[bytes] = context.socket(zmq.XPUB)
        self._sock.linger = 0
        self._sock.sndhwm = 200_000
        self._sock.connect(endpoint)
        self._source = source
        self._header = encode_header(source)
        self._journaled_header = encode_header(source, journaled=True)
        self._local: list[LocalSubscription] = []
        self._routes: dict[tuple[str, str], tuple[LocalSubscription, ...]] = {}
        """(topic, bot id) -> the subscriptions it reaches; emptied when one comes or goes."""
        self._held: list[tuple[str, bytes, bytes, str, Message | None]] | None = None
        """Sends queued by :meth:`hold` (topic, payload, header, bot id, message), in order."""
        self._spared: dict[int, LocalSubscription] = {}
        """Index in :attr:`_held` -> the one subscription that frame is not handed to."""
        self._wanted: set[bytes] = set()
        """The byte prefixes some subscriber behind the proxy holds, as the XPUB told them."""
        self._heard: dict[str, bool] = {}
        """topic -> whether a subscriber matches it; emptied when :attr:`_wanted` changes."""
        self._next_look = 0.0
        """Monotonic time from which the next send reads the subscriptions that came."""
        self.unheard = 0
        """Frames not put on the socket because no subscriber behind the proxy matched."""

    def publish(self, message: Message, *, topic: str | None = None) -> bytes:
        """Encode and send; return the payload bytes (for the journal)."""
        payload = encode(message)
        self.send_raw(topic or message.topic, payload, message=message)
        return payload

    def send_raw(self, topic: str, payload: bytes, *, journaled: bool = False,
                 header: bytes | None = None, bot_id: str = "",
                 message: Message | None = None) -> None:
        """Send pre-encoded frames; ``header`` overrides this publisher's own. ``bot_id``:
        the one bot the message concerns, if any (routing inside this process only; the
        socket's subscribers get every frame, as before). ``message``: the one
        ``payload`` encodes, handed to this process's subscriptions with the frame
        (:attr:`BusFrame.message`)."""
        if header is None:
            header = self._journaled_header if journaled else self._header
        if self._held is not None:
            self._held.append((topic, payload, header, bot_id, message))
            return
        if self._listened(topic):
            send_frames(self._sock, (topic.encode(), payload, header))
        else:
            self.unheard += 1
        if self._local:
            self._hand_over(topic, bot_id,
                            lambda: BusFrame(topic, payload, _header(header), message))

    def hold(self) -> None:
        """Queue every send, in order, until :meth:`release`; idempotent.

        The gateway holds the bus copies of a burst's orders and decisions while it
        answers the bots: the reply is what a bot waits for, the copies are evidence
        for listeners, and each costs about as much as the reply itself. Listeners
        in this process read their deque only in a later turn of the loop, so they
        cannot tell; every listener sees the same frames in the same order.
        """
        if self._held is None:
            self._held = []

    def release(self) -> None:
        """Send everything :meth:`hold` queued, in order, and stop holding.

        The same frames as :meth:`send_raw` would send one by one, in one loop with
        the socket's ``send`` and the routes at hand: a burst of 64 orders releases
        about 256 copies, after every reply.
        """
        held, self._held = self._held, None
        spared, self._spared = self._spared, {}
        if not held:
            return
        self._look()
        send, routes, heard = self._sock.send, self._routes, self._heard
        for index, (topic, payload, header, bot_id, message) in enumerate(held):
            listened = heard.get(topic)
            if listened is None:
                listened = self._match(topic)
            if listened:
                send(topic.encode(), _SNDMORE)
                send(payload, _SNDMORE)
                send(header)
            else:
                self.unheard += 1
            if self._local:
                targets = routes.get((topic, bot_id))
                if targets is None:
                    targets = self._route(topic, bot_id)
                if spared and index in spared:
                    targets = tuple(t for t in targets if t is not spared[index])
                if targets:
                    frame = BusFrame(topic, payload, _header(header), message)
                    for local in targets:
                        local.offer(frame)

    def spare_last(self, local: LocalSubscription, topic: str, bot_id: str) -> bool:
        """Keep the newest held frame from ``local`` alone, if it is on ``topic`` for
        ``bot_id``; False (nothing changed) when nothing is held or the newest frame is
        another, or was sent already.

        The risk engine takes an order update on the gateway's path right after the
        gateway sent its bus copy (``kernel.gate.FactTaker``): the copy would only wake
        the engine to be decoded and recognised. Spared, it never reaches the engine's
        subscription; every other listener and the socket get it as before.
        """
        held = self._held
        if not held:
            return False
        last = held[-1]
        if last[0] != topic or last[3] != bot_id:
            return False
        self._spared[len(held) - 1] = local
        return True

    def subscriptions(self) -> frozenset[bytes]:
        """The byte prefixes subscribed behind the proxy, read now."""
        self._look(force=True)
        return frozenset(self._wanted)

    def _listened(self, topic: str) -> bool:
        """Whether a subscriber behind the proxy would take a frame on ``topic``."""
        self._look()
        listened = self._heard.get(topic)
        return self._match(topic) if listened is None else listened

    def _match(self, topic: str) -> bool:
        if len(self._heard) >= _ROUTES_KEPT:
            self._heard.clear()
        raw = topic.encode()
        listened = any(raw.startswith(prefix) for prefix in self._wanted)
        self._heard[topic] = listened
        return listened

    def _look(self, *, force: bool = False) -> None:
        """Take the subscriptions and cancellations the XPUB queued, at most once every
        :data:`_LOOK_S` (each look is a ``poll`` in libzmq) unless ``force``."""
        now = monotonic()
        if now < self._next_look and not force:
            return
        self._next_look = now + _LOOK_S
        sock = self._sock
        changed = False
        while int(sock.getsockopt(_EVENTS)) & _POLLIN:
            try:
                note = sock.recv(_NOBLOCK)
            except zmq.Again:
                break
            if note[:1] == b"\x01":
                self._wanted.add(note[1:])
                changed = True
            elif note[:1] == b"\x00":
                self._wanted.discard(note[1:])
                changed = True
        if changed:
            self._heard.clear()

    def deliver_local(self, frame: BusFrame) -> None:
        """Hand a frame that reached the bus another way to this process's subscriptions
        (unrouted: its bot is in the payload, which is not decoded here; nor has it a
        :attr:`BusFrame.message`: each listener decodes it)."""
        if self._local:
            self._hand_over(frame.topic, "", lambda: frame)

    def subscribe_local(self, prefixes: Iterable[str], *, bots: Iterable[str] | None = None,
                        limit: int = 200_000, max_bytes: int = 64 * 1024 * 1024,
                        kept: Iterable[str] = ()) -> LocalSubscription:
        """A subscription in this process, fed by this publisher alone; close it to stop.
        ``bots``: of the frames sent with a bot id, only these bots' (None: every bot's);
        ``kept``: topics queued past the bounds (:class:`LocalSubscription`)."""
        local = LocalSubscription(tuple(prefixes), limit=limit, max_bytes=max_bytes,
                                  detach=self._detach, bots=bots, kept=kept)
        self._local.append(local)
        self._routes.clear()
        return local

    def close(self) -> None:
        self._local.clear()
        self._routes.clear()
        self._sock.close(linger=0)

    def _detach(self, local: LocalSubscription) -> None:
        self._local.remove(local)
        self._routes.clear()

    def _hand_over(self, topic: str, bot_id: str, make: Callable[[], BusFrame]) -> None:
        targets = self._routes.get((topic, bot_id))
        if targets is None:
            targets = self._route(topic, bot_id)
        if targets:
            frame = make()
            for local in targets:
                local.offer(frame)

    def _route(self, topic: str, bot_id: str) -> tuple[LocalSubscription, ...]:
        """Which subscriptions (topic, bot) reaches, kept for the next frame alike. The
        table is bounded: remote publishers may use any topic."""
        if len(self._routes) >= _ROUTES_KEPT:
            self._routes.clear()
        targets = tuple(local for local in self._local if local.wants(topic, bot_id))
        self._routes[(topic, bot_id)] = targets
        return targets


_ROUTES_KEPT = 4096
"""Routes kept at most: some topics times some bots; beyond it the table starts afresh."""
KEPT_BEYOND: Final = 1024
"""How many frames on a subscription's kept topics may wait past its bound. They are
requests (an operator's halt, the watchdog's): a few, small, never a flood of their own."""
MESSAGES_WITHIN: Final = 1024
"""A subscription this many frames behind or more gets frames without their message
(:attr:`BusFrame.message`): its listener decodes the payload when it comes to it, as
for a frame of another process. Under a flood of orders the auditor's inbox fills to
its bound, and 20,000 messages kept beside their payloads were some 9 MB that the
allocator kept after the flood (a 60-s order flood left 28 MB instead of 19); a
subscription that keeps up never holds this many."""
_SNDMORE = int(zmq.SNDMORE)
_NOBLOCK = int(zmq.NOBLOCK)
_EVENTS = int(zmq.EVENTS)
_POLLIN = int(zmq.POLLIN)
_LOOK_S = 0.001
"""How long a publisher goes on with the subscriptions it knows before reading new ones."""


@lru_cache(maxsize=256)
def _header(frame: bytes) -> Header:
    """Headers repeat (one per publishing source): decode each once."""
    return decode_header(frame)


def parse_frames(frames: list[bytes]) -> BusFrame:
    """Accept two frames (plain publishers) or three (with our header)."""
    topic = frames[0].decode(errors="replace") if frames else ""
    payload = frames[1] if len(frames) > 1 else b""
    header = decode_header(frames[2]) if len(frames) > 2 else Header("unknown")
    return BusFrame(topic, bytes(payload), header)


class DrainedSubscriber:
    """A SUB socket read from the event loop's file descriptor, one callback per frame.

    For listeners inside the kernel (journal recorder, state cache, console) that
    must keep up with every frame without a future per message; see
    :mod:`bus.drain`. ``rcvhwm=0`` means never drop.
    """

    def __init__(self, context: zmq.Context[Any], endpoint: str, prefixes: Iterable[str],
                 on_frame: Callable[[BusFrame], None], *, rcvhwm: int = 200_000,
                 batch: int = 512) -> None:
        """``batch``: frames handled per wake-up before other tasks run (a listener
        whose frames each cost milliseconds, the console's, takes few)."""
        self._sock: zmq.Socket[bytes] = context.socket(zmq.SUB)
        self._sock.linger = 0
        self._sock.rcvhwm = rcvhwm
        for prefix in prefixes:
            self._sock.subscribe(subscription(prefix))
        self._sock.connect(endpoint)
        self._drain = SocketDrain(self._sock, lambda frames: on_frame(parse_frames(frames)),
                                  batch=batch)

    def start(self) -> None:
        self._drain.start()

    def stop(self) -> None:
        self._drain.stop()
        self._sock.close(linger=0)


class LocalSubscription:
    """Frames from an in-process :class:`Publisher`, read with ``await receive()``.

    Matching is ZeroMQ's: a topic that starts with one of ``prefixes``. Frames
    wait in a deque (``receive`` is a pop while any wait, where a ``zmq.asyncio``
    socket costs a future and a loop turn per message); past ``limit`` waiting
    frames, or past ``max_bytes`` of waiting payload, new ones are dropped and
    counted, as a SUB socket's high-water mark would, and the first drop of each
    thousand is logged (the actor runner journals an anomaly for them). With
    ``bots``, a frame sent for another bot is not offered at all (see the module
    docstring); one sent for no bot still is. A frame on one of the ``kept`` topics
    (a request someone waits on, or one that halts trading) is queued past both
    bounds, up to :data:`KEPT_BEYOND` frames more: a flood of other frames never
    costs it.
    """

    def __init__(self, prefixes: tuple[str, ...], *, limit: int,
                 detach: Callable[[LocalSubscription], None],
                 max_bytes: int = 64 * 1024 * 1024, bots: Iterable[str] | None = None,
                 kept: Iterable[str] = ()) -> None:
        self._prefixes = prefixes
        self._bots = None if bots is None else frozenset(bots)
        self._kept = frozenset(kept)
        self._kept_past = 0
        """Kept frames let in past a bound since the inbox was last back within both."""
        self._limit = limit
        self._max_bytes = max_bytes
        self._bytes = 0
        self._detach: Callable[[LocalSubscription], None] | None = detach
        self._frames: deque[BusFrame] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.dropped = 0

    def wants(self, topic: str, bot_id: str = "") -> bool:
        """ZeroMQ's prefix match; a frame sent for one bot also needs that bot wanted."""
        if not topic.startswith(self._prefixes):
            return False
        return not bot_id or self._bots is None or bot_id in self._bots

    def offer(self, frame: BusFrame) -> None:
        if len(self._frames) >= self._limit or self._bytes >= self._max_bytes:
            if frame.topic not in self._kept or self._kept_past >= KEPT_BEYOND:
                if self.dropped % 1000 == 0:
                    log.warning("a local subscriber (%s) is %d frames behind (%d bytes): "
                                "frame on %s dropped", ", ".join(self._prefixes),
                                len(self._frames), self._bytes, frame.topic)
                self.dropped += 1
                return
            self._kept_past += 1
        self._bytes += len(frame.payload)
        if frame.message is not None and len(self._frames) >= MESSAGES_WITHIN:
            frame = BusFrame(frame.topic, frame.payload, frame.header)
        self._frames.append(frame)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def waiting(self) -> tuple[BusFrame, ...]:
        """The frames queued, oldest first: a look, not a take. The risk engine counts
        the facts still on their way to it when it opens its gate (``ActorContext.inbox``)."""
        return tuple(self._frames)

    async def receive(self) -> BusFrame:
        """The next frame, waiting for one if none is queued."""
        while not self._frames:
            await self._wait()
        frame = self._frames.popleft()
        self._bytes -= len(frame.payload)
        if self._kept_past and len(self._frames) < self._limit and self._bytes < self._max_bytes:
            self._kept_past = 0  # within both bounds again: what waits is bounded by them
        return frame

    def close(self) -> None:
        """Stop receiving; idempotent."""
        if self._detach is not None:
            with contextlib.suppress(ValueError):  # the publisher closed first
                self._detach(self)
            self._detach = None

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None
