"""Arrow tables in the published FreshRetailNet-50K format, built from simulated chunks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from rama.data.schema import FRESHRETAIL_ID_COLUMNS
from rama.synth.calendar import Calendar, Weather
from rama.synth.demand import HOURS, ChunkResult
from rama.synth.layout import Layout

ID_COLUMNS = FRESHRETAIL_ID_COLUMNS
FRESH_SCHEMA = pa.schema(
    [pa.field(c, pa.int64()) for c in ID_COLUMNS]
    + [
        pa.field("dt", pa.string()),
        pa.field("sale_amount", pa.float64()),
        pa.field("hours_sale", pa.list_(pa.float64())),
        pa.field("stock_hour6_22_cnt", pa.int32()),
        pa.field("hours_stock_status", pa.list_(pa.int32())),
        pa.field("discount", pa.float64()),
        pa.field("holiday_flag", pa.int32()),
        pa.field("activity_flag", pa.int32()),
        pa.field("precpt", pa.float64()),
        pa.field("avg_temperature", pa.float64()),
        pa.field("avg_humidity", pa.float64()),
        pa.field("avg_wind_level", pa.float64()),
    ]
)
TRUTH_SCHEMA = pa.schema(
    [
        pa.field("store_id", pa.int64()),
        pa.field("product_id", pa.int64()),
        pa.field("dt", pa.string()),
        pa.field("split", pa.string()),
        pa.field("latent_demand", pa.float64()),
    ]
)


def _list_column(values: np.ndarray, value_type: pa.DataType) -> pa.ListArray:
    """(rows, 24) array -> list<value_type> column from flat values + offsets."""
    rows = values.shape[0]
    offsets = pa.array(np.arange(0, rows * HOURS + 1, HOURS, dtype=np.int32))
    flat = pa.array(np.ascontiguousarray(values).reshape(-1), type=value_type)
    return pa.ListArray.from_arrays(offsets, flat)


def _strings(codes: np.ndarray, labels: list[str]) -> pa.Array:
    """Dictionary-decode integer ``codes`` into a plain string column."""
    dictionary = pa.array(labels, type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), dictionary).cast(
        pa.string()
    )


def fresh_table(
    layout: Layout,
    *,
    lo: int,
    hi: int,
    res: ChunkResult,
    cal: Calendar,
    weather: Weather,
    days: slice,
) -> pa.Table:
    """Rows of series ``lo:hi`` for the days ``days`` (sorted by store, product, dt)."""
    store = layout.pair_store[lo:hi]
    product = layout.pair_product[lo:hi]
    city = layout.store_city[store]
    day_idx = np.arange(cal.n_days)[days]
    holiday = cal.holiday
    n, nd = hi - lo, len(day_idx)
    rep = np.repeat  # series attribute -> one value per row
    levels = layout.product_levels[product]
    sales = res.sales[:, days, :].reshape(n * nd, HOURS)
    status = res.status[:, days, :].reshape(n * nd, HOURS)
    day_of_row = np.tile(day_idx, n)
    city_of_row = rep(city, nd)
    cols: dict[str, pa.Array] = {
        "city_id": pa.array(city_of_row),
        "store_id": pa.array(rep(store, nd)),
        "management_group_id": pa.array(rep(levels[:, 0], nd)),
        "first_category_id": pa.array(rep(levels[:, 1], nd)),
        "second_category_id": pa.array(rep(levels[:, 2], nd)),
        "third_category_id": pa.array(rep(levels[:, 3], nd)),
        "product_id": pa.array(rep(product, nd)),
        "dt": _strings(day_of_row, cal.strings),
        "sale_amount": pa.array(sales.sum(axis=1) / 10.0),
        "hours_sale": _list_column(sales / 10.0, pa.float64()),
        "stock_hour6_22_cnt": pa.array(status[:, 6:22].sum(axis=1).astype(np.int32)),
        "hours_stock_status": _list_column(status, pa.int32()),
        "discount": pa.array(res.discount[:, days].reshape(-1)),
        "holiday_flag": pa.array(holiday[day_of_row].astype(np.int32)),
        "activity_flag": pa.array(res.activity[:, days].reshape(-1).astype(np.int32)),
        "precpt": pa.array(weather.precpt[city_of_row, day_of_row]),
        "avg_temperature": pa.array(weather.avg_temperature[city_of_row, day_of_row]),
        "avg_humidity": pa.array(weather.avg_humidity[city_of_row, day_of_row]),
        "avg_wind_level": pa.array(weather.avg_wind_level[city_of_row, day_of_row]),
    }
    return pa.Table.from_pydict(cols, schema=FRESH_SCHEMA)


def truth_table(layout: Layout, lo: int, hi: int, res: ChunkResult, cal: Calendar) -> pa.Table:
    """Latent (uncensored) daily demand of series ``lo:hi``, every day, split labelled."""
    n, nd = hi - lo, cal.n_days
    day_of_row = np.tile(np.arange(nd), n)
    split = (day_of_row >= cal.n_train).astype(np.int32)
    return pa.Table.from_pydict(
        {
            "store_id": pa.array(np.repeat(layout.pair_store[lo:hi], nd)),
            "product_id": pa.array(np.repeat(layout.pair_product[lo:hi], nd)),
            "dt": _strings(day_of_row, cal.strings),
            "split": _strings(split, ["train", "eval"]),
            "latent_demand": pa.array(res.latent.reshape(-1) / 10.0),
        },
        schema=TRUTH_SCHEMA,
    )
