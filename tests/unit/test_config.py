"""Config errors name the file, the field, what was expected and the fix."""

from pathlib import Path

import pytest

from kernel.config import ConfigError, KernelConfig, PathsConfig, load_yaml
from kernel.settings import check_all, load_settings

SHIPPED = Path(__file__).resolve().parents[2] / "config"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kernel.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_config_is_valid() -> None:
    assert check_all(SHIPPED) == []
    settings = load_settings(SHIPPED)
    assert settings.kernel.gateway.endpoint == "tcp://127.0.0.1:7710"
    assert settings.journal_path.parent == SHIPPED.parent / "data"


def test_a_wrong_type_names_file_field_expected_found_and_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "gateway:\n  heartbeat_interval_s: soon\n")
    with pytest.raises(ConfigError) as caught:
        load_yaml(path, KernelConfig)
    message = str(caught.value)
    assert str(path) in message
    assert "gateway.heartbeat_interval_s" in message
    assert "expected `float`, got `str`" in message
    assert "Fix:" in message


def test_an_out_of_range_value_says_the_bound(tmp_path: Path) -> None:
    path = write(tmp_path, "supervision:\n  max_restarts: -1\n")
    with pytest.raises(ConfigError, match=r"supervision.max_restarts.*>= 0"):
        load_yaml(path, KernelConfig)


def test_an_unknown_key_is_refused_not_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "gateway:\n  endpont: tcp://127.0.0.1:1\n")
    with pytest.raises(ConfigError, match=r"`gateway.endpont` is not a known setting"):
        load_yaml(path, KernelConfig)


def test_broken_yaml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "gateway: [unclosed\n")
    with pytest.raises(ConfigError, match=r"not valid YAML.*line"):
        load_yaml(path, KernelConfig)


def test_a_missing_file_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"file not found\. Fix:"):
        load_yaml(tmp_path / "paths.yaml", PathsConfig)


def test_a_list_at_the_top_level_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_yaml(path, KernelConfig)


def test_an_empty_file_means_every_default(tmp_path: Path) -> None:
    assert load_yaml(write(tmp_path, ""), KernelConfig) == KernelConfig()


def test_an_endpoint_without_a_transport_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "control:\n  endpoint: 127.0.0.1:7713\n")
    with pytest.raises(ConfigError, match=r"control\.endpoint"):
        load_yaml(path, KernelConfig)


def test_check_all_reports_every_bad_file(tmp_path: Path) -> None:
    write(tmp_path, "mode: live\n")
    (tmp_path / "paths.yaml").write_text("data_dir: [1]\n", encoding="utf-8")
    problems = check_all(tmp_path)
    assert any("kernel.yaml" in p and "`mode`" in p for p in problems)
    assert any("paths.yaml" in p and "`data_dir`" in p for p in problems)


def test_a_wrong_word_lists_the_allowed_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "mode: live\n")
    with pytest.raises(ConfigError, match=r"field `mode`: invalid enum value 'live'\. "
                                          r"Fix: use one of demo, off, paper\."):
        load_yaml(path, KernelConfig)
    nested = write(tmp_path, "journal:\n  synchronous: sometimes\n")
    with pytest.raises(ConfigError, match="use one of full, normal"):
        load_yaml(nested, KernelConfig)


def test_mode_off_unquoted_is_the_word_not_false(tmp_path: Path) -> None:
    assert load_yaml(write(tmp_path, "mode: off\n"), KernelConfig).mode == "off"
    config = load_yaml(write(tmp_path, "journal:\n  jsonl: false\n"), KernelConfig)
    assert config.journal.jsonl is False


