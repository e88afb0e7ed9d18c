"""Where everything lives: the run folder and the data folder, named once.

A shared leaf: every stage asks these objects for its paths instead of joining string
literals, so a file moves in one place.

Run folder (``RUN/``)::

    .rama-run            rama's stamp (rama writes only into folders it made: docs/runs.md)
    config.toml          the configuration the run's stages used (defaults + overrides)
    manifest.json        what the run was made from, which stages completed, their records
    rama.log             every command on the folder
    prepared/            rama prepare: demand parameters, city supply, transport costs
    forecast/            rama forecast: horizon demand, daily forecasts, backtest, the model
    problem/             rama optimize --run: the problem tables + store_risk + planner_given
    plan/                rama optimize: the recommended plan (plan.strategy)
    plans/<strategy>/    rama optimize: every plan strategy's plan
    evaluation/          rama evaluate (decisions/: its LP decisions, for the sweep)
    scenarios/           rama scenarios
    report.html          rama report: the self-contained page with the charts
    report.md            rama report: its short text twin

Data folder (``DATA/``): ``freshretailnet/data/{train,eval}.parquet``, the logistics CSV and,
for generated data only, ``truth/latent_demand.parquet`` (uncensored demand).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TRUTH_FILE = Path("truth") / "latent_demand.parquet"
"""The generator's latent (uncensored) demand, relative to the data folder."""


@dataclass(frozen=True)
class RunLayout:
    """Every path of one run folder (see the module doc)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    # run-level files
    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    @property
    def log(self) -> Path:
        return self.root / "rama.log"

    # stage folders
    @property
    def prepared(self) -> Path:
        return self.root / "prepared"

    @property
    def forecast(self) -> Path:
        return self.root / "forecast"

    @property
    def problem(self) -> Path:
        return self.root / "problem"

    @property
    def plan(self) -> Path:
        return self.root / "plan"

    @property
    def plans(self) -> Path:
        return self.root / "plans"

    @property
    def evaluation(self) -> Path:
        return self.root / "evaluation"

    @property
    def evaluation_decisions(self) -> Path:
        return self.evaluation / "decisions"

    @property
    def scenarios(self) -> Path:
        return self.root / "scenarios"

    # files one stage writes and a later one reads
    @property
    def store_supply_params(self) -> Path:
        return self.prepared / "store_supply_params.csv"

    @property
    def city_transport_costs(self) -> Path:
        return self.prepared / "city_transport_costs.csv"

    @property
    def transport_cost_matrix(self) -> Path:
        return self.prepared / "transport_cost_matrix.parquet"

    @property
    def eda_markdown(self) -> Path:
        return self.prepared / "eda_summary.md"

    @property
    def horizon_demand(self) -> Path:
        return self.forecast / "horizon_demand.parquet"

    @property
    def demand_forecast(self) -> Path:
        return self.forecast / "demand_forecast.parquet"

    @property
    def forecast_metrics(self) -> Path:
        return self.forecast / "forecast_metrics.csv"

    @property
    def recovery_summary(self) -> Path:
        return self.forecast / "recovery_summary.csv"

    @property
    def model(self) -> Path:
        return self.forecast / "model"

    @property
    def plan_summary(self) -> Path:
        return self.plan / "summary.json"

    @property
    def scenario_table(self) -> Path:
        return self.scenarios / "scenarios.csv"


def truth_file(data_dir: Path) -> Path:
    """``DATA/truth/latent_demand.parquet``."""
    return Path(data_dir) / TRUTH_FILE
