"""A dict with a size limit, for state keyed by what outside input names.

A bot, a chat or a vendor can name any number of bot ids, symbols or request ids;
whatever the kernel remembers per such key must stop growing at a known size, or a
buggy bot flooding with fresh names grows the kernel's memory without end. Every
per-key structure of the kernel and its actors is listed with its bound in
docs/architecture.md ("Bounded state").

The eviction rule is least recently *written* first: setting a key makes it the
newest; reading does not (a read on the hot path stays a plain dict lookup).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedDict(OrderedDict[K, V]):
    """Holds at most ``limit`` keys; adding one more evicts the least recently written."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a BoundedDict needs a limit of at least 1, got {limit}")
        super().__init__()
        self.limit = limit
        self.evicted = 0
        """Keys dropped to stay within the limit since this dict was made."""

    def __setitem__(self, key: K, value: V) -> None:
        if key in self:
            self.move_to_end(key)
        OrderedDict.__setitem__(self, key, value)
        while len(self) > self.limit:
            self.popitem(last=False)
            self.evicted += 1

    def setdefault(self, key: K, default: V) -> V:
        """Through ``__setitem__``, so a new key counts against the limit."""
        if key in self:
            return self[key]
        self[key] = default
        return default
