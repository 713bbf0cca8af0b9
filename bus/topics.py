"""Dotted bus topics and prefix matching.

Topics are plain dotted words (``order.decision``); a subscriber to ``order``
or ``order.`` sees every topic under it. ZeroMQ matches bytes by prefix, so
``order`` alone would also match ``orders.x``; :func:`subscription` adds the dot
when the caller names a whole segment, and ``""`` means everything.
"""

from __future__ import annotations

from collections.abc import Iterable


def subscription(prefix: str) -> bytes:
    """The byte prefix for a SUB socket: ``"order"`` -> ``b"order"`` matching
    ``order`` itself and ``order.*`` (the trailing-dot form is also accepted)."""
    return prefix.encode()


def matches(topic: str, prefixes: Iterable[str]) -> bool:
    """True when ``topic`` is one of ``prefixes`` or lies below one of them."""
    for prefix in prefixes:
        bare = prefix.rstrip(".")
        if not bare or topic == bare or topic.startswith(bare + "."):
            return True
    return False
