"""A bare ROUTER on loopback with two DEALERs, a flooder and a quiet one: the drain's
fairness tests read it without a kernel in between."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import zmq

RouterPair = tuple[zmq.Socket[Any], zmq.Socket[Any], zmq.Socket[Any]]
"""The ROUTER, the flooding DEALER (identity ``flooder``), the quiet one (``quiet``)."""


def router_pair() -> Iterator[RouterPair]:
    """Yield the sockets once (a fixture's body), then close them all."""
    context: zmq.Context[Any] = zmq.Context()
    sock = context.socket(zmq.ROUTER)
    sock.linger = 0
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    dealers = []
    for name in (b"flooder", b"quiet"):
        dealer = context.socket(zmq.DEALER)
        dealer.linger, dealer.identity = 0, name
        dealer.connect(f"tcp://127.0.0.1:{port}")
        dealers.append(dealer)
    try:
        yield sock, dealers[0], dealers[1]
    finally:
        for s in (sock, *dealers):
            s.close(linger=0)
        context.term()
