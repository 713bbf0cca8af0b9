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
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from itertools import chain
from pathlib import Path
from typing import Final

import msgspec

from agents.risk._parts import whole
from agents.risk._store import journals
from agents.watchdog.messages import TradingHaltRequested
from bus.codec import encode
from bus.protocol import Fill, Heartbeat, OrderDecision, OrderRequest, OrderUpdate
from kernel.events import (
    DecidedAheadOfFacts,
    KernelStateChanged,
    OperatorCommandAnswered,
    OperatorCommandIssued,
    OperatorCommandTaken,
    RiskMultiplierChangeRequested,
)
from kernel.journal_file import connect_readonly, topic_is
from risk.limits import RiskLimits
from risk.messages import LimitTripped, OpenOrdersSaved, RiskStateSaved, RiskStateSavedInParts
from risk.rerun import rerun
from risk.rerun_facts import (
    Ahead,
    Based,
    Fact,
    Halted,
    Loaded,
    MultiplierAsked,
    Restarted,
    Resumed,
    Row,
)
from risk.rerun_fleet import Fleet
from risk.rerun_report import Report, report

KINDS: Final = (
    "order_request", "order_decision", "heartbeat", "fill", "order_update", "kernel_state",
    "operator_command", "trading_halt_requested", "risk_multiplier_requested", "limit_tripped",
    "decided_ahead", "operator_taken", "operator_answer",
)
"""The kinds a replay reads after its starting save; everything else is skipped."""
_SOURCE: Final = "risk"
"""The risk engine's journal source; a fleet's engines are ``risk.<bot>``
(``kernel.registry.per_bot``), each saving its own bot's ledger."""
_saved: Final = msgspec.msgpack.Decoder(RiskStateSaved | RiskStateSavedInParts)
_part: Final = msgspec.msgpack.Decoder(OpenOrdersSaved)
_facts: Final = msgspec.msgpack.Decoder(
    OrderRequest | OrderDecision | Heartbeat | Fill | OrderUpdate | KernelStateChanged
    | OperatorCommandIssued | TradingHaltRequested | RiskMultiplierChangeRequested
    | LimitTripped | DecidedAheadOfFacts | OperatorCommandTaken | OperatorCommandAnswered)
"""Only the kinds in ``KINDS``: one decoder for them, built once (faster than the
whole bus union, which the SQL has already narrowed to these)."""


_ASKED: Final = (OperatorCommandIssued, RiskMultiplierChangeRequested)
"""Requests the engine takes from the bus a few turns after their row, and answers:
with a ``request_id`` (an operator's) they are replayed where it took them, at its
``operator.taken`` row (a kernel before it: the answer's row)."""
_TAKEN: Final = (OperatorCommandTaken, OperatorCommandAnswered)
"""Where a request of :data:`_ASKED` was taken (a tuple: every row is checked against it,
and ``isinstance`` with a ``|`` union builds the union again at each call)."""


class JournalGap(Exception):
    """The stretch needs rows that retention has archived out of the journal file."""


class Window(msgspec.Struct, frozen=True, kw_only=True):
    """What a replay of [start, end) reads: the facts from the base on, and the live trips."""

    start: float
    end: float
    rows: list[Row]
    live_trips: list[tuple[float, str]]
    base_seq: int
    """The save the replay starts from (0: the journal's beginning); in a fleet, the
    oldest of the bots' saves."""
    undecodable: int = 0
    fleet: Fleet | None = None
    """A fleet's journal (its engines saved as ``risk.<bot>``): one ledger per bot."""
    live_by_bot: dict[str, list[tuple[float, str]]] = {}
    """In a fleet, the live trips by the bot whose engine tripped."""
    passed_over: list[str] = []
    """Newer saves that could not be read, each with why (see ``_base``)."""


