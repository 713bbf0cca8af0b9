"""A raw DEALER for tests that speak the bot link byte for byte."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
import zmq
import zmq.asyncio

from bus.codec import encode, kernel_frame_decoder
from bus.protocol import Hello, KernelToBot, Message, OrderRequest, Welcome


class RawBot:
    """An asyncio DEALER: send raw frames, receive decoded replies with a timeout."""

    def __init__(self, endpoint: str) -> None:
        self.sock: zmq.asyncio.Socket = zmq.asyncio.Context.instance().socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.connect(endpoint)

    async def send(self, message: Message) -> None:
        await self.sock.send(encode(message))

    async def greet(self, bot_id: str = "qe-1", *, mode: str = "paper", pid: int = 7,
                    timeout_s: float = 5.0) -> Welcome:
        """Say hello and take the welcome: the kernel decides orders only on a link that
        said hello, and only under the ``bot_id`` it said hello with."""
        await self.send(Hello(bot_id=bot_id, mode=mode, pid=pid))  # type: ignore[arg-type]
        while True:
            reply = await self.recv(timeout_s)
            if isinstance(reply, Welcome):
                return reply

    async def send_raw(self, *frames: bytes) -> None:
        await self.sock.send_multipart(frames)

    async def recv_raw(self, timeout_s: float = 5.0) -> bytes:
        frame: bytes = await asyncio.wait_for(self.sock.recv(), timeout_s)
        return frame

    async def recv(self, timeout_s: float = 5.0) -> KernelToBot:
        return kernel_frame_decoder.decode(await self.recv_raw(timeout_s))

    async def recv_json(self, timeout_s: float = 5.0) -> Any:
        return msgspec.json.decode(await self.recv_raw(timeout_s))

    async def nothing_within(self, timeout_s: float) -> bool:
        return not await self.sock.poll(int(timeout_s * 1000))

    def close(self) -> None:
        self.sock.close(linger=0)


def order(request_id: str = "r1", **overrides: Any) -> OrderRequest:
    fields: dict[str, Any] = dict(request_id=request_id, bot_id="qe-1", ts=time.time(),
                                  symbol="BTCUSDT", side="buy", qty=0.01, price=50_000.0)
    fields.update(overrides)
    return OrderRequest(**fields)
