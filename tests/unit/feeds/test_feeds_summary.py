"""The feeds' line in ``kernel status``, the tap and the dashboard: every feed, safe to print."""

from __future__ import annotations

import msgspec

from agents.feeds.messages import FeedLine, FeedsState
from kernel.summaries import feeds_line, severity, summarize


def body(*lines: FeedLine) -> dict[str, object]:
    return msgspec.to_builtins(FeedsState(ts=1.0, feeds=list(lines)))


def test_each_feed_is_named_with_its_condition_and_why() -> None:
    line = feeds_line(body(FeedLine(name="crypto", condition="ok", detail="ccxt:binance"),
                           FeedLine(name="massive", condition="off",
                                    detail="off: no key (set $MASSIVE_API_KEY)")))
    assert line == ('feeds: crypto ok "ccxt:binance"; massive off '
                    '"off: no key (set $MASSIVE_API_KEY)"')
    assert summarize(body(FeedLine(name="crypto", condition="waiting"))) == "feeds: crypto waiting"
    assert severity(body()) == "info"


def test_a_vendor_error_cannot_forge_a_line() -> None:
    line = feeds_line(body(FeedLine(name="massive", condition="degraded",
                                    detail="boom\n[red]x\x1b[2J")))
    assert "\n" not in line and "\x1b" not in line


def test_no_state_yet_says_where_to_look() -> None:
    assert feeds_line(None) == "feeds: no state reported yet (is the feeds actor running?)"
