"""``scripts/test.py`` and ``scripts/run.py`` for real, without the network.

A venv made with ``--without-pip`` takes milliseconds. For the run through, it
sees the packages of the interpreter running the suite (a ``.pth`` file) and its
install stamp is fresh, so the bootstrap goes straight to pytest; for the failed
install, it has no pip, so the install fails the way a broken one does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from scripts import _bootstrap as boot

ROOT = Path(__file__).resolve().parents[2]


def bare_venv(where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True,
                   timeout=60)
    return where


def bridged_venv(where: Path) -> Path:
    """A venv that sees the suite's packages and whose install is up to date."""
    venv = bare_venv(where)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    ours = sysconfig.get_path("purelib")
    (site / "suite.pth").write_text(f"import site; site.addsitedir({ours!r})\n",
                                    encoding="utf-8")
    changed = (ROOT / "pyproject.toml").stat().st_mtime
    stamp = boot.stamp_path(venv, "test")
    stamp.touch()
    os.utime(stamp, (changed + 1, changed + 1))
    return venv


def run_script(script: str, venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, boot.VENV_VARIABLE: str(venv)}
    return subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args],
                          cwd=venv.parent, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_test_command_runs_pytest_in_the_venv_with_the_arguments_given(
    tmp_path: Path,
) -> None:
    venv = bridged_venv(tmp_path / "venv")
    done = run_script("test.py", venv, "--collect-only", "-q", "-p", "no:cacheprovider",
                      "tests/unit/test_bootstrap.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_bootstrap.py::" in done.stdout  # relative to the project, wherever run from
    assert "installing" not in done.stderr  # the stamp is fresh: no pip
    missing = run_script("test.py", venv, "-q", "-p", "no:cacheprovider", "tests/no_such.py")
    assert missing.returncode == 4, missing.stdout + missing.stderr  # pytest's own code


def test_the_run_command_passes_its_arguments_to_kernel_run(tmp_path: Path) -> None:
    done = run_script("run.py", bridged_venv(tmp_path / "venv"), "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: kernel run")


def test_a_failed_install_shows_the_log_starts_nothing_and_tries_again_next_time(
    tmp_path: Path,
) -> None:
    venv = bare_venv(tmp_path / "venv")  # no pip: the install fails
    done = run_script("test.py", venv, "--version")
    assert done.returncode == boot.EXIT_SETUP_FAILED
    assert "No module named pip" in done.stderr  # the log, shown because it failed
    assert "installing the project failed" in done.stderr and "Nothing was started" in done.stderr
    assert "pytest" not in done.stdout
    assert not boot.stamp_path(venv, "test").exists()  # so the next run installs again


@pytest.mark.skipif(sys.platform == "win32", reason="a console's Ctrl-C is sent with killpg")
def test_the_windows_way_waits_through_a_ctrl_c_for_the_command_and_passes_its_code(
    tmp_path: Path,
) -> None:
    """``wait_for`` (Windows runs the command as a child) with a Ctrl-C sent, as a console
    does, to the whole group: the child stops its way (exit 130), the parent waits for it."""
    # Short sleeps, not one long one: a SIGINT landing after the last check for signals
    # and before the sleep's system call would only be seen when that sleep ends.
    child = textwrap.dedent("""
        import sys, time
        try:
            print("ready", flush=True)
            for _ in range(600):
                time.sleep(0.1)
        except KeyboardInterrupt:
            time.sleep(0.3)  # an orderly stop takes a moment; the parent must wait
            sys.exit(130)
    """)
    parent = (f"import sys; from scripts._bootstrap import wait_for; from pathlib import Path; "
              f"sys.exit(wait_for([sys.executable, '-c', {child!r}], cwd=Path('.'), "
              f"env=__import__('os').environ))")
    proc = subprocess.Popen([sys.executable, "-c", parent], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        if sys.platform != "win32":  # the skip above; mypy --platform win32 checks the rest
            os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.returncode is None:  # reap both and close the pipes, or the next test is blamed
            if sys.platform != "win32":
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # the child shares the group
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="a venv's python is a symlink on POSIX")
def test_a_venv_whose_python_no_longer_starts_is_named_with_the_fix(tmp_path: Path) -> None:
    venv = bridged_venv(tmp_path / "venv")
    python = boot.venv_python(venv)
    python.unlink()  # the base interpreter is gone: what is left no longer runs
    python.write_text("#!/bin/sh\nexit 127\n", encoding="utf-8")
    python.chmod(0o755)
    done = run_script("test.py", venv, "--version")
    assert done.returncode == boot.EXIT_SETUP_FAILED
    assert "does not start (exit 127)" in done.stderr and f"delete the folder {venv}" in done.stderr
