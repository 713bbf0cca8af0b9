"""The planner service: how the gateway answers a bot's ``plan_request``.

Like the order gate, it is a kernel service rather than a bus hop: the planner
actor registers itself when it starts and withdraws on stop, and the gateway
calls :meth:`PlanService.plan` synchronously (a plan takes about a millisecond).
With no service registered the gateway answers ``error`` with code
``planner_unavailable``, so a bot always gets an answer that says why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from bus.protocol import Error, Message, PlanRequest
from kernel.events import Severity

log = logging.getLogger("kernel.gateway")


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


def plan_answer(planner: PlanService | None, request: PlanRequest, now: float,
                report: Callable[[str, Severity, str], None]) -> Message:
    """The plan, or an ``error`` that says why there is none; never raises (the planner
    must never take the gateway down: its failure is reported as ``planner_error``)."""
    if planner is None:
        reason, code = "planner unavailable: no planner is running in this kernel", \
            "planner_unavailable"
    else:
        try:
            return planner.plan(request, now)
        except PlanUnavailable as exc:
            reason, code = exc.reason, exc.code
        except Exception as exc:
            log.exception("planner raised on %s", request.request_id)
            report("planner_error", "error", f"{type(exc).__name__}: {exc}")
            reason, code = f"the planner failed ({type(exc).__name__})", "planner_error"
    return Error(reason=reason[:4096], code=code, request_id=request.request_id)
