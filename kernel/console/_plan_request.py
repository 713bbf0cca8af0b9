"""Reading a ``kernel plan`` request file into the planner's inputs, with errors a person can fix.

The file is JSON written by a person or a script, so it is read like config:
unknown top-level keys are refused (a misspelt ``risk_pct`` must not silently
fall back to a default), and every problem names the file, the field, what was
expected and what was found. Verdicts and the snapshot may leave out what the
request already says (``symbol``, ``ts``, the asset class); verdicts left out
altogether are computed by the built-in analyzers (``planner.completion``).
An OPTIONS request also carries an option chain (``kernel.console._plan_chain``): the
snapshot is then the underlying's, with the underlying's asset class.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias, TypeVar

import msgspec
import msgspec.inspect

from bus.protocol import Price, Symbol, Timestamp
from kernel.console._plan_chain import CHAIN_FIX, ChainIn, read_chain
from planner.completion import Verdicts, complete_verdicts
from planner.config import PlannerConfig
from planner.contracts import ContractChoice, OptionChain
from planner.contracts_page import ChainPage
from planner.contracts_validation import choice_from_json
from planner.events import EventCalendar
from planner.messages import (
    CrossAssetSnapshot,
    MacroVerdict,
    MarketSnapshot,
    TechnicalVerdict,
    WildCardVerdict,
)
from planner.options import underlying_asset_class
from planner.options_config import OptionsConfig
from planner.parts import Account, AssetClass, Bar, MarketStatus, Style
from planner.snapshot import AnalysisError, daily_atr, make_snapshot
from planner.validation import input_problems

T = TypeVar("T")
Section = dict[str, Any] | None
AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]
Instrument: TypeAlias = Literal["stock", "index_etf", "crypto", "OPTIONS"]


class RequestError(Exception):
    """The request cannot be planned; the message says where and how to fix it."""


class AccountIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    size: Price
    """Dollars (USDT for crypto) the plan is sized for."""
    risk_pct: Annotated[float, msgspec.Meta(gt=0, le=100)] | None = None
    """Percent of the account a full position may lose; None: config/planner.yaml."""


class RequestFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The whole request file (docs/planner.md, "kernel plan")."""

    symbol: Symbol
    instrument: Instrument
    """What the plan trades: shares of a stock or an index ETF, coins, or OPTIONS on
    ``symbol`` (the underlying, a stock or an index ETF)."""
    style: Style
    account: AccountIn
    now: AwareTime | Timestamp | None = None
    """The moment to plan for; default: the snapshot's ``ts`` (or the last bar's)."""
    snapshot: Section = None
    bars: list[Bar] = []
    atr_30d: Price | None = None
    daily_bars: list[Bar] = []
    """31+ daily bars, for the 30-day ATR when ``atr_30d`` is not given."""
    market_status: MarketStatus = "open"
    prev_close: Price | None = None
    cross_asset: Section = None
    technical: Section = None
    macro: Section = None
    wildcard: Section = None
    chain: ChainIn | None = None
    """OPTIONS only, required: a Polygon option-chain snapshot, as a file path (relative
    to the request's folder), one page inline, or a list of pages."""
    contract: dict[str, Any] | str | None = None
    """OPTIONS only: a contract chosen elsewhere (an LLM, a bot), validated against the
    chain instead of searched for (``choice_from_json``)."""
    note: str = ""
    """Free text for people; the planner ignores it."""


class PlanInputs(msgspec.Struct, frozen=True, kw_only=True):
    snapshot: MarketSnapshot
    verdicts: Verdicts
    account: Account
    style: Style
    now: float
    chain: OptionChain | ChainPage | None = None
    """OPTIONS: the chain (a file read lazily), for ``plan_with_options``; None otherwise."""
    choice: ContractChoice | None = None


_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<where>[^`]*)`)?$")
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z_0-9]*)|\[(\d+)\]")


