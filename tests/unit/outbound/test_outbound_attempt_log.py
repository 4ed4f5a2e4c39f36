"""The per-attempt log line: written as before when INFO is on, nothing made when it is off."""

from __future__ import annotations

import logging
import time

import pytest

from gateway.message import Envelope, QueuedMessage
from gateway.outbound import worker
from gateway.outbound.client import Outcome, RcptResult, temporary
from gateway.outbound.worker import DeliveryWorker


def _case() -> tuple[QueuedMessage, dict[str, RcptResult]]:
    message = QueuedMessage(
        id="q1", envelope=Envelope("s@example.jp", ("a@x.example", "b@y.example")), received_at=time.time()
    )
    message.attempts = 2
    results = {
        "a@x.example": RcptResult(Outcome.DELIVERED, 250, "2.0.0", "ok", "mx.x.example:25"),
        "b@y.example": temporary("4.4.1", "no answer", "mx.y.example:25"),
    }
    return message, results


def test_the_line_when_info_is_on(caplog: pytest.LogCaptureFixture) -> None:
    message, results = _case()
    with caplog.at_level(logging.DEBUG, logger=worker.log.name):
        DeliveryWorker._log(None, message, results)  # type: ignore[arg-type]
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "delivery q1: attempt 2, 1 delivered, 1 deferred, 0 failed via mx.x.example:25,mx.y.example:25"
        " [250 2.0.0; 451 4.4.1]",
        "delivery q1: b***@y.example 451 4.4.1",
    ]


def test_nothing_made_when_info_is_off(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    message, results = _case()
    monkeypatch.setattr(worker, "Counter", None)  # would raise if the line were built
    with caplog.at_level(logging.WARNING, logger=worker.log.name):
        DeliveryWorker._log(None, message, results)  # type: ignore[arg-type]
    assert caplog.records == []
