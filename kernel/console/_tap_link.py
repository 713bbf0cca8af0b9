"""Is the kernel there? The tap's rule, as a small pure state machine.

A SUB socket cannot tell a quiet kernel from a dead one, and ZeroMQ reconnects
silently, so the tap combines two signals: bus messages (proof of life) and
answers from the control socket, which it asks only when the bus has been
quiet for ``quiet_s``. The kernel is *unreachable* when a question goes
unanswered and no message arrived meanwhile; it is back at the next message or
answer. Time is passed in, so the rule is tested without sockets or sleeps.
"""

from __future__ import annotations

CONNECTING, CONNECTED, UNREACHABLE = "connecting", "connected", "unreachable"


class LinkMonitor:
    """Tracks the link state; each event method returns the new state when it changed."""

    def __init__(self, *, now: float, quiet_s: float = 3.0, retry_s: float = 2.0,
                 can_probe: bool = True) -> None:
        self.state = CONNECTING
        self.quiet_s = quiet_s
        self.retry_s = retry_s
        self.can_probe = can_probe
        self._last_sign = now
        """Last message, answer or finished probe: quiet is measured from here."""
        self._last_message: float | None = None
        self._probe_since: float | None = None

    @property
    def probing(self) -> bool:
        return self._probe_since is not None

    def message(self, now: float) -> str | None:
        """A bus message arrived."""
        self._last_message = self._last_sign = now
        return self._move(CONNECTED)

    def want_probe(self, now: float) -> bool:
        """Ask the control socket now? Only when quiet, and not twice at a time."""
        if not self.can_probe or self._probe_since is not None:
            return False
        wait = self.retry_s if self.state == UNREACHABLE else self.quiet_s
        return now - self._last_sign >= wait

    def probe_started(self, now: float) -> None:
        self._probe_since = now

    def probe_answered(self, now: float) -> str | None:
        self._probe_since = None
        self._last_sign = now
        return self._move(CONNECTED)

    def probe_failed(self, now: float) -> str | None:
        """No answer in time: unreachable, unless the bus spoke while we waited."""
        since, self._probe_since = self._probe_since, None
        self._last_sign = now
        if since is not None and self._last_message is not None and self._last_message >= since:
            return None
        return self._move(UNREACHABLE)

    def quiet_without_probe(self, now: float) -> str | None:
        """Without a control socket, a long silence is all we can go by."""
        if self.can_probe or self.state == UNREACHABLE:
            return None
        if now - self._last_sign >= self.quiet_s + self.retry_s:
            return self._move(UNREACHABLE)
        return None

    def _move(self, state: str) -> str | None:
        if state == self.state:
            return None
        self.state = state
        return state
