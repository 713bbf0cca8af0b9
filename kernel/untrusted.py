"""Text from outside, made safe to show a person or to hand to a bot.

A bot, the LLM, the Meta-Agent, a chat or a config file may write anything:
rich markup (``[/bold]``), ANSI escapes that recolour or retitle a terminal, a
newline followed by a line that looks like ours (``applied REDUCE_RISK ...``),
characters that hide or reorder text (bidi overrides, zero-width spaces), or
characters a Windows console cannot encode. This module is the one place that
decides how such text is shown (docs/architecture.md, "Untrusted text"):

* :func:`quoted` for free text (a reason, a detail, a bot's output): in double
  quotes, ``"`` and ``\\`` escaped, so nothing inside can pass for our words;
* :func:`ident` for names (a bot id, a symbol, a request id): bare when it is a
  plain word, quoted otherwise;
* :func:`one_line` for a whole line we composed around such values (a summary,
  an error message), which may still hold outside text;
* :func:`clean` for outside text passed on to a bot (a pause command's reason):
  control and invisible characters removed, one line, bounded.

Every shown form is one line and bounded in length, and shows each control,
format or invisible character as an escape (``\\n``, ``\\x1b``, ``\\u202e``), as
it does every character outside Windows-1252, so that the output survives a
cp1252 console and a look-alike letter cannot pass for a plain one. Markup is
not escaped here: the console prints these strings as rich ``Text``, never as
markup (docs/architecture.md). Pure: the standard library only, so the runtime,
the console and the pure modules share it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["IDENT_LIMIT", "LINE_LIMIT", "QUOTE_LIMIT", "clean", "ident", "one_line", "quoted"]

QUOTE_LIMIT: Final = 300
"""Characters of a quoted value (escapes included) before it is cut."""
IDENT_LIMIT: Final = 80
LINE_LIMIT: Final = 2000
CUT: Final = "…"
"""Marks a cut; outside the quotes, so quoted text cannot fake one (in cp1252: 0x85)."""


def _shown_characters() -> frozenset[str]:
    """Printable characters of Windows-1252: ASCII and the Latin letters and signs."""
    shown = set()
    for byte in range(0x20, 0x100):
        try:
            char = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            continue
        if char == " " or unicodedata.category(char)[0] not in "CZ":
            shown.add(char)
    return frozenset(shown)


_SHOWN: Final = _shown_characters()
_NAMED: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_IN_QUOTES: Final = {'"': '\\"', "\\": "\\\\"}
_PLAIN_WORD: Final = re.compile(r"[A-Za-z0-9_.:/\\@+=~#%,*-]+")
"""Letters, digits and the signs of ids, endpoints and paths (``C:\\data``): no space,
no quote, no bracket, so a bare word cannot pass for markup or for our own words."""


def _escape(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _visible(text: str, limit: int, special: dict[str, str]) -> tuple[str, bool]:
    """``text`` with every unsafe character escaped, at most ``limit`` characters;
    and whether it had to be cut."""
    if len(text) <= limit and text.isascii() and text.isprintable() \
            and not any(c in text for c in special):
        return text, False
    pieces: list[str] = []
    size = 0
    for char in text:
        piece = special.get(char) or (char if char in _SHOWN else _escape(char))
        if size + len(piece) > limit:
            return "".join(pieces), True
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces), False


def _text(value: object) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """Free text from outside: ``"in quotes, \\"escaped\\", on one line"``."""
    body, cut = _visible(_text(value), limit, _IN_QUOTES)
    return f'"{body}"{CUT if cut else ""}'


def ident(value: object, limit: int = IDENT_LIMIT) -> str:
    """A name from outside: bare when it is a plain word (``quantumedge-1``,
    ``BTCUSDT``, ``tcp://127.0.0.1:7710``), else :func:`quoted`."""
    text = _text(value)
    if 0 < len(text) <= limit and _PLAIN_WORD.fullmatch(text):
        return text
    return quoted(text, limit)


def one_line(value: object, limit: int = LINE_LIMIT) -> str:
    """A line we composed that may hold outside text: unsafe characters escaped,
    newlines shown as ``\\n``, cut at ``limit``. Quoted parts stay as they were."""
    body, cut = _visible(_text(value), limit, {})
    return body + (CUT if cut else "")


def clean(value: object, limit: int) -> str:
    """Outside text for a bot: control and invisible characters dropped, every run of
    white space (newlines too) one space, at most ``limit`` characters."""
    text = _text(value)
    kept = []
    for char in text:
        kind = unicodedata.category(char)
        if kind[0] == "Z" or char in "\t\n\r\v\f":
            kept.append(" ")
        elif kind[0] != "C":
            kept.append(char)
    folded = " ".join("".join(kept).split())
    return folded if len(folded) <= limit else folded[:max(0, limit - 1)].rstrip() + CUT
