"""The daily JSONL copy of the journal, for people and log tools.

SQLite is the record; this copy is a convenience, so it never holds the writer
up: the writer hands each committed batch over (a list append), the loop formats
its lines in its next turn (after the gateway's replies to the orders of that
batch have gone out), and a separate task appends what piled up to the files in
a worker thread, one write per file per round. Each round first lingers a little
so that many batches go in one write, and a person reading the file cannot tell
50 ms. The lines are formatted on the loop rather than in the thread on purpose:
a thread that runs Python code takes the GIL whenever SQLite's inline commit
releases it, and the loop then waits to get it back before it may reply
(docs/perf/gate-stages.md); the thread only writes bytes. A failure to format or
write the copy is logged loudly and does not stop the journal. Rows committed in the last instant
before a crash may be missing from the copy; the SQLite file has them.

What waits to be written is bounded in bytes (:data:`PENDING_MAX_BYTES`, the lines
being written included): rows come in bounded by the journal's own queue, but a disk
that stalls (a full or slow volume, a file locked by a reader on Windows) would
otherwise keep every formatted line in memory. Beyond the bound a committed batch is
not copied: the rows are counted (``rows_dropped``) and their seqs logged as an error
once the copy takes lines again; ``kernel audit verify`` reads the database.

One line per row: ``{"seq", "ts", "topic", "source", "kind", "severity", "body", "hash"}``
where ``body`` is the msgpack payload as plain JSON and ``hash`` the row's link in
the chain (hex). A payload that is not msgpack (or has no JSON form, such as
extension types), or is larger than :data:`JSON_BODY_MAX_BYTES` (a risk state saved
with thousands of open orders), is written as base64 with a ``note``. The hash lets
``kernel audit verify`` hold the database's tail against this copy: rows cut
from the end of the database are still here (:mod:`kernel.journal_tail`).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Protocol

import msgspec

from bus.protocol import Fill, Heartbeat, OrderDecision, OrderRequest, OrderUpdate

log = logging.getLogger("kernel.journal")

_SECONDS_PER_DAY = 86_400
_LINGER_S = 0.05
JSON_BODY_MAX_BYTES = 64 * 1024
"""A payload larger than this is copied as base64, not turned into JSON: the lines are
formatted on the loop, and a risk state saved with 10,000 open orders (about 1 MB)
took 30-40 ms to convert, every bot's decision waiting. base64 costs a millisecond."""
PENDING_MAX_BYTES = 32 * 1024 * 1024
"""Formatted lines, waiting or being written, beyond which batches are not copied."""


