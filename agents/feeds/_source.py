"""What every vendor adapter raises and how a key is kept out of what it says.

Vendor clients put URLs, headers and bodies in their exceptions; an error is
shown in ``kernel status``, journaled as an anomaly and printed by ``kernel
feeds check``, so its text is cut to one line and any key is blanked first.
"""

from __future__ import annotations

from kernel.untrusted import one_line


class FeedError(Exception):
    """A fetch failed; ``retry_after_s`` is set when the vendor said when to come back."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def scrubbed(text: object, secrets: tuple[str, ...] = ()) -> str:
    """One line, no key in it (even one a vendor echoed back in a URL)."""
    out = str(text)
    for secret in secrets:
        if secret:
            out = out.replace(secret, "***")
    return one_line(out, 300)


def retry_after(value: object) -> float | None:
    """``Retry-After`` in seconds; None when absent or given as a date (then the backoff rules)."""
    try:
        seconds = float(str(value))
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 86_400 else None
