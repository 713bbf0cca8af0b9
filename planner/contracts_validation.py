"""Contract validation: a chosen contract is trusted only if the chain vouches for it.

Runs on every selection, the selector's own and any contract an LLM or a bot
names, because a language model can produce a plausible ticker that does not
exist. The seed's checks, in order: the symbol starts with ``O:``; the
expiration is ``YYYY-MM-DD``; bid and ask exist and are positive; the strike
exists and is positive; the symbol is in the original chain. One more closes a
gap the seed leaves open: a real symbol quoted with another strike, expiry or
type is a hallucination too. Any failure rejects the trade with
``Contract validation failed: <the checks that failed>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

import msgspec

from planner.contracts import ChainView, ContractChoice, OptionChain, OptionContract

FAILED = "Contract validation failed"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ContractCheck(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of every check, and the chain's own record when the symbol is in it."""

    passed: list[str]
    failed: list[str]
    contract: OptionContract | None

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def reason(self) -> str:
        """``Contract validation failed: …`` naming every failed check; empty when none failed."""
        return f"{FAILED}: {'; '.join(self.failed)}" if self.failed else ""


def choice_of(contract: OptionContract) -> ContractChoice:
    """The selector's own pick, in the shape an outside choice arrives in."""
    return ContractChoice(symbol=contract.symbol, expiration=contract.expiration, bid=contract.bid,
                          ask=contract.ask, strike=contract.strike,
                          contract_type=contract.contract_type)


def choice_from_json(value: Any) -> ContractChoice:
    """An outside choice from decoded JSON: numbers may arrive as strings; junk becomes None.

    Never raises: whatever is unusable is left for :func:`validate_contract` to name.
    """
    if isinstance(value, str):
        return ContractChoice(symbol=value)
    if not isinstance(value, dict):
        return ContractChoice()
    get = value.get
    return ContractChoice(
        symbol=_text(get("symbol", get("ticker"))),
        expiration=_text(get("expiration", get("expiration_date"))),
        bid=_number(get("bid")), ask=_number(get("ask")),
        strike=_number(get("strike", get("strike_price"))),
        contract_type=_text(get("contract_type", get("type"))))


def _text(value: Any) -> str | None:
    return value[:256] if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().lstrip("$").replace(",", ""))
        except ValueError:
            return None
    return None


def chain_index(chain: OptionChain) -> dict[str, OptionContract]:
    """Symbol -> contract, built once per chain when many choices are checked."""
    return {c.symbol: c for c in chain.contracts}


def validate_contract(choice: ContractChoice, chain: ChainView,
                      index: Mapping[str, OptionContract] | None = None) -> ContractCheck:
    """Run every check; the failures say what was expected and what was found."""
    results = [_symbol(choice), _expiration(choice), _quotes(choice), _strike(choice)]
    found = index.get(choice.symbol or "") if index is not None else \
        chain.find(choice.symbol or "")
    results.append(("cross-reference: symbol is in the original chain", None) if found else
                   ("cross-reference", f"symbol {choice.symbol!r} is not in the original "
                    f"{chain.underlying} chain of {chain.count()} contracts"))
    if found is not None:
        results.append(_agrees(choice, found))
    passed = [name for name, problem in results if problem is None]
    failed = [f"{name}: {problem}" for name, problem in results if problem is not None]
    return ContractCheck(passed=passed, failed=failed, contract=found)


Result = tuple[str, str | None]


def _symbol(choice: ContractChoice) -> Result:
    if choice.symbol is not None and choice.symbol.startswith("O:"):
        return "symbol format: starts with O:", None
    return "symbol format", f"must start with \"O:\", found {choice.symbol!r}"


def _expiration(choice: ContractChoice) -> Result:
    text = choice.expiration
    if text is not None and _DATE.match(text):
        try:
            date.fromisoformat(text)
            return "expiration format: YYYY-MM-DD", None
        except ValueError:
            pass
    return "expiration format", f"must be a YYYY-MM-DD date, found {text!r}"


def _quotes(choice: ContractChoice) -> Result:
    bad = [f"{name} {value!r}" for name, value in (("bid", choice.bid), ("ask", choice.ask))
           if value is None or not value > 0]
    if not bad:
        return "bid/ask: both present and positive", None
    return "bid/ask", f"both must exist and be positive, found {', '.join(bad)}"


def _strike(choice: ContractChoice) -> Result:
    if choice.strike is not None and choice.strike > 0:
        return "strike: present and positive", None
    return "strike", f"must exist and be positive, found {choice.strike!r}"


def _agrees(choice: ContractChoice, found: OptionContract) -> Result:
    """A real symbol with someone else's strike, expiry or type is still made up."""
    wrong = []
    if choice.strike is not None and found.strike is not None \
            and abs(choice.strike - found.strike) > 1e-6:
        wrong.append(f"strike {choice.strike:g} (chain: {found.strike:g})")
    if choice.expiration is not None and choice.expiration != found.expiration:
        wrong.append(f"expiration {choice.expiration} (chain: {found.expiration})")
    if choice.contract_type is not None and choice.contract_type.lower() != found.contract_type:
        wrong.append(f"type {choice.contract_type} (chain: {found.contract_type})")
    if not wrong:
        return "consistency: strike, expiration and type agree with the chain", None
    return "consistency", f"the chain's contract differs: {', '.join(wrong)}"
