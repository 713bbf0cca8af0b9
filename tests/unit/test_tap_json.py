"""``kernel tap --json`` writes its lines once per turn of the loop, not once per line,
and what it wrote before the end still goes out."""

from __future__ import annotations

import io
import json

from kernel.console._tap_output import JsonSink

T0 = 1_700_000_000.0


class Counting(io.StringIO):
    """An output that counts its flushes and keeps what each one let out."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed: list[str] = []

    def flush(self) -> None:
        super().flush()
        self.flushed.append(self.getvalue())


def test_a_turns_messages_go_out_in_one_flush_at_its_tick() -> None:
    out = Counting()
    sink = JsonSink(out, topics=())
    for seq in range(3):
        sink.message("order.decision", "gateway", {"type": "order_decision", "seq": seq}, T0)
    assert out.flushed == []
    sink.tick(T0)
    assert len(out.flushed) == 1
    assert [json.loads(s)["body"]["seq"] for s in out.flushed[0].splitlines()] == [0, 1, 2]


def test_lines_written_since_the_last_tick_are_flushed_at_the_end() -> None:
    out = Counting()
    with JsonSink(out, topics=()) as sink:
        sink.message("bot.heartbeat", "gateway", {"type": "heartbeat", "ts": T0}, T0)
    assert len(out.flushed) == 1 and '"bot.heartbeat"' in out.flushed[0]


class Gone(io.StringIO):
    def flush(self) -> None:
        raise BrokenPipeError


def test_a_reader_gone_at_the_end_is_no_error() -> None:
    with JsonSink(Gone(), topics=()) as sink:
        sink.message("bot.heartbeat", "gateway", {"type": "heartbeat"}, T0)
