"""The newest journal row on one topic, found without reading the whole journal.

The LLM budget and the moderator's pause are restored from their last row after
a restart. ``Journal.read`` pages forwards only, so this reads backwards in
growing windows from the end (as ``agents/risk/_store.py`` does): the cost is
proportional to how far back the newest row lies, not to the journal's length.
"""

from __future__ import annotations

from typing import Final

from kernel.journal import Journal, JournalRow

_FIRST_WINDOW: Final = 4096
_PAGE: Final = 256


async def newest_row(journal: Journal, topic: str) -> JournalRow | None:
    """The last committed row whose topic starts with ``topic``; None when there is none."""
    end = journal.last_seq
    window = _FIRST_WINDOW
    while True:
        start = max(0, end - window)
        found = await _last_after(journal, topic, start)
        if found is not None or start == 0:
            return found
        window *= 8


async def _last_after(journal: Journal, topic: str, after_seq: int) -> JournalRow | None:
    last: JournalRow | None = None
    while rows := await journal.read(after_seq=after_seq, limit=_PAGE, topic_prefix=topic):
        last = rows[-1]
        after_seq = last.seq
        if len(rows) < _PAGE:
            break
    return last
