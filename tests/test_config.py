"""Configuration: defaults, overrides, and clear errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rama.cli import app
from rama.config import load_config
from rama.errors import ConfigError


def test_defaults_hold_the_plans_assumed_numbers() -> None:
    cfg = load_config()
    assert cfg["costs"]["holding_cost_per_unit_day"] == 0.10
    assert cfg["costs"]["stockout_penalty_per_unit"] == 2.50
    assert cfg["costs"]["manufacturing_cost_per_unit"] == 1.00
    assert cfg["run"]["horizon_days"] == 7
    assert 0.5 <= cfg["service"]["service_level"] < 1


def test_file_then_set_overrides(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("[costs]\nstockout_penalty_per_unit = 4.0\n[run]\nseed = 3\n")
    cfg = load_config(f, ["run.seed=9", "service.service_level=0.9"])
    assert cfg.get("costs.stockout_penalty_per_unit") == 4.0
    assert cfg.get("run.seed") == 9  # --set wins over the file
    assert cfg.get("service.service_level") == 0.9
    assert cfg.get("costs.holding_cost_per_unit_day") == 0.10  # untouched default


def test_roundtrip_to_toml(tmp_path: Path) -> None:
    cfg = load_config(None, ["forecast.quantiles=[0.05, 0.5, 0.95]"])
    f = tmp_path / "round.toml"
    f.write_text(cfg.to_toml())
    assert load_config(f).values == cfg.values


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("costs.holding_cost=1", "unknown key 'costs.holding_cost'"),
        ("cost.holding_cost_per_unit_day=1", "unknown section 'cost'"),
        ("costs.stockout_penalty_per_unit=-1", "costs.stockout_penalty_per_unit expected"),
        ("service.service_level=1.5", "service.service_level expected a probability"),
        ("run.horizon_days=0", "run.horizon_days expected an integer in 1..28"),
        ("run.seed=abc", "run.seed expected an integer >= 0, got 'abc'"),
        ("inventory.min_cover=3", "inventory.min_cover (3) must not exceed"),
        ("forecast.quantiles=[0.9, 0.1]", "forecast.quantiles expected a sorted list"),
    ],
)
def test_bad_values_name_the_key(override: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, [override])
    assert fragment in str(info.value)


def test_unknown_key_in_file_names_file_and_key(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text("[transport]\nshipment_size = 10\n")
    with pytest.raises(ConfigError) as info:
        load_config(f)
    msg = str(info.value)
    assert str(f) in msg and "transport.shipment_size" in msg and "shipment_size_units" in msg


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_cli_reports_config_error_without_traceback() -> None:
    result = CliRunner().invoke(app, ["config", "--set", "costs.nope=1"])
    assert result.exit_code == 2
    assert "unknown key 'costs.nope'" in result.output
    assert "Traceback" not in result.output


def test_data_section_defaults_and_checks() -> None:
    cfg = load_config()
    assert cfg["data"]["outlier_ratio"] == 1000.0 and cfg["data"]["outlier_action"] == "cap"
    assert cfg["evaluate"]["min_actual_share"] == 0.5
    assert load_config(overrides=["data.outlier_ratio=0"])["data"]["outlier_ratio"] == 0
    with pytest.raises(ConfigError, match=r"data\.outlier_ratio"):
        load_config(overrides=["data.outlier_ratio=-5"])


def test_config_file_with_utf8_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rama.toml"
    path.write_bytes(b"\xef\xbb\xbf[run]\nseed = 7\n")
    assert load_config(path)["run"]["seed"] == 7


def test_non_utf8_config_names_byte_and_line(tmp_path: Path) -> None:
    path = tmp_path / "rama.toml"
    path.write_bytes(b"[run]\nseed = 1\n# caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.reason == "unreadable"
    assert "line 3" in str(info.value) and "UTF-8" in str(info.value)
