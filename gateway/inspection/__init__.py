"""Inspection: what the pipeline learns about a message before it decides, and the tools that learn it.

facts.py  `Facts`, plain data: what one message's inspection produced (the rules decide on it)
tools.py  `Inspectors`, built once per node: the worker pool, list indexes, history, DNS
pool.py   the parent side of the inspection workers: requests off the event loop, wall-clock kills,
          respawn, recycling (`InspectPool(config.scan, config.inspection)`)
child.py  the worker process: models loaded once, per-request CPU and memory limits
gate.py   small-first admission to the pool
"""
