"""What a replay found, for people and tools: counts, flips, trips, and the day's outcome.

**Path dependence.** The replay takes the real fills, which the really allowed
orders made. After the first flip the replayed engine's reservations, rate
tokens and (had the order traded) positions differ from what they would have
been, so every later row is *approximate*: ``exact_through_seq`` says up to
which journal row the replay is exact, and each flip carries ``exact``.

**The outcome had the new halts happened** is a model, said plainly: from the
first halt the replay trips that did not trip live, no further trade is made
and the positions open then are taken as closed at that moment's marks, so the
equity stays where it was. A halt that tripped live too changes nothing. An
order a looser limit would have allowed has no fill to book: its effect on the
PnL cannot be known and is not guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import msgspec

from risk.money import ZERO
from risk.rerun import Compared, Rerun, Trip

LIVE_MATCH_S = 5.0
"""A replayed trip and a live one of the same code this close are the same trip
(the live one is journaled when the engine acts, a bus hop after the fact)."""


class Flip(msgspec.Struct, frozen=True, kw_only=True):
    """One request whose verdict or code differs under the replayed limits."""

    seq: int
    ts: float
    bot_id: str
    request_id: str
    symbol: str
    side: str
    qty: float
    price: float
    old_verdict: str
    old_code: str
    old_reason: str
    new_verdict: str
    new_code: str
    new_reason: str
    exact: bool
    """False after the first verdict flip: the replayed state has left the real one."""


class Counts(msgspec.Struct, frozen=True, kw_only=True):
    orders: int = 0
    same: int = 0
    """Same verdict and same code."""
    reason_differs: int = 0
    """Of ``same``: the sentence names other numbers (a fact the live engine had not
    taken yet when it decided; see "Exactness" in docs/replay.md)."""
    allow_to_deny: dict[str, int] = {}
    """By the new DENY's code."""
    deny_to_allow: dict[str, int] = {}
    """By the old DENY's code."""
    other_code: int = 0
    """DENY both times, for another reason."""
    by_kernel: int = 0
    """Denied by the gateway or the watchdog, not the engine: kept as they were."""


