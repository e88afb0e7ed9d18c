"""Every rama error carries a reason code and survives pickling, also across a spawned worker."""

from __future__ import annotations

import multiprocessing
import pickle
from typing import Any

import polars as pl
import pytest

from rama import errors
from rama.errors import (
    ConfigError,
    DataValidationError,
    InfeasibleError,
    NotFittedError,
    PlanCheckError,
    RamaError,
    StageInputError,
    WorkerError,
)
from rama.schema import TableSchema, id_column, nonneg, validate

FIELDS = ("reason", "source", "column", "count", "examples", "fix")


def _all_subclasses(cls: type) -> set[type]:
    out: set[type] = set(cls.__subclasses__())
    for sub in list(out):
        out |= _all_subclasses(sub)
    return out


def _instances() -> dict[type[RamaError], RamaError]:
    return {
        RamaError: RamaError("something went wrong"),
        WorkerError: WorkerError(
            "optimize: a solver worker process died (killed by SIGKILL)",
            stage="optimize",
            count=3,
            fix="free memory",
        ),
        ConfigError: ConfigError("forecast.lags: every lag must be >= the horizon", fix="raise"),
        DataValidationError: DataValidationError(
            "inv.csv",
            "negative values; expected values >= 0 (units)",
            reason="negative",
            column="on_hand",
            examples=[{"row": 1, "line": 3, "store_id": 2, "on_hand": -1.0}],
            count=1,
            fix="on_hand must be >= 0",
        ),
        InfeasibleError: InfeasibleError("no feasible plan", [{"store_id": 1, "reason": "x"}]),
        PlanCheckError: PlanCheckError("C1 violated at 3 pairs"),
        NotFittedError: NotFittedError("DemandForecaster is not fitted"),
        StageInputError: StageInputError("optimize: RUN/forecast not found; run `rama forecast`"),
    }


def _same(a: BaseException, b: BaseException) -> None:
    assert type(a) is type(b)
    assert str(a) == str(b) and a.args == b.args
    for name in FIELDS:
        assert getattr(a, name) == getattr(b, name), name
    assert a.__dict__ == b.__dict__


def test_every_error_class_is_covered() -> None:
    public = {
        obj for obj in vars(errors).values() if isinstance(obj, type) and issubclass(obj, RamaError)
    }
    assert public == set(_instances()) == _all_subclasses(RamaError) | {RamaError}


@pytest.mark.parametrize("cls", list(_instances()), ids=lambda c: c.__name__)
def test_pickle_round_trip(cls: type[RamaError]) -> None:
    exc = _instances()[cls]
    assert isinstance(exc.reason, str) and exc.reason
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(exc, protocol=protocol))
        _same(exc, back)


def test_fields_and_message() -> None:
    exc = _instances()[DataValidationError]
    assert isinstance(exc, DataValidationError)
    assert exc.problem.startswith("negative values")
    assert str(exc) == (
        "inv.csv, column 'on_hand': negative values; expected values >= 0 (units) (1 row); "
        "e.g. {'row': 1, 'line': 3, 'store_id': 2, 'on_hand': -1.0}. Fix: on_hand must be >= 0"
    )
    assert ConfigError("bad", fix="set it").fix == "set it"
    assert str(ConfigError("bad", fix="set it")) == "bad. Fix: set it"
    assert ConfigError("bad", reason="unknown_key").reason == "unknown_key"
    assert ConfigError("bad").reason == "invalid_config"
    assert isinstance(NotFittedError("x"), ValueError)
    infeasible = pickle.loads(pickle.dumps(_instances()[InfeasibleError]))
    assert isinstance(infeasible, InfeasibleError) and infeasible.pairs[0]["store_id"] == 1


STOCK = TableSchema(
    "stock", (id_column("store_id"), nonneg("on_hand", "units")), unique_keys=("store_id",)
)


def _raise_each(name: str) -> None:
    """Run in a spawned worker: raise the sample error of class ``name``."""
    for cls, exc in _instances().items():
        if cls.__name__ == name:
            raise exc


def _worker_error(func: Any, *args: Any) -> BaseException:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool, pytest.raises(RamaError) as info:
        pool.apply(func, args)
    return info.value


def test_error_in_a_spawned_worker_reaches_the_parent_typed() -> None:
    bad = pl.DataFrame({"store_id": [1, 2, 3], "on_hand": [1.0, -2.0, -0.5]})
    with pytest.raises(DataValidationError) as local:
        validate(bad, STOCK, "stock.csv")
    remote = _worker_error(validate, bad, STOCK, "stock.csv")
    assert isinstance(remote, DataValidationError)
    _same(local.value, remote)
    assert remote.reason == "negative" and remote.column == "on_hand" and remote.count == 2
    assert remote.examples[0] == {"row": 1, "line": 3, "store_id": 2, "on_hand": -2.0}


def test_every_error_class_crosses_a_spawned_worker() -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        for cls, exc in _instances().items():
            with pytest.raises(cls) as info:
                pool.apply(_raise_each, (cls.__name__,))
            _same(exc, info.value)
