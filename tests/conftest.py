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
