"""Which sections the report shows, from the stages' states in the run manifest.

Each section shows one stage's outputs. A stage that is ``current`` gets its charts; one
``stale`` or ``not run`` gets a short notice instead (:func:`rama.report.headline.stage_notice`),
never charts of outputs that no longer match their inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rama.progress import step
from rama.report import plan_sections, study_sections
from rama.report.assumptions import appendix_elements, config_elements
from rama.report.elements import Element, Headline, Section
from rama.report.headline import headline, stage_notice
from rama.report.inputs import RunFiles


@dataclass(frozen=True)
class Content:
    """Everything the report shows: the first screen, the sections, the stage states."""

    run_dir: Path
    headline: Headline
    sections: tuple[Section, ...]
    states: dict[str, str]

    @property
    def charts(self) -> int:
        return sum(len(s.figures) for s in self.sections)


Builder = Callable[[RunFiles], list[Element]]


def _section(run: RunFiles, key: str, title: str, stage: str, builders: list[Builder]) -> Section:
    notice = stage_notice(run, stage)
    if notice is not None:
        return Section(key, title, stage, (notice,))
    elements: list[Element] = []
    for build in builders:
        elements += build(run)
    return Section(key, title, stage, tuple(elements))


def build_content(run_dir: Path) -> Content:
    """The report's content for ``run_dir`` (reads the run's files; renders nothing)."""
    run = RunFiles(run_dir)
    states = run.states
    notice = stage_notice(run, "optimize")
    head = headline(run, notice)
    chosen = head.strategy if head.notice is None else None
    plan: list[tuple[str, str, str, list[Builder]]] = [
        ("costs", "Cost breakdown", "optimize", [plan_sections.cost_elements]),
        (
            "flows",
            "Transfers",
            "optimize",
            [plan_sections.flow_elements, plan_sections.transfers_table],
        ),
        ("categories", "By product category", "optimize", [plan_sections.category_elements]),
        ("service", "Service level", "optimize", [plan_sections.fill_elements]),
        (
            "marginal",
            "Where one more unit would help most",
            "optimize",
            [plan_sections.marginal_elements],
        ),
        (
            "forecast",
            "Forecast",
            "forecast",
            [
                study_sections.series_elements,
                study_sections.accuracy_elements,
                study_sections.recovery_elements,
            ],
        ),
        (
            "evaluation",
            "Out-of-sample evaluation",
            "evaluate",
            [lambda r: study_sections.evaluation_elements(r, chosen)],
        ),
        ("scenarios", "Scenarios", "scenarios", [study_sections.scenario_elements]),
    ]
    sections: list[Section] = []
    with step("report: charts", total=len(plan) + 2) as advance:
        for key, title, stage, builders in plan:
            sections.append(_section(run, key, title, stage, builders))
            advance(1)
        sections.append(
            Section("assumptions", "Assumptions in force", None, tuple(config_elements(run)))
        )
        sections.append(
            Section("appendix", "Appendix: solver internals", None, tuple(appendix_elements(run)))
        )
        advance(2)
    return Content(Path(run_dir), head, tuple(sections), dict(states))
