"""Shared fixtures: a config folder on ephemeral loopback ports, a running kernel."""

from __future__ import annotations

import asyncio
import json
import signal
import textwrap
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path

import pytest
import yaml

from bus.loops import loop_mode, selector_loop
from kernel.microkernel import Kernel
from kernel.registry import LINK_FRAMES
from kernel.settings import load_settings
from tests.support.actors import ActorSpec, bind_actor


def pytest_asyncio_loop_factories(config: pytest.Config,
                                  item: pytest.Item) -> dict[str, Callable[[], object]]:
    """Every async test runs on the loop ``kernel run`` uses: a selector loop (on Windows
    too, where pyzmq needs it), over ``select()`` itself under ``QE_LOOP=select``, the
    selector of Windows' ``SelectorEventLoop`` (bus/loops.py, docs/windows.md)."""
    return {loop_mode(): selector_loop}


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C reaches the children the tests start, however the suite was launched.

    A shell without job control starts a command put in the background (``cmd &``)
    with SIGINT ignored, and an ignored signal stays ignored across ``exec``: every
    ``kernel run`` and ``kernel tap`` a test started would then miss the SIGINT it is
    sent, and the tests of a quiet Ctrl-C fail. A handler of our own is reset to the
    default in each child instead."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


WATCHDOG_TEST_TIMINGS: dict[str, object] = {
    "heartbeat_timeout_s": 1.5, "start_timeout_s": 5, "stale_tick_s": 2, "heartbeat_gap_s": 0.6,
    "max_restarts": 3, "restart_window_s": 30, "backoff_initial_s": 0.05, "backoff_max_s": 0.2,
    "shutdown_grace_s": 1, "terminate_grace_s": 0.5, "state_interval_s": 0.5, "tail_lines": 20,
}
"""Fast watchdog timings for tests (config/watchdog.yaml holds the real ones)."""


QUIET_LLM = "enabled: false\n"
QUIET_MODERATOR = ("interval_s: 0\n"
                   "triggers: {on_halt: false, daily_loss_fraction: 0, loss_streak: 0}\n")
"""Tests run offline and the moderator speaks only when asked (shipped files differ)."""
QUIET_META = "enabled: false\n"
"""No Meta-Agent job is scheduled in a test kernel unless the test asks (``meta_yaml``)."""
QUIET_FEEDS = "enabled: false\n"
"""No market-data feed runs in a test kernel unless the test asks (``feeds_yaml``)."""


