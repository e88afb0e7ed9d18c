"""``rama report``: the formatting helpers, the escaping of every text taken from the run, the
sections chosen by stage state, and the full report of a small generated run."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import rama.report.inputs as report_inputs
from rama.cli import app
from rama.report import write_report
from rama.report.formatting import count, days, esc, md, md_inline, money, number, percent, units
from rama.run_manifest import STAGE_ORDER

FAST = [
    "--set",
    "forecast.num_boost_round=20",
    "--set",
    "stochastic.points=5",
    "--set",
    "evaluate.samples=20",
    "--set",
    "costs.max_production_multiplier=0.05",  # production binds: marginal values > 0
    "--scenario-sets",
    "base,demand_shocks",
]
EVIL = "<script>alert(1)</script>"
EVIL_LINK = "[x](javascript:alert(1))"


def small_run(data: Path, run: Path) -> Path:
    """``rama run`` on the tiny generated data (a few seconds), then the report."""
    result = CliRunner().invoke(app, ["run", "--data", str(data), "--out", str(run), *FAST])
    assert result.exit_code == 0, result.output
    return run


@pytest.fixture(scope="module")
def run_dir(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_run(tiny_data_dir, tmp_path_factory.mktemp("report") / "run")


def _states(monkeypatch: pytest.MonkeyPatch, **changed: str) -> None:
    states = {s: "current" for s in STAGE_ORDER} | changed
    monkeypatch.setattr(report_inputs, "stage_states", lambda run_dir: dict(states))


# ---------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (136762.4, "$136,762"),
        (145400.0, "$145,400"),
        (1.454e5, "$145,400"),
        (12.345, "$12.35"),
        (-1200.0, "-$1,200"),
        (0.0, "$0"),
        (0.001, "$0"),
        (None, "-"),
        (float("nan"), "-"),
        (float("inf"), "-"),
    ],
)
def test_money(value: float | None, text: str) -> None:
    assert money(value) == text


def test_signed_money_and_rates() -> None:
    assert money(2040.2, signed=True) == "+$2,040"
    assert money(-2040.2, signed=True) == "-$2,040"
    assert percent(0.95) == "95.0%"
    assert percent(0.9276) == "92.8%"
    assert percent(1.0) == "100.0%"
    assert percent(0.196, signed=True) == "+19.6 pts"
    assert percent(-0.004, signed=True) == "-0.4 pts"
    assert percent(None) == "-"


@pytest.mark.parametrize(
    ("value", "text"),
    [(885.9, "886"), (1234567.0, "1,234,567"), (53.25, "53.2"), (0.25, "0.25"), (0.0, "0")],
)
def test_units(value: float, text: str) -> None:
    assert units(value) == text


def test_counts_days_and_config_numbers() -> None:
    assert count(12345) == "12,345" and count(7.0) == "7"
    assert days(7.84) == "7.8 days"
    assert number(0.1) == "0.1" and number(300) == "300" and number(2.0) == "2.0"
    assert number(1e-6) == "1e-06" and number(1_000_000) == "1,000,000"
    assert number([0.1, 0.5, 0.9]) == "[0.1, 0.5, 0.9]" and number(True) == "true"


def test_escaping_helpers() -> None:
    assert esc(EVIL) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert esc('a"b') == "a&quot;b"
    assert md(EVIL_LINK) == r"\[x\](javascript:alert(1))"
    assert md("a|b*c_d`e") == r"a\|b\*c\_d\`e"
    assert md(EVIL) == r"\<script\>alert(1)\</script\>"
    assert md("two\nlines") == "two lines"
    # the report's own code spans stay code; what is outside them is escaped
    assert md_inline("run `rama run --out a_b` for *x*") == r"run `rama run --out a_b` for \*x\*"


# ----------------------------------------------------------------- sections by stage state


def test_full_small_run_report(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rama.run_manifest import stage_states

    assert set(stage_states(run_dir).values()) == {"current"}  # a fresh run: all current
    _states(monkeypatch)
    result = write_report(run_dir)
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert result.out_dir == run_dir / "report.html" and result.size_bytes == len(page.encode())
    assert result.notices == () and result.size_bytes < 2_000_000
    charts = re.findall(r'<figure data-chart="([^"]+)" data-marks="(\d+)"', page)
    assert result.charts == len(charts) >= 12
    keys = {k for k, _ in charts}
    assert {
        "costs",
        "flows",
        "categories",
        "fill-city",
        "marginal",
        "series",
        "accuracy",
        "recovery",
        "evaluation",
        "shocks",
        "central",
    } <= keys
    assert page.count("<svg") == len(charts)
    # one bar per cost component, each an element whose id says it is a mark
    assert len(re.findall(r'id="costs-mark-\d+"', page)) == 5
    # the first screen: the week, planner's units, no exponent, no fraction for a rate
    first = page[page.index('<header id="first-screen">') : page.index("</header>")]
    summary = json.loads((run_dir / "plan" / "summary.json").read_text())
    week = summary["planning_week"]
    assert f"{week['first_day']} to {week['last_day']}" in first
    assert money(summary["costs"]["total"]) in first
    assert percent(summary["expected_fill_rate"]) in first
    assert re.search(r"\$\d{1,3}(,\d{3})*", first)
    assert not re.search(r"\d[eE][+-]?\d", first)
    assert not re.search(r">0\.\d+<", first)  # a rate is never shown as a fraction
    for part in ("holding", "stockout", "transport", "manufacturing", "distribution"):
        assert f"<td>{part}</td>" in first
    assert "What changed against doing nothing" in first
    # self-contained: no external reference at all
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "Content-Security-Policy" in page
    md_text = (run_dir / "report.md").read_text(encoding="utf-8")
    for section in ("## Data", "## Forecast", "## Plan", "## Out-of-sample", "## Scenarios"):
        assert section in md_text
    assert "[report.html](report.html)" in md_text and len(md_text.splitlines()) < 80
    # deterministic: the same run folder gives the same bytes
    write_report(run_dir)
    assert (run_dir / "report.html").read_text(encoding="utf-8") == page


def test_marginal_values_reach_the_report(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _states(monkeypatch)
    mv = pl.read_csv(run_dir / "plan" / "marginal_values.csv", infer_schema_length=None)
    prod = mv.filter((pl.col("resource") == "production") & (pl.col("marginal_value") > 0))
    assert prod.height > 0
    assert (prod["used"] >= prod["capacity"] - 1e-6).all()  # a positive value: at capacity
    write_report(run_dir)
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    top = prod.sort("marginal_value", descending=True).row(0, named=True)
    assert (
        f"product {top['product_id']}&#x27;s production saves {money(top['marginal_value'])}"
        in page
    )


def test_stale_forecast_shows_the_notice_not_its_charts(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _states(monkeypatch, forecast="stale", scenarios="not run")
    result = write_report(run_dir)
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    forecast = page[page.index('<section id="forecast">') : page.index('<section id="evaluation">')]
    assert "The forecast is stale: its inputs changed after it ran" in forecast
    assert f"rama run --out {run_dir}" in forecast
    assert "<svg" not in forecast and 'data-chart="series"' not in page
    scen = page[page.index('<section id="scenarios">') :]
    assert "the scenarios stage has not run" in scen
    assert 'data-chart="shocks"' not in page
    assert 'data-chart="costs"' in page  # the plan itself is current
    assert set(result.notices) == {"forecast", "scenarios"}
    md_text = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "State: stale" in md_text and "The forecast is stale" in md_text


def test_stale_plan_has_no_headline(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _states(monkeypatch, optimize="stale")
    write_report(run_dir)
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    first = page[page.index('<header id="first-screen">') : page.index("</header>")]
    assert "The plan is stale" in first and 'class="card"' not in first
    assert 'data-chart="costs"' not in page and 'data-chart="marginal"' not in page


def test_sections_follow_the_manifest_not_the_files(tmp_path: Path, run_dir: Path) -> None:
    # every output is there, but the manifest says only prepare and forecast ran
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest = {k: v for k, v in manifest.items() if k != "records"}
    manifest["stages"] = ["prepare", "forecast"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    result = write_report(run)
    page = (run / "report.html").read_text(encoding="utf-8")
    assert 'data-chart="series"' in page  # the forecast ran
    assert 'data-chart="costs"' not in page and "the optimize stage has not run" in page
    assert {"costs", "flows", "evaluation", "scenarios"} <= set(result.notices)


def test_report_needs_a_run_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--run", str(tmp_path / "nothing")])
    assert result.exit_code != 0
    assert "not a run folder" in result.output and "rama run --out" in result.output


# ------------------------------------------------------------------------------ escaping


class _Markup(HTMLParser):
    """Collects the elements and attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.script = ""
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script += data


