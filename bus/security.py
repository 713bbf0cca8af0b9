"""Loopback by default: a socket bound beyond loopback must carry CurveZMQ keys.

The kernel's sockets carry orders and commands; exposing them on a network
interface without authentication would let anyone on that network trade. So a
non-loopback TCP bind is refused unless the socket is already a CURVE server.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import zmq


class InsecureBindError(Exception):
    """A non-loopback bind was asked for without CurveZMQ keys."""


def is_loopback(endpoint: str) -> bool:
    """``ipc://`` and ``inproc://`` are local; ``tcp://`` must name a loopback host."""
    if not endpoint.startswith("tcp://"):
        return True
    host = endpoint[len("tcp://"):].rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # an interface name or "*": not provably loopback


def bind_checked(sock: zmq.Socket[Any], endpoint: str) -> str:
    """Bind, refusing an unauthenticated non-loopback endpoint; return the
    actual endpoint (a ``*`` port resolved)."""
    if not is_loopback(endpoint) and not sock.get(zmq.CURVE_SERVER):
        raise InsecureBindError(
            f"refusing to bind {endpoint}: it is not a loopback address and no CurveZMQ "
            "keys are configured. Fix: bind to 127.0.0.1, or configure CurveZMQ keys."
        )
    sock.bind(endpoint)
    last = sock.get(zmq.LAST_ENDPOINT)
    return last.decode() if isinstance(last, bytes) else str(last)
