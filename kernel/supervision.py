"""When to restart a crashed actor, and when to give up: a pure decision.

OTP's rule: a child may crash at most ``max_restarts`` times within
``window_s`` seconds; one more and the supervisor gives up. Restarts are spaced
by an exponential backoff so a crash loop does not spin the CPU. The kernel
(and the bot watchdog) apply the decision; this module only computes it, so it
is tested with plain numbers and no clock.
"""

from __future__ import annotations

import msgspec


class RestartPolicy(msgspec.Struct, frozen=True, kw_only=True):
    max_restarts: int
    window_s: float
    backoff_initial_s: float
    backoff_max_s: float


class RestartDecision(msgspec.Struct, frozen=True, kw_only=True):
    restart: bool
    delay_s: float
    history: tuple[float, ...]
    """Crash times still inside the window, this crash included."""
    reason: str


def decide_restart(
    history: tuple[float, ...], now: float, policy: RestartPolicy
) -> RestartDecision:
    """Decide what to do about a crash at ``now`` given earlier crash times."""
    recent = (*(t for t in history if now - t < policy.window_s), now)
    crashes = len(recent)
    if crashes > policy.max_restarts:
        return RestartDecision(
            restart=False,
            delay_s=0.0,
            history=recent,
            reason=(
                f"crashed {crashes} times within {policy.window_s:g} s "
                f"(limit: {policy.max_restarts} restarts)"
            ),
        )
    delay = min(policy.backoff_initial_s * 2 ** (crashes - 1), policy.backoff_max_s)
    return RestartDecision(
        restart=True,
        delay_s=delay,
        history=recent,
        reason=f"restart {crashes} of {policy.max_restarts} within {policy.window_s:g} s",
    )
