"""Multipart send and receive with plain-int flags, for the hot paths.

pyzmq's ``send_multipart`` computes ``zmq.SNDMORE | flags`` and its
``recv_multipart`` asks for ``zmq.RCVMORE`` through enum classes: a few
microseconds of enum arithmetic per call, which on the order gate's path (a
request and a decision published, a reply sent, a request read) added up to
several percent of the kernel's time. These do the same with ints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import zmq

NOBLOCK: Final = int(zmq.NOBLOCK)
_SNDMORE: Final = int(zmq.SNDMORE)
_RCVMORE: Final = int(zmq.RCVMORE)


_send: Final = zmq.backend.Socket.send
"""libzmq's send as pyzmq's backend has it. ``zmq.Socket.send`` wraps it in Python for
the draft API's ``routing_id`` and ``group``, which no socket here uses: about 0.3 µs a
part, a reply being two (``scripts/bench_link_io.py``)."""


def send_frames(sock: zmq.Socket[Any], frames: Sequence[bytes], flags: int = 0) -> None:
    """Send ``frames`` as one message; ``flags`` (say ``NOBLOCK``) apply to every part.
    For plain sockets (a ``zmq.asyncio`` socket's own ``send`` is not the one called)."""
    last = len(frames) - 1
    more = flags | _SNDMORE
    for index, frame in enumerate(frames):
        _send(sock, frame, more if index < last else flags)


def recv_frames_as(sock: zmq.Socket[Any], flags: int = 0) -> tuple[list[bytes], str]:
    """Every part of one message, and its ``User-Id`` (who the ZAP handler said sent it;
    "" without authentication)."""
    parts = [sock.recv(flags, copy=False)]
    while parts[-1].more:
        parts.append(sock.recv(flags, copy=False))
    user = parts[-1].get("User-Id")
    return [p.bytes for p in parts], user if isinstance(user, str) else ""


def recv_frames(sock: zmq.Socket[Any], flags: int = 0) -> list[bytes]:
    """Receive every part of one message as bytes."""
    frames: list[bytes] = [sock.recv(flags)]
    while sock.getsockopt(_RCVMORE):
        frames.append(sock.recv(flags))
    return frames


def recv_routed(sock: zmq.Socket[Any], flags: int = 0) -> list[bytes]:
    """Every part of one message from a ROUTER socket as bytes, in fewer calls.

    A ROUTER's message is always its sender's identity and at least one part after
    it, so the identity's ``RCVMORE`` is not asked; each later part is read as a
    frame, whose ``more`` says what ``RCVMORE`` would. pyzmq turns the option of every
    ``getsockopt`` into an enum member first: two of them cost more than the two
    reads (``scripts/bench_link_io.py``: 1.1-1.2 against 2.2 CPU µs a message).
    """
    frames: list[bytes] = [sock.recv(flags)]
    part = sock.recv(flags, copy=False)
    frames.append(part.bytes)
    while part.more:
        part = sock.recv(flags, copy=False)
        frames.append(part.bytes)
    return frames
