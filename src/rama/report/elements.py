"""The report's content, independent of its rendering: sections made of figures, tables and
paragraphs. Text is plain (escaped when rendered; ```code``` spans become code); only the
renderers produce markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rama.report.charts import Chart


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Figure:
    """A chart with its title and the one sentence saying what it shows."""

    title: str
    caption: str
    chart: Chart


@dataclass(frozen=True)
class Cell:
    """A table cell: the text shown and the value it sorts by (a number or the text)."""

    text: str
    sort: float | str | None = None


@dataclass(frozen=True)
class Table:
    """A table (``sortable``: its header sorts it, by the cells' ``sort`` values)."""

    key: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str = ""
    sortable: bool = False
    numeric: tuple[bool, ...] = ()  # per column: right-aligned, sorted as numbers


@dataclass(frozen=True)
class Notice:
    """Shown instead of a section's content (a stage not run or stale, a file missing)."""

    text: str
    kind: str = "stale"  # "stale", "not run" or "missing"


Element = Paragraph | Figure | Table | Notice


@dataclass(frozen=True)
class Section:
    """One section of the report; ``stage`` is the stage whose outputs it shows."""

    key: str
    title: str
    stage: str | None
    elements: tuple[Element, ...] = field(default_factory=tuple)

    @property
    def figures(self) -> tuple[Figure, ...]:
        return tuple(e for e in self.elements if isinstance(e, Figure))

    @property
    def notices(self) -> tuple[Notice, ...]:
        return tuple(e for e in self.elements if isinstance(e, Notice))


@dataclass(frozen=True)
class Stat:
    """One headline figure: label, formatted value, optional detail line."""

    label: str
    value: str
    detail: str = ""


@dataclass(frozen=True)
class Headline:
    """The first screen: the planning week, the plan's figures and what changed against doing
    nothing (every value already formatted in planner's units)."""

    title: str
    week: str
    strategy: str
    stats: tuple[Stat, ...]
    costs: tuple[tuple[str, str], ...]  # component -> $, total last
    changes: Table | None
    notice: Notice | None = None
