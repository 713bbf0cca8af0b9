"""Tamper evidence for the journal: every row's hash covers the row and the hash before it.

``hash[n] = sha256(hash[n-1] + msgpack([seq, ts, topic, source, kind, severity, payload]))``

The writer computes it as it binds each row (about a microsecond), so the chain
costs no extra statement and no extra thread hop. Each row stores its *own* link
rather than the previous one's: then the newest row is covered too, and one
recomputation from the anchor checks every column of every row. Editing a row
breaks its link; deleting one breaks the next (and leaves a gap in ``seq``);
re-hashing everything after an edit is possible for whoever holds the file, which
is why every daily audit records the head (seq and hash) where people keep it,
outside the file.

The chain starts at an *anchor* (``journal_anchor``): the seq before the first
chained row and the hash to start from. A new journal is anchored at seq 0 with
:data:`GENESIS`; a journal migrated from before the chain is anchored at its
last old row; retention moves the anchor forward to the last archived row, so
``kernel audit verify`` keeps working after old rows are gone.

msgpack is the project's codec and is deterministic for these types (ints in
their smallest form, floats always as float64, str and bytes length-prefixed),
so any language with sha256 and msgpack can re-check a journal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Final, Protocol

import msgspec

GENESIS: Final = bytes(32)
"""The hash a chain starts from when nothing came before it."""

_encode = msgspec.msgpack.Encoder().encode


class RowLike(Protocol):
    """What a link is computed from (a ``kernel.journal.JournalRow``)."""

    @property
    def seq(self) -> int: ...
    @property
    def ts(self) -> float: ...
    @property
    def topic(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def hash(self) -> bytes | None: ...


def link(prev: bytes, seq: int, ts: float, topic: str, source: str, kind: str,
         severity: str, payload: bytes) -> bytes:
    """The chain hash of one row, given the chain hash of the row before it."""
    return hashlib.sha256(
        prev + _encode((seq, ts, topic, source, kind, severity, payload))).digest()


def link_row(prev: bytes, row: RowLike) -> bytes:
    return link(prev, row.seq, row.ts, row.topic, row.source, row.kind, row.severity,
                row.payload)


class Break(msgspec.Struct, frozen=True, kw_only=True):
    """The first row where the chain does not hold, and what is wrong with it."""

    seq: int
    ts: float | None
    topic: str
    problem: str


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """What a verification found: how much it checked and where it broke, if it did."""

    checked: int
    first_seq: int | None
    last_seq: int | None
    head: bytes
    """The recomputed hash of the last row checked (or the starting hash)."""
    broken: Break | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify(rows: Iterable[RowLike], *, after_seq: int, start: bytes) -> Verdict:
    """Recompute the chain over ``rows`` (in seq order), starting after ``after_seq``.

    Stops at the first row that is missing, out of order, unhashed, or whose
    stored hash differs from the recomputed one.
    """
    prev_seq, head, checked, first = after_seq, start, 0, None
    for row in rows:
        problem = _problem(row, prev_seq, head)
        if problem is not None:
            return Verdict(checked=checked, first_seq=first, last_seq=prev_seq if checked else
                           None, head=head, broken=Break(seq=problem[0], ts=problem[1],
                                                         topic=problem[2], problem=problem[3]))
        head, prev_seq, checked = link_row(head, row), row.seq, checked + 1
        first = row.seq if first is None else first
    return Verdict(checked=checked, first_seq=first, last_seq=prev_seq if checked else None,
                   head=head)


def _problem(row: RowLike, prev_seq: int,
             head: bytes) -> tuple[int, float | None, str, str] | None:
    """(seq, ts, topic, what is wrong) for a row that breaks the chain, else None."""
    if row.seq != prev_seq + 1:
        missing = (f"row {prev_seq + 1} is missing" if row.seq > prev_seq + 1
                   else f"seq {row.seq} follows {prev_seq}")
        return prev_seq + 1, None, "", f"{missing} (next row found: seq {row.seq})"
    if row.hash is None:
        return row.seq, row.ts, row.topic, "the row carries no hash"
    expected = link_row(head, row)
    if expected != row.hash:
        return (row.seq, row.ts, row.topic,
                f"stored hash {row.hash.hex()[:16]}… differs from the recomputed "
                f"{expected.hex()[:16]}…: the row or one before it was changed")
    return None
