"""The README's layout table names every folder of the tree, and only folders that exist."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def layout_rows() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)/` \| (.+) \|$", section, flags=re.MULTILINE)
    return dict(rows)


def top_level_folders() -> set[str]:
    """The folders git tracks (not the data/ or logs/ of a run); every folder outside git."""
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode == 0 and listed.stdout:
        return {name.split("/")[0] for name in listed.stdout.splitlines() if "/" in name}
    made_by_runs = {"data", "logs", "reports", "build"}
    return {p.name for p in ROOT.iterdir() if p.is_dir() and p.name not in made_by_runs
            and not p.name.endswith(".egg-info")}


def test_every_folder_in_the_table_exists() -> None:
    for folder in layout_rows():
        assert (ROOT / folder).is_dir(), f"README.md's layout names {folder}/, which is not there"


def test_every_top_level_folder_and_feature_is_in_the_table() -> None:
    rows = layout_rows()
    tops = {name for name in top_level_folders() if not name.startswith((".", "_"))}
    assert tops <= set(rows), f"missing from README.md's layout: {sorted(tops - set(rows))}"
    features = {p.name for p in (ROOT / "agents").iterdir()
                if p.is_dir() and (p / "__init__.py").exists()}
    for feature in features:
        assert f"`{feature}/`" in rows["agents"], f"agents/{feature}/ is not in README.md"