def load_request(path: Path, config: PlannerConfig, calendar: EventCalendar | None, *,
                 options: OptionsConfig | None = None) -> PlanInputs:
    """Read ``path`` and build everything ``build_plan`` needs; raise :class:`RequestError`.

    ``options`` says which underlyings are index ETFs (an OPTIONS request's
    snapshot takes that asset class); the shipped defaults when None.
    """
    try:
        raw = msgspec.json.decode(path.read_bytes())
    except OSError as exc:
        raise RequestError(f"{path}: cannot be read ({exc.strerror}). Fix: give the path of "
                           "a request file, e.g. examples/stock_day_long.json.") from exc
    except msgspec.DecodeError as exc:
        raise RequestError(f"{path}: not valid JSON ({exc}). Fix: correct the syntax at the "
                           "byte shown.") from exc
    request = _convert(path, raw, RequestFile, "", raw)
    asset_class: AssetClass = underlying_asset_class(request.symbol, options or OptionsConfig()) \
        if request.instrument == "OPTIONS" else request.instrument
    inputs = _build(path, raw, request, asset_class, config, calendar)
    chain, choice = _options_inputs(path, request)  # last: a chain is the costliest to read
    return msgspec.structs.replace(inputs, chain=chain, choice=choice)


def _build(path: Path, raw: Any, req: RequestFile, asset_class: AssetClass,
           config: PlannerConfig, calendar: EventCalendar | None) -> PlanInputs:
    snapshot = _snapshot(path, raw, req, asset_class)
    now = _now(req, snapshot)

    def section(name: str, kind: type[T], base: dict[str, Any]) -> T | None:
        given: Section = getattr(req, name)
        if given is None:
            return None
        return _convert(path, {**base, **given}, kind, name, raw.get(name))

    mine = {"symbol": req.symbol, "ts": now}
    try:
        verdicts = complete_verdicts(
            snapshot, req.style, now, config, calendar=calendar,
            technical=section("technical", TechnicalVerdict, mine),
            macro=section("macro", MacroVerdict, {"ts": now}),
            wildcard=section("wildcard", WildCardVerdict, mine),
            cross_asset=section("cross_asset", CrossAssetSnapshot, {"ts": now}))
    except AnalysisError as exc:
        raise RequestError(f"{path}: {_field(exc)}. Fix: give at least that many bars, or "
                           "give the technical verdict itself.") from exc
    account = Account(size=req.account.size, risk_pct=req.account.risk_pct)
    problems = input_problems(verdicts.technical, verdicts.macro, verdicts.wildcard, snapshot,
                              account, now)
    if problems:
        raise RequestError(f"{path}: {'; '.join(problems)}. Fix: correct the request; the "
                           "planner would refuse it as NO TRADE.")
    return PlanInputs(snapshot=snapshot, verdicts=verdicts, account=account, style=req.style,
                      now=now)


def _options_inputs(path: Path, req: RequestFile) -> tuple[OptionChain | ChainPage | None,
                                                        ContractChoice | None]:
    """The chain and the outside pick; refused where they would be silently ignored."""
    if req.instrument != "OPTIONS":
        extra = "chain" if req.chain is not None else \
            "contract" if req.contract is not None else None
        if extra:
            raise RequestError(f"{path}: field `{extra}` is only read for instrument OPTIONS, "
                               f"found instrument {req.instrument!r}. Fix: set instrument to "
                               f"OPTIONS, or remove `{extra}`.")
        return None, None
    if req.chain is None:
        raise RequestError(f"{path}: field `chain` is required for instrument OPTIONS. Fix: "
                           f"{CHAIN_FIX}")
    chain = read_chain(path.parent, req.chain, req.symbol)
    if isinstance(chain, str):
        raise RequestError(f"{path}: field `chain`{chain} Fix: {CHAIN_FIX}")
    choice = choice_from_json(req.contract) if req.contract is not None else None
    return chain, choice


def _field(exc: AnalysisError) -> str:
    """``bars: needs 50`` as "field `bars`: needs 50" (the analyzers name the field first)."""
    field, _, what = str(exc).partition(": ")
    return f"field `{field}`: {what}" if what else str(exc)


