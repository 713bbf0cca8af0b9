"""The journal's tail held against every record of it kept outside the database.

Rows cut off the end of the journal leave a chain that still holds, so the cut
is only visible against something that remembers the end: the head file beside
the journal, the last line of each JSONL copy, the chain head printed in every
daily report. Each such record is a *claim* (a seq and usually its hash); the
database must still hold that row with that hash. A claim behind the newest
anchor (archived) cannot be checked here and is counted as such.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Final

import msgspec

from kernel.journal_tail import (
    Claim,
    HeadUnreadable,
    head_path,
    jsonl_claims,
    read_head,
    rows_between,
)

_REPORT_HEAD: Final = re.compile(r"chain head at seq ([\d,]+): `([0-9a-f]{64})`")


class TailCheck(msgspec.Struct, frozen=True, kw_only=True):
    """What one outside record says about the journal, and whether the journal agrees."""

    kind: str
    source: str
    seq: int
    verdict: str
    """``agrees``, ``archived`` (behind the anchor: not checked here) or ``disagrees``."""


def claims(journal: Path, *, log_dir: Path | None, reports_dir: Path | None,
           ) -> tuple[list[Claim], list[str], list[str]]:
    """(claims, notes for people, problems) from the head file, JSONL copy and reports."""
    found: list[Claim] = []
    notes: list[str] = []
    problems: list[str] = []
    try:
        head = read_head(journal)
    except (HeadUnreadable, OSError) as exc:
        problems.append(f"{exc}: it was damaged or tampered with")
        head = None
    if head is not None:
        found.append(Claim(kind="head file", source=f"head file {head_path(journal)}",
                           seq=head.seq, hash=head.hash))
    elif not problems:
        notes.append(f"no head file at {head_path(journal)} (a journal last written before "
                     "head files, or the file was removed): a cut at the end can only be "
                     "found against the JSONL copy and the reports")
    copies = jsonl_claims(log_dir) if log_dir is not None else []
    if log_dir is not None and not copies:
        notes.append(f"no JSONL copy in {log_dir} (journal.jsonl off, or removed)")
    found += copies
    found += report_claims(reports_dir) if reports_dir is not None else []
    return found, notes, problems


def report_claims(reports_dir: Path) -> list[Claim]:
    """The chain head each daily report printed (``audit-YYYY-MM-DD.md``)."""
    found = []
    for path in sorted(reports_dir.glob("audit-*.md")) if reports_dir.is_dir() else []:
        try:
            match = _REPORT_HEAD.search(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        if match is not None:
            found.append(Claim(kind="report", source=f"report {path}",
                               seq=int(match[1].replace(",", "")), hash=match[2]))
    return found


def check(db: sqlite3.Connection, found: list[Claim], *, anchor_seq: int,
          ) -> tuple[list[TailCheck], list[str]]:
    """Hold the journal against each claim; the problems name the source that disagrees."""
    last = int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()[0])
    last = max(last, anchor_seq)
    checks, problems = [], []
    for claim in found:
        problem = _disagreement(db, claim, last)
        verdict = ("disagrees" if problem else
                   "archived" if claim.seq <= anchor_seq else "agrees")
        checks.append(TailCheck(kind=claim.kind, source=claim.source, seq=claim.seq,
                                verdict=verdict))
        if problem:
            problems.append(problem)
    return checks, problems


def _disagreement(db: sqlite3.Connection, claim: Claim, last: int) -> str:
    said = f"{claim.source} records seq {claim.seq:,}" + (
        f" (hash {claim.hash[:16]}…)" if claim.hash else "")
    if claim.seq > last:
        return (f"{said}, but the journal ends at seq {last:,}: "
                f"{rows_between(last + 1, claim.seq)} cut from the end, or the journal was "
                "replaced by an older copy")
    row = db.execute("SELECT hash FROM journal WHERE seq = ?", (claim.seq,)).fetchone()
    if row is None or not claim.hash:
        return ""  # archived behind the anchor (checked with --archives), or no hash to hold
    found = bytes(row[0]).hex() if row[0] is not None else "no hash"
    if found != claim.hash:
        return (f"{said}, but the journal has {found[:16]}… there: the history was rewritten "
                "after it was recorded, or the journal was replaced")
    return ""
