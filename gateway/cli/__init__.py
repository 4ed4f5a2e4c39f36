"""The `gateway` command line: main.py parses the arguments and runs one command.

rules.py     `gateway rules check` / `rules test`
decide.py    deciding sample messages without side effects (`check`, `rules test`)
envelope.py  the envelope assumed for a sample message
output.py    how a verdict is printed
dryrun.py    the store as the dry runs see it: a read-only copy, never created or written
configcheck.py  `gateway check-config`: everything start-up loads
summary.py   the start-up summary and its warnings (`gateway run`)
init.py      `gateway init`: a first config, users file, directory and rules.d
"""

from __future__ import annotations

from gateway.cli.main import main

__all__ = ["main"]
