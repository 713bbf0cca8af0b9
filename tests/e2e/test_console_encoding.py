"""Every console command, redirected to a file on a cp1252 "console", exits 0 and writes cp1252.

Windows writes the ANSI code page (cp1252 in western Europe and the Americas)
when output goes to a file or a pipe: ``kernel plan ... > plan.txt``. Here
``PYTHONIOENCODING=cp1252`` stands in for it, and the text includes what cp1252
lacks: our own ``→`` and an operator's reason with an emoji. Each output must
decode as strict cp1252, and each ``--json`` output must still be JSON that
holds the original text exactly (kernel/console/_entry.py, docs/windows.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import ROOT, KernelProcess, kernel_command

CP1252 = {**os.environ, "PYTHONIOENCODING": "cp1252", "NO_COLOR": "1", "COLUMNS": "120"}
REASON = "CPI → wait 🚀, naïve"
"""An operator's reason with a character cp1252 lacks, one outside the BMP, one it has."""
PLAN = ["plan", "--input", "examples/stock_day_long.json"]


def run_to_files(tmp_path: Path, name: str, *args: str) -> tuple[int, str, str]:
    """Run ``kernel ARGS > name.out 2> name.err``; the exit code and both files, as cp1252."""
    out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        code = subprocess.run(kernel_command(*args), cwd=ROOT, stdout=stdout, stderr=stderr,
                              env=CP1252, timeout=60, check=False).returncode
    return code, out.read_bytes().decode("cp1252"), err.read_bytes().decode("cp1252")


def holds_reason(value: Any) -> bool:
    return REASON in json.dumps(value, ensure_ascii=False)


def test_a_plan_as_a_panel_and_as_json_survives_a_cp1252_file(tmp_path: Path) -> None:
    code, panel, err = run_to_files(tmp_path, "panel", *PLAN)
    assert code == 0, err
    assert "\\u2192" in panel and "Traceback" not in err  # the → of the synthesis, escaped
    code, text, err = run_to_files(tmp_path, "json", *PLAN, "--json")
    assert code == 0, err
    in_utf8 = subprocess.run(kernel_command(*PLAN, "--json"), cwd=ROOT, capture_output=True,
                             env={**CP1252, "PYTHONIOENCODING": "utf-8"}, timeout=60, check=True)
    assert json.loads(text) == json.loads(in_utf8.stdout.decode("utf-8"))


@pytest.fixture
def halted_kernel(tmp_path: Path) -> Iterator[KernelProcess]:
    """A running kernel halted with :data:`REASON`, so every output has it to show."""
    kernel = KernelProcess(tmp_path).start()
    try:
        code, _, err = run_to_files(tmp_path, "halt", "--config-dir", str(kernel.config_dir),
                                    "halt", "--reason", REASON)
        assert code == 0, err
        yield kernel
    finally:
        kernel.kill()


def test_status_and_report_survive_a_cp1252_file(halted_kernel: KernelProcess,
                                                 tmp_path: Path) -> None:
    config = ("--config-dir", str(halted_kernel.config_dir))
    for name, args in (("status", ["status"]), ("report", ["report", "--no-publish"])):
        code, text, err = run_to_files(tmp_path, name, *config, *args)
        assert code == 0, err
        assert "HALTED" in text and "Traceback" not in err, text
    for name, args in (("status-json", ["status", "--json"]),
                       ("report-json", ["report", "--format", "json", "--no-publish"])):
        code, text, err = run_to_files(tmp_path, name, *config, *args)
        assert code == 0, err
        assert holds_reason(json.loads(text)), text[:2000]


def follow_tap(tmp_path: Path, kernel: KernelProcess, name: str, *args: str,
               until: Callable[[str], bool]) -> str:
    """``kernel tap ARGS > name.out`` until its output satisfies ``until``; then stopped."""
    out = tmp_path / f"{name}.out"
    with open(out, "wb") as stdout, open(tmp_path / f"{name}.err", "wb") as stderr:
        tap = subprocess.Popen(kernel_command("--config-dir", str(kernel.config_dir), "tap",
                                              *args), cwd=ROOT, stdout=stdout, stderr=stderr,
                               env=CP1252)
    try:
        deadline = time.monotonic() + 30
        while not until(out.read_bytes().decode("cp1252")):
            assert tap.poll() is None, f"tap exited {tap.returncode}"
            assert time.monotonic() < deadline, out.read_bytes()[-2000:]
            time.sleep(0.1)
    finally:
        tap.terminate()  # SIGTERM ends the tap like Ctrl-C on POSIX
        tap.wait(20)
    if sys.platform != "win32":
        assert tap.returncode == 0
    assert "Traceback" not in (tmp_path / f"{name}.err").read_bytes().decode("cp1252")
    return out.read_bytes().decode("cp1252")


def test_the_tap_as_lines_and_as_json_survives_a_cp1252_file(halted_kernel: KernelProcess,
                                                             tmp_path: Path) -> None:
    stream = follow_tap(tmp_path, halted_kernel, "stream", "--stream",
                        until=lambda text: "HALTED" in text)
    assert "current state" in stream

    def reason_seen(text: str) -> bool:
        lines = [line for line in text.splitlines() if line.endswith("}")]
        return any(holds_reason(json.loads(line)) for line in lines)

    text = follow_tap(tmp_path, halted_kernel, "json", "--json", until=reason_seen)
    for line in text.splitlines():
        json.loads(line)  # every line, not only the one we waited for
