"""``python -m etlkit ARGS...``: the same as the ``etlkit`` command."""

from ._cli import main

main()
