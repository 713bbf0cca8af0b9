"""Recent request ids, for duplicate rejection: asked on every order, so O(1).

The saved shape is the one of old (``recent`` then ``chunks``: only the last chunk
is copied on each order, full chunks are frozen sets dropped oldest first), so every
saved state restores. What is new is an index kept beside the fields (the Struct's
``__dict__``: never saved, compared or copied): a dict of every id ever added, each
with its serial number, shared along one line of states, and for each state the
serials ``[lo, hi)`` it holds. An id is held when its serial falls in the range, so
a question costs one dict look-up instead of a look at every chunk.

The shared dict only grows at its head: an id is added to it only by the state
that holds every id in it (``hi == len(log)``), so a state made earlier never sees
a later id (its ``hi`` is below the new serial). Any other addition (to an older
state, or of an id already in the log, or once the log has grown to twice what
is kept) starts a new log from the state's own ids: at 4,096 ids that is one
rebuild (about 0.4 ms) every 4,000 orders or so, and at most some 0.5 MB more
than the fields hold. The answers are the fields' answers; a state is extended
by one thread at a time (its engine's).
"""

from __future__ import annotations

from typing import Final, TypeAlias

import msgspec

ID_CHUNK: Final = 64
_Index: TypeAlias = tuple[dict[str, int], int, int]
"""(log: id -> serial, lo, hi): the ids a state holds are the log's serials in [lo, hi)."""


class RequestIds(msgspec.Struct, frozen=True, kw_only=True, dict=True):
    """Recent request ids, for duplicate rejection at O(chunk) cost per order.

    A flat tuple would copy every id on each order; here only the last chunk is
    copied and full chunks are frozen sets, dropped oldest first.
    """

    recent: tuple[str, ...] = ()
    chunks: tuple[frozenset[str], ...] = ()

    def __contains__(self, request_id: object) -> bool:
        index: _Index | None = self.__dict__.get("_index")
        if index is not None and type(request_id) is str:
            serial = index[0].get(request_id)
            return serial is not None and index[1] <= serial < index[2]
        if request_id in self.recent:
            return True
        for chunk in self.chunks:  # noqa: SIM110 - any() over a generator is 3x slower here
            if request_id in chunk:
                return True
        return False

    def add(self, request_id: str, capacity: int) -> RequestIds:
        """Remember one more id; at least the last ``capacity`` (in 64s) are kept."""
        recent = (*self.recent, request_id)
        frozen = len(recent) >= ID_CHUNK
        if frozen:
            keep = max(1, capacity // ID_CHUNK)
            after = RequestIds(chunks=(*self.chunks, frozenset(recent))[-keep:])
        else:
            after = RequestIds(recent=recent, chunks=self.chunks)
        index: _Index | None = self.__dict__.get("_index")
        if index is not None and type(request_id) is str:
            log, lo, hi = index
            if len(log) == hi and hi < 2 * capacity + ID_CHUNK and request_id not in log:
                log[request_id] = hi
                if frozen:  # a chunk was frozen, and old ones maybe dropped
                    lo = hi + 1 - sum(map(len, after.chunks))
                after.__dict__["_index"] = (log, lo, hi + 1)
                return after
        built = _index_of(after)
        if built is not None:
            after.__dict__["_index"] = built
        return after


def _index_of(ids: RequestIds) -> _Index | None:
    """A new log of the ids ``ids`` holds, oldest first; None when an id is not text
    or is held twice (the fields answer then, as they always did)."""
    log: dict[str, int] = {}
    for chunk in ids.chunks:
        for request_id in chunk:
            log[request_id] = len(log)
    for request_id in ids.recent:
        log[request_id] = len(log)
    if len(log) != len(ids.recent) + sum(map(len, ids.chunks)):
        return None
    if not all(type(request_id) is str for request_id in log):
        return None
    return log, 0, len(log)
