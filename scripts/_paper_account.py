"""The reference bot's market, strategy and books, kept free of I/O and clocks.

Everything here is a plain function or a small class fed with prices, so a unit
test can replay a whole trading session from a seed and check every number; the
script around it (``run_bot.py``) only adds the clock, the link and the log.

Conventions: quantities are signed (a short is negative), money is USDT, a fee is
what was paid (positive), and ``realized_pnl`` is net of fees, so that
``equity = start_equity + realized_pnl + unrealized_pnl``.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

Side = Literal["buy", "sell"]

FEE_RATE = 0.0004
"""Taker fee of a typical USDT perpetual: 0.04 % of the notional."""
START_PRICES = {"BTCUSDT": 60_000.0, "ETHUSDT": 3_000.0, "SOLUSDT": 150.0,
                "BNBUSDT": 600.0, "XRPUSDT": 0.6}
_FLAT = 1e-12


class RandomWalk:
    """A seeded geometric random walk per symbol: the same seed, the same market."""

    def __init__(self, symbols: list[str], *, seed: int, volatility: float = 0.0008) -> None:
        self._rng = random.Random(seed)
        self._volatility = volatility
        self.prices = {symbol: START_PRICES.get(symbol, 100.0) for symbol in symbols}

    def step(self) -> dict[str, float]:
        for symbol, price in self.prices.items():
            self.prices[symbol] = round(price * math.exp(self._rng.gauss(0.0, self._volatility)), 8)
        return dict(self.prices)


@dataclass
class Book:
    qty: float = 0.0
    avg_price: float = 0.0


@dataclass
class PaperAccount:
    """Positions and PnL from fills, the way a USDT-margined exchange counts them."""

    start_equity: float
    realized_pnl: float = 0.0
    fees: float = 0.0
    books: dict[str, Book] = field(default_factory=dict)

    def apply_fill(self, symbol: str, side: Side, qty: float, price: float, fee: float) -> float:
        """Book a fill; return the PnL it realized (fee included)."""
        book = self.books.setdefault(symbol, Book())
        signed = qty if side == "buy" else -qty
        realized = -fee
        if book.qty * signed >= 0:  # opening or adding: average the entry price
            total = abs(book.qty) + qty
            book.avg_price = (abs(book.qty) * book.avg_price + qty * price) / total
        else:  # reducing, closing or flipping
            closed = min(qty, abs(book.qty))
            realized += closed * (price - book.avg_price) * math.copysign(1.0, book.qty)
            if abs(book.qty + signed) > _FLAT and (book.qty + signed) * book.qty < 0:
                book.avg_price = price  # flipped: the rest is a new position at this price
        book.qty = book.qty + signed if abs(book.qty + signed) > _FLAT else 0.0
        if book.qty == 0.0:
            book.avg_price = 0.0
        self.fees += fee
        self.realized_pnl += realized
        return realized

    def open_books(self) -> dict[str, Book]:
        return {symbol: book for symbol, book in self.books.items() if book.qty}

    def unrealized_pnl(self, marks: dict[str, float]) -> float:
        return sum(book.qty * (marks[symbol] - book.avg_price)
                   for symbol, book in self.open_books().items())

    def equity(self, marks: dict[str, float]) -> float:
        return self.start_equity + self.realized_pnl + self.unrealized_pnl(marks)


def fee_for(qty: float, price: float) -> float:
    return round(qty * price * FEE_RATE, 8)


def entry_qty(notional: float, price: float) -> float:
    """Order size for a notional in USDT, rounded down to the exchange's 0.000001 step."""
    if notional <= 0 or price <= 0:
        return 0.0
    return math.floor(notional / price * 1e6) / 1e6


def momentum_side(history: list[float], threshold: float) -> Side | None:
    """Follow a move over the window once it is larger than ``threshold`` (a fraction)."""
    if len(history) < 2:
        return None
    move = history[-1] / history[0] - 1.0
    if abs(move) < threshold:
        return None
    return "buy" if move > 0 else "sell"


def exit_reason(qty: float, avg_price: float, price: float, held_ticks: int, *,
                take_profit: float, stop_loss: float, max_hold_ticks: int) -> str | None:
    """Why a scalp should be closed now, or None to keep it."""
    gain = (price / avg_price - 1.0) * math.copysign(1.0, qty)
    if gain >= take_profit:
        return f"take profit {gain:+.2%}"
    if gain <= -stop_loss:
        return f"stop loss {gain:+.2%}"
    if held_ticks >= max_hold_ticks:
        return f"held {held_ticks} ticks {gain:+.2%}"
    return None


@dataclass(frozen=True)
class Intent:
    symbol: str
    side: Side
    qty: float
    reduce_only: bool
    why: str


