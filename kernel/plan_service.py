"""The planner service: how the gateway answers a bot's ``plan_request``.

Like the order gate, it is a kernel service rather than a bus hop: the planner
actor registers itself when it starts and withdraws on stop, and the gateway
calls :meth:`PlanService.plan` synchronously (a plan takes about a millisecond).
With no service registered the gateway answers ``error`` with code
``planner_unavailable``, so a bot always gets an answer that says why.
"""

from __future__ import annotations

from typing import Protocol

from bus.protocol import Message, PlanRequest


class PlanUnavailable(Exception):
    """The planner cannot plan this request (no market data for the symbol yet, …)."""

    def __init__(self, reason: str, code: str = "plan_unavailable") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class PlanService(Protocol):
    def plan(self, request: PlanRequest, now: float) -> Message:
        """The trade plan (with ``request_id`` set); raise :class:`PlanUnavailable`."""
        ...
