"""The report's charts: matplotlib figures rendered to inline SVG.

Every chart function takes plain, already aggregated data and returns a :class:`Chart`: its
``<svg>`` element (ids prefixed with the chart's key so that several charts live in one page)
and the number of *marks* it drew (bars, lines, points, bands), each an element whose id
contains ``-mark-`` (the browser test counts them). Output is deterministic: a fixed
``svg.hashsalt``, text kept as text (``svg.fonttype = "none"``), no date in the metadata.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from rama.report.formatting import money, mpl, percent, units

COLORS = ("#1f5f8b", "#e07b39", "#4a9d5b", "#b5403a", "#7b5ea7", "#8c8c8c", "#c9a227")
SCALE = 1.25  # an SVG is shown at most this much larger than its size in points
PLAN_COLOR, BASE_COLOR, TARGET_COLOR = "#1f5f8b", "#8c8c8c", "#b5403a"
RC = {
    "svg.hashsalt": "rama-report",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.grid": False,
    "figure.dpi": 72.0,
}


@dataclass(frozen=True)
class Chart:
    """One rendered chart: ``svg`` (an ``<svg>`` element), ``marks`` drawn."""

    key: str
    svg: str
    marks: int


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(RC):  # type: ignore[arg-type]
        yield


def _svg(fig: Figure, key: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    size = re.search(r'width="([0-9.]+)pt"', text)
    width = float(size.group(1)) if size else 500.0
    text = re.sub(r'\s(width|height)="[0-9.]+pt"', "", text, count=2)
    style = f"width:100%;max-width:{SCALE * width:.0f}pt;height:auto"
    text = text.replace("<svg ", f'<svg role="img" data-chart="{key}" style="{style}" ', 1)
    text = re.sub(r'id="([^"]+)"', rf'id="{key}-\1"', text)
    text = text.replace("url(#", f"url(#{key}-").replace('href="#', f'href="#{key}-')
    return re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S).strip()


def _money_axis(ax: Axes, axis: str = "x") -> None:
    fmt = FuncFormatter(lambda v, _: mpl(money(v)))
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def _percent_axis(ax: Axes, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: percent(v, digits=0))
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def _units_axis(ax: Axes, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: units(v))
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def _value_axis(ax: Axes, axis: str, rate: bool, dollars: bool) -> None:
    if rate:
        _percent_axis(ax, axis)
    elif dollars:
        _money_axis(ax, axis)
    else:
        _units_axis(ax, axis)


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, mpl(text), ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def cost_breakdown(key: str, components: Sequence[str], costs: Sequence[float]) -> Chart:
    """One horizontal bar per cost component ($), labelled with its amount."""
    with _style():
        fig = Figure(figsize=(6.4, 0.45 * len(components) + 0.9))
        ax = fig.subplots()
        y = np.arange(len(components))[::-1]
        for i, v in enumerate(costs):
            bar = ax.barh(y[i], v, color=COLORS[i % len(COLORS)], height=0.6)
            bar.patches[0].set_gid(f"mark-{i}")
            ax.text(v, y[i], "  " + mpl(money(v)), va="center", ha="left")
        ax.set_yticks(y, [mpl(c) for c in components])
        ax.set_xlim(0, max([*costs, 1.0]) * 1.25)
        _money_axis(ax)
        ax.set_xlabel("$ for the planning week")
        return Chart(key, _svg(fig, key), len(components))


def flow_map(
    key: str,
    city_lon: np.ndarray,
    city_lat: np.ndarray,
    city_stores: np.ndarray,
    city_labels: Sequence[str],
    store_lon: np.ndarray,
    store_lat: np.ndarray,
    lanes: Sequence[tuple[int, int, float]],
) -> Chart:
    """Cities at their coordinates (marker area grows with their stores), stores as dots
    around them, and one line per lane (city to city; positions into the city arrays) whose
    width grows with the units moved."""
    with _style():
        fig = Figure(figsize=(7.2, 4.6))
        ax = fig.subplots()
        ax.scatter(store_lon, store_lat, s=4, color=BASE_COLOR, alpha=0.5, linewidths=0)
        top = max((q for _, _, q in lanes), default=1.0) or 1.0
        for n, (a, b, q) in enumerate(lanes):
            width = 0.6 + 5.4 * float(np.sqrt(q / top))
            (line,) = ax.plot(
                [city_lon[a], city_lon[b]],
                [city_lat[a], city_lat[b]],
                color=PLAN_COLOR,
                alpha=0.55,
                linewidth=width,
                solid_capstyle="round",
            )
            line.set_gid(f"mark-{n}")
            ax.annotate(
                "",
                xy=(city_lon[b], city_lat[b]),
                xytext=(0.5 * (city_lon[a] + city_lon[b]), 0.5 * (city_lat[a] + city_lat[b])),
                arrowprops={"arrowstyle": "-|>", "color": PLAN_COLOR, "alpha": 0.7, "lw": 0.0},
            )
        size = 20 + 180 * city_stores / max(float(np.max(city_stores, initial=1)), 1.0)
        ax.scatter(city_lon, city_lat, s=size, color="white", edgecolors="#333333", zorder=3)
        for x, y, label in zip(city_lon, city_lat, city_labels, strict=True):
            ax.annotate(mpl(label), (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7)
        if not lanes:
            ax.text(0.5, 0.02, "no transfer between cities", ha="center", transform=ax.transAxes)
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
        ax.set_aspect(1.0 / np.cos(np.deg2rad(float(np.mean(city_lat)) if city_lat.size else 0.0)))
        return Chart(key, _svg(fig, key), len(lanes))


def grouped_bars(
    key: str,
    groups: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    ylabel: str,
    rate: bool = False,
    dollars: bool = False,
    target: float | None = None,
    target_label: str = "target",
    horizontal: bool = False,
) -> Chart:
    """Bars of each series side by side per group (one bar per group and series); rates
    on a percent axis with an optional target line."""
    n_g, n_s = len(groups), max(len(series), 1)
    with _style():
        if horizontal:
            fig = Figure(figsize=(6.8, 0.16 * n_g * n_s + 1.2))
        else:
            fig = Figure(figsize=(max(5.0, min(11.0, 0.32 * n_g * n_s + 2.0)), 3.4))
        ax = fig.subplots()
        if n_g == 0:
            _empty(ax, "nothing to show")
            return Chart(key, _svg(fig, key), 0)
        width = 0.8 / n_s
        pos = np.arange(n_g)
        marks = 0
        for s, (name, values) in enumerate(series.items()):
            at = pos - 0.4 + width * (s + 0.5)
            if horizontal:
                bars = ax.barh(-at, values, height=width, label=mpl(name))
            else:
                bars = ax.bar(at, values, width=width, label=mpl(name))
            for patch in bars.patches:
                patch.set_facecolor(COLORS[s % len(COLORS)])
                patch.set_gid(f"mark-{marks}")
                marks += 1
        labels = [mpl(g) for g in groups]
        if horizontal:
            ax.set_yticks(-pos, labels)
            ax.set_xlabel(mpl(ylabel))
            _value_axis(ax, "x", rate, dollars)
        else:
            ax.set_xticks(
                pos, labels, rotation=45 if n_g > 8 else 0, ha="right" if n_g > 8 else "center"
            )
            ax.set_ylabel(mpl(ylabel))
            _value_axis(ax, "y", rate, dollars)
        if rate:
            vals = [float(v) for vs in series.values() for v in vs if np.isfinite(float(v))]
            if target is not None:  # a service level against its target: zoom near 100%
                lim = (max(0.0, min([*vals, target]) - 0.05), 1.0)
            else:
                lim = (0.0, max([*vals, 0.01]) * 1.15)
            (ax.set_xlim if horizontal else ax.set_ylim)(*lim)
        if target is not None:
            line = ax.axvline if horizontal else ax.axhline
            line(target, color=TARGET_COLOR, linestyle="--", linewidth=1.2, label=mpl(target_label))
        if len(series) > 1 or target is not None:
            ax.legend(frameon=False, fontsize=8, loc="best")
        return Chart(key, _svg(fig, key), marks)


@dataclass(frozen=True)
class SeriesPanel:
    """One store-product series: recent history, the forecast with its 10-90% band and, when
    known, what happened (x positions are day offsets from the planning week's first day)."""

    title: str
    hist_x: np.ndarray
    hist_y: np.ndarray
    fc_x: np.ndarray
    fc: np.ndarray
    q10: np.ndarray
    q90: np.ndarray
    actual_x: np.ndarray
    actual: np.ndarray
    actual_label: str


def forecast_series(key: str, panels: Sequence[SeriesPanel]) -> Chart:
    """One panel per series: sales history, the forecast line and its 10-90% band (one band
    mark per panel), and the actual demand of the forecast days."""
    with _style():
        fig = Figure(figsize=(7.2, 2.1 * max(len(panels), 1)))
        axes = fig.subplots(max(len(panels), 1), 1, squeeze=False)[:, 0]
        for n, (ax, p) in enumerate(zip(axes, panels, strict=False)):
            ax.plot(p.hist_x, p.hist_y, color=BASE_COLOR, linewidth=1.0, label="sales (history)")
            band = ax.fill_between(
                p.fc_x, p.q10, p.q90, color=PLAN_COLOR, alpha=0.2, label="10-90% band"
            )
            band.set_gid(f"mark-{n}")
            ax.plot(p.fc_x, p.fc, color=PLAN_COLOR, linewidth=1.6, label="forecast")
            if p.actual.size:
                ax.plot(
                    p.actual_x,
                    p.actual,
                    "o",
                    color=COLORS[1],
                    markersize=3.5,
                    label=mpl(p.actual_label),
                )
            ax.axvline(-0.5, color="#bbbbbb", linewidth=0.8)
            ax.set_title(mpl(p.title), loc="left")
            ax.set_ylabel("units / day")
            ax.set_ylim(bottom=0)
        if not panels:
            _empty(axes[0], "no series to show")
        else:
            axes[0].legend(frameon=False, fontsize=7, ncols=4, loc="upper left")
            axes[-1].set_xlabel("days from the first forecast day")
        fig.tight_layout()
        return Chart(key, _svg(fig, key), len(panels))


def scatter_strategies(
    key: str,
    names: Sequence[str],
    cost: Sequence[float],
    fill: Sequence[float],
    *,
    highlight: str | None,
    xlabel: str,
    ylabel: str,
    target: float | None = None,
) -> Chart:
    """One point per strategy: cost ($) against fill rate, named in the legend (points can
    sit close together), the recommended one ringed."""
    with _style():
        fig = Figure(figsize=(7.4, 3.8))
        ax = fig.subplots()
        markers = "osD^vP*X"
        for i, (n, c, f) in enumerate(zip(names, cost, fill, strict=True)):
            mine = n == highlight
            pts = ax.scatter(
                [c],
                [f],
                s=110 if mine else 55,
                marker=markers[i % len(markers)],
                color=COLORS[i % len(COLORS)],
                edgecolors="black" if mine else "none",
                linewidths=1.6,
                zorder=3,
                label=mpl(f"{n} (recommended plan)" if mine else n),
            )
            pts.set_gid(f"mark-{i}")
        if target is not None:
            ax.axhline(
                target, color=TARGET_COLOR, linestyle="--", linewidth=1.0, label="fill-rate target"
            )
        ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
        _money_axis(ax, "x")
        _percent_axis(ax, "y")
        ax.set_xlabel(mpl(xlabel))
        ax.set_ylabel(mpl(ylabel))
        ax.margins(x=0.12, y=0.12)
        return Chart(key, _svg(fig, key), len(names))


def lines(
    key: str,
    x: Sequence[float],
    series: Mapping[str, tuple[Sequence[float], str]],
    *,
    xlabel: str,
    ylabel: str,
    x_percent: bool = True,
) -> Chart:
    """One line per series (``name -> (values, linestyle)``), money on the y axis."""
    with _style():
        fig = Figure(figsize=(6.8, 3.8))
        ax = fig.subplots()
        names = list(series)
        base = sorted({n.rsplit(" (", 1)[0] for n in names})
        for i, name in enumerate(names):
            values, style = series[name]
            color = COLORS[base.index(name.rsplit(" (", 1)[0]) % len(COLORS)]
            (ln,) = ax.plot(
                x, values, style, color=color, marker="o", markersize=3, label=mpl(name)
            )
            ln.set_gid(f"mark-{i}")
        if x_percent:
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: percent(v, digits=0)))
        _money_axis(ax, "y")
        ax.set_xlabel(mpl(xlabel))
        ax.set_ylabel(mpl(ylabel))
        ax.legend(frameon=False, fontsize=7, ncols=2, loc="upper left")
        return Chart(key, _svg(fig, key), len(names))


