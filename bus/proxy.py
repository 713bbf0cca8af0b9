"""The bus: XSUB/XPUB proxies running in their own threads at C speed.

Publishers connect to the XSUB side and subscribers to the XPUB side; the main
proxy is bound on inproc endpoints (inside the kernel) and on loopback TCP for
subscribers (``kernel tap`` and actors in other processes). Other processes
publish to an intake proxy of their own (TCP in, ``inproc://bus.remote`` out)
that the main proxy reads from as a subscriber: remote frames reach every
subscriber at C speed, and the kernel's recorder subscribes to the intake
alone, so it sees exactly the remote frames (to journal them) and never the
kernel's own traffic. The proxy is libzmq's own steerable proxy, so routing
costs no Python time; the kernel stops it by sending TERMINATE over a PAIR
socket.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Final

import zmq

from bus.security import bind_checked

INPROC_PUBLISH: Final = "inproc://bus.publish"
INPROC_SUBSCRIBE: Final = "inproc://bus.subscribe"
INPROC_REMOTE: Final = "inproc://bus.remote"
"""The intake proxy's output: what other processes published."""
_HWM: Final = 200_000
"""Queue depth per peer; a lagging remote subscriber loses frames only past this."""


class BusProxy:
    """Owns the proxy sockets; :meth:`start` binds synchronously so that an
    endpoint already in use is reported to the caller, not lost in a thread."""

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        *,
        publish_endpoints: Sequence[str] = (),
        subscribe_endpoints: Sequence[str] = (),
        upstream: Sequence[str] = (),
        inproc: bool = True,
        name: str = "bus-proxy",
    ) -> None:
        """``inproc``: also bind the kernel's inproc endpoints; ``upstream``: XPUB
        endpoints of other proxies to read from, as a subscriber."""
        self._context = context
        self._publish_endpoints = ((INPROC_PUBLISH, *publish_endpoints) if inproc
                                   else tuple(publish_endpoints))
        self._subscribe_endpoints = ((INPROC_SUBSCRIBE, *subscribe_endpoints) if inproc
                                     else tuple(subscribe_endpoints))
        self._upstream = tuple(upstream)
        self._name = name
        self._control_endpoint = f"inproc://bus.control.{id(self)}"
        self._thread: threading.Thread | None = None
        self._steer: zmq.Socket[bytes] | None = None
        """Connected at start, so the TERMINATE command never races a fresh connection."""
        self.publish_bound: list[str] = []
        """Actual XSUB endpoints, in the order asked (``tcp://127.0.0.1:*`` resolved)."""
        self.subscribe_bound: list[str] = []
        """Actual XPUB endpoints, in the order asked."""

    def start(self) -> None:
        xsub = self._context.socket(zmq.XSUB)
        xpub = self._context.socket(zmq.XPUB)
        control = self._context.socket(zmq.PAIR)
        sockets = (xsub, xpub, control)
        try:
            for sock in sockets:
                sock.linger = 0
            xsub.rcvhwm = _HWM
            xpub.sndhwm = _HWM
            self.publish_bound = [bind_checked(xsub, e) for e in self._publish_endpoints]
            self.subscribe_bound = [bind_checked(xpub, e) for e in self._subscribe_endpoints]
            for endpoint in self._upstream:
                xsub.connect(endpoint)
            control.bind(self._control_endpoint)
            steer: zmq.Socket[bytes] = self._context.socket(zmq.PAIR)
            self._steer = steer
            steer.connect(self._control_endpoint)
        except BaseException:
            for sock in sockets:
                sock.close(linger=0)
            if self._steer is not None:
                self._steer.close(linger=0)
            raise
        self._thread = threading.Thread(
            target=self._serve, args=(xsub, xpub, control), name=self._name, daemon=True
        )
        self._thread.start()

    @staticmethod
    def _serve(
        xsub: zmq.Socket[bytes], xpub: zmq.Socket[bytes], control: zmq.Socket[bytes]
    ) -> None:
        try:
            zmq.proxy_steerable(xsub, xpub, None, control)
        except zmq.ContextTerminated:
            pass
        finally:
            for sock in (xsub, xpub, control):
                sock.close(linger=0)

    def stop(self, timeout_s: float = 2.0) -> None:
        """Ask the proxy thread to end and wait for it (bounded)."""
        if self._thread is None or self._steer is None:
            return
        self._steer.send(b"TERMINATE")
        self._thread.join(timeout_s)
        self._steer.close(linger=0)
        self._steer = None
        if self._thread.is_alive():
            raise RuntimeError("the bus proxy thread did not stop")
        self._thread = None
