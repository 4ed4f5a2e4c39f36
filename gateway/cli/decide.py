"""Decide sample messages as the gateway would, without side effects (`check`, `rules test`)."""

from __future__ import annotations

from gateway.config import Config
from gateway.flow import decide_message
from gateway.inspection.pool import InspectPool
from gateway.inspection.tools import Inspectors
from gateway.message import Envelope
from gateway.policy.policy import Policy
from gateway.scan.ner import ScanModelError
from gateway.verdict import Verdict


async def decide_all(config: Config, policy: Policy, messages: list[tuple[Envelope, bytes]]) -> list[Verdict]:
    """One inspection worker (models loaded once) for all the messages, in order."""
    pool = InspectPool(config.scan, config.inspection, workers=1)
    tools = Inspectors.from_config(config, pool=pool)
    try:
        await pool.start()
        return [await decide_message(envelope, raw, tools, policy) for envelope, raw in messages]
    finally:
        tools.close()
        await pool.aclose()


async def decide_each(config: Config, policy: Policy, messages: list[tuple[Envelope, bytes]]) -> list[Verdict | str]:
    """As decide_all, but a message that cannot be decided gets its error (a str) instead of a
    verdict, and the others go on (`rules test` over a folder of samples)."""
    pool = InspectPool(config.scan, config.inspection, workers=1)
    tools = Inspectors.from_config(config, pool=pool)
    out: list[Verdict | str] = []
    try:
        await pool.start()
        for envelope, raw in messages:
            try:
                out.append(await decide_message(envelope, raw, tools, policy))
            except ScanModelError:
                raise  # the scanner cannot run at all: no message would get a decision
            except Exception as e:
                out.append(f"cannot decide: {type(e).__name__}: {e}")
        return out
    finally:
        tools.close()
        await pool.aclose()
