"""Asking a running kernel over its control socket, from the CLI or a script."""

from __future__ import annotations

import time
from typing import Any, Final

import msgspec
import zmq
from zmq.utils.monitor import parse_monitor_message

from kernel.control_protocol import (
    ControlError,
    ControlMessage,
    ControlReply,
    OperatorRequest,
    RecordRequest,
)
from kernel.keys import ClientKeys, load_client, make_curve_client
from kernel.settings import Settings

QUERY_TIMEOUT_S: Final = 2.0
ACTION_TIMEOUT_S: Final = 10.0
"""An action is answered once its journal row is committed; a failing journal says so
within about two seconds (a retry's backoff plus the busy timeout), so a caller
that gave up sooner would wrongly report the kernel gone."""

_WATCHED: Final = (zmq.EVENT_CONNECTED | zmq.EVENT_CONNECT_RETRIED
                   | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
"""The monitor's events ``ask`` acts on: a refused connection before any succeeded
means nothing listens (no kernel runs there), said at once rather than after the
whole timeout; a refused key is said as such."""

_IS_IT_RUNNING: Final = "is `kernel run` running with this config?"

_encoder: Final = msgspec.msgpack.Encoder()
_decoder: Final = msgspec.msgpack.Decoder(ControlReply)


class KernelUnreachable(Exception):
    """No kernel answered on the control endpoint within the timeout."""


class ControlRefused(Exception):
    """The kernel answered with a ControlError."""


def ask(endpoint: str, request: ControlMessage, *, timeout_s: float | None = None,
        keys: ClientKeys | None = None) -> Any:
    """Send one request and return the typed reply; raise on silence or refusal.

    By default a query waits :data:`QUERY_TIMEOUT_S`, an action (an operator's
    request, a record) :data:`ACTION_TIMEOUT_S`.
    """
    if timeout_s is None:
        timeout_s = (ACTION_TIMEOUT_S if isinstance(request, OperatorRequest | RecordRequest)
                     else QUERY_TIMEOUT_S)
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.REQ)
    sock.linger = 0
    monitor = sock.get_monitor_socket(_WATCHED)
    try:
        if keys is not None:
            make_curve_client(sock, keys)
        sock.connect(endpoint)
        sock.send(_encoder.encode(request))
        _await_reply(sock, monitor, endpoint, timeout_s)
        reply = _decoder.decode(sock.recv())
    finally:
        sock.disable_monitor()
        monitor.close(linger=0)
        sock.close(linger=0)
    if isinstance(reply, ControlError):
        raise ControlRefused(reply.reason)
    return reply


def _await_reply(sock: zmq.Socket[bytes], monitor: zmq.Socket[bytes], endpoint: str,
                 timeout_s: float) -> None:
    """Return once the reply can be read; raise when none will come.

    A connection refused before any was made means nothing listens on ``endpoint``:
    no kernel runs with this config, which ``kernel halt`` should say at once, not
    after ten seconds. Once connected, only the timeout ends the wait (a kernel
    whose journal fails answers within it)."""
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(monitor, zmq.POLLIN)
    deadline = time.monotonic() + timeout_s
    connected = key_refused = False
    while (left := deadline - time.monotonic()) > 0:
        ready = dict(poller.poll(max(1, int(left * 1000))))
        if sock in ready:
            return
        while monitor in ready and monitor.poll(0):
            event = parse_monitor_message(monitor.recv_multipart())["event"]
            connected |= event == zmq.EVENT_CONNECTED
            key_refused |= event == zmq.EVENT_HANDSHAKE_FAILED_AUTH
            if event == zmq.EVENT_CONNECT_RETRIED and not connected:
                raise KernelUnreachable(f"nothing listens on {endpoint} (connection refused): "
                                        f"{_IS_IT_RUNNING}")
    if key_refused:
        raise ControlRefused(f"the kernel on {endpoint} refused this client's key. "
                             "Fix: add its public key to the kernel's authorized/ folder.")
    raise KernelUnreachable(f"no kernel answered on {endpoint} within {timeout_s:g} s: "
                            f"{_IS_IT_RUNNING}")


class Controller:
    """The control endpoint of one kernel, with its client keys when Curve is on."""

    def __init__(self, endpoint: str, keys: ClientKeys | None = None) -> None:
        self.endpoint = endpoint
        self.keys = keys

    def ask(self, request: ControlMessage, *, timeout_s: float | None = None) -> Any:
        return ask(self.endpoint, request, timeout_s=timeout_s, keys=self.keys)


def controller_for(settings: Settings) -> Controller:
    """From the config: the endpoint, and the client keys if ``control.curve``."""
    control = settings.kernel.control
    keys = load_client(settings.resolve(control.keys_dir)) if control.curve else None
    return Controller(control.endpoint, keys)