@dataclass
class Scalper:
    """Momentum entries, quick exits; waits a few ticks after each order (or denial)."""

    notional: float = 1_000.0
    lookback: int = 5
    threshold: float = 0.0005
    take_profit: float = 0.002
    stop_loss: float = 0.002
    max_hold_ticks: int = 8
    cooldown_ticks: int = 3
    _history: dict[str, deque[float]] = field(default_factory=dict)
    _held: dict[str, int] = field(default_factory=dict)
    _cooldown: dict[str, int] = field(default_factory=dict)

    def on_tick(self, symbol: str, price: float, book: Book | None,
                risk_multiplier: float) -> Intent | None:
        history = self._history.setdefault(symbol, deque(maxlen=self.lookback + 1))
        history.append(price)
        self._held[symbol] = self._held.get(symbol, 0) + 1 if book and book.qty else 0
        if self._cooldown.get(symbol, 0) > 0:
            self._cooldown[symbol] -= 1
            return None
        if book is not None and book.qty:
            why = exit_reason(book.qty, book.avg_price, price, self._held[symbol],
                              take_profit=self.take_profit, stop_loss=self.stop_loss,
                              max_hold_ticks=self.max_hold_ticks)
            side: Side = "sell" if book.qty > 0 else "buy"
            return Intent(symbol, side, abs(book.qty), True, why) if why else None
        ready = len(history) > self.lookback
        entry = momentum_side(list(history), self.threshold) if ready else None
        qty = entry_qty(self.notional * risk_multiplier, price)
        if entry is None or qty <= 0:
            return None
        return Intent(symbol, entry, qty, False, f"momentum {history[-1] / history[0] - 1:+.2%}")

    def acted(self, symbol: str) -> None:
        """An order went out or was denied: let the market move before the next one."""
        self._cooldown[symbol] = self.cooldown_ticks


def closing_intents(account: PaperAccount, why: str) -> list[Intent]:
    """Reduce-only orders that flatten every open position."""
    return [Intent(symbol, "sell" if book.qty > 0 else "buy", abs(book.qty), True, why)
            for symbol, book in sorted(account.open_books().items())]


@dataclass
class PaperVenue:
    """The simulated exchange's side of an order: an order id, and whether an IOC
    market order found liquidity. A real venue sometimes fills nothing (a thin book,
    a price that moved); ``miss_rate`` of the orders, drawn from ``seed``, do so."""

    miss_rate: float = 0.0
    seed: int = 0
    _rng: random.Random = field(init=False)
    placed: int = 0
    """Orders placed so far (kept across sessions, so that venue ids never repeat)."""

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def place(self) -> tuple[str, bool]:
        """The venue's id for a new order, and True when it fills at once (in full)."""
        self.placed += 1
        return f"PAPER-{self.placed:08d}", self._rng.random() >= self.miss_rate


ACCOUNT_FORMAT = 1
"""Version of the saved paper account; a file of another version is not read."""


def account_state(account: PaperAccount, orders_placed: int,
                  marks: dict[str, float] | None = None) -> dict[str, object]:
    """What the paper exchange keeps between sessions, as plain JSON-able data.

    The venue fills IOC market orders at once, so no order is ever left open and
    there is nothing else to keep: positions, cash (start equity plus realised
    PnL), fees, how many orders were placed (so venue ids never repeat), and the
    last marks, so that the market goes on from where it was rather than jumping
    back to its opening prices under the restored positions.
    """
    return {"format": ACCOUNT_FORMAT, "start_equity": account.start_equity,
            "realized_pnl": account.realized_pnl, "fees": account.fees,
            "orders_placed": orders_placed, "open_orders": [], "marks": dict(marks or {}),
            "books": {s: {"qty": b.qty, "avg_price": b.avg_price}
                      for s, b in sorted(account.open_books().items())}}


def restore_account(data: object) -> tuple[PaperAccount, int]:
    """The account and order count saved by :func:`account_state`; ``ValueError``
    says what is wrong with a file that cannot be trusted (:func:`restore_marks`
    reads the marks)."""
    if not isinstance(data, dict) or data.get("format") != ACCOUNT_FORMAT:
        raise ValueError(f"not a paper account of format {ACCOUNT_FORMAT}")
    try:
        books = {str(s): Book(qty=float(b["qty"]), avg_price=float(b["avg_price"]))
                 for s, b in dict(data["books"]).items()}
        account = PaperAccount(start_equity=float(data["start_equity"]),
                               realized_pnl=float(data["realized_pnl"]),
                               fees=float(data["fees"]), books=books)
        placed = int(data["orders_placed"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"damaged paper account: {exc!r}") from exc
    numbers = [account.start_equity, account.realized_pnl, account.fees,
               *(v for b in books.values() for v in (b.qty, b.avg_price))]
    if not all(math.isfinite(n) for n in numbers) or placed < 0:
        raise ValueError("damaged paper account: a number is not finite")
    return account, placed


def restore_marks(data: object) -> dict[str, float]:
    """The last marks of a saved account (positive and finite ones only)."""
    marks = data.get("marks") if isinstance(data, dict) else None
    if not isinstance(marks, dict):
        return {}
    out: dict[str, float] = {}
    for symbol, price in marks.items():
        if isinstance(price, int | float) and math.isfinite(price) and price > 0:
            out[str(symbol)] = float(price)
    return out
