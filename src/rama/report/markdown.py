"""``RUN/report.md``: the short text twin of the report's first screen (the headline, what
changed against doing nothing, the stage states and links to the files); every text taken
from the run's files is escaped for markdown."""

from __future__ import annotations

from rama.report.elements import Section, Table
from rama.report.formatting import md, md_inline
from rama.report.sections import Content

LINKS = {
    "prepare": ("Data", "prepared/eda_summary.md"),
    "forecast": ("Forecast", "forecast/forecast_metrics.csv"),
    "optimize": ("Plan", "plan/summary.json"),
    "evaluate": ("Out-of-sample evaluation", "evaluation/evaluation.csv"),
    "scenarios": ("Scenarios", "scenarios/scenarios.csv"),
}


def _table(t: Table) -> list[str]:
    lines = ["| " + " | ".join(md(c) or " " for c in t.columns) + " |"]
    lines.append("|" + "---|" * len(t.columns))
    lines += ["| " + " | ".join(md(c.text) for c in row) + " |" for row in t.rows]
    return [*lines, ""]


def render_markdown(content: Content) -> str:
    """The markdown twin of the first screen."""
    h = content.headline
    out = [f"# {md(h.title)}", ""]
    out += [
        f"Recommended plan: **{md(h.strategy)}**. The full report with its charts is "
        "[report.html](report.html).",
        "",
    ]
    if h.notice is not None:
        out += [md_inline(h.notice.text), ""]
    else:
        out += [
            f"- {md(s.label)}: **{md(s.value)}**" + (f" ({md(s.detail)})" if s.detail else "")
            for s in h.stats
        ]
        out += [
            "",
            "Cost of the plan: " + ", ".join(f"{md(c)} {md(v)}" for c, v in h.costs) + ".",
            "",
        ]
        if h.changes is not None:
            out += ["What changed against doing nothing:", "", *_table(h.changes)]
    out += ["Stages (from the run manifest):", ""]
    sections: dict[str, Section] = {}
    for s in content.sections:  # each stage's first section
        if s.stage is not None:
            sections.setdefault(s.stage, s)
    for stage, state in content.states.items():
        title, link = LINKS[stage]
        out += [f"## {title}", ""]
        line = f"State: {md(state)}; files: [{md(link)}]({link})."
        sec = sections.get(stage)
        if sec is not None and sec.notices:
            line += " " + md_inline(sec.notices[0].text)
        elif sec is not None and sec.figures:
            line += " " + md_inline(sec.figures[0].caption)
        out += [line, ""]
    return "\n".join(out).rstrip() + "\n"
