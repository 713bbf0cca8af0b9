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
        watch = _Watch(sock, monitor, endpoint, timeout_s)
        payload = _encoder.encode(request)
        while True:  # a blocking send would wait forever on a socket whose handshake failed
            watch.until(zmq.POLLOUT)
            try:
                sock.send(payload, zmq.NOBLOCK)
                break
            except zmq.Again:
                continue
        watch.until(zmq.POLLIN)
        reply = _decoder.decode(sock.recv())
    finally:
        sock.disable_monitor()
        monitor.close(linger=0)
        sock.close(linger=0)
    if isinstance(reply, ControlError):
        raise ControlRefused(reply.reason)
    return reply


class _Watch:
    """One request's wait, to send and then to read, within one timeout; raises when
    the wait will not end well.

    A connection refused before any was made means nothing listens on the endpoint:
    no kernel runs with this config, which ``kernel halt`` should say at once, not
    after ten seconds. Once connected, only the timeout ends the wait (a kernel
    whose journal fails answers within it). A handshake the kernel refused (a key it
    does not know, or no key where it wants one) can leave the socket nothing to send
    to; that wait ends at the deadline too, and says which it was."""

    def __init__(self, sock: zmq.Socket[bytes], monitor: zmq.Socket[bytes], endpoint: str,
                 timeout_s: float) -> None:
        self._sock, self._monitor, self._endpoint = sock, monitor, endpoint
        self._timeout_s = timeout_s
        self._deadline = time.monotonic() + timeout_s
        self._connected = self._key_refused = False

    def until(self, flag: int) -> None:
        """Return once the socket is ready for ``flag`` (``POLLOUT`` or ``POLLIN``)."""
        poller = zmq.Poller()
        poller.register(self._sock, flag)
        poller.register(self._monitor, zmq.POLLIN)
        while (left := self._deadline - time.monotonic()) > 0:
            ready = dict(poller.poll(max(1, int(left * 1000))))
            if self._sock in ready:
                return
            while self._monitor in ready and self._monitor.poll(0):
                self._note(parse_monitor_message(self._monitor.recv_multipart())["event"])
        if self._key_refused:
            raise ControlRefused(f"the kernel on {self._endpoint} refused this client's key. "
                                 "Fix: add its public key to the kernel's authorized/ folder.")
        raise KernelUnreachable(f"no kernel answered on {self._endpoint} within "
                                f"{self._timeout_s:g} s: {_IS_IT_RUNNING}")

    def _note(self, event: int) -> None:
        self._connected |= event == zmq.EVENT_CONNECTED
        self._key_refused |= event == zmq.EVENT_HANDSHAKE_FAILED_AUTH
        if event == zmq.EVENT_CONNECT_RETRIED and not self._connected:
            raise KernelUnreachable(f"nothing listens on {self._endpoint} (connection "
                                    f"refused): {_IS_IT_RUNNING}")


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
