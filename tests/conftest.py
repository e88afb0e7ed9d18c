"""Shared fixtures: the real-format samples in tests/data and a tiny generated dataset.

No test reads outside the repository: the real samples are copied into tests/data
(see tests/data/README.md for their source and licences).
"""

from __future__ import annotations

from pathlib import Path

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
