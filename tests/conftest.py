"""Shared fixtures: the real-format samples in tests/data and a tiny generated dataset.

No test reads outside the repository: the real samples are copied into tests/data
(see tests/data/README.md for their source and licences).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the real-row samples, tests/data (read-only: copy before changing)."""
    if not TEST_DATA.is_dir():  # pragma: no cover - part of the repository
        pytest.fail(f"real samples not found at {TEST_DATA}")
    return TEST_DATA


@pytest.fixture(scope="session")
def fresh_sample_csv(shared_data: Path) -> Path:
    return shared_data / "freshretailnet" / "sample_train_100.csv"


@pytest.fixture(scope="session")
def logistics_sample_csv(shared_data: Path) -> Path:
    return shared_data / "logistics" / "sample_head5.csv"


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated DATA folder (scale 0.01, seed 0: 9 stores, 100 products, 500 series, 90 train
    + 7 eval days, 32,065 logistics rows, truth/latent_demand.parquet). Read-only: copy it
    before changing anything."""
    from rama.synth import generate_datasets

    out = tmp_path_factory.mktemp("tiny_data") / "data"
    generate_datasets(out, scale=0.01, seed=0)
    return out


def _assert_close(got: object, want: object, where: str = "") -> None:
    """``got`` equals ``want`` (nested dicts and lists), floats to 1e-12 relative."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for k in want:
            _assert_close(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _assert_close(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and math.isnan(want):
        assert isinstance(got, float) and math.isnan(got), where
    elif isinstance(want, float) and isinstance(got, float):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15), where
    else:
        assert got == want, where


@pytest.fixture(scope="session")
def assert_close() -> Any:
    """Compare nested results whose floats are pooled sums (means, std) to 1e-12."""
    return _assert_close


def with_bad_sale(df: Any, row: int) -> Any:
    """``df`` (a FreshRetailNet frame) with a negative ``sale_amount`` at ``row`` (0-based)."""
    import polars as pl

    bad = pl.when(pl.int_range(pl.len()) == row).then(-1.0).otherwise("sale_amount")
    return df.with_columns(bad.alias("sale_amount"))


@pytest.fixture(scope="session")
def bad_sale() -> Any:
    """:func:`with_bad_sale`: a row a FreshRetailNet check refuses."""
    return with_bad_sale
