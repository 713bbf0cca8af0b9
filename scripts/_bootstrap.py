"""Shared set-up for ``scripts/run.py`` and ``scripts/test.py``: one venv, the project in it.

Standard library only, so that it runs on a bare Python 3.11 or newer before
anything is installed, the same on Windows (``py scripts\\run.py``) as on Linux
and macOS (``python scripts/run.py``): no bash, no ``python3`` on the PATH, no
activation needed. It makes ``.venv`` beside the README with the interpreter that
runs it (or where ``$SUPERVISOR_VENV`` says), installs the project into it
(editable) only when ``pyproject.toml`` is newer than the last install, and shows
pip's log only when the install fails, so a normal start stays quiet.

The command then takes over the terminal. On POSIX this process *becomes* it
(``exec``): its pid, signals and exit code are the command's own, so a Ctrl-C or a
``kill <pid>`` reaches the kernel directly. Windows has no ``exec`` that keeps the
console, so there the command runs as a child and this process waits for it: a
Ctrl-C or Ctrl-Break in the console reaches both, the child stops in its own way,
and its exit code is passed on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIN_PYTHON = (3, 11)
VENV_VARIABLE = "SUPERVISOR_VENV"
"""Where the venv goes instead of ``.venv`` beside the README (a synced or network folder)."""
EXIT_SETUP_FAILED = 1


class SetupFailed(Exception):
    """The venv could not be made or the project not installed; the message says why."""


def venv_dir(root: Path, environ: Mapping[str, str]) -> Path:
    chosen = environ.get(VENV_VARIABLE, "").strip()
    return Path(chosen).expanduser().resolve() if chosen else root / ".venv"


def bin_dir(venv: Path, os_name: str = os.name) -> Path:
    """Where a venv keeps its executables: ``Scripts`` on Windows, ``bin`` elsewhere."""
    return venv / ("Scripts" if os_name == "nt" else "bin")


def venv_python(venv: Path, os_name: str = os.name) -> Path:
    return bin_dir(venv, os_name) / ("python.exe" if os_name == "nt" else "python")


def stamp_path(venv: Path, extras: str) -> Path:
    """The file whose time says when the project was last installed with ``extras``."""
    return venv / (f".installed-{extras}" if extras else ".installed")


def accepted_stamps(venv: Path, extras: str) -> list[Path]:
    """An install with the test extras also serves ``run.py``, never the other way round."""
    stamps = [stamp_path(venv, extras)]
    if not extras:
        stamps.append(stamp_path(venv, "test"))
    return stamps


def install_needed(pyproject: Path, stamps: Sequence[Path]) -> bool:
    """Whether no stamp is at least as new as ``pyproject.toml`` (the dependencies' home)."""
    changed = pyproject.stat().st_mtime
    for stamp in stamps:
        try:
            if stamp.stat().st_mtime >= changed:
                return False
        except FileNotFoundError:
            continue
    return True


def too_old(version: tuple[int, ...]) -> str | None:
    """Why this Python cannot run the project, or None when it can."""
    if version[:2] >= MIN_PYTHON:
        return None
    found = ".".join(str(part) for part in version[:3])
    return (f"the supervisor needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer; this is "
            f"Python {found} ({sys.executable}). Fix: install a newer Python from python.org "
            "and run this command with it (on Windows `py -3.12 scripts\\run.py` picks one).")


def child_env(venv: Path, environ: Mapping[str, str], os_name: str = os.name) -> dict[str, str]:
    """The environment of the command: the venv first on the PATH, as activating it would."""
    env = dict(environ)
    env.pop("PYTHONHOME", None)
    path_key = next((key for key in env if key.upper() == "PATH"), "PATH")
    rest = env.get(path_key, "")
    env[path_key] = str(bin_dir(venv, os_name)) + (os.pathsep + rest if rest else "")
    env["VIRTUAL_ENV"] = str(venv)
    return env


def exit_status(code: int) -> int:
    """A Windows exit code such as 0xC000013A (stopped by Ctrl-C) as ``sys.exit`` takes it."""
    if code > 0x7FFFFFFF:
        return code - 0x100000000
    return code


def ensure_venv(venv: Path, base_python: str) -> Path:
    """The venv's python, making the venv first when there is none."""
    python = venv_python(venv)
    if python.exists():
        _check_runs(python, venv)
        return python
    print(f"creating {venv} with {base_python}", file=sys.stderr, flush=True)
    made = subprocess.run([base_python, "-m", "venv", str(venv)], check=False)
    if made.returncode != 0 or not python.exists():
        raise SetupFailed(
            f"could not create a virtual environment in {venv} (exit {made.returncode}). Fix: "
            "on Debian or Ubuntu install the python3-venv package; elsewhere check that the "
            "folder is writable, or set SUPERVISOR_VENV to a folder that is.")
    return python


def _check_runs(python: Path, venv: Path) -> None:
    """A venv outlives the Python it was made with (uninstalled, upgraded, moved): say so."""
    try:
        code = subprocess.run([str(python), "-c", ""], capture_output=True, check=False,
                              timeout=60).returncode
    except (OSError, subprocess.TimeoutExpired) as exc:
        code, detail = -1, str(exc)
    else:
        detail = f"exit {code}"
    if code != 0:
        raise SetupFailed(
            f"the venv's python {python} does not start ({detail}): the Python it was made "
            f"with has probably been removed, upgraded or moved. Fix: delete the folder {venv} "
            "and run this command again; it makes a new one.")


def ensure_installed(python: Path, root: Path, venv: Path, extras: str) -> None:
    """Install the project (editable) when ``pyproject.toml`` changed since the last time."""
    if not install_needed(root / "pyproject.toml", accepted_stamps(venv, extras)):
        return
    log = venv / "install.log"
    print(f"installing the project into {venv} (log: {log})", file=sys.stderr, flush=True)
    target = f"{root}[{extras}]" if extras else str(root)
    with open(log, "wb") as sink:
        done = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check",
                               "-e", target], stdout=sink, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        sys.stderr.write(log.read_bytes().decode("utf-8", "replace"))
        raise SetupFailed(f"installing the project failed (exit {done.returncode}; the full "
                          f"log is above and in {log}). Nothing was started.")
    stamp_path(venv, extras).touch()


