"""Asking a running kernel over its control socket, from the CLI or a script."""

from __future__ import annotations

from typing import Any, Final

import msgspec
import zmq

from kernel.control_protocol import ControlError, ControlMessage, ControlReply

_encoder: Final = msgspec.msgpack.Encoder()
_decoder: Final = msgspec.msgpack.Decoder(ControlReply)


class KernelUnreachable(Exception):
    """No kernel answered on the control endpoint within the timeout."""


class ControlRefused(Exception):
    """The kernel answered with a ControlError."""


def ask(endpoint: str, request: ControlMessage, *, timeout_s: float = 2.0) -> Any:
    """Send one request and return the typed reply; raise on silence or refusal."""
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.REQ)
    sock.linger = 0
    try:
        sock.connect(endpoint)
        sock.send(_encoder.encode(request))
        if not sock.poll(int(timeout_s * 1000), zmq.POLLIN):
            raise KernelUnreachable(
                f"no kernel answered on {endpoint} within {timeout_s:g} s. "
                "Is `kernel run` running with this config?"
            )
        reply = _decoder.decode(sock.recv())
    finally:
        sock.close(linger=0)
    if isinstance(reply, ControlError):
        raise ControlRefused(reply.reason)
    return reply
