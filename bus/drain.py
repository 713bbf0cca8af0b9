"""Reading a plain ZeroMQ socket from an asyncio loop at the speed of the socket.

Awaiting ``zmq.asyncio`` once per message costs a future and a loop turn each
time. Registering the socket's file descriptor with the loop and, on each
wake-up, draining every ready message with ``NOBLOCK`` keeps latency within a
few microseconds of a blocking loop. Two subtleties of ZeroMQ's edge-triggered
FD are handled here: the FD may not fire again while messages remain, so each
wake-up reads until ``recv`` says ``EAGAIN`` (which, like ``EVENTS``, makes
libzmq process its pending commands and so re-arms the FD); and a send on the
same socket can consume the edge, so senders call :meth:`SocketDrain.after_send`
(once after a burst of sends is enough).

A wake-up handles at most ``batch`` messages before yielding to other tasks,
so a flood on one socket cannot starve the loop. ``on_batch_end`` runs after
every wake-up that handled messages: the place to finish work per burst (one
journal commit for every decision of the burst, say) rather than per message.

On a ROUTER socket ``per_sender`` bounds one peer's share of a wake-up while more
than one peer is at work (another was heard within :data:`CROWD_S`): the wake-up
ends once a sender has had that many messages, or ``per_sender_bytes`` of them (a
share counted in frames alone let eight 200 kB frames of garbage, half a millisecond
each to read and refuse, stand before another link's order), and the rest wait in
ZeroMQ's queue for the next one. A peer alone gets the whole batch: each wake-up
ends in one journal commit, and at 64 orders in flight from one bot a share of 8
cost a third of its rate, for no one. A peer that speaks after a silence waits for
at most the rest of one batch, and from then on the share holds. ZeroMQ fair-queues
reads across peers, so by then every other peer with work has had its turn too; what
the share bounds is how much of one link's backlog is handled (and its burst
finished: committed, answered, its bus messages worked through by the actors) before
another link's next message is read (docs/architecture.md, "Fairness"). A wake-up
ended that way never saw ``EAGAIN``, so it checks ``EVENTS`` instead: libzmq takes
its pending commands (a peer's queue filled again, say) only then or every hundred
reads, and without it a link's refilled queue was read at a few frames a second.

A handler may :meth:`~SocketDrain.hold` the sender of the message it was given (a
link over its budget of bad input). The wake-up then ends at the second held message
in a row: ZeroMQ's round over the peers' queues found every other one empty in
between, which puts each to sleep, so another peer's next message fires the FD. The
next wake-up waits :data:`HOLD_S` (asyncio's timers wake in whole milliseconds)
unless the FD fires first, and starts by taking libzmq's pending commands, so a peer
whose message just arrived is in the round. While held, the sender's queue in
ZeroMQ fills, libzmq stops reading its connection, and its sends wait at its end:
the flood costs two to four frames a wake-up instead of every core's time. (Ending
at the held sender's second message anywhere, the first version, left a quiet
peer's queue awake after its message was read, and its next message waited for a
timed wake-up: 1.7 ms from send to read, median, against 0.4-0.6 ms now.) A held
sender's messages do not count toward its share of a wake-up either: they are dropped
unread, and a 200 kB frame of garbage met the byte share at once, ending every
wake-up before the round reached the other peers (2.5 ms from send to read).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import zmq

from bus.frames import NOBLOCK, recv_frames

OnMessage = Callable[[list[bytes]], None]
Receive = Callable[[zmq.Socket[Any], int], list[bytes]]

CROWD_S = 1.0
"""How long after hearing a second peer ``per_sender`` keeps applying."""
HOLD_S = 0.001
"""How long a wake-up that held a sender waits before reading again, unless the socket's
FD fires first (see :meth:`SocketDrain.hold`)."""


class SocketDrain:
    """Calls ``on_message(frames)`` in the loop for every message on ``sock``."""

    def __init__(self, sock: zmq.Socket[Any], on_message: OnMessage, *, batch: int = 512,
                 on_batch_end: Callable[[], None] | None = None,
                 receive: Receive = recv_frames, per_sender: int = 0,
                 per_sender_bytes: int = 0) -> None:
        """``receive``: how one message is read (the bot link under CurveZMQ also
        reads who sent it). ``per_sender``: on a ROUTER, the most messages of one
        peer (keyed by its identity frame) per wake-up; 0: no such bound.
        ``per_sender_bytes``: with ``per_sender``, the share ends too once the
        peer's messages this wake-up reach this many bytes; 0: no such bound."""
        self._sock = sock
        self._receive = receive
        self._on_message = on_message
        self._on_batch_end = on_batch_end
        self._batch = batch
        self._per_sender = per_sender
        self._per_sender_bytes = per_sender_bytes
        self._last_sender: bytes | None = None
        self._last_heard = float("-inf")
        """Monotonic time of the wake-up that last heard :attr:`_last_sender`."""
        self._crowded_until = 0.0
        """Monotonic time until which the share applies (see :data:`CROWD_S`)."""
        self.turns = 0
        """Wake-ups that handled messages (each ended by :attr:`on_batch_end`)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fd: int = int(sock.getsockopt(zmq.FD))
        self._scheduled = False
        self._holds = 0
        """Times the handler called :meth:`hold` in the wake-up under way."""
        self._holding = False
        """The last wake-up held a sender (the next one starts by taking libzmq's commands)."""
        self._held_until = 0.0
        """Monotonic time before which no wake-up is scheduled but by the socket's FD."""
        self._later: asyncio.TimerHandle | None = None
        self.holds = 0
        """Wake-ups that ended holding a sender (each followed by a :data:`HOLD_S` wait)."""

    def start(self) -> None:
        """Start, or start again after :meth:`stop` (messages may already wait: the FD's
        edge is gone, so a first wake-up is scheduled either way)."""
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._fd, self._wake)
        self._scheduled = False
        self._schedule()

    def stop(self, *, read_queued: bool = False) -> None:
        """Stop reading (:meth:`start` again resumes). ``read_queued``: first handle what
        already waits in ZeroMQ's queue, when the socket is about to close: a peer's last
        message (a bot's acknowledgement of a shutdown command, sent as it exits) is then
        handled rather than closed with the socket."""
        if read_queued and self._loop is not None:
            self._wake()
        if self._later is not None:
            self._later.cancel()
            self._later = None
        if self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._loop = None

    def hold(self) -> None:
        """Called by the handler for a sender to read slowly: the wake-up ends at the
        second held message in a row, and the next waits :data:`HOLD_S` unless the
        socket's FD fires first."""
        self._holds += 1

    def after_send(self) -> None:
        """Re-check for input after a send, which may have swallowed the FD edge."""
        if self._loop is not None and readable(self._sock):
            self._schedule()

    def _schedule(self) -> None:
        if self._scheduled or self._loop is None:
            return
        self._scheduled = True
        if time.monotonic() < self._held_until:  # a held sender: later, or at the FD's call
            self._later = self._loop.call_at(self._held_until - time.monotonic()
                                             + self._loop.time(), self._wake)
        else:
            self._loop.call_soon(self._wake)

    def _wake(self) -> None:
        self._scheduled = False
        if self._later is not None:  # the FD called first: new input, read it now
            self._later.cancel()
            self._later = None
        if self._loop is None:
            return
        sock, handle, receive = self._sock, self._on_message, self._receive
        share, share_bytes = self._per_sender, self._per_sender_bytes
        shares: dict[bytes, tuple[int, int]] = {}
        now = time.monotonic() if share else 0.0
        crowded = bool(share) and now < self._crowded_until
        handled = self._holds = 0
        run = -1  # held messages in a row; the first may be the last wake-up's prefetch
        if self._holding:  # another peer's new message: its queue joins the round now
            readable(sock)
        try:
            while handled < self._batch:
                try:
                    frames = receive(sock, NOBLOCK)
                except zmq.Again:
                    self._holding = False  # every queue read empty: each one's next fires
                    return
                handled += 1
                holds = self._holds
                handle(frames)
                if self._loop is None:  # the handler stopped us
                    return
                held = self._holds > holds
                run = run + 1 if held else 0
                if run >= 2:  # held twice in a row: the round found every other queue
                    break  # empty, so each one's next message fires the FD
                if share and frames:
                    crowded = self._note_sender(frames[0], now) or crowded
                    if held:  # dropped unread: no work to share; the run above bounds it
                        continue
                    size = sum(map(len, frames)) if share_bytes else 0
                    if _had_its_share(shares, frames[0], share, size, share_bytes) \
                            and crowded:
                        readable(sock)  # as EAGAIN would: libzmq takes its pending commands
                        break
            self._holding = bool(self._holds)
            if self._holding:
                readable(sock)  # take libzmq's commands, so another peer's input fires the FD
                self.holds += 1
                self._held_until = time.monotonic() + HOLD_S
            self._schedule()  # more may be waiting: continue after other tasks ran
        finally:
            if handled:
                self.turns += 1
                if self._on_batch_end is not None:
                    self._on_batch_end()

    def _note_sender(self, sender: bytes, now: float) -> bool:
        """True when ``sender`` is not the last peer heard and that one was heard within
        :data:`CROWD_S`: then peers share. A peer that takes over from one silent for
        longer is alone, and keeps whole batches."""
        if sender == self._last_sender:
            self._last_heard = now
            return False
        recent = now - self._last_heard < CROWD_S
        self._last_sender, self._last_heard = sender, now
        if not recent:
            return False
        self._crowded_until = now + CROWD_S
        return True


def _had_its_share(shares: dict[bytes, tuple[int, int]], sender: bytes, share: int,
                   size: int, share_bytes: int) -> bool:
    """Count one message of ``sender``, ``size`` bytes; True once it has had ``share``
    messages this wake-up, or ``share_bytes`` (when not 0) of them."""
    count, held = shares.get(sender, (0, 0))
    count, held = count + 1, held + size
    shares[sender] = (count, held)
    return count >= share or 0 < share_bytes <= held


_EVENTS = int(zmq.EVENTS)
_POLLIN = int(zmq.POLLIN)
"""Plain ints: enum arithmetic costs more than the socket option itself."""


def readable(sock: zmq.Socket[Any]) -> bool:
    """True when a message can be read now (ZeroMQ's EVENTS, not the FD's state).

    Cheaper than a ``NOBLOCK`` receive that fails: pyzmq builds an exception for
    every ``EAGAIN``, which costs several times this check."""
    events: Any = sock.getsockopt(_EVENTS)  # an int for this option
    return bool(events & _POLLIN)
