"""``kernel tap``: follow the bus from any process, one line per message.

A plain SUB socket on the bus's XPUB endpoint, so it works against a kernel on
this machine or, with ``--bus``, elsewhere. ``--json`` prints one JSON object
per line for machines; otherwise rich prints coloured lines (plain when not a
terminal or when ``NO_COLOR`` is set).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any, TextIO

import msgspec
import zmq
from rich.console import Console
from rich.text import Text

from bus.pubsub import parse_frames
from bus.topics import subscription
from kernel.summaries import severity, summarize

_STYLES = {"info": "", "debug": "dim", "warning": "yellow", "error": "red", "critical": "bold red"}
_json = msgspec.json.Encoder()


def _body(payload: bytes) -> Any:
    try:
        return msgspec.msgpack.decode(payload)
    except msgspec.DecodeError:
        return {"type": "undecodable", "bytes": len(payload)}


def _when(body: Any) -> float:
    ts = body.get("ts") if isinstance(body, dict) else None
    return float(ts) if isinstance(ts, int | float) else time.time()


def tap(endpoint: str, *, topics: Sequence[str] = (), as_json: bool = False,
        out: TextIO | None = None, limit: int | None = None, idle_note_s: float = 5.0) -> int:
    """Print messages until interrupted (or ``limit`` messages); return an exit code."""
    console = Console(file=out, highlight=False, soft_wrap=True)
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
    sock.linger = 0
    for prefix in topics or ("",):
        sock.subscribe(subscription(prefix))
    sock.connect(endpoint)
    if not as_json:
        console.print(f"tapping {endpoint}" + (f" topics {', '.join(topics)}" if topics else "")
                      + " (Ctrl-C to stop)", style="dim")
    shown, quiet_since = 0, time.monotonic()
    try:
        while limit is None or shown < limit:
            if not sock.poll(200):
                if not as_json and time.monotonic() - quiet_since > idle_note_s:
                    console.print(f"no messages for {idle_note_s:g} s; is the kernel running "
                                  f"and publishing on {endpoint}?", style="dim")
                    quiet_since = time.monotonic()
                continue
            quiet_since = time.monotonic()
            frame = parse_frames(sock.recv_multipart())
            if frame.topic.startswith("_"):
                continue
            body = _body(frame.payload)
            _print(console, frame.topic, frame.header.source, body, as_json)
            shown += 1
    except KeyboardInterrupt:
        pass
    finally:
        sock.close(linger=0)
    return 0


def _print(console: Console, topic: str, source: str, body: Any, as_json: bool) -> None:
    if as_json:
        record = {"ts": _when(body), "topic": topic, "source": source, "body": body}
        console.file.write(_json.encode(record).decode() + "\n")
        console.file.flush()
        return
    when = dt.datetime.fromtimestamp(_when(body)).strftime("%H:%M:%S.%f")[:-3]
    line = Text(f"{when} {topic:<16} ", style="dim")
    line.append(summarize(body), style=_STYLES.get(severity(body), ""))
    console.print(line)
