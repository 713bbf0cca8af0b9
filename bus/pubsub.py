"""Publishing and subscribing on the bus with msgspec-encoded messages.

The same helpers serve actors inside the kernel (inproc endpoints) and
processes elsewhere (``kernel tap``, remote actors) over TCP. Frames are
``[topic, payload, header]`` (see :mod:`bus.codec`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec
import zmq
import zmq.asyncio

from bus.codec import Header, decode_header, encode, encode_header
from bus.drain import SocketDrain
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
        self._sock.send_multipart((topic.encode(), payload, header))

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
