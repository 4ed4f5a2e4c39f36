"""GatewaySMTP's idle timer: the deadline moves on every reset and one armed timer follows it; the
connection is closed when the last reset's timeout has run out, as with aiosmtpd's cancel-and-
reschedule on every command (tests/integration/test_smtp_receive.py checks the whole connection)."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.config import SmtpConfig
from gateway.smtp.handler import ReceiveHandler
from gateway.smtp.server import GatewaySMTP, _Shared


async def _accept(envelope: Any, raw: bytes) -> str:
    return "id"


def _protocol(timeout: float, fired: list[float]) -> GatewaySMTP:
    config = SmtpConfig()
    smtp = GatewaySMTP(ReceiveHandler(config, _accept, auth_offered=False), _Shared(config), timeout=timeout)
    smtp._timeout_cb = lambda: fired.append(smtp.loop.time())  # type: ignore[method-assign]
    return smtp


def _scheduled(loop: asyncio.AbstractEventLoop) -> int:
    scheduled: list[asyncio.TimerHandle] = loop._scheduled  # type: ignore[attr-defined]
    return len([h for h in scheduled if not h.cancelled()])


def test_resets_move_the_deadline_with_one_timer() -> None:
    async def run() -> tuple[list[float], float, int]:
        fired: list[float] = []
        smtp = _protocol(0.2, fired)
        loop = asyncio.get_running_loop()
        base = _scheduled(loop)
        smtp._reset_timeout()
        for _ in range(5):
            await asyncio.sleep(0.05)
            smtp._reset_timeout()
        last = loop.time()
        timers = _scheduled(loop) - base
        await asyncio.sleep(0.4)
        return fired, last, timers

    fired, last, timers = asyncio.run(run())
    assert timers == 1
    assert len(fired) == 1
    assert last + 0.2 <= fired[0] < last + 0.2 + 0.1


def test_a_shorter_timeout_replaces_the_armed_one() -> None:
    async def run() -> tuple[list[float], float]:
        fired: list[float] = []
        smtp = _protocol(5.0, fired)
        smtp._reset_timeout()
        start = smtp.loop.time()
        smtp._reset_timeout(0.1)
        await asyncio.sleep(0.3)
        return fired, start

    fired, start = asyncio.run(run())
    assert len(fired) == 1 and start + 0.1 <= fired[0] < start + 0.25


def test_a_reset_after_the_timer_was_cancelled_arms_a_new_one() -> None:
    async def run() -> list[float]:
        fired: list[float] = []
        smtp = _protocol(0.05, fired)
        smtp._reset_timeout()
        assert smtp._timeout_handle is not None
        smtp._timeout_handle.cancel()  # as connection_lost does
        smtp._reset_timeout()
        await asyncio.sleep(0.15)
        smtp._reset_timeout()  # after it ran: armed again
        await asyncio.sleep(0.15)
        return fired

    assert len(asyncio.run(run())) == 2
