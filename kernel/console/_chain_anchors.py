"""Anchors held against the archives: rows may leave the journal only into an archive.

The file's trigger lets rows behind an anchor be deleted, and inserting an anchor
is as easy as inserting a row. So an anchor proves nothing by itself: it is
backed only when the archive holds its row with its hash, and the rows before it
chain up to that hash. Without this, inserting an anchor and deleting the rows
before it would pass as "archived rows checked: 0".

* :func:`anchor_backed` (every ``verify``): the newest anchor's row is still in
  the file, or in an archive, with the anchor's hash. One archive file is read.
* :func:`verify_archives` (``verify --archives``): every row that left the
  journal is in the archive; the archived rows chain, anchor by anchor; every
  anchor's row is archived with the hash recomputed up to it.

Anchors whose hash is all zeros (:data:`kernel.hashchain.GENESIS`) restart the
chain: the journal's first anchor, and one set after rows written without the
chain; rows up to them carry no hash to check, but must still be somewhere.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec

from agents.audit.retention import ARCHIVE_GLOB, archived_rows, read_archive
from kernel import hashchain
from kernel.journal_file import JournalRow


class Anchor(msgspec.Struct, frozen=True):
    seq: int
    hash: bytes
    reason: str


def describe(broken: hashchain.Break) -> str:
    where = f" ({broken.topic})" if broken.topic else ""
    return f"first broken row: seq {broken.seq}{where}: {broken.problem}"


def anchor_backed(db: sqlite3.Connection, anchor: Anchor, archive_dir: Path) -> list[str]:
    """The newest anchor's row is in the file or archived, with the anchor's hash."""
    if anchor.seq == 0:
        return []
    row = db.execute("SELECT hash FROM journal WHERE seq = ?", (anchor.seq,)).fetchone()
    if row is not None:
        stored = bytes(row[0]) if row[0] is not None else None
        return _mismatch(anchor, stored, "the journal")
    archived = _archived_row(archive_dir, anchor.seq)
    if archived is None:
        return [_unbacked(anchor, archive_dir)]
    return _mismatch(anchor, archived.hash, f"the archive in {archive_dir}")


def verify_archives(archive_dir: Path, anchors: list[Anchor], *,
                    first_in_journal: int | None) -> tuple[int, list[str]]:
    """Every row that left the journal is archived, chains, and backs its anchor."""
    rows = archived_rows(archive_dir) if archive_dir.is_dir() else []
    left = (first_in_journal - 1) if first_in_journal is not None else anchors[-1].seq
    missing = _gaps([row.seq for row in rows], left)
    if missing:
        return len(rows), [
            f"rows {missing} left the journal but are in no archive in {archive_dir}: they "
            "were deleted behind an anchor no archive backs (a forged anchor), or archive "
            "files were moved or lost (point audit.archive_dir at them)"]
    problems = _walk(rows, anchors, archive_dir)
    archived = {row.seq for row in rows}
    problems += [_unbacked(a, archive_dir) for a in anchors
                 if a.seq > 0 and a.hash != hashchain.GENESIS and a.seq not in archived]
    return len(rows), problems


def _walk(rows: list[JournalRow], anchors: list[Anchor], archive_dir: Path) -> list[str]:
    """Recompute the archived rows' chain; each anchor is a checkpoint (or a restart)."""
    by_seq = {a.seq: a for a in anchors}
    first = anchors[0]
    head, prev = first.hash, first.seq
    restarts = [a.seq for a in anchors if a.hash == hashchain.GENESIS]
    for row in rows:
        if row.seq <= first.seq:
            continue  # written before the chain began: nothing to check it against
        if row.hash is None and any(seq >= row.seq for seq in restarts):
            prev = row.seq  # written without the chain; an anchor restarts it later
        else:
            verdict = hashchain.verify([row], after_seq=prev, start=head)
            if verdict.broken is not None:
                return [f"archive in {archive_dir}: " + describe(verdict.broken)]
            head, prev = verdict.head, row.seq
        mark = by_seq.get(row.seq)
        if mark is not None and mark.hash == hashchain.GENESIS:
            head = hashchain.GENESIS  # the chain started again here (recorded in the anchor)
        elif mark is not None and mark.hash != head:
            return [f"anchor at seq {row.seq} holds {mark.hash.hex()[:16]}…, but the archived "
                    f"rows hash to {head.hex()[:16]}…"]
    return []


def _gaps(seqs: list[int], through: int) -> str:
    """The seqs in 1..``through`` missing from ``seqs`` (sorted), as ranges; empty if none."""
    ranges, expected = [], 1
    for seq in seqs:
        if seq > through:
            break
        if seq > expected:
            ranges.append((expected, seq - 1))
        expected = max(expected, seq + 1)
    if expected <= through:
        ranges.append((expected, through))
    return ", ".join(f"{a:,}" if a == b else f"{a:,}-{b:,}" for a, b in ranges)


def _mismatch(anchor: Anchor, stored: bytes | None, where: str) -> list[str]:
    if anchor.hash == hashchain.GENESIS or stored == anchor.hash:
        return []
    found = stored.hex()[:16] + "…" if stored is not None else "no hash"
    return [f"the anchor at seq {anchor.seq:,} ({anchor.reason}) holds "
            f"{anchor.hash.hex()[:16]}…, but row {anchor.seq:,} in {where} has {found}: the "
            "anchor was forged, or the row rewritten"]


def _unbacked(anchor: Anchor, archive_dir: Path) -> str:
    return (f"the anchor at seq {anchor.seq:,} ({anchor.reason}) is backed by no archive: row "
            f"{anchor.seq:,} is neither in the journal nor in {archive_dir}. Rows behind it "
            "were deleted without a copy (a forged anchor), or the archive was moved or lost "
            "(point audit.archive_dir at it)")


def _archived_row(archive_dir: Path, seq: int) -> JournalRow | None:
    """Row ``seq`` from the archive file that should hold it (named by its first seq)."""
    files = []
    for path in archive_dir.glob(ARCHIVE_GLOB) if archive_dir.is_dir() else []:
        first = path.name.removesuffix(".jsonl.gz").rsplit("-", 1)[-1]
        if first.isdigit() and int(first) <= seq:
            files.append((int(first), path))
    for _, path in sorted(files, reverse=True):
        for row in read_archive(path):
            if row.seq == seq:
                return row
            if row.seq > seq:
                break
    return None
