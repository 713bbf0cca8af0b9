"""AsyncBotLink after the kernel came back: its hello goes out before anything else.

A TCP relay on loopback stands between the link and a stand-in gateway (a real
ROUTER), so the test can hold a new connection at the point the link sees it up
(TCP connected) while its ZeroMQ handshake has not happened yet: the hello the
link tries then cannot go out, and stays due.
"""

from __future__ import annotations

import asyncio
import select
import socket
import threading

import zmq

from bus.client import AsyncBotLink
from bus.protocol import Hello
from tests.integration.test_client import eventually
from tests.support.stand_in_gateway import Gateway


class Relay:
    """Carries each connection made to it to ``target_port``, once ``carry`` is set."""

    def __init__(self, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"tcp://127.0.0.1:{self._listener.getsockname()[1]}"
        self.carry = threading.Event()
        self.carry.set()
        self._cut = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def cut(self) -> None:
        """Close the connection being carried and hold the next one (``carry`` cleared)."""
        self.carry.clear()
        self._cut.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            if not select.select([self._listener], [], [], 0.05)[0]:
                continue
            client, _ = self._listener.accept()
            with client:
                while not self.carry.wait(0.05):
                    if self._stop.is_set():
                        return
                with socket.create_connection(self._target) as server:
                    self._cut.clear()
                    self._carry(client, server)

    def _carry(self, client: socket.socket, server: socket.socket) -> None:
        while not (self._stop.is_set() or self._cut.is_set()):
            for ready in select.select([client, server], [], [], 0.05)[0]:
                data = ready.recv(65536)
                if not data:
                    return
                (server if ready is client else client).sendall(data)


async def test_async_the_hello_to_a_kernel_come_back_goes_before_a_heartbeat() -> None:
    gateway = Gateway()
    relay = Relay(int(gateway.endpoint.rsplit(":", 1)[1]))
    try:
        async with AsyncBotLink(relay.endpoint, bot_id="qe-test") as link:
            await link.hello()
            relay.cut()  # the kernel went away; the link's next connection is held
            await eventually(lambda: not link.connected)
            await eventually(lambda: link.connected)  # TCP up, no handshake: hello due
            assert link.stats.rehellos == 0
            # One turn of the loop: the link reads its socket (the hello still cannot
            # go), the handshake then completes, and the bot sends a heartbeat.
            link.kernel_seen_s_ago()
            relay.carry.set()
            assert link._socket.poll(10_000, zmq.POLLOUT), "the handshake never completed"
            link.heartbeat(uptime_s=1.0, equity=1000.0, realized_pnl=0.0, unrealized_pnl=0.0)
            got = await asyncio.to_thread(gateway.wait_for, lambda got: len(got) >= 3)
        assert isinstance(got[1], Hello), f"the new kernel heard {got[1]!r} before the hello"
    finally:
        relay.stop()
        gateway.stop()