def ranked_bars(
    key: str,
    panels: Sequence[tuple[str, Sequence[str], Sequence[float]]],
    *,
    xlabel: str,
    rate: bool = False,
) -> Chart:
    """Side-by-side panels of horizontal bars, largest first (one bar per item); a money
    axis, or a percent axis with ``rate``."""
    with _style():
        rows = max((len(items) for _, items, _ in panels), default=1)
        fig = Figure(figsize=(7.4, 0.3 * max(rows, 3) + 1.2))
        axes = fig.subplots(1, max(len(panels), 1), squeeze=False)[0]
        marks = 0
        for ax, (title, items, values) in zip(axes, panels, strict=False):
            ax.set_title(mpl(title), loc="left")
            if not items:
                _empty(ax, "no binding capacity")
                continue
            y = -np.arange(len(items))
            for k, v in enumerate(values):
                bar = ax.barh(y[k], v, color=PLAN_COLOR, height=0.65)
                bar.patches[0].set_gid(f"mark-{marks}")
                marks += 1
            ax.set_yticks(y, [mpl(i) for i in items])
            (_percent_axis if rate else _money_axis)(ax, "x")
            ax.set_xlabel(mpl(xlabel))
        fig.tight_layout()
        return Chart(key, _svg(fig, key), marks)
