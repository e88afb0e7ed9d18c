"""The configuration reference (``docs/config.md``), generated from the config schema and the
comments of the shipped defaults, so the page cannot drift from the code (a test compares).

>>> rows = reference_rows()
>>> row = next(r for r in rows if r.key == "costs.stockout_penalty_per_unit")
>>> row.default, row.expected
('2.5', 'a number >= 0 ($/unit)')
>>> "unmet demand" in row.meaning
True
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from rama.config import SCHEMA, default_config_text

_SECTION = re.compile(r"^\[(?P<name>[a-z_.]+)\]\s*$")
_KEY = re.compile(r"^(?P<key>[a-z_]+)\s*=\s*(?P<value>.*?)\s*(?:#\s?(?P<comment>.*))?$")


@dataclass(frozen=True)
class ReferenceRow:
    """One configuration key: ``section.key``, its default (TOML), the accepted values (with
    the unit) and the meaning (the defaults file's comment)."""

    key: str
    default: str
    expected: str
    meaning: str


def _comments() -> dict[str, str]:
    """``section.key`` -> the comment written beside it, its continuation lines and the
    comment block just above it."""
    out: dict[str, str] = {}
    section, last = "", ""
    pending: list[str] = []
    for raw in default_config_text().splitlines():
        line = raw.strip()
        if m := _SECTION.match(line):
            section, pending, last = m["name"], [], ""
        elif line.startswith("#"):
            text = line.lstrip("#").strip()
            if raw.startswith((" ", "\t")) and last:
                out[last] = f"{out[last]} {text}".strip()
            elif section:
                pending.append(text)
        elif (m := _KEY.match(line)) and section:
            last = f"{section}.{m['key']}"
            out[last] = " ".join([*pending, m["comment"] or ""]).strip()
            pending = []
        elif not line:
            pending = []
    return out


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def reference_rows() -> list[ReferenceRow]:
    """Every key of :data:`rama.config.SCHEMA`, in the defaults file's order."""
    defaults = tomllib.loads(default_config_text())
    comments = _comments()
    rows = []
    for section, keys in defaults.items():
        for key, value in keys.items():
            expected = SCHEMA[section][key][1]
            meaning = comments.get(f"{section}.{key}", "")
            rows.append(ReferenceRow(f"{section}.{key}", _toml(value), expected, meaning))
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reference_markdown() -> str:
    """``docs/config.md``: one table per section (key, default, accepted values, meaning)."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from `rama.config.SCHEMA` and the comments of `src/rama/defaults.toml` by",
        "`rama config --reference`; `tests/test_config_reference.py` fails when this page is",
        "out of date. Override any key with `--config FILE` or `--set section.key=value`; on",
        "an existing run folder the overrides layer over `RUN/config.toml` and are written",
        "into it. Money is in dollars, quantities in the data's (normalised) sales units.",
    ]
    section = ""
    for row in reference_rows():
        sec = row.key.split(".", 1)[0]
        if sec != section:
            section = sec
            lines += ["", f"## [{sec}]", "", "| key | default | accepted | meaning |"]
            lines.append("|---|---|---|---|")
        key = row.key.split(".", 1)[1]
        cells = (f"`{key}`", f"`{_cell(row.default)}`", _cell(row.expected), _cell(row.meaning))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
