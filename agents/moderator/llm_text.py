"""Pure helpers for prompts: data quoted as data, token estimates, hashes, tool schemas.

Text that comes from the bot or the market (a symbol name, a bot's message, an
analyst's note) reaches a prompt only as a JSON string inside one ``<data>``
block. JSON escapes quotes and newlines; ``<``, ``>`` and ``&`` are escaped too
(``\\u003c`` ...), so no string can close the block or open a new one. The
system prompt says the block is data, never instructions; the trust rules make
sure that even an adviser that is fooled cannot do what it may not.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()
_ESCAPES = ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"))
_schemas: dict[type[Any], dict[str, Any]] = {}
CHARS_PER_TOKEN = 3.5
"""A conservative average for JSON-heavy English text (a tokenizer is not bundled)."""
REQUEST_OVERHEAD_TOKENS = 1000
"""What the endpoint adds to a request around our text: the message framing and its
own instructions for tool use (a few hundred tokens), with room to spare."""


class Tool(msgspec.Struct, frozen=True):
    """The one tool a structured question forces: its name and what it is for."""

    name: str
    description: str


def quote_data(value: Any) -> str:
    """``value`` as compact JSON in which no string can end the data block."""
    raw = _encoder.encode(value)
    for char, escaped in _ESCAPES:  # outside strings JSON has none of these, so this is safe
        raw = raw.replace(char, escaped)
    return raw.decode()


def data_block(value: Any) -> str:
    return f"<data>\n{quote_data(value)}\n</data>"


def estimate_tokens(*texts: str) -> int:
    """An upper-leaning estimate of the tokens of ``texts`` (no network, no tokenizer)."""
    return math.ceil(sum(len(t) for t in texts) / CHARS_PER_TOKEN)


def token_ceiling(*texts: str) -> int:
    """The most input tokens a request made of ``texts`` can be charged: a token covers
    at least one byte of UTF-8, plus :data:`REQUEST_OVERHEAD_TOKENS`. Generous on
    purpose: it bounds a usage report that lies, it is not an estimate."""
    return sum(len(t.encode()) for t in texts) + REQUEST_OVERHEAD_TOKENS


def prompt_hash(*parts: str) -> str:
    """A short stable fingerprint of a prompt: same hash, same question asked."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


def tool_schema(answer_type: type[Any]) -> dict[str, Any]:
    """The JSON Schema of ``answer_type`` with the object itself at the root.

    ``msgspec.json.schema`` puts a Struct under ``$defs`` and refers to it; a
    tool's ``input_schema`` must be the object, so the root is lifted out and the
    other definitions stay beside it for nested references. Cached (it costs about
    a millisecond, on the kernel's loop): callers must not change what it returns.
    """
    cached = _schemas.get(answer_type)
    if cached is None:
        cached = _schemas[answer_type] = _lift_root(msgspec.json.schema(answer_type))
    return cached


def _lift_root(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    defs: dict[str, Any] = dict(schema.get("$defs", {}))
    if not isinstance(ref, str):
        return schema
    root = dict(defs.pop(ref.rsplit("/", 1)[-1]))
    if defs:
        root["$defs"] = defs
    return root