class _Taken:
    """The rows read, turned into facts; the live trips and undecodable rows counted."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.rows: list[Row] = []
        self.trips: list[tuple[float, str]] = []
        self.by_bot: dict[str, list[tuple[float, str]]] = {}
        self.bad = 0
        self.asked: dict[str, Fact] = {}
        """Requests journaled but not yet taken by their engine, by ``request_id``."""

    def take(self, seq: int, ts: float, payload: bytes, source: str = "",
             waiting: frozenset[str] | set[str] = frozenset(), only: str = "") -> None:
        """One row; a fact of a bot in ``waiting`` is left out (its save, to come, holds
        it), and with ``only`` any other bot's."""
        try:
            message = _facts.decode(payload)
        except msgspec.DecodeError:
            self.bad += 1
            return
        if isinstance(message, LimitTripped):
            if ts >= self.start:
                self.trips.append((ts, message.code))
                bot = source.removeprefix(f"{_SOURCE}.")
                self.by_bot.setdefault(bot, []).append((ts, message.code))
            return
        if isinstance(message, _TAKEN):
            fact = self.asked.pop(message.request_id, None)  # taken here, not at its row
        else:
            fact = fact_of(message)
            if isinstance(fact, Restarted):
                self.asked.clear()  # the engine that was asked is gone: never taken
            elif isinstance(message, _ASKED) and message.request_id and fact is not None:
                self.asked[message.request_id] = fact  # an operator's: taken later
                return
        bot = getattr(fact, "bot_id", "")
        if fact is not None and bot not in waiting and (not only or bot == only):
            self.rows.append(Row(seq, ts, fact))


def read_window(path: Path, start: float, end: float,
                accounts: Mapping[str, str] | None = None) -> Window:
    """The facts a replay of [start, end) needs; :class:`JournalGap` when archived.
    ``accounts``: a fleet's bots and their accounts (``paths.yaml``), when known."""
    with closing(connect_readonly(path)) as db:
        bots = _fleet_of(db, end, accounts or {})
        if bots:
            return _read_fleet(db, start, end, bots)
        passed: list[str] = []
        base = _base(db, start, passed)
        taken = _Taken(start)
        if base is not None:
            taken.rows.append(Row(base[0], base[1], Based(state=base[2].state)))
        after = base[0] if base is not None else 0
        untaken = _untaken(db, base[0], base[2], end) if base is not None else []
        for seq, ts, payload, _ in [*untaken, *_after(db, after, end)]:
            taken.take(seq, ts, payload)
    return Window(start=start, end=end, rows=taken.rows, live_trips=taken.trips,
                  base_seq=after, undecodable=taken.bad, passed_over=passed)


def _read_fleet(db: sqlite3.Connection, start: float, end: float,
                accounts: dict[str, str]) -> Window:
    """Each bot from its own engine's newest save before ``start`` (with its own facts
    that engine had not taken yet), the rows of a bot before its save left out (its
    save holds them); a bot without one from the journal's first start."""
    passed: list[str] = []
    bases = {bot: base for bot in accounts
             if (base := _base(db, start, passed, f"{_SOURCE}.{bot}")) is not None}
    after = min((b[0] for b in bases.values()), default=0) if len(bases) == len(accounts) else 0
    due = sorted(bases.items(), key=lambda item: item[1][0])
    waiting, taken = set(bases), _Taken(start)
    saves = _saves(db, after, end, {b[0] for b in bases.values()})
    for seq, ts, payload, source in chain(_after(db, after, end), [(_END, end, b"", "")]):
        while due and due[0][1][0] < seq:
            _based(db, due.pop(0), end, taken, waiting)
        while saves and saves[-1][0] < seq:
            saved_seq, saved_ts, bot = saves.pop()
            if bot not in waiting:
                taken.rows.append(Row(saved_seq, saved_ts, Loaded(bot_id=bot)))
        if seq != _END:
            taken.take(seq, ts, payload, source, waiting)
    fleet = Fleet(accounts=accounts, based=frozenset(bases))
    return Window(start=start, end=end, rows=taken.rows, live_trips=taken.trips,
                  base_seq=after, undecodable=taken.bad, fleet=fleet,
                  live_by_bot=taken.by_bot, passed_over=passed)


