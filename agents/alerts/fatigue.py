"""No alert fatigue: the same alert is sent once per window; repeats are counted.

Pure, with time passed in. An alert's ``key`` says which alerts are the same (a
crash loop of one actor, the journal being unavailable, a limit near). The first is
sent; repeats within ``window_s`` are only counted; when the window ends with
repeats, one ``repeats`` alert says how many there were, and the next occurrence
opens a new window and is sent again. The summary keeps the alert's kind, so it
goes to the same targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.alerts.mapping import Alert
from kernel.untrusted import one_line


@dataclass
class _Window:
    opened: float
    first: Alert
    repeats: int = 0


@dataclass
class Fatigue:
    window_s: float
    _open: dict[str, _Window] = field(default_factory=dict)

    def admit(self, alert: Alert, now: float) -> bool:
        """True: send it. False: a repeat within the window, counted."""
        window = self._open.get(alert.key)
        if window is not None and now - window.opened < self.window_s:
            window.repeats += 1
            return False
        self._open[alert.key] = _Window(opened=now, first=alert)
        return True

    def due(self, now: float) -> list[Alert]:
        """The summaries of windows that ended with repeats; ended windows are closed."""
        summaries = []
        for key, window in list(self._open.items()):
            if now - window.opened < self.window_s:
                continue
            del self._open[key]
            if window.repeats:
                summaries.append(summary(window.first, window.repeats, self.window_s, now))
        return summaries

    @property
    def suppressed(self) -> int:
        """Repeats counted in the windows still open."""
        return sum(w.repeats for w in self._open.values())


def summary(first: Alert, repeats: int, window_s: float, now: float) -> Alert:
    times = "once more" if repeats == 1 else f"{repeats} more times"
    return Alert(kind=first.kind, severity=first.severity, key=f"repeats/{first.key}",
                 title=one_line(f"Repeated: {first.title}", 160),
                 body=one_line(f"{first.kind} happened {times} within {window_s / 60:g} min "
                               "after this alert was sent; not sent each time"), ts=now)
