"""The newest message on each state topic, for ``kernel status`` and the tap.

A viewer that connects now should show the bot and risk state at once, not
after the next periodic summary; the kernel keeps the last payload it saw on
each state topic and hands them out with the status.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import msgspec
import zmq

from bus.proxy import INPROC_SUBSCRIBE
from bus.pubsub import BusFrame, DrainedSubscriber, Publisher
from kernel.bounded import BoundedDict

_PROBE: Final = "_sync.state_cache"
PER_KEY: Final = {"risk.state": "bot_id", "bot.state": "bot_id", "risk.warning": "scope"}
"""In a fleet also kept per bot (per scope for warnings), as ``<topic>/<key>``: each bot
has its own state (docs/fleet.md)."""
KEYS_KEPT: Final = 1024
"""Entries kept (topics and ``<topic>/<key>``): the keys are the fleet's bot ids and
scopes, which ``paths.yaml`` bounds; the limit keeps a bug from growing it without end."""
STATE_TOPICS: Final = (
    "bot.state", "bot.lifecycle", "bot.exit", "risk.state", "risk.halt", "kernel.mode",
    "kernel.state", "plan.trade", "llm.budget", "moderator.advice", "feeds.state",
    "risk.warning",
)


class StateCache:
    def __init__(self, context: zmq.Context[Any], *, fleet: bool = False) -> None:
        """``fleet``: also keep each bot's state apart (``paths.yaml`` ``bots:``)."""
        self._fleet = fleet
        self._sub = DrainedSubscriber(context, INPROC_SUBSCRIBE, (*STATE_TOPICS, _PROBE),
                                      self._keep)
        self.latest: BoundedDict[str, bytes] = BoundedDict(KEYS_KEPT)
        self._live = False

    def start(self) -> None:
        self._sub.start()

    async def wait_live(self, publisher: Publisher, timeout_s: float = 2.0) -> None:
        """Probe until our subscription is live, so no state message is missed."""
        for _ in range(int(timeout_s * 1000)):
            if self._live:
                return
            publisher.send_raw(_PROBE, b"", journaled=True)
            await asyncio.sleep(0.001)
        raise TimeoutError("the state cache's bus subscription is not live")

    @property
    def mode(self) -> str:
        """The mode the watchdog last reported it put the bot in ("" if none yet):
        operators and the moderator both change it, and only the watchdog knows."""
        payload = self.latest.get("kernel.mode")
        if payload is None:
            return ""
        try:
            body = msgspec.msgpack.decode(payload)
        except msgspec.DecodeError:
            return ""
        if not isinstance(body, dict) or body.get("type") != "mode_changed":
            return ""
        return str(body.get("mode", ""))

    def stop(self) -> None:
        self._sub.stop()

    def _keep(self, frame: BusFrame) -> None:
        if frame.topic == _PROBE:
            self._live = True
            return
        self.latest[frame.topic] = frame.payload
        if self._fleet and frame.topic in PER_KEY:
            key = _field(frame.payload, PER_KEY[frame.topic])
            if key:
                self.latest[f"{frame.topic}/{key}"] = frame.payload


def _field(payload: bytes, name: str) -> str:
    try:
        body = msgspec.msgpack.decode(payload)
    except msgspec.DecodeError:
        return ""
    found = body.get(name) if isinstance(body, dict) else None
    return found if isinstance(found, str) else ""
