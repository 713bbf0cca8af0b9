"""A stand-in for the kernel's gateway: a real ROUTER on loopback, in a thread of its own,
that answers the bot library as a policy says (tests/integration/test_client*.py)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import zmq

from bus.codec import bot_frame_decoder, encode, encode_json, is_json
from bus.protocol import (
    BotToKernel,
    Hello,
    KernelToBot,
    OrderDecision,
    OrderRequest,
    Welcome,
)

Policy = Callable[[BotToKernel], list[KernelToBot]]


def allow(order: OrderRequest) -> OrderDecision:
    return OrderDecision(request_id=order.request_id, verdict="ALLOW", reason="within limits",
                         code="ok", trading_state="ACTIVE")


def deny(order: OrderRequest, code: str = "daily_loss_limit") -> OrderDecision:
    return OrderDecision(request_id=order.request_id, verdict="DENY", reason="limit reached",
                         code=code, trading_state="HALTED")


def welcome(interval: float = 0.5) -> Welcome:
    return Welcome(heartbeat_interval_s=interval, trading_state="ACTIVE", risk_multiplier=0.5)


def standard(message: BotToKernel) -> list[KernelToBot]:
    """Welcome every hello, allow every order, answer nothing else (like the gateway)."""
    match message:
        case Hello():
            return [welcome()]
        case OrderRequest():
            return [allow(message)]
    return []


class Gateway:
    """A ROUTER in a thread: records what bots send and answers through ``policy``."""

    def __init__(self, endpoint: str = "tcp://127.0.0.1:*", policy: Policy = standard) -> None:
        self.policy = policy
        self.received: list[BotToKernel] = []
        self.raw: list[bytes] = []
        self._changed = threading.Condition()
        self._outbox: list[KernelToBot] = []
        self._stop = threading.Event()
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
        self._socket = context.socket(zmq.ROUTER)
        self._socket.linger = 0
        _bind(self._socket, endpoint)
        self.endpoint = self._socket.LAST_ENDPOINT.decode()
        self._peer: tuple[bytes, bool] | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def push(self, message: KernelToBot) -> None:
        """Send to the last bot heard from (a command, or a late decision)."""
        with self._changed:
            self._outbox.append(message)

    def wait_for(self, predicate: Callable[[list[BotToKernel]], bool],
                 timeout_s: float = 5.0) -> list[BotToKernel]:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self.received), timeout_s):
                raise AssertionError(f"gateway never saw it; got {self.received!r}")
            return list(self.received)

    def of_type(self, kind: type[Any]) -> list[Any]:
        with self._changed:
            return [m for m in self.received if isinstance(m, kind)]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                if self._socket.poll(10):
                    identity, frame = self._socket.recv_multipart()
                    self._peer = (identity, is_json(frame))
                    message = bot_frame_decoder.decode(frame)
                    with self._changed:
                        self.received.append(message)
                        self.raw.append(frame)
                        self._changed.notify_all()
                    self._reply(self.policy(message))
                with self._changed:
                    pending, self._outbox = self._outbox, []
                self._reply(pending)
        finally:
            self._socket.close(linger=0)

    def _reply(self, messages: list[KernelToBot]) -> None:
        if messages and self._peer is not None:
            identity, as_json = self._peer
            for message in messages:
                body = encode_json(message) if as_json else encode(message)
                self._socket.send_multipart([identity, body])


def _bind(socket: zmq.Socket[bytes], endpoint: str) -> None:
    """Rebinding the port a stopped gateway just left can take a moment."""
    deadline = time.monotonic() + 5
    while True:
        try:
            socket.bind(endpoint)
            return
        except zmq.ZMQError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class socket_nobody_listens_on:
    """A loopback endpoint that was free a moment ago: connecting gets refused.

    ZeroMQ closes the probe's listening socket in its own thread, after ``close``
    returns; a link that connected before that could finish its handshake with the
    dying socket and see its order vanish. So the endpoint is handed out only once a
    plain TCP connect to it is refused."""

    def __enter__(self) -> str:
        probe: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.ROUTER)
        probe.bind("tcp://127.0.0.1:*")
        self.endpoint = str(probe.LAST_ENDPOINT.decode())
        probe.close(linger=0)
        port = int(self.endpoint.rsplit(":", 1)[1])
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            except ConnectionRefusedError:
                return self.endpoint
            except OSError:  # reset: the listener closed while this connect waited on it
                pass
            time.sleep(0.01)
        raise AssertionError(f"{self.endpoint} still accepts connections 5 s after its close")

    def __exit__(self, *exc: object) -> None:
        return None
