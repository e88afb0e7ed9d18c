"""The ``rama`` command line. Each stage's command lives in its own module
(``rama.cli.<stage>``) and only calls that stage's typed entry point."""

from __future__ import annotations

import importlib
import importlib.util

from rama.cli._app import app

__all__ = ["app", "main"]

# Order = order of `rama --help`. Each module registers its command(s) on `app` when imported.
_COMMAND_MODULES = (
    "generate",
    "prepare",
    "forecast",
    "optimize",
    "evaluate",
    "scenarios",
    "report",
    "run",
)
for _name in _COMMAND_MODULES:
    if importlib.util.find_spec(f"rama.cli.{_name}") is not None:
        importlib.import_module(f"rama.cli.{_name}")


def main() -> None:
    """Console-script entry point."""
    app()
