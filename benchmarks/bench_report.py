"""Benchmark of ``rama report``: the HTML report's size, build time and number of charts.

For a given run folder (``--run RUN``, e.g. a full-scale ``rama run`` at scale 1.0), or by
default a small run generated and run into a temporary folder (scale 0.02, fast settings).
The report is built ``--repeat`` times; the best and median wall times are printed with the
size of ``report.html`` in bytes and its number of charts and SVG marks. Aims: a few MB at
most at full scale, a build of seconds.

``--all-current`` shows every stage as current whatever the manifest says (a run folder made
by an older checkout has stale fingerprints; this measures the full report all the same).

    .venv/bin/python benchmarks/bench_report.py [--run RUN] [--repeat 3] [--all-current]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

FAST = [
    "--set",
    "forecast.num_boost_round=30",
    "--set",
    "stochastic.points=5",
    "--set",
    "evaluate.samples=20",
    "--scenario-sets",
    "base,demand_shocks",
]


def small_run(root: Path) -> Path:
    """Generate a scale-0.02 dataset and ``rama run`` it into ``root/run``."""
    from rama.cli import app

    data, run = root / "data", root / "run"
    runner = CliRunner()
    res = runner.invoke(app, ["generate", "--out", str(data), "--scale", "0.02"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["run", "--data", str(data), "--out", str(run), *FAST])
    assert res.exit_code == 0, res.output
    return run


def measure(run: Path, repeat: int, all_current: bool) -> None:
    from rama.report import inputs, write_report
    from rama.run_manifest import STAGE_ORDER

    if all_current:
        inputs.stage_states = lambda _run: dict.fromkeys(STAGE_ORDER, "current")  # type: ignore[assignment]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = write_report(run)
        times.append(time.perf_counter() - t0)
    page = result.out_dir.read_text(encoding="utf-8")
    marks = len(re.findall(r'id="[^"]*-mark-\d+"', page))
    print(f"run folder        {run}")
    print(f"report.html       {result.size_bytes:,} bytes ({result.size_bytes / 1e6:.2f} MB)")
    print(f"report.md         {result.markdown.stat().st_size:,} bytes")
    print(f"charts            {result.charts} ({marks:,} marks)")
    print(f"sections noticed  {', '.join(result.notices) or 'none'}")
    print(
        f"build time        best {min(times):.2f} s, median {statistics.median(times):.2f} s "
        f"over {repeat}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, help="run folder (default: a small generated run)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--all-current", action="store_true", help="show every stage as current")
    args = ap.parse_args()
    if args.run is not None:
        measure(args.run, args.repeat, args.all_current)
        return
    with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp:
        measure(small_run(Path(tmp)), args.repeat, args.all_current)


if __name__ == "__main__":
    main()