def write_config(root: Path, *, kernel_extra: str = "", ports: dict[str, int] | None = None,
                 bot_command: str = '["{python}", "scripts/run_bot.py"]', mode: str = "off",
                 watchdog: Mapping[str, object] | None = None,
                 risk_yaml: str | None = None, planner_yaml: str | None = None,
                 llm_yaml: str = QUIET_LLM, moderator_yaml: str = QUIET_MODERATOR,
                 audit_yaml: str | None = None, meta_yaml: str = QUIET_META,
                 bot_env: Mapping[str, str] | None = None,
                 feeds_yaml: str = QUIET_FEEDS, bots: str = "") -> Path:
    """A complete config/ folder under ``root``; ports default to ``*`` (any free).

    ``mode`` defaults to ``off`` so that a test kernel starts no bot unless it asks
    for one; ``watchdog`` overrides keys of :data:`WATCHDOG_TEST_TIMINGS`;
    ``risk_yaml`` replaces the shipped ``config/risk.yaml`` (copied by default, so
    tests run against the limits users get); ``planner_yaml`` likewise replaces the
    shipped ``config/planner.yaml`` (``config/events.yaml`` and ``config/options.yaml``
    are always copied);
    ``llm_yaml`` and ``moderator_yaml`` default to an offline, quiet moderator
    (no API use even with a key in the environment, no periodic or triggered asks).
    ``bots``, when given, is the YAML of a ``bots:`` list that replaces the ``bot:``
    shorthand in paths.yaml (a fleet, docs/fleet.md).
    """
    port = {"link": "*", "pub": "*", "sub": "*", "control": "*"}
    port.update({k: str(v) for k, v in (ports or {}).items()})
    config = root / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "kernel.yaml").write_text(textwrap.dedent(f"""\
        mode: "{mode}"
        bus:
          publish_endpoint: tcp://127.0.0.1:{port['pub']}
          subscribe_endpoint: tcp://127.0.0.1:{port['sub']}
        gateway:
          endpoint: tcp://127.0.0.1:{port['link']}
          heartbeat_interval_s: 0.2
          max_frame_bytes: 65536
        control:
          endpoint: tcp://127.0.0.1:{port['control']}
        supervision:
          max_restarts: 2
          window_s: 30
          backoff_initial_s: 0.01
          backoff_max_s: 0.05
          shutdown_timeout_s: 2
        """) + textwrap.dedent(kernel_extra), encoding="utf-8")
    bot_part = "bots:\n" + textwrap.indent(textwrap.dedent(bots), "  ") if bots else \
        textwrap.dedent(f"""\
        bot:
          command: {bot_command}
          cwd: "{Path(__file__).resolve().parents[1].as_posix()}"
          env: {json.dumps(dict(bot_env or {}))}
        """)
    (config / "paths.yaml").write_text(bot_part + textwrap.dedent("""\
        data_dir: data
        log_dir: logs
        reports_dir: reports
        """), encoding="utf-8")
    (config / "watchdog.yaml").write_text(
        yaml.safe_dump({**WATCHDOG_TEST_TIMINGS, **(watchdog or {})}), encoding="utf-8")
    if risk_yaml is None:
        risk_yaml = (Path(__file__).resolve().parents[1] / "config" / "risk.yaml").read_text(
            encoding="utf-8")
    (config / "risk.yaml").write_text(textwrap.dedent(risk_yaml), encoding="utf-8")
    shipped = Path(__file__).resolve().parents[1] / "config"
    if planner_yaml is None:
        planner_yaml = (shipped / "planner.yaml").read_text(encoding="utf-8")
    (config / "planner.yaml").write_text(textwrap.dedent(planner_yaml), encoding="utf-8")
    (config / "events.yaml").write_text((shipped / "events.yaml").read_text(encoding="utf-8"),
                                        encoding="utf-8")
    (config / "options.yaml").write_text(
        (shipped / "options.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (config / "llm.yaml").write_text(textwrap.dedent(llm_yaml), encoding="utf-8")
    (config / "moderator.yaml").write_text(textwrap.dedent(moderator_yaml), encoding="utf-8")
    if audit_yaml is None:  # ``audit_yaml`` replaces the shipped config/audit.yaml
        audit_yaml = (shipped / "audit.yaml").read_text(encoding="utf-8")
    (config / "audit.yaml").write_text(textwrap.dedent(audit_yaml), encoding="utf-8")
    (config / "meta.yaml").write_text(textwrap.dedent(meta_yaml), encoding="utf-8")
    (config / "feeds.yaml").write_text(textwrap.dedent(feeds_yaml), encoding="utf-8")
    return config


class KernelHarness:
    """A kernel running in this test's event loop."""

    def __init__(self, kernel: Kernel, task: asyncio.Task[int]) -> None:
        self.kernel = kernel
        self.task = task

    @property
    def endpoints(self) -> dict[str, str]:
        return self.kernel.endpoints

    async def stop(self) -> int:
        self.kernel.request_stop("test finished")
        return await asyncio.wait_for(self.task, 10)


StartKernel = Callable[..., "asyncio.Future[KernelHarness]"]


@pytest.fixture
async def start_kernel(tmp_path: Path) -> AsyncIterator[Callable[..., object]]:
    """``await start_kernel(actors=[...], kernel_extra=...)`` -> a ready KernelHarness.

    Shipped actor classes among ``actors`` get their config slice from this kernel's
    settings (``tests/support/actors.py``).
    """
    harnesses: list[KernelHarness] = []

    async def start(actors: Sequence[ActorSpec] = (), kernel_extra: str = "",
                    wait_ready: bool = True, risk_yaml: str | None = None,
                    planner_yaml: str | None = None, llm_yaml: str = QUIET_LLM,
                    moderator_yaml: str = QUIET_MODERATOR, bots: str = "") -> KernelHarness:
        config = write_config(tmp_path, kernel_extra=kernel_extra, risk_yaml=risk_yaml,
                              planner_yaml=planner_yaml, llm_yaml=llm_yaml,
                              moderator_yaml=moderator_yaml, bots=bots)
        settings = load_settings(config)
        kernel = Kernel(settings, [bind_actor(spec, settings) for spec in actors],
                        link_frames=LINK_FRAMES)
        harness = KernelHarness(kernel, asyncio.create_task(kernel.run()))
        harnesses.append(harness)
        if wait_ready:
            ready = asyncio.create_task(kernel.ready.wait())
            await asyncio.wait({ready, harness.task}, timeout=10,
                               return_when=asyncio.FIRST_COMPLETED)
            if not kernel.ready.is_set():
                ready.cancel()
                raise AssertionError(f"kernel did not become ready: {kernel.start_error}")
        return harness

    yield start
    for harness in harnesses:
        if not harness.task.done():
            await harness.stop()
