"""Publishing and subscribing on the bus with msgspec-encoded messages.

The same helpers serve actors inside the kernel (inproc endpoints) and
processes elsewhere (``kernel tap``, remote actors) over TCP. Frames are
``[topic, payload, header]`` (see :mod:`bus.codec`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
import zmq
import zmq.asyncio

from bus.codec import Header, decode_header, encode, encode_header
from bus.drain import SocketDrain
from bus.frames import send_frames
from bus.protocol import Message
from bus.topics import subscription


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
        send_frames(self._sock, (topic.encode(), payload, header))

    def forward(self, frames: list[bytes]) -> None:
        """Send frames received elsewhere exactly as they came (header included)."""
        send_frames(self._sock, frames)

    def close(self) -> None:
        self._sock.close(linger=0)


class Subscriber:
    """An asyncio SUB socket connected to the bus's XPUB side."""

    def __init__(
        self, context: zmq.asyncio.Context, endpoint: str, prefixes: Iterable[str] = ("",)
    ) -> None:
        self._sock: zmq.asyncio.Socket = context.socket(zmq.SUB)
        self._sock.linger = 0
        self._sock.rcvhwm = 200_000
        for prefix in prefixes:
            self._sock.subscribe(subscription(prefix))
        self._sock.connect(endpoint)

    def subscribe(self, prefix: str) -> None:
        self._sock.subscribe(subscription(prefix))

    async def receive(self) -> BusFrame:
        frames = await self._sock.recv_multipart()
        return parse_frames(frames)

    async def poll(self, timeout_ms: int) -> bool:
        return bool(await self._sock.poll(timeout_ms, zmq.POLLIN))  # type: ignore[call-arg]

    def close(self) -> None:
        self._sock.close(linger=0)


def parse_frames(frames: list[bytes]) -> BusFrame:
    """Accept two frames (plain publishers) or three (with our header)."""
    topic = frames[0].decode(errors="replace") if frames else ""
    payload = frames[1] if len(frames) > 1 else b""
    header = decode_header(frames[2]) if len(frames) > 2 else Header("unknown")
    return BusFrame(topic, bytes(payload), header)


def _sub_socket(context: zmq.Context[Any], endpoint: str, prefixes: Iterable[str],
                rcvhwm: int) -> zmq.Socket[bytes]:
    """A plain SUB socket, subscribed and connected, for reading from the loop's FD."""
    sock: zmq.Socket[bytes] = context.socket(zmq.SUB)
    sock.linger = 0
    sock.rcvhwm = rcvhwm
    for prefix in prefixes:
        sock.subscribe(subscription(prefix))
    sock.connect(endpoint)
    return sock


class DrainedSubscriber:
    """A SUB socket read from the event loop's file descriptor, one callback per frame.

    For listeners inside the kernel (journal recorder, state cache, console) that
    must keep up with every frame without a future per message; see
    :mod:`bus.drain`. ``rcvhwm=0`` means never drop.
    """

    def __init__(self, context: zmq.Context[Any], endpoint: str, prefixes: Iterable[str],
                 on_frame: Callable[[BusFrame], None], *, rcvhwm: int = 200_000) -> None:
        self._sock = _sub_socket(context, endpoint, prefixes, rcvhwm)
        self._drain = SocketDrain(self._sock, lambda frames: on_frame(parse_frames(frames)))

    def start(self) -> None:
        self._drain.start()

    def stop(self) -> None:
        self._drain.stop()
        self._sock.close(linger=0)


class QueuedSubscriber:
    """A SUB socket drained into a bounded queue that an actor reads with ``await``.

    ``await receive()`` costs a deque pop while frames are queued, where a
    ``zmq.asyncio`` socket costs a future and a loop turn per message; that
    matters for actors that see every order. Reading pauses once ``high``
    frames wait, so a slow actor leaves the backlog in the socket (bounded by
    ``rcvhwm``) rather than in memory. Start it from the running loop.
    """

    def __init__(self, context: zmq.Context[Any], endpoint: str, prefixes: Iterable[str],
                 *, rcvhwm: int = 200_000, high: int = 4096) -> None:
        self._sock = _sub_socket(context, endpoint, prefixes, rcvhwm)
        self._frames: deque[list[bytes]] = deque()
        self._high = high
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._drain = SocketDrain(self._sock, self._push)

    def start(self) -> None:
        self._drain.start()

    def close(self) -> None:
        self._drain.stop()
        self._sock.close(linger=0)

    async def receive(self) -> BusFrame:
        """The next frame, waiting for one if none is queued."""
        while not self._frames:
            await self._wait()
        frames = self._frames.popleft()
        if self._paused and len(self._frames) <= self._high // 2:
            self._paused = False
            self._drain.resume()
        return parse_frames(frames)

    async def poll(self, timeout_ms: int) -> bool:
        """Whether a frame is queued within ``timeout_ms``."""
        if not self._frames:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait(), timeout_ms / 1000)
        return bool(self._frames)

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None

    def _push(self, frames: list[bytes]) -> None:
        self._frames.append(frames)
        if len(self._frames) >= self._high and not self._paused:
            self._paused = True
            self._drain.pause()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
