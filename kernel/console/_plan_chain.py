"""The option chain of an OPTIONS ``kernel plan`` request: a vendor file or inline JSON.

A chain is large and comes straight from a vendor (the Polygon.io / Massive
snapshot, docs/options.md), so a request names a file more often than it
inlines one. A relative path is read from the request file's folder, not from
the working directory, so a request and its chain can be moved or shared
together and ``kernel plan --input`` works from anywhere. Problems come back as
text for the request reader to prefix with the file and the field.

A chain file is read lazily (``planner.contracts_page``): one plan looks at the
contracts of one type in one expiry window, so only those are built; a file the
typed reading refuses, and an inline chain, are decoded whole by ``decode_chain``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeAlias

import msgspec

from planner.contracts import OptionChain
from planner.contracts_page import ChainPage, read_page
from planner.contracts_polygon import ChainError, decode_chain

ChainIn: TypeAlias = str | dict[str, Any] | list[Any]
"""A file path, one snapshot page, or a list of pages (joined in order)."""

CHAIN_FIX = ("give the path of a Polygon option-chain snapshot file (GET /v3/snapshot/"
             "options/{underlying}; a relative path is read from the request's folder), or "
             "the snapshot page itself, or a list of pages.")


def read_chain(folder: Path, given: ChainIn, symbol: str) -> OptionChain | ChainPage | str:
    """The decoded chain, or what is wrong with it (the text after "field `chain`")."""
    where = ""
    data: ChainIn | bytes = given
    if isinstance(given, str):
        file = Path(given).expanduser()
        file = file if file.is_absolute() else folder / file
        where = f" (file {file})"
        try:
            data = file.read_bytes()
        except OSError as exc:
            found = "no such file" if isinstance(exc, FileNotFoundError) else \
                f"one that cannot be read ({exc.strerror or exc})"
            return f"{where}: expected a readable chain file, found {found}."
    try:
        lazy = read_page(data, underlying=symbol) if isinstance(data, bytes) else None
        chain = lazy if lazy is not None else decode_chain(data, underlying=symbol)
    except msgspec.DecodeError as exc:
        return f"{where}: expected JSON, found malformed text ({exc})."
    except ChainError as exc:
        return f"{where}: {exc}."
    if not chain.count():
        notes = "; ".join(chain.notes) or "no results at all"
        return f"{where}: expected contracts on {symbol.upper()}, found none ({notes})."
    return chain
