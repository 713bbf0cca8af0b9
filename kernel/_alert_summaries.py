"""One-line summaries of the alerts feature's events (see ``kernel/summaries.py``).

They read decoded builtins, never Structs. Each is a warning: an alert that did not
leave, alerts dropped, a stranger writing to the command bot are all things a person
should see. A chat's text and user name are outside text (quoted / ident).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernel.untrusted import ident, quoted

Summary = Callable[[dict[str, Any]], str]

ALERT_SUMMARIES: dict[str, Summary] = {
    "alert_failed": lambda m: f"alert {m.get('kind')} to {ident(m.get('target'))} failed after "
                              f"{m.get('attempts')} attempts: {quoted(m.get('error'))}",
    "alerts_dropped": lambda m: f"{m.get('count')} alerts dropped, the send queue was full "
                                f"(last: {m.get('last_kind')})",
    "chat_refused": lambda m: f"chat {m.get('chat_id')} ({ident(m.get('user'))}) is not on the "
                              f"allow-list, ignored: {quoted(m.get('text'))}",
}
ALERT_SEVERITIES: dict[str, str] = {kind: "warning" for kind in ALERT_SUMMARIES}
