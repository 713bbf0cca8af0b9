"""``kernel run`` in the ``QE_LOOP=select`` mode: the selector Windows uses, and Ctrl-C
handled the Windows way (``signal.signal`` and a wakeup socket, kernel/_shutdown.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.processes import KernelProcess, kernel_command


def test_a_kernel_on_select_stops_on_ctrl_c(tmp_path: Path) -> None:
    kernel = KernelProcess(tmp_path).start(env={"QE_LOOP": "select"})
    try:
        assert "QE_LOOP=select" in kernel.stderr()  # the mode was taken
        assert kernel.stop(timeout_s=30) == 0  # it exits: no wall-clock claim beyond that
        assert "Traceback" not in kernel.stderr()
        assert "received SIGINT" in kernel.stderr() or "SIGBREAK" in kernel.stderr()
    finally:
        kernel.kill()


def test_a_mistyped_loop_mode_is_a_configuration_error(tmp_path: Path) -> None:
    config_dir = KernelProcess(tmp_path).config_dir
    result = subprocess.run(kernel_command("--config-dir", str(config_dir), "run"),
                            capture_output=True, timeout=60,
                            env={**os.environ, "NO_COLOR": "1", "QE_LOOP": "selekt"})
    assert result.returncode == 2
    assert b"QE_LOOP='selekt'" in result.stderr and b"QE_LOOP=select" in result.stderr
