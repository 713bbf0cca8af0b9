"""Publishing from inside the kernel: journal first, then the bus.

Everything the kernel and its actors publish goes to the journal directly (an
in-memory queue that never drops) and then onto the bus, marked as already
journaled. So a slow subscriber can never cost a journal row, and a decision
can be made durable before the bot hears it (:meth:`Emitter.emit_durable`).

The kernel's own listeners get the message object itself with its frame
(``bus.pubsub.BusFrame.message``), not a copy decoded from the payload: the
payload is encoded once, for the journal and the socket, and never decoded in
this process. A message emitted here is a frozen Struct shared by every listener
and by the emitting code; nobody changes its list or dict fields after emitting it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import NamedTuple

from bus.codec import encode, encode_header
from bus.protocol import Message
from bus.pubsub import Publisher
from kernel.event_format import severity_of_message
from kernel.journal import Journal, JournalEntry


def bot_of(message: Message) -> str:
    """The one bot a message concerns ("" for none or all): the key the kernel's
    publisher routes it by, so in a fleet only that bot's engine and watchdog wake."""
    bot_id = getattr(message, "bot_id", "")
    return bot_id if isinstance(bot_id, str) else ""


def tag_of(message: Message) -> str:
    tag = type(message).__struct_config__.tag
    return tag if isinstance(tag, str) else type(message).__name__


class Staged(NamedTuple):
    """A message journaled but not yet published: see :meth:`Emitter.stage`."""

    topic: str
    payload: bytes
    committed: asyncio.Future[int]
    """Resolves to the journal seq once the row is committed, or fails with the commit."""
    bot_id: str = ""
    """The bot the message concerns (see :func:`bot_of`)."""
    message: Message | None = None
    """The message itself, handed to the kernel's listeners with its frame
    (``bus.pubsub.BusFrame.message``): they need not decode ``payload``."""


class Emitter:
    """Publishes on behalf of one source (an actor's name, ``gateway``, ...)."""

    def __init__(
        self, *, source: str, journal: Journal, publisher: Publisher, clock: Callable[[], float]
    ) -> None:
        self.source = source
        self._journal = journal
        self._publisher = publisher
        self.publisher = publisher
        """Shared with emitters for other sources (one PUB socket per kernel)."""
        self._clock = clock
        self._header = encode_header(source, journaled=True)

    def emit(self, message: Message, *, topic: str | None = None,
             ts: float | None = None) -> bytes:
        """Journal (queued) and publish; return the payload bytes. ``ts``: the row's
        time when the caller has read the clock already and acted at that reading
        (the gateway decides an order at it, and ``kernel replay`` decides it again
        at the row's time)."""
        topic = topic or message.topic
        payload = encode(message)
        self._journal.append(self._entry(message, topic, payload, ts))
        self._publisher.send_raw(topic, payload, header=self._header, bot_id=bot_of(message),
                                 message=message)
        return payload

    async def emit_durable(self, message: Message, *, topic: str | None = None) -> int:
        """Journal and wait for the commit, then publish; return the journal seq."""
        staged = self.stage(message, topic=topic)
        seq = await staged.committed
        self.publish(staged)
        return seq

    def stage(self, message: Message, *, topic: str | None = None) -> Staged:
        """Journal ``message`` without waiting; publish it with :meth:`publish` once
        ``committed`` is done. For bursts: stage many, :meth:`commit_now`, act on all."""
        topic = topic or message.topic
        payload = encode(message)
        return Staged(topic, payload, self._journal.append_waitable(
            self._entry(message, topic, payload)), bot_of(message), message)

    def commit_now(self) -> bool:
        """Commit what is queued in the journal now, if it can (see ``Journal.commit_now``)."""
        return self._journal.commit_now()

    def hush(self, hushed: bool = True) -> None:
        """Appends wake no journal writer until :meth:`commit_now` (``Journal.hush``)."""
        self._journal.hush(hushed)

    def set_aside(self, message: Message) -> bool:
        """Keep ``message`` although the journal cannot commit it now (see
        ``Journal.set_aside``), and publish it: for what was acted on regardless."""
        topic = message.topic
        payload = encode(message)
        kept = self._journal.set_aside(self._entry(message, topic, payload))
        self._publisher.send_raw(topic, payload, header=self._header, bot_id=bot_of(message),
                                 message=message)
        return kept

    def publish(self, staged: Staged) -> None:
        """Put a staged (and committed) message on the bus."""
        self._publisher.send_raw(staged.topic, staged.payload, header=self._header,
                                 bot_id=staged.bot_id, message=staged.message)

    def _entry(self, message: Message, topic: str, payload: bytes,
               ts: float | None = None) -> JournalEntry:
        """The row; its severity read from the message here, where it is at hand, so
        the journal's writer does not decode the payload again inside the commit."""
        kind = tag_of(message)
        return JournalEntry(
            ts=self._clock() if ts is None else ts, topic=topic, source=self.source,
            kind=kind, payload=payload, severity=severity_of_message(kind, message, payload),
            message=message,
        )
