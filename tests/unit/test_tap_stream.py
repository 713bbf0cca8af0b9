"""``kernel tap --stream`` lines come in time order, whatever clocks the senders keep."""

from __future__ import annotations

import io

import msgspec
from rich.console import Console

from kernel.console._tap_output import StreamSink
from kernel.control_protocol import SnapshotReply, StatusReply

T0 = 1_700_000_000.0


def times(out: io.StringIO) -> list[str]:
    return [line.split()[0] for line in out.getvalue().splitlines()
            if line[:2].isdigit()]


def sink() -> tuple[StreamSink, io.StringIO]:
    out = io.StringIO()
    return StreamSink(Console(file=out, width=200), topics=(), bus="tcp://x"), out


def test_live_lines_are_stamped_in_arrival_order() -> None:
    stream, out = sink()
    # a bot's clock behind the kernel's, and an event stamped before it was published
    stream.message("bot.heartbeat", "gateway", {"type": "heartbeat", "ts": T0 + 5}, T0 + 1)
    stream.message("risk.state", "risk", {"type": "risk_snapshot", "ts": T0 - 3}, T0 + 2)
    stream.note("kernel reachable again", "info", T0 + 2.5)
    stream.message("anomaly", "bus", {"type": "anomaly"}, T0 + 3)
    shown = times(out)
    assert len(shown) == 4 and shown == sorted(shown)


def test_the_snapshot_is_told_oldest_first_and_never_after_now() -> None:
    stream, out = sink()
    status = StatusReply(
        version="0.1.0", pid=1, uptime_s=5.0, mode="paper", trading_state="ACTIVE",
        gate="risk", endpoints={}, actors=[], bots=[], journal_path="j", journal_last_seq=1,
        decisions=0, anomalies={})
    latest = {"kernel.mode": {"type": "x", "ts": T0 - 100}, "bot.state": {"type": "y"},
              "risk.state": {"type": "z", "ts": T0 + 50}, "anomaly": {"type": "w", "ts": T0 - 5}}
    stream.snapshot(SnapshotReply(status=status, latest={
        k: msgspec.msgpack.encode(v) for k, v in latest.items()}), show=True, now=T0)
    stream.message("bot.heartbeat", "gateway", {"type": "heartbeat", "ts": T0 - 60}, T0 + 1)
    shown = times(out)
    assert len(shown) == 5 and shown == sorted(shown)