class TripView(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    ts: float
    code: str
    reason: str
    value: Decimal
    limit: Decimal
    action: str
    live: bool
    """It tripped live as well (same code, within ``LIVE_MATCH_S``; in a fleet, by the
    same bot's engine)."""
    bot_id: str = ""


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """The ledger's equity over the window, as it was and had the new halts happened."""

    start_equity: Decimal | None = None
    end_equity: Decimal | None = None
    pnl: Decimal | None = None
    max_drawdown: Decimal | None = None
    halted_at: float | None = None
    """The first new halt (None: none, and the two outcomes are the same)."""
    pnl_with_halts: Decimal | None = None
    max_drawdown_with_halts: Decimal | None = None


class Part(msgspec.Struct, frozen=True, kw_only=True):
    """One bot of a fleet: its orders, exactness, trips and its own ledger's outcome."""

    counts: Counts
    exact: bool
    exact_through_seq: int | None
    """With portfolio limits, no later than the first flip of any bot: the portfolio's
    sums of every bot's ledger leave the real ones there."""
    trips: int
    outcome: Outcome


class Report(msgspec.Struct, frozen=True, kw_only=True):
    counts: Counts
    exact: bool
    """No verdict flipped: every row is exact."""
    exact_through_seq: int | None
    """The last journal row up to which the replay is exact (None: no order at all)."""
    flips: list[Flip]
    trips: list[TripView]
    live_only_trips: list[tuple[float, str]]
    """Live trips (time, code) the replayed limits would not have made."""
    outcome: Outcome
    """In a fleet, the portfolio's: the bots' equities summed."""
    orphans: int = 0
    bots: dict[str, Part] = {}
    """In a fleet, each bot's part (empty: one engine's journal)."""
    passed_over: list[str] = []
    """Saves newer than the one the replay started from that could not be read, each
    with why: the replay is as exact, from further back (``kernel replay`` says so)."""


def report(run: Rerun, live_trips: Sequence[tuple[float, str]],
           live_by_bot: Mapping[str, Sequence[tuple[float, str]]] | None = None) -> Report:
    """Sum ``run`` up; ``live_trips`` are the (time, code) of the live limit trips, and in
    a fleet ``live_by_bot`` the same by the bot whose engine tripped."""
    flips, exact_through = _flips(run.rows)
    if not run.states:
        trips, live_only = _match(run.trips, live_trips)
        halted_at = next((t.ts for t in trips if not t.live), None)
        return Report(counts=_counts(run.rows), exact=_first_flip(run.rows) is None,
                      exact_through_seq=exact_through, flips=flips, trips=trips,
                      live_only_trips=live_only, outcome=_outcome(run.equity, halted_at),
                      orphans=run.orphans)
    trips, live_only = [], []
    for bot in run.states:
        views, unmatched = _match([t for t in run.trips if t.bot_id == bot],
                                  (live_by_bot or {}).get(bot, ()))
        trips += views
        live_only += unmatched
    trips.sort(key=lambda t: t.ts)
    halted = {t.bot_id: t.ts for t in reversed(trips) if not t.live}  # each bot's first
    return Report(counts=_counts(run.rows), exact=_first_flip(run.rows) is None,
                  exact_through_seq=exact_through, flips=flips, trips=trips,
                  live_only_trips=sorted(live_only), outcome=_summed(run.marks, halted),
                  orphans=run.orphans, bots={b: _part(run, b, trips, halted) for b in run.states})


def _part(run: Rerun, bot: str, trips: Sequence[TripView], halted: Mapping[str, float]) -> Part:
    rows = [r for r in run.rows if r.bot_id == bot]
    own = _first_flip(rows)
    first = _first_flip(run.rows) if run.coupled else own
    last = rows[-1].seq if rows else None
    exact = own is None and (first is None or last is None or last <= first.seq)
    curve = [(ts, equity) for ts, b, equity in run.marks if b == bot]
    return Part(counts=_counts(rows), exact=exact,
                exact_through_seq=last if first is None else first.seq,
                trips=sum(t.bot_id == bot for t in trips),
                outcome=_outcome(curve, halted.get(bot)))


def _summed(marks: Sequence[tuple[float, str, Decimal]], halted: Mapping[str, float]) -> Outcome:
    """The portfolio's outcome: the bots' equities summed at each heartbeat once every
    bot's is known, as they were and had each bot's new halt happened (that bot's equity
    then stays where it was; the others trade on)."""
    bots = {bot for _, bot, _ in marks}
    last: dict[str, Decimal] = {}
    kept: dict[str, Decimal] = {}
    total: list[tuple[float, Decimal]] = []
    held: list[tuple[float, Decimal]] = []
    for ts, bot, equity in marks:
        last[bot] = equity
        if bot not in kept or ts <= halted.get(bot, ts):
            kept[bot] = equity
        if len(last) == len(bots):
            total.append((ts, sum(last.values(), ZERO)))
            held.append((ts, sum(kept.values(), ZERO)))
    plain = _outcome(total, None)
    if not total or not halted:
        return plain
    return msgspec.structs.replace(plain, halted_at=min(halted.values()),
                                   pnl_with_halts=held[-1][1] - total[0][1],
                                   max_drawdown_with_halts=_max_drawdown(held))


def _first_flip(rows: Sequence[Compared]) -> Compared | None:
    return next((r for r in rows if r.flipped), None)


def _flips(rows: Sequence[Compared]) -> tuple[list[Flip], int | None]:
    first = _first_flip(rows)
    out: list[Flip] = []
    exact_through = first.seq if first is not None else rows[-1].seq if rows else None
    for row in rows:
        if row.old.verdict == row.new.verdict and row.old.code == row.new.code:
            continue
        exact = first is None or row.seq <= first.seq
        out.append(Flip(seq=row.seq, ts=row.ts, bot_id=row.bot_id, request_id=row.request_id,
                        symbol=row.symbol, side=row.side, qty=row.qty, price=row.price,
                        old_verdict=row.old.verdict, old_code=row.old.code,
                        old_reason=row.old.reason, new_verdict=row.new.verdict,
                        new_code=row.new.code, new_reason=row.new.reason, exact=exact))
    return out, exact_through


def _counts(rows: Sequence[Compared]) -> Counts:
    same = other = kernel = worded = 0
    to_deny: dict[str, int] = {}
    to_allow: dict[str, int] = {}
    for row in rows:
        old, new = row.old, row.new
        kernel += row.by_kernel
        if old.verdict == new.verdict:
            if old.code == new.code:
                same += 1
                worded += old.reason != new.reason
            else:
                other += 1
        elif new.verdict == "DENY":
            to_deny[new.code] = to_deny.get(new.code, 0) + 1
        else:
            to_allow[old.code] = to_allow.get(old.code, 0) + 1
    return Counts(orders=len(rows), same=same, allow_to_deny=to_deny, deny_to_allow=to_allow,
                  other_code=other, by_kernel=kernel, reason_differs=worded)


def _match(trips: Sequence[Trip], live: Sequence[tuple[float, str]]
           ) -> tuple[list[TripView], list[tuple[float, str]]]:
    unmatched = list(live)
    views = []
    for trip in trips:
        twin = next((t for t in unmatched if t[1] == trip.code
                     and abs(t[0] - trip.ts) <= LIVE_MATCH_S), None)
        if twin is not None:
            unmatched.remove(twin)
        views.append(TripView(seq=trip.seq, ts=trip.ts, code=trip.code, reason=trip.reason,
                              value=trip.value, limit=trip.limit, action=trip.action,
                              live=twin is not None, bot_id=trip.bot_id))
    return views, unmatched


def _outcome(curve: Sequence[tuple[float, Decimal]], halted_at: float | None) -> Outcome:
    if not curve:
        return Outcome(halted_at=halted_at)
    start, end = curve[0][1], curve[-1][1]
    drawdown = _max_drawdown(curve)
    if halted_at is None:
        return Outcome(start_equity=start, end_equity=end, pnl=end - start,
                       max_drawdown=drawdown, pnl_with_halts=end - start,
                       max_drawdown_with_halts=drawdown)
    before = [point for point in curve if point[0] <= halted_at] or [curve[0]]
    return Outcome(start_equity=start, end_equity=end, pnl=end - start, max_drawdown=drawdown,
                   halted_at=halted_at, pnl_with_halts=before[-1][1] - start,
                   max_drawdown_with_halts=_max_drawdown(before))


def _max_drawdown(curve: Sequence[tuple[float, Decimal]]) -> Decimal:
    """The largest fall from a high to a later low, in USDT."""
    peak, worst = curve[0][1], ZERO
    for _, equity in curve:
        peak = max(peak, equity)
        worst = max(worst, peak - equity)
    return worst
