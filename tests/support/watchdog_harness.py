"""An in-process kernel hosting the watchdog, on fixed loopback ports, with fake bots.

The watchdog tells the bot where the bot link is, so the link port must be known
before the kernel binds: these kernels use ports handed out just before.
Everything is observed through the journal, as a person would afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import psutil
import pytest

from agents.watchdog.actor import Watchdog
from bus.protocol import Message, OrderDecision
from kernel.actor import Actor
from kernel.journal import read_journal
from kernel.microkernel import Kernel
from kernel.settings import load_settings
from tests.conftest import write_config
from tests.support.actors import ActorSpec, bind_actor
from tests.support.link import RawBot, order
from tests.support.processes import free_ports


class Injector(Actor):
    """Publishes whatever a test puts in its queue (as the control socket would)."""

    name: ClassVar[str] = "injector"
    queue: ClassVar[asyncio.Queue[Message]]

    async def run(self) -> None:
        while True:
            self.ctx.publish(await self.queue.get())


class WatchdogKernel:
    """A running kernel with the watchdog; read what happened from its journal."""

    def __init__(self, kernel: Kernel, task: asyncio.Task[int]) -> None:
        self.kernel = kernel
        self.task = task

    @property
    def settings(self) -> Any:
        return self.kernel.settings

    def events(self, topic: str) -> list[dict[str, Any]]:
        rows = read_journal(self.settings.journal_path, topic_prefix=topic, limit=100_000)
        return [{**msgspec.msgpack.decode(r.payload), "_ts": r.ts} for r in rows]

    def lifecycle(self, *states: str) -> list[dict[str, Any]]:
        return [e for e in self.events("bot.lifecycle") if not states or e["state"] in states]

    def bot_pids(self) -> list[int]:
        return [e["pid"] for e in self.lifecycle("starting")]

    async def wait_for(self, predicate: Callable[[], Any], timeout_s: float = 10.0,
                       what: str = "condition") -> Any:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not (result := predicate()):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{what} not met within {timeout_s} s; lifecycle: "
                                     f"{[(e['state'], e['detail']) for e in self.lifecycle()]}")
            if self.task.done():
                raise AssertionError(f"kernel exited {self.task.result()}: "
                                     f"{self.kernel.start_error}")
            await asyncio.sleep(0.02)
        return result

    async def wait_state(self, state: str, count: int = 1, timeout_s: float = 10.0
                         ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self.wait_for(
            lambda: (hits := self.lifecycle(state)) and len(hits) >= count and hits,
            timeout_s, f"{count} x bot {state}")
        return found

    async def order_decision(self) -> OrderDecision:
        bot = RawBot(self.kernel.endpoints["bot_link"])
        try:
            await bot.greet()
            await bot.send(order("probe-1"))
            reply = await bot.recv(5.0)
            assert isinstance(reply, OrderDecision)
            return reply
        finally:
            bot.close()

    async def stop(self) -> int:
        self.kernel.request_stop("test finished")
        return await asyncio.wait_for(self.task, 20)


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@pytest.fixture
async def start_watchdog(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """``await start_watchdog(bot_command, mode=..., watchdog={...})`` -> WatchdogKernel.

    On teardown the kernel is stopped and no bot it started may still run.
    """
    started: list[WatchdogKernel] = []

    async def start(bot_command: str, *, mode: str = "paper",
                    watchdog: Mapping[str, object] | None = None, kernel_extra: str = "",
                    actors: Sequence[ActorSpec] = (), root: Path | None = None,
                    ports: dict[str, int] | None = None, wait_ready: bool = True,
                    bot_env: Mapping[str, str] | None = None) -> WatchdogKernel:
        ports = ports or dict(zip(("link", "pub", "sub", "control"), free_ports(4), strict=True))
        config = write_config(root or tmp_path, ports=ports, mode=mode, bot_command=bot_command,
                              watchdog=watchdog, kernel_extra=kernel_extra, bot_env=bot_env)
        settings = load_settings(config)
        kernel = Kernel(settings, [bind_actor(spec, settings) for spec in [Watchdog, *actors]])
        harness = WatchdogKernel(kernel, asyncio.create_task(kernel.run()))
        started.append(harness)
        if wait_ready:
            await harness.wait_for(kernel.ready.is_set, 10, "kernel ready")
        return harness

    yield start
    for harness in started:
        if not harness.task.done():
            with contextlib.suppress(Exception):
                await harness.stop()
        leftovers = [pid for pid in harness.bot_pids() if running(pid)]
        for pid in leftovers:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        assert not leftovers, f"bot processes left running: {leftovers}"
