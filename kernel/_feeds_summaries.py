"""One-line summaries of the market-data feeds' messages (see ``kernel/summaries.py``).

Read from decoded builtins like every summary; the details are the feeds' own
words (an error a vendor returned is outside text), so they are shown quoted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernel.untrusted import ident, one_line, quoted

Summary = Callable[[dict[str, Any]], str]


def feeds_line(body: Any) -> str:
    """``feeds: crypto ok "ccxt:binance: …"; massive off "…"`` from a ``feeds_state``."""
    if not isinstance(body, dict) or not isinstance(body.get("feeds"), list):
        return "feeds: no state reported yet (is the feeds actor running?)"
    parts = [f"{ident(f.get('name'))} {ident(f.get('condition'))}"
             + (f" {quoted(f.get('detail'))}" if f.get("detail") else "")
             for f in body["feeds"] if isinstance(f, dict)]
    return one_line("feeds: " + ("; ".join(parts) or "none configured"), 1000)


FEEDS_SUMMARIES: dict[str, Summary] = {"feeds_state": feeds_line}