def _based(db: sqlite3.Connection, due: tuple[str, tuple[int, float, RiskStateSaved]],
           end: float, taken: _Taken, waiting: set[str]) -> None:
    """A bot's save reached: its ledger starts here, led by its own untaken facts."""
    bot, (seq, ts, saved) = due
    waiting.discard(bot)
    taken.rows.append(Row(seq, ts, Based(state=saved.state, bot_id=bot)))
    for row in _untaken(db, seq, saved, end):
        taken.take(*row, only=bot)


_END: Final = 1 << 62
"""Past every row: what is still due after the last row read is taken before it."""


def _saves(db: sqlite3.Connection, after: int, end: float,
           bases: set[int]) -> list[tuple[int, float, str]]:
    """Every save of a bot's engine after ``after`` but the bases, newest first: after a
    start, a bot's ledger is loaded from its engine's first save (``Loaded``)."""
    terms, params = topic_is(RiskStateSaved.topic)
    rows = db.execute(f"SELECT seq, ts, source FROM journal WHERE {terms} AND seq > ? "
                      "AND ts < ? ORDER BY seq DESC", (*params, after, end))
    return [(int(seq), float(ts), str(source).removeprefix(f"{_SOURCE}."))
            for seq, ts, source in rows if int(seq) not in bases]


def _fleet_of(db: sqlite3.Connection, end: float, accounts: Mapping[str, str]
              ) -> dict[str, str]:
    """The bots whose own engines saved before ``end`` (``risk.<bot>``), each with its
    account (``accounts``, else ``main``): empty for one engine's journal."""
    terms, params = topic_is(RiskStateSaved.topic)
    prefix = f"{_SOURCE}."
    found = {str(source).removeprefix(prefix) for (source,) in db.execute(
        f"SELECT DISTINCT source FROM journal WHERE {terms} AND ts < ?", (*params, end))
        if str(source).startswith(prefix)}
    ordered = [b for b in accounts if b in found] + sorted(found - set(accounts))
    return {b: accounts.get(b, "main") for b in ordered}


def replay_window(path: Path, start: float, end: float, limits: RiskLimits, *,
                  multiplier: float | None = None,
                  accounts: Mapping[str, str] | None = None) -> Report:
    """Read [start, end) and replay it under ``limits`` (and ``multiplier``, held); a
    fleet's journal one ledger per bot (``accounts``: its bots' accounts, when known)."""
    with cycle_collection_paused():
        window = read_window(path, start, end, accounts)
        found = report(rerun(window.rows, limits, since=start, multiplier=multiplier,
                             fleet=window.fleet), window.live_trips, window.live_by_bot)
    return msgspec.structs.replace(found, passed_over=window.passed_over)


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
                           confirmed=message.confirmed, bot_id=message.bot_id)
        case OperatorCommandIssued(action="halt"):
            return Halted(reason=f"{message.reason} (by {message.user})", bot_id=message.bot_id)
        case OperatorCommandIssued(action="close_all"):
            return Halted(reason=f"close all: {message.reason} (by {message.user})",
                          bot_id=message.bot_id)
        case TradingHaltRequested():
            return Halted(reason=f"{message.reason} (asked by {message.source})",
                          code=message.code, by="watchdog", bot_id=message.bot_id)
        case RiskMultiplierChangeRequested():
            return MultiplierAsked(value=message.value, requested_by=message.requested_by,
                                   reason=message.reason, bot_id=message.bot_id)
    return None


