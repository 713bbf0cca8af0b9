"""The pure helpers of ``scripts/_bootstrap.py``: venv layout per OS, stamps, environment."""

from __future__ import annotations

import os
from pathlib import Path

from scripts import _bootstrap as boot


def test_a_windows_venv_keeps_python_in_scripts_and_a_posix_one_in_bin() -> None:
    venv = Path("project") / ".venv"
    assert boot.venv_python(venv, "nt") == venv / "Scripts" / "python.exe"
    assert boot.venv_python(venv, "posix") == venv / "bin" / "python"
    assert boot.bin_dir(venv, "nt") == venv / "Scripts"


def test_the_venv_is_beside_the_readme_unless_the_variable_names_another() -> None:
    root = Path("project").resolve()
    assert boot.venv_dir(root, {}) == root / ".venv"
    assert boot.venv_dir(root, {boot.VENV_VARIABLE: "  "}) == root / ".venv"
    elsewhere = Path("elsewhere").resolve()
    assert boot.venv_dir(root, {boot.VENV_VARIABLE: str(elsewhere)}) == elsewhere


def _at(path: Path, mtime: float) -> Path:
    path.write_text("", encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def test_the_project_is_installed_again_only_when_pyproject_is_newer_than_a_stamp(
    tmp_path: Path,
) -> None:
    pyproject = _at(tmp_path / "pyproject.toml", 1_000_000)
    stamp = tmp_path / ".installed-test"
    assert boot.install_needed(pyproject, [stamp])  # never installed
    _at(stamp, 999_999)
    assert boot.install_needed(pyproject, [stamp])  # pyproject changed since
    _at(stamp, 1_000_000)
    assert not boot.install_needed(pyproject, [stamp])  # same second: up to date
    _at(stamp, 1_000_001)
    assert not boot.install_needed(pyproject, [tmp_path / ".installed", stamp])


def test_an_install_with_the_test_extras_serves_run_but_not_the_other_way_round() -> None:
    venv = Path(".venv")
    assert boot.accepted_stamps(venv, "") == [venv / ".installed", venv / ".installed-test"]
    assert boot.accepted_stamps(venv, "test") == [venv / ".installed-test"]


def test_an_old_python_is_told_which_version_is_needed_and_how_to_pick_one() -> None:
    assert boot.too_old((3, 11, 0)) is None
    assert boot.too_old((3, 13, 1)) is None
    problem = boot.too_old((3, 9, 18))
    assert problem is not None
    assert "Python 3.11 or newer" in problem and "3.9.18" in problem and "py -3.12" in problem


def test_the_command_finds_the_venv_first_on_the_path_as_activation_would() -> None:
    venv = Path("v")
    env = boot.child_env(venv, {"PATH": "/usr/bin", "PYTHONHOME": "/x", "KEEP": "1"}, "posix")
    assert env["PATH"] == str(venv / "bin") + os.pathsep + "/usr/bin"
    assert env["VIRTUAL_ENV"] == str(venv) and env["KEEP"] == "1" and "PYTHONHOME" not in env
    windows = boot.child_env(venv, {"Path": r"C:\Windows"}, "nt")  # Windows spells it Path
    assert windows["Path"].startswith(str(venv / "Scripts")) and "PATH" not in windows
    assert boot.child_env(venv, {}, "posix")["PATH"] == str(venv / "bin")


def test_a_windows_exit_code_above_31_bits_is_passed_on_as_sys_exit_takes_it() -> None:
    assert boot.exit_status(0) == 0 and boot.exit_status(4) == 4
    assert boot.exit_status(0xC000013A) == 0xC000013A - 2**32  # STATUS_CONTROL_C_EXIT
