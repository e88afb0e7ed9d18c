"""One validated configuration for every assumed number of the working plan.

Defaults ship in ``rama/defaults.toml``; a user file (``--config``) and ``--set key=value``
overrides are merged on top. Unknown keys and out-of-range values raise :class:`ConfigError`
naming the key, the expected range and the value found.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from rama.errors import ConfigError

Check = Callable[[Any], bool]


def _num(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False) -> Check:
    def check(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return False
        if lo is not None and (v <= lo if lo_open else v < lo):
            return False
        return not (hi is not None and v > hi)

    return check


def _int(lo: int, hi: int | None = None) -> Check:
    return lambda v: (
        isinstance(v, int) and not isinstance(v, bool) and v >= lo and (hi is None or v <= hi)
    )


def _choice(*options: str) -> Check:
    return lambda v: isinstance(v, str) and v in options


def _plant(v: Any) -> bool:
    if v == "demand_weighted_centroid":
        return True
    try:
        lat, lon = (float(x) for x in str(v).split(","))
    except ValueError:
        return False
    return -90 <= lat <= 90 and -180 <= lon <= 180


def _quantiles(v: Any) -> bool:
    return (
        isinstance(v, list)
        and len(v) >= 1
        and all(isinstance(q, float) and 0.0 < q < 1.0 for q in v)
        and list(v) == sorted(set(v))
    )


def _int_list(lo: int) -> Check:
    return lambda v: (
        isinstance(v, list)
        and len(v) >= 1
        and all(isinstance(x, int) and not isinstance(x, bool) and x >= lo for x in v)
        and list(v) == sorted(set(v))
    )


STRATEGIES = (
    "do_nothing",
    "order_up_to",
    "decentralized_lp",
    "centralized_lp",
    "stochastic",
    "stochastic_fill_rate",
)
SCENARIO_SETS = ("base", "disruptions", "demand_shocks", "cost_grid", "custom")


def _names(v: Any, allowed: tuple[str, ...], allow_empty: bool = False) -> bool:
    return (
        isinstance(v, list)
        and (allow_empty or len(v) >= 1)
        and all(isinstance(x, str) and x in allowed for x in v)
        and len(set(v)) == len(v)
    )


def _strategies(v: Any) -> bool:
    return _names(v, STRATEGIES)


def _multipliers(v: Any, lo: float = 0.0) -> bool:
    return (
        isinstance(v, list)
        and len(v) >= 1
        and all(
            isinstance(x, int | float) and not isinstance(x, bool) and x >= lo and x > -1.0
            for x in v
        )
    )


def _custom_scenarios(v: Any) -> bool:
    """Validated by rama.scenario_spec (raises ConfigError naming the scenario and key)."""
    from rama.scenario_spec import parse_custom

    parse_custom(v, "scenarios.custom")
    return True


# (check, human-readable expectation) for every known key.
SCHEMA: dict[str, dict[str, tuple[Check, str]]] = {
    "run": {
        "seed": (_int(0), "an integer >= 0"),
        "horizon_days": (_int(1, 28), "an integer in 1..28"),
        "dask": (
            lambda v: isinstance(v, str),
            'a Dask scheduler address, "local", or "" (this machine)',
        ),
    },
    "costs": {
        "holding_cost_per_unit_day": (_num(0.0), "a number >= 0 ($/unit/day)"),
        "stockout_penalty_per_unit": (_num(0.0), "a number >= 0 ($/unit)"),
        "manufacturing_cost_per_unit": (_num(0.0), "a number >= 0 ($/unit)"),
        "max_production_multiplier": (_num(0.0), "a number >= 0"),
    },
    "distribution": {
        "base_cost_per_unit": (_num(0.0), "a number >= 0 ($/unit)"),
        "cost_per_unit_per_1000km": (_num(0.0), "a number >= 0 ($/unit/1000 km)"),
        "plant_location": (_plant, '"demand_weighted_centroid" or "lat,lon"'),
    },
    "service": {
        "service_level": (_num(0.5, 0.9999), "a probability in [0.5, 0.9999]"),
    },
    "capacity": {
        "multiplier": (_num(1.0), "a number >= 1"),
        "minimum_units": (_num(0.0), "a number >= 0 (units)"),
    },
    "inventory": {
        "rule": (_choice("uniform_cover"), '"uniform_cover"'),
        "min_cover": (_num(0.0), "a number >= 0 (multiples of horizon demand)"),
        "max_cover": (_num(0.0), "a number >= 0 (multiples of horizon demand)"),
    },
    "transport": {
        "shipment_size_units": (_num(0.0, lo_open=True), "a number > 0 (units)"),
        "reference_distance_km": (_num(0.0, lo_open=True), "a number > 0 (km)"),
        "within_city_handling_cost": (_num(0.0), "a number >= 0 ($/unit)"),
        "risk_premium": (_num(0.0, 10.0), "a number in [0, 10]"),
    },
    "data": {
        "outlier_ratio": (
            lambda v: _num(0.0)(v) and (v == 0 or v >= 2),
            "0 (off) or a number >= 2 (x the reference median)",
        ),
        "outlier_action": (_choice("cap", "reject"), '"cap" or "reject"'),
        "partition_rows": (_int(1), "an integer >= 1 (rows)"),
    },
    "clustering": {
        "n_init": (_int(1, 100), "an integer in 1..100"),
    },
    "forecast": {
        "quantiles": (_quantiles, "a sorted list of distinct floats in (0, 1)"),
        "recover_demand": (lambda v: isinstance(v, bool), "true or false"),
        "num_boost_round": (_int(1, 10000), "an integer in 1..10000"),
        "learning_rate": (_num(0.0, 1.0, lo_open=True), "a number in (0, 1]"),
        "num_leaves": (_int(2, 4096), "an integer in 2..4096"),
        "lags": (_int_list(1), "a sorted list of distinct integers >= 1 (days)"),
        "rolling_windows": (_int_list(1), "a sorted list of distinct integers >= 1 (days)"),
        "num_threads": (_int(0, 256), "an integer in 0..256 (0 = all cores)"),
        "recovery_prior_units": (_num(0.0), "a number >= 0 (units of demand; 0 = ratio)"),
        "recovery_prior_days": (
            _num(0.0),
            "a number >= 0 (days of exposure; 0 = use recovery_prior_units)",
        ),
        "max_train_rows": (_int(0), "an integer >= 0 (rows; 0 = every row)"),
        "max_calibration_series": (_int(0), "an integer >= 0 (series; 0 = every series)"),
        "partition_series": (_int(0), "an integer >= 0 (series per feature partition; 0 = all)"),
        "recovery_hours": (
            lambda v: _int_list(0)(v) and len(v) == 2 and v[1] <= 24,
            "[first, last] hours with 0 <= first < last <= 24 (window first..last-1)",
        ),
        "stale_after_days": (_int(0, 3650), "an integer in 0..3650 (days; 0 = off)"),
        "backtest_extra_fits": (lambda v: isinstance(v, bool), "true or false"),
        "calibrate_mean": (lambda v: isinstance(v, bool), "true or false"),
        "objective": (
            _choice("regression", "tweedie", "poisson"),
            '"regression" (squared error), "tweedie" or "poisson"',
        ),
        "origin_lags": (
            lambda v: v == [] or _int_list(0)(v),
            "a sorted list of distinct integers >= 0 (days before the origin), or []",
        ),
    },
    "optimize": {
        "backend": (_choice("highs", "pulp"), '"highs" or "pulp"'),
        "threads": (_int(0, 256), "an integer in 0..256 (0 = all cores)"),
        "check_tolerance": (_num(0.0, 1.0, lo_open=True), "a number in (0, 1]"),
    },
    "plan": {
        "strategy": (
            _choice(
                "auto", "centralized_lp", "decentralized_lp", "stochastic", "stochastic_fill_rate"
            ),
            '"auto", "centralized_lp", "decentralized_lp", "stochastic" or "stochastic_fill_rate"',
        ),
        "fill_rate_target": (
            _num(0.0, 1.0),
            "a number in [0, 1] (0 = no fill-rate target for the recommended plan)",
        ),
        "lot_size": (_num(0.0, 1e6), "a number in [0, 1e6] (units; 0 = continuous plan)"),
        "rounding_cost": (
            _choice("auto", "always", "never"),
            '"auto", "always" or "never"',
        ),
    },
    "risk": {
        "stretch_lead_time": (lambda v: isinstance(v, bool), "true or false"),
        "delay_transport_premium": (_num(0.0, 10.0), "a number in [0, 10] (x delay prob.)"),
    },
    "stochastic": {
        "points": (_int(1, 200), "an integer in 1..200 (demand points per pair)"),
        "distribution": (
            _choice("gamma", "normal", "empirical"),
            '"gamma", "normal" or "empirical"',
        ),
        "fill_rate_target": (_num(0.0, 0.9999), "a fill rate in [0, 0.9999]"),
        "fill_rate_tolerance": (_num(0.0, 0.1, lo_open=True), "a number in (0, 0.1]"),
        "max_solves": (_int(1, 50), "an integer in 1..50 (full solves in the bisection)"),
    },
    "evaluate": {
        "strategies": (_strategies, f"a non-empty list of distinct names from {STRATEGIES}"),
        "truth": (
            _choice("auto", "latent", "sales", "none"),
            '"auto", "latent", "sales" or "none"',
        ),
        "samples": (_int(10, 100_000), "an integer in 10..100000"),
        "min_actual_share": (_num(0.0, 1.0), "a share in [0, 1] of the pairs"),
    },
    "scenarios": {
        "sets": (
            lambda v: _names(v, SCENARIO_SETS, allow_empty=True),
            f"a list of distinct names from {SCENARIO_SETS}",
        ),
        "strategies": (_strategies, f"a non-empty list of distinct names from {STRATEGIES}"),
        "penalty_multipliers": (_multipliers, "a non-empty list of numbers >= 0"),
        "holding_multipliers": (_multipliers, "a non-empty list of numbers >= 0"),
        "demand_shocks": (
            lambda v: _multipliers(v, lo=-1.0),
            "a non-empty list of relative shocks > -1, e.g. [-0.2, 0.0, 0.2]",
        ),
        "custom": (_custom_scenarios, "a list of [[scenarios.custom]] tables"),
        "workers": (_int(0, 64), "an integer in 0..64 (0 = sequential, solves use threads)"),
        "warm_start": (lambda v: isinstance(v, bool), "true or false"),
    },
}


def default_config_text() -> str:
    """The shipped defaults file, as text (documented TOML)."""
    return resources.files("rama").joinpath("defaults.toml").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Config:
    """Validated, read-only configuration; ``cfg["costs"]["holding_cost_per_unit_day"]``."""

    values: Mapping[str, Mapping[str, Any]]
    source: str = "defaults"

    def __getitem__(self, section: str) -> Mapping[str, Any]:
        return self.values[section]

    def get(self, dotted: str) -> Any:
        section, key = dotted.split(".", 1)
        return self.values[section][key]

    def with_overrides(self, overrides: Mapping[str, Any], origin: str = "override") -> Config:
        """A new Config with ``{"section.key": value}`` overrides applied and validated."""
        merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in self.values.items()}
        for dotted, value in overrides.items():
            section, key = _split_key(dotted, origin)
            merged[section][key] = value
        _validate(merged, origin)
        return Config({k: dict(v) for k, v in merged.items()}, f"{self.source}+{origin}")

    def overrides(self) -> dict[str, Any]:
        """``{"section.key": value}`` of every value that differs from the shipped defaults."""
        defaults = load_config()
        return {
            f"{section}.{key}": value
            for section, table in self.values.items()
            for key, value in table.items()
            if defaults.values.get(section, {}).get(key) != value
        }

    def to_toml(self) -> str:
        """Serialise (for recording the configuration a run used)."""
        lines: list[str] = []
        for section, table in self.values.items():
            lines.append(f"[{section}]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in table.items())
            lines.append("")
        return "\n".join(lines)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):  # e.g. a [[scenarios.custom]] table, written inline
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return repr(v)


def _split_key(dotted: str, origin: str) -> tuple[str, str]:
    if "." not in dotted:
        raise ConfigError(
            f"{origin}: key {dotted!r} must be written as section.key, "
            f"e.g. costs.stockout_penalty_per_unit"
        )
    section, key = dotted.split(".", 1)
    if section not in SCHEMA:
        raise ConfigError(
            f"{origin}: unknown section {section!r} in key {dotted!r}; "
            f"known sections: {', '.join(SCHEMA)}"
        )
    if key not in SCHEMA[section]:
        raise ConfigError(
            f"{origin}: unknown key {dotted!r}; known keys in [{section}]: "
            f"{', '.join(SCHEMA[section])}"
        )
    return section, key


def _validate(values: Mapping[str, Mapping[str, Any]], origin: str) -> None:
    for section, table in values.items():
        for key, value in table.items():
            check, expected = SCHEMA[section][key]
            if not check(value):
                raise ConfigError(
                    f"{origin}: {section}.{key} expected {expected}, got {value!r}; "
                    f"fix the value in the config file or --set {section}.{key}=..."
                )
    fc = values["forecast"]
    if fc.get("recovery_prior_units", 0) > 0 and fc.get("recovery_prior_days", 0) > 0:
        raise ConfigError(
            f"{origin}: forecast.recovery_prior_units ({fc['recovery_prior_units']}) and "
            f"forecast.recovery_prior_days ({fc['recovery_prior_days']}) are both > 0; the "
            f"recovery prior is one or the other: set the unused one to 0"
        )
    inv = values["inventory"]
    if inv["min_cover"] > inv["max_cover"]:
        raise ConfigError(
            f"{origin}: inventory.min_cover ({inv['min_cover']}) must not exceed "
            f"inventory.max_cover ({inv['max_cover']})"
        )


def _flatten(data: Mapping[str, Any], origin: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, Mapping):
            raise ConfigError(
                f"{origin}: top-level key {section!r} must be a [section] table; "
                f"known sections: {', '.join(SCHEMA)}"
            )
        for key, value in table.items():
            flat[f"{section}.{key}"] = value
    return flat


def parse_set_value(text: str) -> Any:
    """Parse the value of ``--set key=value`` as a TOML value, falling back to a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _read_toml(path: Path) -> dict[str, Any]:
    """The TOML file of ``--config``; a ConfigError naming the file for a missing path, a
    folder, a symlink loop, unreadable bytes (not UTF-8: byte and line) or invalid TOML."""
    fix = "pass a UTF-8 TOML file (see `rama config` for every key)"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"--config: file {path} does not exist", fix=fix) from None
    except IsADirectoryError:
        raise ConfigError(f"--config: {path} is a folder, expected a TOML file", fix=fix) from None
    except OSError as exc:
        what = "a symlink loop" if exc.errno == 40 else f"not readable ({exc.strerror})"
        raise ConfigError(f"--config: {path} is {what}", reason="unreadable", fix=fix) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(
            f"{path}: the file is UTF-16 text (byte-order mark {raw[:2].hex(' ')}); expected UTF-8",
            reason="unreadable",
            fix="save the file as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`)",
        )
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start : exc.start + 4]
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start}, line {line}: {bad!r})",
            reason="unreadable",
            fix="save the file as UTF-8",
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})", reason="unreadable") from exc


def load_config(
    path: Path | None = None, overrides: Iterable[str] | Mapping[str, Any] = ()
) -> Config:
    """Defaults, then the TOML file at ``path``, then ``section.key=value`` overrides."""
    defaults = tomllib.loads(default_config_text())
    cfg = Config({k: dict(v) for k, v in defaults.items()})
    _validate(cfg.values, "defaults.toml")
    if path is not None:
        data = _read_toml(Path(path))
        cfg = cfg.with_overrides(_flatten(data, str(path)), str(path))
    if isinstance(overrides, Mapping):
        flat = dict(overrides)
    else:
        flat = {}
        for item in overrides:
            if "=" not in item:
                raise ConfigError(f"--set {item!r}: expected section.key=value")
            k, v = item.split("=", 1)
            flat[k.strip()] = parse_set_value(v.strip())
    if flat:
        cfg = cfg.with_overrides(flat, "--set")
    return cfg
