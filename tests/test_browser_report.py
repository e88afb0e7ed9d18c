"""The HTML report in a real browser: headless Chromium (Debian's /usr/bin/chromium) through
Playwright opens RUN/report.html of a small generated run offline. It fails on any console
error or any request other than the file itself, checks that every chart rendered (an
``<svg>`` with a non-empty box and the expected number of marks), that the sortable table
sorts, that markup hidden in the run's names stays text, and saves a screenshot.

Skipped, saying how to enable it, when Chromium or Playwright is missing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import rama.report.inputs as report_inputs
from rama.report import write_report
from rama.report.plan_sections import MAX_LANES
from rama.run_manifest import STAGE_ORDER, stage_states

CHROMIUM = Path("/usr/bin/chromium")
ENABLE = (
    "to enable it install Debian's Chromium (`apt-get install chromium`) and Playwright for "
    "Python (`pip install -e .[dev]`)"
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason=f"Playwright is not installed; {ENABLE}"
)
if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} not found; {ENABLE}", allow_module_level=True)

from test_report import evil_run, small_run  # noqa: E402  (after the skips)


@pytest.fixture(scope="module")
def run_dir(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    run = small_run(tiny_data_dir, tmp_path_factory.mktemp("browser") / "run")
    assert stage_states(run) == dict.fromkeys(STAGE_ORDER, "current")  # fresh: every chart
    write_report(run)
    yield run


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Opened:
    """A page showing one report, with every request, console error and dialog recorded."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.url = path.resolve().as_uri()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.route("**/*", self._route)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.goto(self.url, wait_until="load")

    def _route(self, route: Any) -> None:
        self.requests.append(route.request.url)
        if route.request.url == self.url:
            route.continue_()
        else:
            route.abort()

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def _expected_lanes(run: Path) -> int:
    """City-to-city lanes of the plan, counted here from the plan and the stores' cities."""
    t = pl.read_csv(run / "plan" / "transfer_plan.csv")
    city = pl.read_csv(run / "prepared" / "store_supply_params.csv").select("store_id", "city_id")
    lanes = (
        t.join(city, left_on="from_store_id", right_on="store_id")
        .join(city, left_on="to_store_id", right_on="store_id", suffix="_to")
        .filter(pl.col("city_id") != pl.col("city_id_to"))
        .select("city_id", "city_id_to")
        .unique()
    )
    return min(lanes.height, MAX_LANES)


def test_report_renders_offline_in_chromium(run_dir: Path, browser: Any, tmp_path: Path) -> None:
    opened = Opened(browser, run_dir / "report.html")
    page = opened.page
    assert opened.requests == [opened.url]  # nothing fetched but the file itself
    assert opened.errors == [] and opened.dialogs == []
    figures = page.query_selector_all("figure[data-chart]")
    assert len(figures) >= 12
    marks: dict[str, int] = {}
    for fig in figures:
        key = fig.get_attribute("data-chart")
        svgs = fig.query_selector_all("svg")
        assert len(svgs) == 1, key
        box = svgs[0].bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 80, (key, box)
        drawn = fig.query_selector_all('[id*="-mark-"]')
        visible = [m for m in drawn if (b := m.bounding_box()) and b["width"] + b["height"] > 0]
        assert len(drawn) == len(visible) == int(fig.get_attribute("data-marks") or 0), key
        marks[key] = len(drawn)
    # hand-counted marks of this run
    assert marks["costs"] == 5  # one bar per cost component
    assert marks["flows"] == _expected_lanes(run_dir) > 0  # one line per city-to-city lane
    assert marks["series"] == 3  # one 10-90% band per series shown
    ev = pl.read_csv(run_dir / "evaluation" / "evaluation.csv")
    assert marks["evaluation"] == ev.height  # one point per strategy
    metrics = pl.read_csv(run_dir / "forecast" / "forecast_metrics.csv")
    methods = metrics.filter((pl.col("target") == "latent_demand") & (pl.col("rows") == "all"))
    assert marks["accuracy"] == methods.height  # one bar per method
    mv = pl.read_csv(run_dir / "plan" / "marginal_values.csv", infer_schema_length=None)
    binding = mv.filter((pl.col("resource") == "production") & (pl.col("marginal_value") > 0))
    assert marks["marginal"] == min(binding.height, 10)  # one bar per product shown
    # the first screen states the plan in planner's units
    first = page.inner_text("#first-screen")
    summary = json.loads((run_dir / "plan" / "summary.json").read_text())
    assert summary["planning_week"]["first_day"] in first and "$" in first and "%" in first
    # the largest-transfers table sorts by a click on a header
    units = page.locator("#table-transfers thead th", has_text="units")
    units.click()
    col = [
        float(c.replace(",", ""))
        for c in page.eval_on_selector_all(
            "#table-transfers tbody tr td:nth-child(4)", "cells => cells.map(c => c.textContent)"
        )
    ]
    assert col == sorted(col) and len(col) > 1
    units.click()
    col = [
        float(c.replace(",", ""))
        for c in page.eval_on_selector_all(
            "#table-transfers tbody tr td:nth-child(4)", "cells => cells.map(c => c.textContent)"
        )
    ]
    assert col == sorted(col, reverse=True)
    assert opened.errors == []
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    page.close()


def test_markup_in_names_stays_text_in_chromium(
    run_dir: Path, browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        report_inputs, "stage_states", lambda _: dict.fromkeys(STAGE_ORDER, "current")
    )
    run = evil_run(run_dir, tmp_path)
    write_report(run)
    opened = Opened(browser, run / "report.html")
    page = opened.page
    assert opened.dialogs == [] and opened.errors == []
    assert opened.requests == [opened.url]  # <img src=x> never became an image
    assert page.evaluate("document.scripts.length") == 1
    assert page.evaluate("document.images.length") == 0
    assert page.evaluate(
        "[...document.querySelectorAll('a')].every(a => a.getAttribute('href').startsWith('#'))"
    )
    assert "<script>alert(1)</script>" in page.inner_text("body")
    page.close()