def evil_run(run_dir: Path, parent: Path) -> Path:
    """A copy of ``run_dir`` in a folder named like markup, whose scenario and strategy
    names, configuration text and manifest fields carry script and link markup."""
    run = parent / "<img src=x onerror=alert(1)>"
    shutil.copytree(run_dir, run)
    sc = pl.read_csv(run / "scenarios" / "scenarios.csv", infer_schema_length=None)
    sc = sc.with_columns(
        pl.when(pl.col("scenario") == "base")
        .then(pl.col("scenario"))
        .otherwise(pl.lit(EVIL) + pl.col("scenario"))
        .alias("scenario"),
        pl.when(pl.col("strategy") == "order_up_to")
        .then(pl.lit(EVIL_LINK))
        .otherwise(pl.col("strategy"))
        .alias("strategy"),
    )
    sc.write_csv(run / "scenarios" / "scenarios.csv")
    ev = pl.read_csv(run / "evaluation" / "evaluation.csv", infer_schema_length=None)
    ev.with_columns(
        pl.when(pl.col("strategy") == "order_up_to")
        .then(pl.lit(EVIL))
        .otherwise(pl.col("strategy"))
        .alias("strategy")
    ).write_csv(run / "evaluation" / "evaluation.csv")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest.update(data_dir=f"/data/{EVIL}", city_mapping=EVIL_LINK)
    (run / "manifest.json").write_text(json.dumps(manifest))
    cfg = (run / "config.toml").read_text()
    cfg = cfg.replace('strategy = "auto"', f'strategy = "{EVIL}"')
    (run / "config.toml").write_text(cfg + f'\n[evil]\nname = "{EVIL_LINK}"\n')
    summary = json.loads((run / "plan" / "summary.json").read_text())
    summary["recommended"]["strategy"] = EVIL
    summary["recommended"]["comparison"][EVIL] = summary["recommended"]["comparison"]["stochastic"]
    (run / "plan" / "summary.json").write_text(json.dumps(summary))
    return run


def test_text_from_the_run_is_escaped(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _states(monkeypatch)
    run = evil_run(run_dir, tmp_path)
    write_report(run)
    page = (run / "report.html").read_text(encoding="utf-8")
    parser = _Markup()
    parser.feed(page)
    assert parser.tags.count("script") == 1  # the report's own sortable-table script
    assert "alert" not in parser.script
    assert "img" not in parser.tags
    assert not [a for a, _ in parser.attrs if a.startswith("on")]
    assert not [v for a, v in parser.attrs if a == "href" and v and "javascript:" in v]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown, as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # the folder name
    md_text = (run / "report.md").read_text(encoding="utf-8")
    assert not re.search(r"(?<!\\)<", md_text)  # every < escaped: no tag can form
    assert not re.search(r"(?<!\\)\]\(javascript:", md_text)  # no link can form
    assert r"\<script\>alert(1)\</script\>" in md_text  # the strategy, escaped
