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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import msgspec
import zmq

from bus.codec import Header, decode_header, encode, encode_header
from bus.drain import SocketDrain
from bus.frames import send_frames
from bus.protocol import Message
from bus.topics import subscription

log = logging.getLogger("bus")


class BusFrame(msgspec.Struct, frozen=True):
    """One message as it travelled: topic, msgpack payload and its header."""

    topic: str
    payload: bytes
    header: Header


class Publisher:
    """A PUB socket connected to the bus's XSUB side. Sending never blocks."""

    def __init__(self, context: zmq.Context[Any], endpoint: str, *, source: str) -> None:
        self._sock: zmq.Socket[bytes] = context.socket(zmq.PUB)
        self._sock.linger = 0
        self._sock.sndhwm = 200_000
        self._sock.connect(endpoint)
        self._source = source
        self._header = encode_header(source)
        self._journaled_header = encode_header(source, journaled=True)
        self._local: list[LocalSubscription] = []
        self._held: list[tuple[str, bytes, bytes]] | None = None
        """Sends queued by :meth:`hold`, in order, until :meth:`release`."""

    def publish(self, message: Message, *, topic: str | None = None) -> bytes:
        """Encode and send; return the payload bytes (for the journal)."""
        payload = encode(message)
        self.send_raw(topic or message.topic, payload)
        return payload

    def send_raw(self, topic: str, payload: bytes, *, journaled: bool = False,
                 header: bytes | None = None) -> None:
        """Send pre-encoded frames; ``header`` overrides this publisher's own."""
        if header is None:
            header = self._journaled_header if journaled else self._header
        if self._held is not None:
            self._held.append((topic, payload, header))
            return
        send_frames(self._sock, (topic.encode(), payload, header))
        if self._local:
            self._hand_over(topic, lambda: BusFrame(topic, payload, _header(header)))

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
        """Send everything :meth:`hold` queued, in order, and stop holding."""
        held, self._held = self._held, None
        for topic, payload, header in held or ():
            self.send_raw(topic, payload, header=header)

    def deliver_local(self, frame: BusFrame) -> None:
        """Hand a frame that reached the bus another way to this process's subscriptions."""
        if self._local:
            self._hand_over(frame.topic, lambda: frame)

    def subscribe_local(self, prefixes: Iterable[str], *, limit: int = 200_000,
                        max_bytes: int = 64 * 1024 * 1024) -> LocalSubscription:
        """A subscription in this process, fed by this publisher alone; close it to stop."""
        local = LocalSubscription(tuple(prefixes), limit=limit, max_bytes=max_bytes,
                                  detach=self._local.remove)
        self._local.append(local)
        return local

    def close(self) -> None:
        self._local.clear()
        self._sock.close(linger=0)

    def _hand_over(self, topic: str, make: Callable[[], BusFrame]) -> None:
        frame: BusFrame | None = None
        for local in self._local:
            if local.wants(topic):
                if frame is None:
                    frame = make()
                local.offer(frame)


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
                 on_frame: Callable[[BusFrame], None], *, rcvhwm: int = 200_000) -> None:
        self._sock: zmq.Socket[bytes] = context.socket(zmq.SUB)
        self._sock.linger = 0
        self._sock.rcvhwm = rcvhwm
        for prefix in prefixes:
            self._sock.subscribe(subscription(prefix))
        self._sock.connect(endpoint)
        self._drain = SocketDrain(self._sock, lambda frames: on_frame(parse_frames(frames)))

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
    thousand is logged (the actor runner journals an anomaly for them).
    """

    def __init__(self, prefixes: tuple[str, ...], *, limit: int,
                 detach: Callable[[LocalSubscription], None],
                 max_bytes: int = 64 * 1024 * 1024) -> None:
        self._prefixes = prefixes
        self._limit = limit
        self._max_bytes = max_bytes
        self._bytes = 0
        self._detach: Callable[[LocalSubscription], None] | None = detach
        self._frames: deque[BusFrame] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.dropped = 0

    def wants(self, topic: str) -> bool:
        return topic.startswith(self._prefixes)

    def offer(self, frame: BusFrame) -> None:
        if len(self._frames) >= self._limit or self._bytes >= self._max_bytes:
            if self.dropped % 1000 == 0:
                log.warning("a local subscriber (%s) is %d frames behind (%d bytes): frame "
                            "on %s dropped", ", ".join(self._prefixes), len(self._frames),
                            self._bytes, frame.topic)
            self.dropped += 1
            return
        self._bytes += len(frame.payload)
        self._frames.append(frame)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def receive(self) -> BusFrame:
        """The next frame, waiting for one if none is queued."""
        while not self._frames:
            await self._wait()
        frame = self._frames.popleft()
        self._bytes -= len(frame.payload)
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
