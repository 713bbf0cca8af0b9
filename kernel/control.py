"""The control socket: operators ask the running kernel for status and actions.

A ROUTER on a loopback endpoint that REQ clients talk to; one request, one reply,
always, so a failing handler can never leave a client stuck. Each request is
answered by its own task: an operator's command that waits for the risk engine's
answer (up to a few seconds when the engine is down) never holds up a
``kernel status`` or the tap's liveness probe. Requests are msgpack of the tagged
union in :mod:`kernel.control_protocol`, or JSON when the first byte is ``{``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import zmq
import zmq.asyncio

from bus.codec import LinkDecoder, is_json
from bus.security import bind_checked
from kernel.control_protocol import ControlError, ControlMessage, ControlRequest
from kernel.keys import ServerKeys, make_curve_server

log = logging.getLogger("kernel.control")

Handler = Callable[[Any], Awaitable[ControlMessage]]

_decoder: LinkDecoder[ControlRequest] = LinkDecoder(ControlRequest)
_msgpack = msgspec.msgpack.Encoder()
_json = msgspec.json.Encoder()


class ControlServer:
    """Dispatches each request type to one registered handler."""

    def __init__(self, context: zmq.asyncio.Context, endpoint: str,
                 keys: ServerKeys | None = None) -> None:
        self._context = context
        self._endpoint = endpoint
        self._keys = keys
        self._handlers: dict[type[Any], Handler] = {}
        self._sock: zmq.asyncio.Socket | None = None
        self.bound_endpoint = ""

    def register(self, request_type: type[Any], handler: Handler) -> None:
        self._handlers[request_type] = handler

    def bind(self) -> str:
        sock = self._context.socket(zmq.ROUTER)
        sock.linger = 0
        if self._keys is not None:
            make_curve_server(sock, self._keys)
        try:
            self.bound_endpoint = bind_checked(sock, self._endpoint)
        except BaseException:
            sock.close(linger=0)
            raise
        self._sock = sock
        return self.bound_endpoint

    async def serve(self) -> None:
        """Answer requests until cancelled, each in its own task."""
        sock = self._sock
        assert sock is not None, "bind() first"
        answering: set[asyncio.Task[None]] = set()
        try:
            while True:
                frames = await sock.recv_multipart()
                if len(frames) < 2:  # no routing envelope: nobody to answer
                    continue
                task = asyncio.create_task(self._respond(sock, frames[:-1], frames[-1]))
                answering.add(task)
                task.add_done_callback(answering.discard)
        finally:
            for task in answering:
                task.cancel()
            sock.close(linger=0)

    async def _respond(self, sock: zmq.asyncio.Socket, envelope: list[bytes],
                       frame: bytes) -> None:
        """``envelope``: the client's identity (and REQ's empty delimiter), sent back first."""
        reply = await self._answer(frame)
        body = _json.encode(reply) if is_json(frame) else _msgpack.encode(reply)
        await sock.send_multipart([*envelope, body])

    async def _answer(self, frame: bytes) -> ControlMessage:
        try:
            request = _decoder.decode(frame)
        except msgspec.DecodeError as exc:
            return ControlError(reason=f"unknown or malformed request: {exc}")
        return await self.answer(request)

    async def answer(self, request: ControlMessage) -> ControlMessage:
        """Answer a typed request as if it came over the socket: the same handler, the
        same journaling and rules. For actors in the kernel that take an operator's
        commands from elsewhere (the Telegram bot), through :class:`KernelServices`."""
        handler = self._handlers.get(type(request))
        if handler is None:
            return ControlError(reason=f"{type(request).__name__} is not supported by this kernel")
        try:
            return await handler(request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("control handler failed")
            return ControlError(reason=f"{type(exc).__name__}: {exc}")
