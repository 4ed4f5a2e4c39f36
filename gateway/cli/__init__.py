"""The `gateway` command line: main.py parses the arguments and runs one command.

rules.py     `gateway rules check` / `rules test`
decide.py    deciding sample messages without side effects (`check`, `rules test`)
envelope.py  the envelope assumed for a sample message
output.py    how a verdict is printed
"""

from __future__ import annotations

from gateway.cli.main import main

__all__ = ["main"]
