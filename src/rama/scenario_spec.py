"""Scenario definitions: named sets of multipliers on the base run (docs/scenarios.md).

A scenario multiplies (default 1.0 each, every value a number >= 0):

| key | what it scales |
|---|---|
| ``stockout_penalty``, ``holding_cost``, ``manufacturing_cost``, ``transport`` | cost terms |
| ``lead_time``, ``delay``, ``safety_stock`` | L, expected delay p x deviation, safety stock |
| ``forecast_demand`` | the forecast the plan sees (mean and std: the plan knows) |
| ``realized_demand`` | the demand the plans are scored on (the plan does not know) |
| ``demand`` | both (a known shift, e.g. the study's demand spike) |

User scenarios live in the config file::

    [[scenarios.custom]]
    name = "port_strike"
    lead_time = 2.0
    transport = 1.3
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from rama.errors import ConfigError

MULTIPLIERS = (
    "stockout_penalty",
    "holding_cost",
    "manufacturing_cost",
    "transport",
    "lead_time",
    "delay",
    "safety_stock",
    "forecast_demand",
    "realized_demand",
    "demand",
)
# multipliers the plans do not see (``demand`` and ``forecast_demand`` enter as their product)
PLAN_BLIND = frozenset({"realized_demand", "demand", "forecast_demand"})


@dataclass(frozen=True)
class Scenario:
    """One scenario: a name, the set it comes from, and multipliers (1.0 = base)."""

    name: str
    group: str = "custom"
    stockout_penalty: float = 1.0
    holding_cost: float = 1.0
    manufacturing_cost: float = 1.0
    transport: float = 1.0
    lead_time: float = 1.0
    delay: float = 1.0
    safety_stock: float = 1.0
    forecast_demand: float = 1.0
    realized_demand: float = 1.0
    demand: float = 1.0

    @property
    def forecast_factor(self) -> float:
        """Total multiplier of the forecast the plan sees."""
        return self.forecast_demand * self.demand

    @property
    def realized_factor(self) -> float:
        """Total multiplier of the demand the plan is scored on."""
        return self.realized_demand * self.demand

    def plan_key(self) -> tuple[float, ...]:
        """What the plans see: two scenarios with equal keys get identical problems and plans
        (they differ only in the demand the plans are scored on)."""
        seen = [getattr(self, m) for m in MULTIPLIERS if m not in PLAN_BLIND]
        return (*seen, self.forecast_factor)

    def multipliers(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self) if f.name in MULTIPLIERS}


def _scenario(table: Any, where: str, group: str) -> Scenario:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table (name = ..., multipliers), got {table!r}")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f'{where}: every scenario needs a name, e.g. name = "port_strike"')
    values: dict[str, float] = {}
    for key, value in table.items():
        if key == "name":
            continue
        if key not in MULTIPLIERS:
            raise ConfigError(
                f"{where} ({name!r}): unknown key {key!r}; known multipliers: "
                f"{', '.join(MULTIPLIERS)}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise ConfigError(f"{where} ({name!r}): {key} must be a number, got {value!r}")
        if value < 0:
            raise ConfigError(
                f"{where} ({name!r}): {key} = {value} is negative; multipliers must be >= 0 "
                f"(1.0 = unchanged, e.g. {key} = 1.2 for +20%)"
            )
        values[key] = float(value)
    return Scenario(name=name.strip(), group=group, **values)


def parse_custom(tables: Any, where: str = "scenarios.custom") -> list[Scenario]:
    """Validate the user's ``[[scenarios.custom]]`` tables; a clear ConfigError otherwise."""
    if not isinstance(tables, list):
        raise ConfigError(f"{where}: expected a list of [[scenarios.custom]] tables")
    out = [_scenario(t, f"{where}[{i}]", "custom") for i, t in enumerate(tables)]
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"{where}: duplicate scenario name(s) {dup}; names must be unique")
    return out


# The original study's disruption scenarios (multipliers on the base).
DISRUPTIONS: tuple[Scenario, ...] = (
    Scenario("high_disruption", "disruptions", lead_time=1.2, safety_stock=1.4, delay=1.8),
    Scenario("cost_only_no_risk", "disruptions", safety_stock=0.5, delay=0.0),
    Scenario("demand_spike", "disruptions", demand=1.25, safety_stock=1.2),
    Scenario("fuel_shock", "disruptions", transport=1.5),
    Scenario("supplier_delay", "disruptions", lead_time=1.5, safety_stock=1.3, delay=1.2),
)


def _pct(x: float) -> str:
    return f"{x * 100:+.0f}%"


def scenario_list(cfg_scenarios: Mapping[str, Any]) -> list[Scenario]:
    """The scenarios of the ``[scenarios]`` config section, base first, names unique."""
    sets: Sequence[str] = cfg_scenarios["sets"]
    out: list[Scenario] = [Scenario("base", "base")] if "base" in sets else []
    if "disruptions" in sets:
        out.extend(DISRUPTIONS)
    if "demand_shocks" in sets:
        for x in cfg_scenarios["demand_shocks"]:
            if x == 0 and "base" in sets:
                continue
            f = 1.0 + float(x)
            out.append(Scenario(f"shock_{_pct(x)}_unforeseen", "demand_shocks", realized_demand=f))
            out.append(Scenario(f"shock_{_pct(x)}_foreseen", "demand_shocks", demand=f))
    if "cost_grid" in sets:
        for pm in cfg_scenarios["penalty_multipliers"]:
            for hm in cfg_scenarios["holding_multipliers"]:
                if pm == 1 and hm == 1 and "base" in sets:
                    continue
                out.append(
                    Scenario(
                        f"penalty_x{pm:g}_holding_x{hm:g}",
                        "cost_grid",
                        stockout_penalty=float(pm),
                        holding_cost=float(hm),
                    )
                )
    if "custom" in sets:
        out.extend(parse_custom(cfg_scenarios.get("custom", [])))
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(
            f"[scenarios]: scenario name(s) {dup} defined twice; rename the custom scenario"
        )
    return out
