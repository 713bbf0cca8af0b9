"""Having the running kernel journal a message for a command, durably.

``kernel report``, ``kernel meta run`` and ``kernel proposals`` may not write the
journal beside a running kernel (it owns the file and its hash chain), so they
ask it over the control socket (``RecordRequest``). The kernel answers once the
row is committed, or with the reason it could not be; so "journaled" means on
disk, never "seen on the bus" (an echo comes before the commit, and a journal
that cannot commit would have lost the row after the command took its decision).
"""

from __future__ import annotations

from bus.codec import encode
from bus.protocol import Message
from kernel.console.control_client import ControlRefused, KernelUnreachable, controller_for
from kernel.control_protocol import Recorded, RecordRequest
from kernel.keys import KeysMissing
from kernel.settings import Settings


def record_via_kernel(settings: Settings, message: Message, *, source: str) -> tuple[int, str]:
    """(journal seq, "") once the running kernel committed ``message``; (0, why) if not."""
    request = RecordRequest(payload=encode(message), source=source)
    try:
        reply = controller_for(settings).ask(request)  # an action: it waits for the commit
    except (KernelUnreachable, ControlRefused, KeysMissing) as exc:
        return 0, f"the running kernel did not journal it: {exc}"
    if not isinstance(reply, Recorded):
        return 0, f"the running kernel answered {type(reply).__name__}, not a journal row"
    return reply.seq, ""