def wait_for(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> int:
    """Run ``argv`` as a child and return its exit code; Ctrl-C here waits for it to stop.

    The console delivers Ctrl-C (and Ctrl-Break) to every process attached to it, so
    the child has it too and stops in its own, orderly way: leaving first would hand
    the prompt back while the kernel is still closing its bot. The handlers are
    no-ops rather than "ignore", because an ignored signal would be the child's too;
    they are in place before the child starts, so an early Ctrl-C cannot slip past.
    """
    names = ("SIGINT", "SIGBREAK")
    previous = {sig: signal.signal(sig, _let_the_child_handle_it)
                for sig in (getattr(signal, name) for name in names if hasattr(signal, name))}
    try:
        child = subprocess.Popen(list(argv), cwd=cwd, env=dict(env))
        return exit_status(child.wait())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _let_the_child_handle_it(signum: int, frame: object) -> None:
    """The console's Ctrl-C reached the child as well; this process only waits."""


def hand_over(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> int:
    """Become the command on POSIX (``exec``: same pid, signals, exit code); wait on Windows."""
    if os.name == "nt":
        return wait_for(argv, cwd=cwd, env=env)
    os.chdir(cwd)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], list(argv), dict(env))


def main(extras: str, command: Sequence[str], args: Sequence[str]) -> int:
    """Set up, then run ``python <command> <args>`` in the project folder with the venv's python."""
    problem = too_old(tuple(sys.version_info[:3]))
    if problem is not None:
        print(problem, file=sys.stderr)
        return EXIT_SETUP_FAILED
    venv = venv_dir(ROOT, os.environ)
    try:
        python = ensure_venv(venv, sys.executable)
        ensure_installed(python, ROOT, venv, extras)
    except (SetupFailed, OSError) as exc:
        print(f"setting up {venv} failed: {exc}", file=sys.stderr)
        return EXIT_SETUP_FAILED
    argv = [str(python), *command, *args]
    return hand_over(argv, cwd=ROOT, env=child_env(venv, os.environ))
