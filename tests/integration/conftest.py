"""Fixtures shared by the integration tests of the bus."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from bus.proxy import INPROC_PUBLISH, BusProxy
from bus.pubsub import Publisher


@pytest.fixture
def publisher() -> Iterator[Publisher]:
    """The kernel's publisher on a real bus proxy in this process (inproc)."""
    context: zmq.Context[Any] = zmq.Context()
    proxy = BusProxy(context)
    proxy.start()
    publisher = Publisher(context, INPROC_PUBLISH, source="tester")
    try:
        yield publisher
    finally:
        publisher.close()
        proxy.stop()
        context.term()
