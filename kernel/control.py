"""The control socket: operators ask the running kernel for status and actions.

REP on a loopback endpoint; one request, one reply, always, so a failing
handler can never leave the socket stuck. Requests are msgpack of the tagged
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
        sock = self._context.socket(zmq.REP)
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
        """Answer requests until cancelled."""
        sock = self._sock
        assert sock is not None, "bind() first"
        try:
            while True:
                frame = await sock.recv()
                reply = await self._answer(frame)
                await sock.send(_json.encode(reply) if is_json(frame) else _msgpack.encode(reply))
        finally:
            sock.close(linger=0)

    async def _answer(self, frame: bytes) -> ControlMessage:
        try:
            request = _decoder.decode(frame)
        except msgspec.DecodeError as exc:
            return ControlError(reason=f"unknown or malformed request: {exc}")
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
