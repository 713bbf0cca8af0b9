"""Actors for a test kernel: a shipped actor class gets its config slice from the test's settings.

``start_kernel(actors=[RiskEngine, Echo, engines])`` takes what is handy in a test:
a class the composition root ships (built with its slice of the kernel's settings,
as ``kernel run`` would), any other zero-argument factory (a test's own actor,
which needs no config), or an object that must see the settings first
(:class:`SettingsBound`, such as the risk tests' ``Engines``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeAlias, runtime_checkable

from kernel.actor import Actor
from kernel.registry import actor_factory
from kernel.settings import Settings


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
