"""Reading a stretch of the journal for a replay: read-only, with a running kernel or not.

The replay (``risk.rerun``) needs the engine's state where the stretch begins and
every fact after it. The state is the newest save before the stretch
(``risk.saved``, at most minutes old: the engine saves whenever a durable fact
changes and every ``refresh_every_s``), and the facts are every row after that
save, led by the facts journaled before it that the engine had not taken yet when
it saved (after the newest fact the save names, as a restart replays them). With
no save before the stretch the journal must begin at its first row (a first
start); if its older rows were archived by retention, the stretch cannot be
replayed and :class:`JournalGap` says so, and what to do.

A read-only connection never takes the write lock (see ``agents.audit.journal``),
so a replay cannot hold up a running kernel's commits nor change the record.
"""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Final

import msgspec

from agents.risk._store import journals
from agents.watchdog.messages import TradingHaltRequested
from bus.codec import encode
from bus.protocol import Fill, Heartbeat, OrderDecision, OrderRequest, OrderUpdate
from kernel.events import (
    DecidedAheadOfFacts,
    KernelStateChanged,
    OperatorCommandIssued,
    RiskMultiplierChangeRequested,
)
from kernel.journal_file import connect_readonly, topic_is
from risk.limits import RiskLimits
from risk.messages import LimitTripped, RiskStateSaved
from risk.rerun import rerun
from risk.rerun_facts import Ahead, Based, Fact, Halted, MultiplierAsked, Restarted, Resumed, Row
from risk.rerun_report import Report, report

KINDS: Final = (
    "order_request", "order_decision", "heartbeat", "fill", "order_update", "kernel_state",
    "operator_command", "trading_halt_requested", "risk_multiplier_requested", "limit_tripped",
    "decided_ahead",
)
"""The kinds a replay reads after its starting save; everything else is skipped."""
_saved: Final = msgspec.msgpack.Decoder(RiskStateSaved)
_facts: Final = msgspec.msgpack.Decoder(
    OrderRequest | OrderDecision | Heartbeat | Fill | OrderUpdate | KernelStateChanged
    | OperatorCommandIssued | TradingHaltRequested | RiskMultiplierChangeRequested
    | LimitTripped | DecidedAheadOfFacts)
"""Only the kinds in ``KINDS``: one decoder for them, built once (faster than the
whole bus union, which the SQL has already narrowed to these)."""


class JournalGap(Exception):
    """The stretch needs rows that retention has archived out of the journal file."""


class Window(msgspec.Struct, frozen=True, kw_only=True):
    """What a replay of [start, end) reads: the facts from the base on, and the live trips."""

    start: float
    end: float
    rows: list[Row]
    live_trips: list[tuple[float, str]]
    base_seq: int
    """The save the replay starts from (0: the journal's beginning)."""
    undecodable: int = 0


def read_window(path: Path, start: float, end: float) -> Window:
    """The facts a replay of [start, end) needs; :class:`JournalGap` when archived."""
    with closing(connect_readonly(path)) as db:
        base = _base(db, start)
        rows: list[Row] = []
        if base is not None:
            rows.append(Row(base[0], base[1], Based(state=base[2].state)))
        after = base[0] if base is not None else 0
        trips: list[tuple[float, str]] = []
        bad = 0
        decode = _facts.decode
        untaken = _untaken(db, base[0], base[2], end) if base is not None else []
        for seq, ts, payload in [*untaken, *_after(db, after, end)]:
            try:
                message = decode(payload)
            except msgspec.DecodeError:
                bad += 1
                continue
            if isinstance(message, LimitTripped):
                if ts >= start:
                    trips.append((ts, message.code))
                continue
            fact = fact_of(message)
            if fact is not None:
                rows.append(Row(seq, ts, fact))
    return Window(start=start, end=end, rows=rows, live_trips=trips, base_seq=after,
                  undecodable=bad)