class EntryLike(Protocol):
    """What a line is made of (a ``kernel.journal.JournalEntry``)."""

    @property
    def ts(self) -> float: ...
    @property
    def topic(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def message(self) -> object: ...


Chunk = tuple[int, Sequence[EntryLike], Sequence[str], Sequence[bytes]]
"""A committed batch: the seq of its first row, its entries in seq order, their
severities and their chain hashes (empty when written without the chain)."""


class _Line(msgspec.Struct, omit_defaults=True):
    seq: int
    ts: float
    topic: str
    source: str
    kind: str
    severity: str
    body: Any
    note: str | None = None
    hash: str | None = None


def file_name(ts: float) -> str:
    """``journal-YYYY-MM-DD.jsonl`` for the UTC day of ``ts``."""
    return _day_file(int(ts // _SECONDS_PER_DAY))


@lru_cache(maxsize=64)
def _day_file(day: int) -> str:
    try:
        date = datetime.fromtimestamp(day * _SECONDS_PER_DAY, tz=UTC).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):
        date = "undated"
    return f"journal-{date}.jsonl"


def encode_line(seq: int, entry: EntryLike, encoder: msgspec.json.Encoder,
                severity: str = "info", link: bytes | None = None) -> bytes:
    """One JSON line (newline included) for one journal row; a payload over
    :data:`JSON_BODY_MAX_BYTES` keeps its msgpack bytes, in base64, with a note."""
    data = bytearray()
    _append_line(data, seq, entry, encoder, severity, link)
    return bytes(data)


def write_chunks(directory: Path, chunks: Sequence[Chunk]) -> None:
    """Append the lines of ``chunks`` to their day files, one write per file."""
    files: dict[str, bytearray] = {}
    format_chunks(chunks, msgspec.json.Encoder(), files)
    write_files(directory, files)


def format_chunks(chunks: Sequence[Chunk], encoder: msgspec.json.Encoder,
                  files: dict[str, bytearray]) -> None:
    """Add the lines of ``chunks`` to ``files`` (day file name -> bytes to append).

    Each line is encoded straight onto the end of its file's buffer, and the day
    file is looked up again only when a row's day differs from the row before
    (the loop formats a few rows per order, every order).
    """
    day: int | None = None
    data = bytearray()
    for first_seq, entries, severities, links in chunks:
        for offset, (entry, severity) in enumerate(zip(entries, severities, strict=True)):
            if entry.ts // _SECONDS_PER_DAY != day:
                day = int(entry.ts // _SECONDS_PER_DAY)
                data = files.setdefault(_day_file(day), bytearray())
            _append_line(data, first_seq + offset, entry, encoder, severity,
                         links[offset] if links else None)


def _append_line(data: bytearray, seq: int, entry: EntryLike, encoder: msgspec.json.Encoder,
                 severity: str, link: bytes | None) -> None:
    """The row's line onto the end of ``data``, encoded in place. A payload over
    :data:`JSON_BODY_MAX_BYTES`, or one with no JSON form, is written as base64 with a
    note, and a failed attempt leaves nothing half-written. The common line is built
    with positional fields and no intermediate tuple: a fifth less time a row, on the
    loop, three rows an order."""
    payload = entry.payload
    hex_link = None if link is None else link.hex()
    size = len(payload)
    if size > JSON_BODY_MAX_BYTES:
        note = (f"payload of {size} bytes, over {JSON_BODY_MAX_BYTES} turned into JSON here; "
                "body is the raw msgpack bytes in base64")
    else:
        mark = len(data)
        try:
            encoder.encode_into(_Line(seq, entry.ts, entry.topic, entry.source, entry.kind,
                                      severity, _body(entry), None, hex_link), data, -1)
            data.append(_NEWLINE)
            return
        except (msgspec.DecodeError, TypeError) as exc:
            del data[mark:]
            note = f"payload has no JSON form ({exc}); body is the raw bytes in base64"
    body = base64.b64encode(payload).decode("ascii")
    encoder.encode_into(_Line(seq, entry.ts, entry.topic, entry.source, entry.kind, severity,
                              body, note, hex_link), data, -1)
    data.append(_NEWLINE)


def _body(entry: EntryLike) -> Any:
    """What the line's ``body`` encodes: the message object itself when it is of a type
    whose JSON is, byte for byte, that of its decoded payload (:data:`SAME_AS_PAYLOAD`),
    else the payload decoded. A line an order is three of these, on the loop; the
    decode was half of each."""
    message = entry.message
    if message is not None and type(message) in SAME_AS_PAYLOAD:
        return message
    return _decode(entry.payload)


SAME_AS_PAYLOAD: Final = frozenset({OrderRequest, OrderDecision, OrderUpdate, Fill, Heartbeat})
"""The rows written for every order and fact. Their fields are strings, numbers, bools,
None and lists and maps of those (or of plain structs): msgpack reads each back as the
same value, and a map keeps its order, so the JSON of the object equals the JSON of
its decoded payload (``tests/unit/test_journal_jsonl.py``). A type with a datetime, say,
would not qualify (its offset comes back as UTC), so the list names types, not a rule."""
_decode = msgspec.msgpack.Decoder().decode
_NEWLINE = ord("\n")


def write_files(directory: Path, files: dict[str, bytearray]) -> None:
    """Append each file's bytes, one write per file."""
    for name, data in files.items():
        with open(directory / name, "ab") as file:
            file.write(data)


class JsonlCopy:
    """Copies committed batches to ``directory`` in the background, in seq order."""

    def __init__(self, directory: Path, *, max_pending_bytes: int = PENDING_MAX_BYTES) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.failures = 0
        self.rows_dropped = 0
        """Committed rows not copied because the lines waiting for the disk were at the
        bound (the SQLite journal has them)."""
        self._max_bytes = max_pending_bytes
        self._pending_bytes = 0
        """Bytes of formatted lines waiting in ``_files`` or being written."""
        self._skipped: tuple[int, int] | None = None
        """First and last seq of the rows not copied since the copy last took lines."""
        self._chunks: list[Chunk] = []
        """Committed batches not formatted yet (the loop formats them in its next turn)."""
        self._files: dict[str, bytearray] = {}
        """Formatted lines per day file, not written yet."""
        self._encoder = msgspec.json.Encoder()
        self._formatting = False
        self._wake = asyncio.Event()
        self._nudge = asyncio.Event()
        self._closing = False
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(
            self._run(), name=f"journal jsonl {directory}")

    def add(self, first_seq: int, entries: Sequence[EntryLike], severities: Sequence[str],
            links: Sequence[bytes] = ()) -> None:
        """Queue a committed batch; cheap, so the writer can call it after every commit
        (its lines are formatted in the loop's next turn, not now)."""
        self._chunks.append((first_seq, entries, severities, links))
        if not self._formatting:
            self._formatting = True
            self._loop.call_soon(self._format)

    def _format(self) -> None:
        """Format what was committed since the last turn, then wake the writing task."""
        self._formatting = False
        chunks, self._chunks = self._chunks, []
        if not chunks:
            return
        try:
            for chunk in chunks:
                self._format_one(chunk)
        except Exception:  # the copy is secondary: say so loudly, keep the journal running
            self.failures += 1
            rows = sum(len(chunk[1]) for chunk in chunks)
            log.exception("journal JSONL copy: %d rows not formatted for %s", rows,
                          self.directory)
        self._wake.set()

    def _format_one(self, chunk: Chunk) -> None:
        """Format one batch, or count it as not copied while the bound is reached."""
        first, rows = chunk[0], len(chunk[1])
        if self._pending_bytes >= self._max_bytes:
            self.rows_dropped += rows
            start = self._skipped[0] if self._skipped is not None else first
            self._skipped = (start, first + rows - 1)
            return
        if self._skipped is not None:
            start, end = self._skipped
            self._skipped = None
            log.error("journal JSONL copy: rows %d to %d were not copied to %s: more than "
                      "%d bytes waited for the disk (the SQLite journal has them)",
                      start, end, self.directory, self._max_bytes)
        before = sum(len(data) for data in self._files.values())
        format_chunks([chunk], self._encoder, self._files)
        self._pending_bytes += sum(len(data) for data in self._files.values()) - before

    async def aclose(self) -> None:
        """Write what is queued, then stop."""
        self._format()
        if self._skipped is not None:
            start, end = self._skipped
            log.error("journal JSONL copy: rows %d to %d were not copied to %s (the SQLite "
                      "journal has them)", start, end, self.directory)
        self._closing = True
        self._wake.set()
        self._nudge.set()
        await self._task

    async def _run(self) -> None:
        while True:
            while not self._files:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
            await self._linger()
            if self._closing:
                self._format()  # a close during the linger: what it queued goes too
            files, self._files = self._files, {}
            try:
                await asyncio.to_thread(write_files, self.directory, files)
            except Exception:
                # The copy is secondary: say so loudly, keep the journal running.
                self.failures += 1
                lines = sum(data.count(b"\n") for data in files.values())
                log.exception("journal JSONL copy: %d rows not copied to %s", lines,
                              self.directory)
            finally:
                self._pending_bytes -= sum(len(data) for data in files.values())

    async def _linger(self) -> None:
        """Let batches pile up for one write; close cuts it short."""
        if self._closing:
            return
        self._nudge.clear()
        timer = self._loop.call_later(_LINGER_S, self._nudge.set)
        try:
            await self._nudge.wait()
        finally:
            timer.cancel()