def _base(db: sqlite3.Connection, start: float, passed: list[str],
          source: str = "") -> tuple[int, float, RiskStateSaved] | None:
    """The newest readable save before ``start`` (of the engine ``source``, when given);
    None when the journal starts at seq 1 with none (a first start within or after
    it). :class:`JournalGap` else. A newer save that cannot be read (it does not
    decode, or a slice of its open orders is not in the file) is passed over for the
    one before it, which the replay then starts from, with more rows to replay: each
    one passed over is said in ``passed``, so the report can tell which save it used
    and why not the newest."""
    terms, params = topic_is(RiskStateSaved.topic)
    if source:
        terms, params = f"{terms} AND source = ?", [*params, source]
    unread: list[str] = []
    for seq, ts, payload in db.execute(
            f"SELECT seq, ts, payload FROM journal WHERE {terms} AND ts < ? "
            f"ORDER BY seq DESC LIMIT {_SAVES_TRIED}", (*params, start)):
        try:
            base = int(seq), float(ts), _whole(db, _saved.decode(payload))
        except (msgspec.DecodeError, _MissingSlice) as exc:
            unread.append(f"the risk state saved at journal row #{int(seq)}"
                          f"{f' by {source}' if source else ''} {_why_unread(exc)}")
            continue
        passed.extend(f"{why}: passed over for the one before it, at row #{base[0]}"
                      for why in unread)
        return base
    first = db.execute("SELECT MIN(seq), MIN(ts) FROM journal").fetchone()
    if first[0] is None or int(first[0]) <= 1:
        passed.extend(f"{why}: passed over; the replay starts at the journal's first row"
                      for why in unread)
        return None
    if unread:
        raise JournalGap(
            f"none of the {len(unread)} newest risk states saved before the start of the "
            f"stretch can be read ({'; '.join(unread)}), and the journal's rows before seq "
            f"{int(first[0]):,} were archived by retention: {_NOT_FROM_THIS_FILE}")
    raise JournalGap(
        f"the journal's rows before seq {int(first[0]):,} were archived by retention, and "
        f"the risk state saved before the start of the stretch went with them: "
        f"{_NOT_FROM_THIS_FILE}")


_NOT_FROM_THIS_FILE: Final = (
    "the stretch cannot be replayed exactly from this file. Fix: replay a later day, or "
    "restore the archived rows (see retention in docs/audit.md) into a copy of the journal")


_SAVES_TRIED: Final = 16
"""How many saves before the stretch are tried, newest first, before giving up."""


class _MissingSlice(Exception):
    """A save names a slice row of its open orders that is not in the file."""

    def __init__(self, seq: int) -> None:
        super().__init__(seq)
        self.seq = seq


def _why_unread(exc: Exception) -> str:
    if isinstance(exc, _MissingSlice):
        return f"names its open orders' slice at row #{exc.seq}, which is not in the file"
    return f"does not decode ({exc})"


def _whole(db: sqlite3.Connection, saved: RiskStateSaved) -> RiskStateSaved:
    """A save with its open orders read back from the slice rows it names
    (``agents.risk._parts``); :class:`_MissingSlice` when one is not in the file."""
    seqs = getattr(saved, "order_parts", ())
    if not seqs:
        return saved
    found = dict(db.execute(
        f"SELECT seq, payload FROM journal WHERE seq IN ({', '.join('?' * len(seqs))}) "
        "AND topic = ?", (*seqs, OpenOrdersSaved.topic)))
    missing = next((seq for seq in seqs if seq not in found), None)
    if missing is not None:
        raise _MissingSlice(missing)
    return whole(saved, [_part.decode(found[seq]).orders for seq in seqs])


def _untaken(db: sqlite3.Connection, seq: int, saved: RiskStateSaved,
             end: float) -> list[tuple[int, float, bytes, str]]:
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
    return list(db.execute("SELECT seq, ts, payload, source FROM journal WHERE seq > ? "
                           "AND seq < ? "
                           "AND ts < ? AND kind IN ('heartbeat', 'fill', 'order_update') "
                           "ORDER BY seq", (since, seq, end)))


def _after(db: sqlite3.Connection, after: int, end: float) -> sqlite3.Cursor:
    """(seq, ts, payload, source) rows: SQLite gives them as they are stored."""
    marks = ", ".join("?" * len(KINDS))
    return db.execute(f"SELECT seq, ts, payload, source FROM journal WHERE seq > ? AND ts < ? "
                      f"AND kind IN ({marks}) ORDER BY seq", (after, end, *KINDS))
