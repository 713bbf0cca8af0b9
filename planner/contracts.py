"""Option contracts as the planner sees them, whatever vendor they came from.

A vendor's chain is decoded once (``planner.contracts_polygon``) into these
Structs, so the selector, the contract validation and the option stops never
read vendor JSON. Every market field may be None: deep in-the-money contracts
often come without greeks and quiet ones without a quote, and ``missing`` keeps
what the vendor left out so that a plan can say why it trusts a contract less.

``OptionsBlock`` is the part of a :class:`~planner.messages.TradePlan` that
names the contract; it lives here, beside the contract it describes, so that
``planner.messages`` can import it without importing the selector.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, ClassVar, Literal, Protocol, TypeAlias

import msgspec

from bus.protocol import Message, Price, Symbol, Text, Timestamp
from planner.parts import Label, Part, Range

Num = Annotated[float, msgspec.Meta(gt=-1e15, lt=1e15)]
"""Any finite market number; signs are judged by the checks, not by decoding."""
Notes = Annotated[list[Text], msgspec.Meta(max_length=256)]
OptionSymbol = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

ContractType: TypeAlias = Literal["call", "put"]
Phase: TypeAlias = Literal["primary", "expanded", "fallback", "external"]
"""Which search found the contract; ``external``: chosen by an LLM or a bot, then validated."""
OptionsStatus: TypeAlias = Literal["SELECTED", "NO_CONTRACT", "REJECTED"]


class OptionContract(Part, frozen=True, gc=False):
    """One contract of a chain, with what the vendor left out listed in ``missing``.

    Not tracked by the garbage collector (``gc=False``): a chain holds thousands
    and each one tracked made the collector walk them all while a chain was being
    decoded (a 10,000-contract ``decode_chain`` took a third longer, the bus
    decode of the same chain two thirds longer). It can join no reference cycle:
    its fields are numbers, strings and ``missing``, a list of strings.
    """

    symbol: OptionSymbol
    """The full vendor symbol, e.g. ``O:SPY251219C00650000``."""
    underlying: Symbol
    contract_type: ContractType | None = None
    expiration: Label | None = None
    """``YYYY-MM-DD`` as the vendor wrote it (checked by the validation, not here)."""
    strike: Num | None = None
    shares_per_contract: Num = 100.0
    delta: Num | None = None
    gamma: Num | None = None
    theta: Num | None = None
    """Premium change per calendar day, in dollars per share (negative for a long option)."""
    vega: Num | None = None
    implied_volatility: Num | None = None
    bid: Num | None = None
    ask: Num | None = None
    midpoint: Num | None = None
    volume: Num | None = None
    """Contracts traded today (``day.volume``)."""
    open_interest: Num | None = None
    underlying_price: Num | None = None
    missing: list[Label] = msgspec.field(default_factory=list)
    """Vendor fields that were absent or malformed, e.g. ``greeks`` or ``last_quote.bid``."""

    @property
    def has_greeks(self) -> bool:
        return self.delta is not None and self.theta is not None


class OptionChain(Message, frozen=True, tag="option_chain"):
    """Every contract of one underlying at one moment, as one message.

    Published on ``market.options_chain`` by whatever feeds the kernel option
    data; ``kernel plan`` builds one from a vendor file instead.
    """

    topic: ClassVar[str] = "market.options_chain"
    underlying: Symbol
    contracts: Annotated[list[OptionContract], msgspec.Meta(max_length=200_000)] = msgspec.field(
        default_factory=list)
    ts: Timestamp | None = None
    """When the newest quote in the chain was taken; None when the vendor did not say."""
    underlying_price: Price | None = None
    notes: Notes = msgspec.field(default_factory=list)
    """What the decoder noticed: missing blocks, skipped results, duplicates."""
    source: Label = "polygon"

    def count(self) -> int:
        return len(self.contracts)

    def expirations(self) -> set[str | None]:
        return {c.expiration for c in self.contracts}

    def pool(self, kind: str, window: Collection[str]) -> list[OptionContract]:
        """The contracts of one type expiring in ``window``, in chain order."""
        return [c for c in self.contracts if c.contract_type == kind and c.expiration in window]

    def find(self, symbol: str) -> OptionContract | None:
        """The contract of that symbol (the last one, should a hand-made chain repeat it)."""
        return next((c for c in reversed(self.contracts) if c.symbol == symbol), None)


class ChainView(Protocol):
    """What the selector reads of a chain: an :class:`OptionChain`, or a page read lazily
    (``planner.contracts_page.ChainPage``) that builds only the contracts asked for."""

    @property
    def underlying(self) -> str: ...

    @property
    def underlying_price(self) -> float | None: ...

    def count(self) -> int: ...

    def expirations(self) -> set[str | None]: ...

    def pool(self, kind: str, window: Collection[str]) -> list[OptionContract]: ...

    def find(self, symbol: str) -> OptionContract | None: ...


class ContractChoice(Part, frozen=True):
    """A contract picked outside the selector (an LLM, a bot), before it is trusted.

    Every field may be missing or wrong: that is what the validation is for.
    """

    symbol: str | None = None
    expiration: str | None = None
    bid: float | None = None
    ask: float | None = None
    strike: float | None = None
    contract_type: str | None = None


class Greeks(Part, frozen=True):
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = None
    vega: float | None = None
    implied_volatility: float | None = None


class OptionQuote(Part, frozen=True):
    bid: float
    ask: float
    mid: float
    spread: float
    spread_pct: float
    """Spread as a percent of the mid."""


class OptionsBlock(Part, frozen=True):
    """The plan's options details: which contract, why, and how many.

    ``status`` is ``SELECTED`` on a TRADE; on a NO TRADE it says whether no
    contract qualified (``NO_CONTRACT``) or a chosen one failed validation
    (``REJECTED``), and ``reason`` says why.
    """

    status: OptionsStatus
    underlying: Symbol
    reason: Text = ""
    symbol: OptionSymbol | None = None
    contract_type: ContractType | None = None
    strike: float | None = None
    expiration: Label | None = None
    dte: int | None = None
    true_0dte: bool = False
    expiry_label: Text = ""
    """``0DTE`` or, for a SCALP without a same-day expiry, why this one is not a true 0DTE."""
    greeks: Greeks | None = None
    quote: OptionQuote | None = None
    volume: float | None = None
    open_interest: float | None = None
    shares_per_contract: float | None = None
    phase: Phase | None = None
    rationale: Notes = msgspec.field(default_factory=list)
    """One line per selection criterion: price, volume, theta, delta, open interest."""
    caution_notes: Notes = msgspec.field(default_factory=list)
    entry_premium: Range | None = None
    """Premium expected when the stock trades through the entry zone (from the ask)."""
    premium_targets: list[Range] = msgspec.field(default_factory=list)
    """Premium at TP1 and TP2, to first order (delta only)."""
    premium_risk_per_contract: float | None = None
    """Dollars one contract loses from the top of the entry premium to the bottom of the stop."""
    contracts: int = 0
    validation: Notes = msgspec.field(default_factory=list)
    """The contract checks that ran, each with its outcome."""
    search: Notes = msgspec.field(default_factory=list)
    """How many contracts each phase looked at and why the others were left out."""