def _snapshot(path: Path, raw: Any, req: RequestFile, asset_class: AssetClass) -> MarketSnapshot:
    if req.snapshot is not None:
        given = req.snapshot
        if given.get("asset_class", asset_class) != asset_class:
            of = f" (the underlying {req.symbol} is {asset_class!r})" \
                if req.instrument == "OPTIONS" else ""
            raise RequestError(f"{path}: field `snapshot.asset_class`: {given['asset_class']!r} "
                               f"does not match instrument {req.instrument!r}{of}. Fix: make "
                               "them agree, or leave snapshot.asset_class out.")
        bars = given.get("bars")
        last_ts = bars[-1].get("ts") if isinstance(bars, list) and bars and \
            isinstance(bars[-1], dict) else None
        ts = _timestamp(req.now) or given.get("ts") or last_ts or 0.0
        base = {"symbol": req.symbol, "asset_class": asset_class, "ts": ts}
        return _convert(path, {**base, **given}, MarketSnapshot, "snapshot", raw.get("snapshot"))
    if not req.bars:
        raise RequestError(f"{path}: field `snapshot` is missing. Fix: give a snapshot, or "
                           "bars with atr_30d (or 31+ daily_bars).")
    try:
        atr = req.atr_30d if req.atr_30d is not None else daily_atr(req.daily_bars)
        return make_snapshot(req.symbol, req.bars, asset_class=asset_class, atr_30d=atr,
                             market_status=req.market_status, prev_close=req.prev_close)
    except AnalysisError as exc:
        raise RequestError(f"{path}: {_field(exc)}. Fix: give bars with atr_30d, or 31 "
                           "daily bars or more in daily_bars.") from exc


def _timestamp(now: datetime | float | None) -> float | None:
    return now.timestamp() if isinstance(now, datetime) else now


def _now(req: RequestFile, snapshot: MarketSnapshot) -> float:
    given = _timestamp(req.now)
    return given if given is not None else snapshot.ts


def _convert(path: Path, value: Any, kind: type[T], label: str, original: Any) -> T:
    """``msgspec.convert`` whose error names the field, the expectation and the value found."""
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        match = _AT.match(str(exc))
        assert match is not None  # the pattern matches any string
        what, where = match["what"], match["where"] or ""
        if what.startswith("Object contains unknown field"):
            name = what.split("`")[1]
            field = _join(label, f"{where}.{name}")
            raise RequestError(f"{path}: field `{field}` is not a known field. Fix: check its "
                               "spelling against docs/planner.md, or remove it.") from exc
        if what.startswith("Object missing required field"):
            name = what.split("`")[1]
            raise RequestError(f"{path}: field `{_join(label, f'{where}.{name}')}` is required. "
                               "Fix: add it.") from exc
        found = _lookup(original if label else value, where)
        shown = f", found {found!r}" if found is not _MISSING else ""
        choices = _choices(kind, where)
        if choices:
            what, shown = f"{what}; expected one of {', '.join(choices)}", ""
        raise RequestError(f"{path}: field `{_join(label, where) or '(top level)'}`: "
                           f"{what[:1].lower()}{what[1:]}{shown}. Fix: set it to a value of "
                           "the expected kind.") from exc


_MISSING: Any = object()


def _join(label: str, where: str) -> str:
    return f"{label}{where}" if label else where.lstrip(".")


def _choices(kind: Any, where: str) -> list[str]:
    """The words a Literal field at ``where`` accepts (msgspec's message does not list them)."""
    info: Any = msgspec.inspect.type_info(kind)
    for name, _index in _STEP.findall(where):
        if isinstance(info, msgspec.inspect.UnionType):
            kinds = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
            info = kinds[0] if len(kinds) == 1 else None
        if name and isinstance(info, msgspec.inspect.StructType):
            info = next((f.type for f in info.fields if f.encode_name == name), None)
        elif not name and isinstance(info, msgspec.inspect.ListType):
            info = info.item_type
        else:
            return []
    if isinstance(info, msgspec.inspect.UnionType):
        info = next((t for t in info.types if isinstance(t, msgspec.inspect.LiteralType)), None)
    return [str(v) for v in info.values] if isinstance(info, msgspec.inspect.LiteralType) else []


def _lookup(value: Any, where: str) -> Any:
    """The value at a msgspec path such as ``.bars[3].high``, or a marker when absent."""
    for name, index in _STEP.findall(where):
        try:
            value = value[name] if name else value[int(index)]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return value
