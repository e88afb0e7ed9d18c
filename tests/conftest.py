"""Shared fixtures: the real-format samples in ../shared/data and a tiny generated dataset."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RAMA_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the real-row samples (read-only)."""
    if not SHARED_DATA.is_dir():  # pragma: no cover - CI always has it
        pytest.fail(f"real samples not found at {SHARED_DATA}; set RAMA_SHARED_DATA")
    return SHARED_DATA


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
