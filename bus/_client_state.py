"""The bot link's view of the kernel's reachability, and the socket it is read from.

Kept apart from the sending and matching so that the rules for "say hello
again" and "how long has the kernel been gone" are a few lines of plain state,
driven by socket-monitor events and a time passed in.
"""

from __future__ import annotations

from typing import Final

import zmq

MONITORED: Final = zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED


class Reachability:
    """Connected or not, since when, and whether a new kernel still needs our hello.

    A hello is due again only after a connection that carried one was lost and a
    new one came up: the first connection needs the bot's own ``hello()``, and
    the handshake events of a connection that already got a hello change nothing.
    """

    def __init__(self, now: float) -> None:
        self.connected = False
        self.down_since = now
        """Before the first connection, the link counts from its creation."""
        self.hello_due = False
        self._said_hello = False
        self._lost_since_hello = False

    def on_event(self, event: int, now: float) -> None:
        if event == zmq.EVENT_DISCONNECTED and self.connected:
            self.connected, self.down_since = False, now
            self._lost_since_hello = self._said_hello
        elif event in (zmq.EVENT_CONNECTED, zmq.EVENT_HANDSHAKE_SUCCEEDED):
            # CONNECTED is the TCP connection; with ``immediate`` the socket takes
            # frames only after the handshake, so a hello sent on CONNECTED may have
            # to wait for HANDSHAKE_SUCCEEDED: the link retries until it goes out.
            self.connected = True
            if self._lost_since_hello:
                self._lost_since_hello, self.hello_due = False, True

    def hello_sent(self) -> None:
        self._said_hello, self._lost_since_hello, self.hello_due = True, False, False

    def seen_s_ago(self, now: float) -> float:
        return 0.0 if self.connected else max(0.0, now - self.down_since)


def dealer(context: zmq.Context[zmq.Socket[bytes]], zmtp_heartbeat_s: float) -> zmq.Socket[bytes]:
    """A DEALER that queues nothing while the kernel is away and notices a frozen one.

    ``immediate``: with no connection a send fails at once, so an order is denied
    now instead of reaching a later kernel long after the bot gave up on it.
    ZMTP heartbeats: a kernel that stops answering pings (frozen, or its host
    gone) is disconnected after ``3 × zmtp_heartbeat_s``; a merely quiet one is not.
    """
    socket = context.socket(zmq.DEALER)
    socket.linger = 0
    socket.immediate = True
    socket.reconnect_ivl = 100
    socket.reconnect_ivl_max = 1000
    if zmtp_heartbeat_s > 0:
        socket.heartbeat_ivl = round(zmtp_heartbeat_s * 1000)
        socket.heartbeat_timeout = round(zmtp_heartbeat_s * 3000)
        socket.heartbeat_ttl = round(zmtp_heartbeat_s * 3000)
    return socket
