#!/usr/bin/env python3
"""What the notifier costs the kernel's loop, beside a raw baseline in the same run.

Apprise's ``notify`` blocks for as long as the service takes to answer; the notifier
must never make the loop (and so the order gate) wait for it. Measured here, in one
process with the real ``Notifier`` and a send function that blocks like a slow
service (``--send-ms`` per message, on the notifier's worker threads):

  * ``handle()`` per order decision that is not an alert (the common case: every
    decision reaches the notifier), beside an empty ``async def`` call (the floor);
  * ``handle()`` per event that is an alert and goes to the send queue;
  * the loop's lateness: a task asks to wake every 1 ms and records how late it woke,
    first with the notifier idle (baseline), then while it sends a burst of alerts to
    a target that blocks ``--send-ms`` each. Equal figures mean sending held nothing.

Usage: scripts/bench_alerts.py [--calls N] [--alerts N] [--send-ms MS]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.alerts.actor import Notifier
from agents.alerts.config import AlertsConfig, Retry, Target
from agents.alerts.sender import Outcome
from agents.alerts.slice import AlertsSlice
from bus.protocol import make_decision
from kernel.actor import ActorContext
from kernel.events import BotLifecycleChanged
from scripts._bench_support import percentiles, row


class _NoEmitter:
    def emit(self, message: Any, *, topic: str | None = None) -> None:
        pass


def _notifier(send_ms: float) -> Notifier:
    def slow_send(urls: Sequence[str], title: str, body: str) -> Outcome:
        time.sleep(send_ms / 1000)  # a service that takes this long to answer
        return Outcome(True)

    config = AlertsConfig(targets=[Target(name="slow", urls=["json://127.0.0.1:1/x"],
                                          min_severity="info")],
                          queue_size=10_000, retry=Retry(attempts=1))
    return Notifier(config=AlertsSlice(alerts=config, config_path=Path("alerts.yaml")),
                    send=slow_send)


async def _timed(calls: int, call: Any) -> list[float]:
    samples = []
    for n in range(calls):
        started = time.perf_counter()
        await call(n)
        samples.append(time.perf_counter() - started)
    return samples


async def _lateness(seconds: float) -> list[float]:
    late, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        asked = time.perf_counter()
        await asyncio.sleep(0.001)
        late.append(time.perf_counter() - asked - 0.001)
    return late


async def main(calls: int, alerts: int, send_ms: float) -> None:
    notifier = _notifier(send_ms)
    ctx = ActorContext(name="notifier", emitter=_NoEmitter(), journal=None,  # type: ignore[arg-type]
                       clock=time.time, services=None)  # type: ignore[arg-type]
    await notifier.start(ctx)
    runner = asyncio.create_task(notifier.run())
    allow = make_decision(request_id="r", verdict="ALLOW", reason="", code="allowed",
                          trading_state="ACTIVE", ts=time.time())

    async def floor(_n: int) -> None:
        pass

    async def decision(_n: int) -> None:
        await notifier.handle(allow)

    async def alert(n: int) -> None:  # a distinct bot each time: never held as a repeat
        await notifier.handle(BotLifecycleChanged(bot_id=f"qe-{n}", state="hung",
                                                  ts=time.time(), detail="no heartbeat"))

    print(f"notifier, one target blocking {send_ms:g} ms per send; {calls} calls each\n")
    print(row("raw: empty async call (floor)", percentiles(await _timed(calls, floor))))
    print(row("handle(): a decision, not an alert", percentiles(await _timed(calls, decision))))
    print(row("handle(): an alert, queued to send", percentiles(await _timed(alerts, alert))))
    outbox = notifier.outbox
    await asyncio.sleep(0.2)  # the worker is now busy with the burst
    busy = await _lateness(2.0)
    await notifier.stop()
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    idle = await _lateness(2.0)
    print(row("loop lateness, notifier idle (raw)", percentiles(idle)))
    print(row("loop lateness, while sending", percentiles(busy)))
    print(f"\nsent: {outbox.sent} of {alerts}; at the stop the newest 3 were tried and "
          f"{outbox.dropped} dropped (counted and journaled in a kernel)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--alerts", type=int, default=2_000)
    parser.add_argument("--send-ms", type=float, default=50.0)
    args = parser.parse_args()
    sys.setswitchinterval(0.0005)  # as `kernel run` sets it (docs/architecture.md)
    asyncio.run(main(args.calls, args.alerts, args.send_ms))
