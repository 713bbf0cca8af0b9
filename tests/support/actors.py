"""Actors for a test kernel: a shipped actor class gets its config slice from the test's settings.

``start_kernel(actors=[RiskEngine, Echo, engines])`` takes what is handy in a test:
a class the composition root ships (built with its slice of the kernel's settings,
as ``kernel run`` would), any other zero-argument factory (a test's own actor,
which needs no config), or an object that must see the settings first
(:class:`SettingsBound`, such as the risk tests' ``Engines``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypeAlias, runtime_checkable

from bus.pubsub import Publisher
from kernel._runner import ActorRunner
from kernel.actor import Actor, ActorContext, KernelServices
from kernel.emitter import Emitter
from kernel.journal import Journal
from kernel.registry import actor_factory
from kernel.settings import Settings
from kernel.supervision import RestartPolicy


@runtime_checkable
class SettingsBound(Protocol):
    """A factory that is told the test kernel's settings before the kernel calls it."""

    def bind(self, settings: Settings) -> Callable[[], Actor]: ...


ActorSpec: TypeAlias = "type[Actor] | Callable[[], Actor] | SettingsBound"


def bind_actor(spec: ActorSpec, settings: Settings) -> Callable[[], Actor]:
    """The zero-argument factory the kernel gets for ``spec`` (see the module docstring)."""
    if isinstance(spec, type):
        try:
            return actor_factory(spec, settings)
        except LookupError:
            return spec  # a test's own actor: it takes no config
    if isinstance(spec, SettingsBound):
        return spec.bind(settings)
    return spec


def lone_runner(factory: Callable[[], Actor], *, emitter: Emitter, journal: Journal,
                publisher: Publisher) -> ActorRunner:
    """One actor's runner on a real publisher and journal, without a kernel around it
    (its services do nothing; one restart, a short back-off)."""
    services = KernelServices(set_gate=lambda gate: None, send_command=lambda *a, **k: 0,
                              request_stop=lambda reason: None)
    return ActorRunner(
        factory=factory, publisher=publisher, kernel_emitter=emitter, clock=time.time,
        make_context=lambda name: ActorContext(name=name, emitter=emitter, journal=journal,
                                               clock=time.time, services=services),
        policy=RestartPolicy(max_restarts=1, window_s=60, backoff_initial_s=1,
                             backoff_max_s=1), stop_timeout_s=5)
