"""``python -m rama.cli``: the same as the ``rama`` command."""

from rama.cli import main

main()