def copy_config(tmp_path: Path, *, script: bool = True) -> Path:
    """The shipped config in ``tmp_path/config``, its bot script present or not."""
    folder = tmp_path / "config"
    folder.mkdir()
    for source in SHIPPED.glob("*.yaml"):
        (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    if script:
        (tmp_path / "scripts").mkdir()
        (tmp_path / "scripts" / "run_bot.py").write_text("", encoding="utf-8")
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_copy_with_its_bot_script_is_valid(tmp_path: Path) -> None:
    assert check_all(copy_config(tmp_path)) == []


def test_check_finds_a_bot_script_that_does_not_exist(tmp_path: Path) -> None:
    folder = copy_config(tmp_path)
    edit(folder / "paths.yaml", "scripts/run_bot.py", "scripts/run_bott.py")
    [problem] = check_all(folder)
    assert str(folder / "paths.yaml") in problem
    assert "`bot.command`" in problem and "'scripts/run_bott.py' does not exist" in problem
    assert "Fix:" in problem


def test_check_finds_a_bot_executable_that_does_not_exist(tmp_path: Path) -> None:
    folder = copy_config(tmp_path)
    edit(folder / "paths.yaml", '["{python}", ', '["/no/such/python3", ')
    [problem] = check_all(folder)
    assert "the executable '/no/such/python3' was not found" in problem


def test_check_refuses_an_empty_allow_list_in_a_trading_mode(tmp_path: Path) -> None:
    folder = copy_config(tmp_path)
    with (folder / "risk.yaml").open("a", encoding="utf-8") as risk:
        risk.write("symbols: {}\n")  # a later key wins in YAML: the list is now empty
    [problem] = check_all(folder)
    assert "risk.yaml: field `symbols` is empty" in problem and "allowed: none" in problem
    edit(folder / "kernel.yaml", "mode: paper", "mode: off")
    assert check_all(folder) == []


def test_an_unknown_key_suggests_the_nearest_known_one(tmp_path: Path) -> None:
    folder = copy_config(tmp_path)
    edit(folder / "risk.yaml", "max_leverage: 2", "max_leverge: 2")
    [problem] = check_all(folder)
    assert "`max_leverge` is not a known setting. Fix: did you mean max_leverage?" in problem
    nested = write(tmp_path, "gateway:\n  endpont: tcp://127.0.0.1:1\n")
    with pytest.raises(ConfigError, match="did you mean endpoint"):
        load_yaml(nested, KernelConfig)


def test_a_zone_name_is_explained_not_answered_with_a_regex(tmp_path: Path) -> None:
    folder = copy_config(tmp_path)
    edit(folder / "risk.yaml", "timezone: UTC", "timezone: EST")
    [problem] = check_all(folder)
    assert "field `timezone`: timezone 'EST'" in problem and "EST is UTC-05:00" in problem
    assert "(?P<" not in problem


def test_a_bound_and_min_max_quote_the_values_found(tmp_path: Path) -> None:
    folder = copy_config(tmp_path)
    edit(folder / "risk.yaml", "max_price_deviation_pct: 1.5", "max_price_deviation_pct: 150")
    [problem] = check_all(folder)
    assert "`max_price_deviation_pct`: expected `float` <= 100.0, found 150" in problem
    edit(folder / "risk.yaml", "max_price_deviation_pct: 150", "max_price_deviation_pct: 1.5")
    edit(folder / "risk.yaml", "  min: 0.1", "  min: 2")
    [problem] = check_all(folder)
    assert "`risk_multiplier`: need min <= default <= max, found min 2, default 1" in problem


def test_broken_yaml_names_the_file_not_a_unicode_string(tmp_path: Path) -> None:
    path = write(tmp_path, "mode: paper\nbus:\n  x: [1\n")
    with pytest.raises(ConfigError) as caught:
        load_yaml(path, KernelConfig)
    message = str(caught.value)
    assert message.startswith(f"{path}: not valid YAML at line 4")
    assert "flow sequence at line 3" in message and "<unicode string>" not in message


def test_a_missing_config_folder_is_one_error_naming_where_it_looked(tmp_path: Path) -> None:
    [problem] = check_all(tmp_path / "nope")
    assert f"config folder {tmp_path / 'nope'} does not exist" in problem
    assert "--config-dir" in problem
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope")
