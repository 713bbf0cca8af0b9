"""The moderator actor with a recording emitter, a real journal and a settable clock.

No kernel and no bus: the actor's context records what it publishes and the
commands it sends to the bot, so each trust rule and each fallback is checked
on what the actor really did. The LLM is the real SDK talking to the local
Messages API server in ``tests/support/messages_api.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from agents.moderator.actor import Moderator
from bus.protocol import Command, Message
from kernel.actor import ActorContext, KernelServices
from kernel.journal import Journal
from kernel.registry import moderator_slice
from kernel.settings import load_settings
from tests.conftest import write_config
from tests.support.moderator_world import NOW

M = TypeVar("M", bound=Message)
KEY = "sk-test-moderator-key"


class Recorder:
    """Stands in for the kernel's emitter; durable or not, every message is kept in order."""

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def emit(self, message: Message, *, topic: str | None = None) -> bytes:
        self.sent.append(message)
        return b""

    async def emit_durable(self, message: Message, *, topic: str | None = None) -> int:
        self.sent.append(message)
        return len(self.sent)


class ModeratorWorld:
    def __init__(self, moderator: Moderator, recorder: Recorder, commands: list[Command],
                 journal: Journal) -> None:
        self.moderator = moderator
        self.recorder = recorder
        self.commands = commands
        self.journal = journal
        self.now = NOW

    def of(self, kind: type[M]) -> list[M]:
        return [m for m in self.recorder.sent if isinstance(m, kind)]

    async def feed(self, *messages: Any) -> None:
        for message in messages:
            await self.moderator.handle(message)


def llm_yaml(base_url: str, **extra: object) -> str:
    lines = [f"base_url: {base_url}", "retries: 0", "timeout_s: 2", "deadline_s: 5",
             *(f"{k}: {v}" for k, v in extra.items())]
    return "\n".join(lines) + "\n"


@asynccontextmanager
async def moderator_world(tmp_path: Path, *, llm: str, moderator: str = "interval_s: 0\n",
                          mode: str = "demo") -> AsyncIterator[ModeratorWorld]:
    """A started Moderator; ``llm`` and ``moderator`` are the YAML of its two files."""
    settings = load_settings(write_config(tmp_path, llm_yaml=llm, moderator_yaml=moderator,
                                          mode=mode))
    journal = await Journal.open(tmp_path / "journal.sqlite3")
    recorder = Recorder()
    commands: list[Command] = []
    actor = Moderator(config=moderator_slice(settings))
    world = ModeratorWorld(actor, recorder, commands, journal)

    def send_command(command: Command, bot_id: str = "") -> int:
        commands.append(command)
        return 1

    services = KernelServices(set_gate=lambda _: None, send_command=send_command,
                              request_stop=lambda _: None)
    await actor.start(ActorContext(name=actor.name, emitter=cast(Any, recorder), journal=journal,
                                   clock=lambda: world.now, services=services))
    try:
        yield world
    finally:
        await actor.stop()
        await journal.close()
