"""LightGBM parameters of the forecaster: rama's defaults, and ``lgb_params`` passed through.

``DemandForecaster(lgb_params={...})`` adds or overrides any LightGBM training parameter
(https://lightgbm.readthedocs.io/en/latest/Parameters.html) except those the forecaster
owns as its own arguments (``objective``, ``learning_rate``, ``num_leaves``,
``min_data_in_leaf``, ``num_threads``, ``seed`` and the number of rounds, under any of
their LightGBM aliases): a name LightGBM does not know, or one of those, is a ConfigError
naming it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import lightgbm as lgb

from rama.errors import ConfigError

OWN = {
    "objective": "objective",
    "learning_rate": "learning_rate",
    "num_leaves": "num_leaves",
    "min_data_in_leaf": "min_data_in_leaf",
    "num_threads": "num_threads",
    "seed": "seed",
    "num_iterations": "num_boost_round",
}
"""LightGBM parameter -> the forecaster argument that sets it."""

DEFAULTS: Mapping[str, Any] = {
    "feature_fraction": 0.8,
    "bagging_fraction": 0.7,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 20.0,
    "cat_l2": 10.0,
    "max_bin": 127,
    # depth cap: without it the 63-leaf trees grow chains of one-category splits on store_id /
    # product_id (mean depth 46 by tree 250 on the 10x network), and prediction, which walks
    # every tree for every row, slows with depth; 12 was neutral or better on WAPE on every
    # benchmark family (benchmarks/bench_forecast_peer.py, issue 13 note)
    "max_depth": 12,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
"""rama's fixed LightGBM settings (``lgb_params`` may override any of them)."""


def _aliases() -> dict[str, str]:
    """Every LightGBM parameter name and alias -> its canonical name."""
    table: dict[str, list[str]] = lgb.basic._ConfigAliases._get_all_param_aliases()
    out = {name: name for name in table}
    for name, aliases in table.items():
        out.update(dict.fromkeys(aliases, name))
    return out


def check_lgb_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``params`` with canonical names, or a ConfigError naming the first bad parameter."""
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"lgb_params expected a dict of LightGBM parameters, got {type(params).__name__}"
        )
    canon = _aliases()
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = canon.get(str(key))
        if name is None:
            near = difflib.get_close_matches(str(key), list(canon), n=3)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise ConfigError(
                f"lgb_params: {key!r} is not a LightGBM parameter{hint} (see "
                "https://lightgbm.readthedocs.io/en/latest/Parameters.html)"
            )
        if name in OWN:
            raise ConfigError(
                f"lgb_params: {key!r} is set by the forecaster's own argument "
                f"{OWN[name]!r}; pass DemandForecaster({OWN[name]}=...) instead"
            )
        if name in out:
            raise ConfigError(f"lgb_params: {key!r} repeats the parameter {name!r}")
        out[name] = value
    return out
