"""Saving and loading a fitted ``DemandForecaster`` (``RUN/forecast/model/``).

Files: ``model.txt`` (the LightGBM text model), ``forecaster.json`` (version, parameters,
feature names, target, last history day, calibration tables, the model's SHA-256),
``history_tail.parquet`` and ``series.parquet`` (what ``predict`` needs), ``backtest.parquet``
(the calibration week's forecasts) and, after a ``unique_id`` fit, ``ids.parquet``.

Loading checks every file before trusting it: a missing, truncated or corrupt
``forecaster.json`` or ``model.txt`` is a ``StageInputError``, a damaged Parquet table a
``DataValidationError`` (``unreadable``), each naming the file and saying to refit with
``rama forecast`` (LightGBM itself aborts the process on some truncated models, so the text
is checked against the recorded checksum first).
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import lightgbm as lgb

from rama.errors import ConfigError, DataValidationError, StageInputError
from rama.forecast.uncertainty import Calibration, TotalCalibration
from rama.io import (
    read_json,
    read_parquet_file,
    require_file,
    write_json,
    write_parquet,
    write_text,
)

STATE_VERSION = 2  # 2: n_calibration_series (issue 13)


def save_state(self: Any, folder: Path) -> Path:
    """Write a fitted forecaster's state to ``folder`` (see the module doc)."""
    folder.mkdir(parents=True, exist_ok=True)
    model_str = self.booster_.model_to_string()
    write_text(model_str, folder / "model.txt")
    write_parquet(self.tail_, folder / "history_tail.parquet")
    write_parquet(self.series_, folder / "series.parquet")
    write_parquet(self.backtest_, folder / "backtest.parquet")
    if self.ids_ is not None:
        write_parquet(self.ids_, folder / "ids.parquet")
    state = {
        "version": STATE_VERSION,
        "params": self.get_params(),
        "feature_names": self.feature_names_,
        "target": self.target_,
        "last_date": self.last_date_.isoformat(),
        "n_train_rows": self.n_train_rows_,
        "n_calibration_series": self.n_calibration_series_,
        "short_series": self.short_series_,
        "fit_seconds": self.fit_seconds_,
        "calibration": self.calibration_.to_json(),
        "total_calibration": (
            None if self.total_calibration_ is None else self.total_calibration_.to_json()
        ),
        "model_sha256": hashlib.sha256(model_str.encode("utf-8")).hexdigest(),
    }
    write_json(state, folder / "forecaster.json")
    return folder


def load_state(cls: Any, folder: Path) -> Any:
    """A ``cls`` instance with the fitted state of ``folder`` (its ``spec_`` is left to
    the caller); typed errors naming the damaged file (see the module doc)."""
    fix = f"refit: run `rama forecast --run RUN` without --reuse-model (it rewrites {folder})"
    state_file = folder / "forecaster.json"
    if not state_file.is_file():
        raise DataValidationError(
            str(folder), "no forecaster.json here", reason="not_found", fix=fix
        )
    state = read_json(state_file, "forecast", fix)
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        found = state.get("version") if isinstance(state, dict) else type(state).__name__
        raise DataValidationError(
            str(state_file),
            f"state version {found} != {STATE_VERSION} (written by another rama version)",
            fix=fix,
        )
    try:
        # JSON has no tuples: sequences come back as lists
        params: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in state["params"].items()
        }
        self = cls(**params)
        self.feature_names_ = list(state["feature_names"])
        self.target_ = str(state["target"])
        self.last_date_ = date.fromisoformat(state["last_date"])
        self.n_train_rows_ = int(state["n_train_rows"])
        self.n_calibration_series_ = int(state["n_calibration_series"])
        self.short_series_ = int(state["short_series"])
        self.fit_seconds_ = float(state["fit_seconds"])
        self.calibration_ = Calibration.from_json(state["calibration"])
        tc = state.get("total_calibration")
        self.total_calibration_ = None if tc is None else TotalCalibration.from_json(tc)
    except (KeyError, TypeError, ValueError, ConfigError) as exc:
        raise StageInputError(
            f"forecast: {state_file} is incomplete or inconsistent ({type(exc).__name__}: "
            f"{exc}); {fix}",
            reason="unreadable",
        ) from exc
    model_file = require_file(folder / "model.txt", "forecast", fix)
    self.booster_ = _read_booster(model_file, state.get("model_sha256"), fix)
    if self.booster_.num_feature() != len(self.feature_names_):
        raise StageInputError(
            f"forecast: {model_file} has {self.booster_.num_feature()} features, "
            f"forecaster.json names {len(self.feature_names_)}; {fix}",
            reason="unreadable",
        )
    self.tail_ = read_parquet_file(folder / "history_tail.parquet", "model history", fix)
    self.series_ = read_parquet_file(folder / "series.parquet", "model series", fix)
    ids = folder / "ids.parquet"
    self.ids_ = read_parquet_file(ids, "model ids", fix) if ids.is_file() else None
    bt = folder / "backtest.parquet"
    if bt.is_file():
        self.backtest_ = read_parquet_file(bt, "model backtest", fix)
    return self


def _read_booster(path: Path, sha256: str | None, fix: str) -> lgb.Booster:
    """The LightGBM model of ``path``, checked first: LightGBM aborts the whole process on
    some truncated model strings, so the text must match the checksum ``save`` recorded (or,
    without one, have LightGBM's header and footer) before it is parsed."""

    def bad(why: str) -> StageInputError:
        return StageInputError(
            f"forecast: {path} is not a readable LightGBM model ({why}; truncated or "
            f"corrupted?); {fix}",
            reason="unreadable",
        )

    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise bad(f"{type(exc).__name__}: {exc}") from exc
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise bad(f"its SHA-256 differs from the one forecaster.json recorded, {len(raw)} bytes")
    if not text.startswith("tree\n") or "end of parameters" not in text[-4096:]:
        raise bad("no LightGBM header or footer")
    try:
        return lgb.Booster(model_str=text)
    except lgb.basic.LightGBMError as exc:
        raise bad(str(exc).splitlines()[0] if str(exc) else "LightGBMError") from exc
