"""Running a command with one folder read-only, as on a read-only disk or evidence copy.

Root ignores file modes, so as root the folder is bind-mounted read-only in a
private mount namespace of the child alone (``unshare -m``): the child then
gets ``EROFS`` as it would from a read-only disk, and nothing outside it
changes. Other users get the folder's write bits removed for the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

_MOUNT = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'


@contextmanager
def read_only(folder: Path) -> Iterator[Callable[[list[str]], list[str]]]:
    """Yield a function that turns an argv into one that runs with ``folder`` read-only."""
    if sys.platform == "win32":
        pytest.skip("read-only folders are set up with POSIX tools here")
    if os.geteuid() == 0:
        def wrap(argv: list[str]) -> list[str]:
            return ["unshare", "-m", "sh", "-c", _MOUNT, str(folder), *argv]

        if shutil.which("unshare") is None:
            pytest.skip("cannot make a read-only mount here: no unshare")
        probe = subprocess.run(wrap(["touch", str(folder / ".probe")]), capture_output=True)
        if b"Read-only" not in probe.stderr:
            pytest.skip(f"cannot make a read-only mount here: {probe.stderr[-200:]!r}")
        yield wrap
        return
    modes = {path: path.stat().st_mode for path in [folder, *folder.rglob("*")]}
    for path in modes:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        yield lambda argv: argv
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