def replay_window(path: Path, start: float, end: float, limits: RiskLimits, *,
                  multiplier: float | None = None) -> Report:
    """Read [start, end) and replay it under ``limits`` (and ``multiplier``, held)."""
    with cycle_collection_paused():
        window = read_window(path, start, end)
        return report(rerun(window.rows, limits, since=start, multiplier=multiplier),
                      window.live_trips)


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """A replay keeps a few hundred thousand objects (the rows, the comparisons) and
    makes millions of short-lived ones, none in a reference cycle: reference counting
    frees them all. The cyclic collector would scan the kept ones over and over (a
    fifth of a 100,000-order replay), so it pauses for the replay and comes back
    after. Only the command-line processes replay (``kernel replay``, ``kernel
    proposals``, the moderator's child), never the kernel itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def fact_of(message: object) -> Fact | None:
    """The replay's fact for one journaled message, worded as the engine's actor
    words it (so a replayed halt reads like the live one); None: not a fact."""
    match message:
        case OrderRequest() | OrderDecision() | Heartbeat() | Fill() | OrderUpdate():
            return message
        case DecidedAheadOfFacts():
            return Ahead(facts=message.facts, bot_id=message.bot_id)
        case KernelStateChanged(state="starting"):
            return Restarted()
        case OperatorCommandIssued(action="resume"):
            return Resumed(reason=f"{message.reason} (by {message.user})",
                           confirmed=message.confirmed)
        case OperatorCommandIssued(action="halt"):
            return Halted(reason=f"{message.reason} (by {message.user})")
        case OperatorCommandIssued(action="close_all"):
            return Halted(reason=f"close all: {message.reason} (by {message.user})")
        case TradingHaltRequested():
            return Halted(reason=f"{message.reason} (asked by {message.source})",
                          code=message.code, by="watchdog")
        case RiskMultiplierChangeRequested():
            return MultiplierAsked(value=message.value, requested_by=message.requested_by,
                                   reason=message.reason)
    return None


def _base(db: sqlite3.Connection, start: float) -> tuple[int, float, RiskStateSaved] | None:
    """The newest readable save before ``start``; None when the journal starts at
    seq 1 with none (a first start within or after it). :class:`JournalGap` else."""
    terms, params = topic_is(RiskStateSaved.topic)
    for seq, ts, payload in db.execute(
            f"SELECT seq, ts, payload FROM journal WHERE {terms} AND ts < ? "
            "ORDER BY seq DESC LIMIT 16", (*params, start)):
        try:
            return int(seq), float(ts), _saved.decode(payload)
        except msgspec.DecodeError:
            continue
    first = db.execute("SELECT MIN(seq), MIN(ts) FROM journal").fetchone()
    if first[0] is None or int(first[0]) <= 1:
        return None
    raise JournalGap(
        f"the journal's rows before seq {int(first[0]):,} were archived by retention, and "
        "the risk state saved before the start of the stretch went with them: the stretch "
        "cannot be replayed exactly from this file. Fix: replay a later day, or restore the "
        "archived rows (see retention in docs/audit.md) into a copy of the journal")


def _untaken(db: sqlite3.Connection, seq: int, saved: RiskStateSaved,
             end: float) -> list[tuple[int, float, bytes]]:
    """The heartbeats, fills and updates journaled before the save at ``seq`` that
    the engine had not taken yet when it saved (still on their way to it): those
    after the newest fact the save names, as a restart replays them
    (``RiskStore.unseen_facts``). They come first after the save, as in the engine's
    inbox; an older kernel's save names none."""
    fact, since = saved.last_fact, seq
    if fact is not None:
        body = encode(fact)
        terms, params = topic_is(fact.topic)
        for found, payload in db.execute(f"SELECT seq, payload FROM journal WHERE {terms} "
                                         "AND seq < ? ORDER BY seq DESC", (*params, seq)):
            if journals(payload, body, fact):
                since = int(found)
                break
    if 0 < saved.facts_through < seq:  # the later of the two, as a restart does
        since = max(since, saved.facts_through) if fact is not None else saved.facts_through
    return list(db.execute("SELECT seq, ts, payload FROM journal WHERE seq > ? AND seq < ? "
                           "AND ts < ? AND kind IN ('heartbeat', 'fill', 'order_update') "
                           "ORDER BY seq", (since, seq, end)))


def _after(db: sqlite3.Connection, after: int, end: float) -> sqlite3.Cursor:
    """(seq, ts, payload) rows: SQLite gives int, float and bytes as they are stored."""
    marks = ", ".join("?" * len(KINDS))
    return db.execute(f"SELECT seq, ts, payload FROM journal WHERE seq > ? AND ts < ? "
                      f"AND kind IN ({marks}) ORDER BY seq", (after, end, *KINDS))
