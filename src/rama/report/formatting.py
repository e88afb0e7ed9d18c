"""Numbers and text the way a planner reads them, and text made safe for HTML and markdown.

Money in whole dollars with thousands separators (``$136,762``; cents below $100), rates as
percentages with one decimal (``95.0%``), units with separators (``1,234``; one decimal below
100). Never scientific notation, never a fraction for a rate.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

DASH = "-"  # a missing value


def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def money(x: Any, *, signed: bool = False) -> str:
    """``$136,762`` (``$12.35`` below $100, ``-$1,200`` when negative; ``+`` with
    ``signed``); ``-`` for a missing or non-finite value."""
    v = _finite(x)
    if v is None:
        return DASH
    body = f"{abs(v):,.2f}" if abs(v) < 100 else f"{abs(v):,.0f}"
    if body in ("0.00", "0"):
        return "$0"
    sign = "-" if v < 0 else ("+" if signed else "")
    return f"{sign}${body}"


def percent(x: Any, *, signed: bool = False, digits: int = 1) -> str:
    """A rate (0.95) as ``95.0%``; with ``signed`` a change in points, ``+2.3 pts``."""
    v = _finite(x)
    if v is None:
        return DASH
    if signed:
        return f"{100 * v:+.{digits}f} pts"
    return f"{100 * v:.{digits}f}%"


def units(x: Any, *, signed: bool = False) -> str:
    """A quantity in units: ``1,234`` (``12.5`` below 100, ``0.25`` below 1)."""
    v = _finite(x)
    if v is None:
        return DASH
    a = abs(v)
    body = f"{a:,.0f}" if a >= 100 else (f"{a:.1f}" if a >= 1 else f"{a:.2f}")
    if body in ("0.00", "0.0", "0"):
        return "0"
    sign = "-" if v < 0 else ("+" if signed else "")
    return f"{sign}{body}"


def count(x: Any) -> str:
    """A whole count with separators: ``12,345``."""
    v = _finite(x)
    return DASH if v is None else f"{round(v):,}"


def days(x: Any) -> str:
    """Days with one decimal: ``3.2 days``."""
    v = _finite(x)
    return DASH if v is None else f"{v:.1f} days"


def number(x: Any) -> str:
    """Any configured number, as written (no exponent for ordinary sizes): 0.1, 2.5, 300,
    1e-06 stays 1e-06 (a tolerance); lists item by item; text unchanged."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return f"{x:,}" if abs(x) >= 10_000 else str(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            return str(x)
        if x != 0 and abs(x) < 1e-4:
            return f"{x:g}"
        return f"{x:,.6f}".rstrip("0").rstrip(".") if not x.is_integer() else f"{x:,.1f}"
    if isinstance(x, list | tuple):
        return "[" + ", ".join(number(v) for v in x) + "]"
    return str(x)


def esc(x: Any) -> str:
    """``x`` as text safe inside HTML (elements and quoted attributes)."""
    return html.escape(str(x), quote=True)


_MD_SPECIAL = re.compile(r"([\\|<>\[\]*_`])")


def md(x: Any) -> str:
    """``x`` as literal markdown text: ``\\ | < > [ ] * _`` and backticks escaped, line breaks
    folded to spaces (a table cell stays one cell, a link or tag never forms)."""
    text = " ".join(str(x).split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_inline(x: Any) -> str:
    """Like :func:`md`, but the report's own ```code``` spans stay code spans (their
    content, which may hold a path from the run, loses any backtick and renders literally)."""
    parts = " ".join(str(x).split()).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: no code spans at all
        return md(x)
    return "".join(
        _MD_SPECIAL.sub(r"\\\1", p) if i % 2 == 0 else f"`{p}`" for i, p in enumerate(parts)
    )


def mpl(x: Any) -> str:
    """Text for a matplotlib label: ``$`` escaped so that it never starts mathtext."""
    return str(x).replace("\\", "/").replace("$", r"\$")
