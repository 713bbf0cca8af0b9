"""A link's budget of bad input: frames the gateway cannot take, answered one by one
up to a rate, then dropped, counted, and read slowly.

A frame that does not decode, is over ``max_frame_bytes`` or has the wrong number of
parts is answered with an ``error`` that says why, so a bot with a bug learns what is
wrong with its frames. A link sending nothing else as fast as it can (200 kB of random
bytes, a fuzzer) made the kernel read, refuse and answer every frame, and libzmq's I/O
thread copy it from TCP first: both cores went to the flood, and another bot's order
waited for a core. So each link has :data:`BAD_FRAMES_PER_S` bad frames and
:data:`BAD_BYTES_PER_S` bytes of them a second, in a bucket a second deep (the links
that have not said hello share one). Within it, each bad frame is answered as before.
Beyond it the frame is dropped unanswered and counted; once a second the link gets one
``error link_flooded`` that says how many were dropped since the last (journaled as an
anomaly of the same kind, rate-limited like every other); and the gateway holds the
link (:meth:`bus.drain.SocketDrain.hold`): its next frames are read two to four a
wake-up, a millisecond apart, so its queue in ZeroMQ fills and its sends wait at its
end, while another link's frame still wakes the loop at once. An order that
fails to decode is never dropped: it is answered DENY ``invalid_request`` as before,
outside the budget. Nothing a well-behaved bot sends is
bad input, and a bot that sends some now and then is far below the budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from bus.drain import SocketDrain

BAD_FRAMES_PER_S: Final = 100.0
BAD_BYTES_PER_S: Final = 1024.0 * 1024.0
"""Bad frames, and bytes of them, answered per link per second (and at once)."""
NOTICE_EVERY_S: Final = 1.0
"""While a link's bad frames are dropped, how often it is told (and the drop journaled)."""


@dataclass(slots=True)
class BadInputBudget:
    """Two token buckets (frames, bytes) of one link's bad input: O(1) per frame, time
    passed in; a clock that steps back gives no tokens."""

    frames: float = BAD_FRAMES_PER_S
    bytes: float = BAD_BYTES_PER_S
    ts: float = 0.0
    dropped: int = 0
    """Dropped since the last notice."""
    dropped_total: int = 0
    noticed: float = float("-inf")

    def spend(self, now: float, size: int) -> str | None:
        """None: answer this bad frame of ``size`` bytes. Otherwise it is dropped: the
        words of the notice to send now (one a :data:`NOTICE_EVERY_S`), or ""."""
        elapsed, self.ts = max(0.0, now - self.ts), now
        self.frames = min(BAD_FRAMES_PER_S, self.frames + elapsed * BAD_FRAMES_PER_S)
        self.bytes = min(BAD_BYTES_PER_S, self.bytes + elapsed * BAD_BYTES_PER_S)
        cost = min(float(size), BAD_BYTES_PER_S)  # one frame at most a second's worth
        if self.frames >= 1.0 and self.bytes >= cost:
            self.frames, self.bytes = self.frames - 1.0, self.bytes - cost
            return None
        self.dropped += 1
        self.dropped_total += 1
        if now - self.noticed < NOTICE_EVERY_S:
            return ""
        dropped, self.dropped, self.noticed = self.dropped, 0, now
        return (f"bad frames beyond this link's budget ({BAD_FRAMES_PER_S:.0f} a second, "
                f"{BAD_BYTES_PER_S / 1024 / 1024:.0f} MiB a second): {dropped} dropped "
                "unanswered since the last notice; this link is read slowly until its "
                "frames decode again")


class BadInput:
    """Answers a bad frame within its link's budget; beyond it, drops it, holds the link
    (its next frames wait in ZeroMQ's queue, then at the bot) and tells it once a second."""

    def __init__(self, budget_of: Callable[[bytes], BadInputBudget], clock: Callable[[], float],
                 reply: Callable[[bytes, bool, str, str], None],
                 drain: Callable[[], SocketDrain | None]) -> None:
        """``reply(identity, as_json, reason, code)``: the gateway's ``error`` reply,
        journaled as an anomaly; ``drain``: the bot link's reader, once it runs."""
        self._budget_of = budget_of
        self._clock = clock
        self._reply = reply
        self._drain = drain

    def refuse(self, identity: bytes, as_json: bool, reason: str, code: str, size: int) -> None:
        notice = self._budget_of(identity).spend(self._clock(), size)
        if notice is None:
            self._reply(identity, as_json, reason, code)
            return
        if notice:
            self._reply(identity, as_json, notice, "link_flooded")
        drain = self._drain()
        if drain is not None:
            drain.hold()
