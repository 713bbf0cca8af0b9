"""Handing an on-demand audit to a running kernel, over the bus, from ``kernel report``.

The CLI publishes on the bus's publish endpoint like any remote actor; the
kernel's recorder journals the frame (source ``bus:kernel-report``) and every
subscriber (the tap, a dashboard) sees it. A PUB socket drops what it sends
before its connection is up, so the CLI first sends probes on a ``_sync.``
topic (never journaled) until its own SUB sees one come back through the
kernel's proxy, then publishes once and waits to see that copy too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import zmq

from bus.protocol import Message
from bus.pubsub import Publisher, parse_frames

SOURCE = "kernel-report"


def publish_via_bus(message: Message, *, publish_endpoint: str, subscribe_endpoint: str,
                    timeout_s: float = 2.0, source: str = SOURCE) -> bool:
    """Publish ``message`` once the path through the kernel is live; True when it
    was seen coming back (so the kernel's recorder had it too)."""
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    probe = f"_sync.{source}.{os.getpid()}"
    sub: zmq.Socket[bytes] = context.socket(zmq.SUB)
    sub.linger = 0
    sub.subscribe(probe.encode())
    sub.subscribe(message.topic.encode())
    sub.connect(subscribe_endpoint)
    publisher = Publisher(context, publish_endpoint, source=source)
    deadline = time.monotonic() + timeout_s
    try:
        if not _await_topic(sub, deadline, probe,
                            lambda: publisher.send_raw(probe, b"", journaled=True)):
            return False
        payload = publisher.publish(message)
        return _await_topic(sub, deadline, message.topic, lambda: None, payload=payload)
    finally:
        publisher.close()
        sub.close(linger=0)


def _await_topic(sub: zmq.Socket[bytes], deadline: float, topic: str,
                 each: Callable[[], None], payload: bytes | None = None) -> bool:
    """Call ``each`` and poll until ``topic`` (with ``payload``, if given) comes back."""
    while time.monotonic() < deadline:
        each()
        if sub.poll(50):
            frame = parse_frames(sub.recv_multipart())
            if frame.topic == topic and (payload is None or frame.payload == payload):
                return True
    return False
