"""The benchmark families of rama.synth.families: the published format with the latent truth,
determinism, and the structure each family is meant to have (against the default)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from rama.data import load_freshretail
from rama.errors import ConfigError
from rama.synth import generate_datasets
from rama.synth.families import FAMILIES, generate_family

SCALE = 0.004  # 200 series x 97 days


def _truth(path: Path) -> pl.DataFrame:
    return pl.read_parquet(path / "truth" / "latent_demand.parquet").sort(
        "store_id", "product_id", "dt"
    )


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    out = {"default": root / "default"}
    generate_datasets(out["default"], scale=SCALE, seed=3)
    for name in FAMILIES:
        out[name] = root / name
        generate_family(out[name], name, scale=SCALE, seed=3)
    return out


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_format_and_truth(folders: dict[str, Path], family: str) -> None:
    path = folders[family]
    train, ev = load_freshretail(path, "train"), load_freshretail(path, "eval")
    assert train.height == 200 * 90 and ev.height == 200 * 7
    assert (path / "logistics" / "dynamic_supply_chain_logistics_dataset.csv").is_file()
    truth = _truth(path).with_columns(pl.col("dt").str.to_date())
    both = pl.concat([train, ev]).join(truth, on=["store_id", "product_id", "dt"], how="left")
    assert both["latent_demand"].null_count() == 0
    assert (both["latent_demand"] >= both["sale_amount"] - 1e-9).all()
    # a day without a stockout hour lost nothing
    full = both.filter(pl.col("hours_stock_status").list.sum() == 0)
    assert np.allclose(full["latent_demand"], full["sale_amount"])


def test_deterministic(folders: dict[str, Path], tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_family(again, "intermittent", scale=SCALE, seed=3)
    assert _truth(again).equals(_truth(folders["intermittent"]))


def _lag1_autocorr(truth: pl.DataFrame) -> float:
    """Mean over series of the lag-1 autocorrelation of log(1 + latent daily demand)."""
    x = truth.with_columns(pl.col("latent_demand").log1p().alias("v")).with_columns(
        (pl.col("v") - pl.col("v").mean().over("store_id", "product_id")).alias("c")
    )
    x = x.with_columns(pl.col("c").shift(1).over("store_id", "product_id").alias("p"))
    r = x.group_by("store_id", "product_id").agg(
        ((pl.col("c") * pl.col("p")).sum() / (pl.col("c") ** 2).sum()).alias("r")
    )
    return float(r["r"].mean())  # type: ignore[arg-type]


def test_each_family_has_its_structure(folders: dict[str, Path]) -> None:
    t = {k: _truth(v) for k, v in folders.items()}
    assert _lag1_autocorr(t["persistent"]) > _lag1_autocorr(t["default"]) + 0.2
    zero = {k: float(np.mean(v["latent_demand"].to_numpy() == 0)) for k, v in t.items()}
    assert zero["intermittent"] > zero["default"] + 0.2
    lift = {}
    for k in ("default", "promo"):
        d = load_freshretail(folders[k], "train").join(
            t[k].with_columns(pl.col("dt").str.to_date()), on=["store_id", "product_id", "dt"]
        )
        m = d.group_by(pl.col("discount") < 0.9).agg(pl.col("latent_demand").mean())
        on, off = (
            float(m.filter(pl.col("discount") == f)["latent_demand"][0]) for f in (True, False)
        )
        lift[k] = on / off
    assert lift["promo"] > lift["default"] * 1.1  # elasticity median 4 vs 3


def test_unknown_family_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown family 'weekly'"):
        generate_family(tmp_path / "x", "weekly")
