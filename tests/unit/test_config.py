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
