"""The tests that cannot run on Windows, each with its own narrow reason (docs/windows.md).

One place, so the list in docs/windows.md ("Tests skipped on Windows") stays true:
a test is skipped on Windows only for what Windows truly lacks, never a whole
module because some of its tests send signals. Stopping ``kernel run`` is not such
a reason: :func:`tests.support.processes.interrupt` sends Ctrl-Break there.
"""

from __future__ import annotations

import sys

import pytest

ON_WINDOWS = sys.platform == "win32"


def posix_only(why: str) -> pytest.MarkDecorator:
    """Skip on Windows, saying what Windows lacks."""
    return pytest.mark.skipif(ON_WINDOWS, reason=f"POSIX only: {why}")


SENDS_SIGTERM = posix_only(
    "sends SIGTERM, which Windows cannot deliver (Popen.send_signal(SIGTERM) is "
    "TerminateProcess there, a kill)")
SIGNALS_THE_TAP = posix_only(
    "stops `kernel tap` with SIGINT or SIGTERM; Windows sends console events to a whole "
    "process group, and the tap takes its Ctrl-C at its own console")
SIGNALS_THE_BOT = posix_only(
    "sends SIGINT and SIGTERM to the reference bot; on Windows its polite stop is Ctrl-Break "
    "to its process group (SIGBREAK), which needs a group of its own")
CTRL_C_WHILE_IMPORTING = posix_only(
    "a Ctrl-C while the command still imports: Windows cannot send Ctrl-C to one process, "
    "and a Ctrl-Break before the kernel's handler is installed ends it at once (Windows' "
    "default)")
READ_ONLY_FOLDER = posix_only(
    "makes a folder read-only with chmod; Windows does not enforce a folder's read-only "
    "attribute")
FULL_DISK = posix_only(
    "fills the disk with RLIMIT_FSIZE (the resource module), which Windows lacks")
BASH_PIPE = posix_only("runs the tap in a bash pipe and reads bash's PIPESTATUS")
TMUX = posix_only("drives a real 80x24 terminal through tmux, which exists only on POSIX")
