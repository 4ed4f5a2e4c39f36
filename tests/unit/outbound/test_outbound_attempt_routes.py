"""DeliveryWorker._attempt: a message to one domain is routed without gather's task and gets what
the gather path gives (the same results, the same exceptions raised), as does one to several."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from gateway.message import Envelope, QueuedMessage
from gateway.outbound.client import Outcome, RcptResult, classify
from gateway.outbound.nexthop import NextHop, RouteError
from gateway.outbound.worker import DeliveryWorker

RAW = b"Subject: x\r\n\r\nbody\r\n"
HOP = NextHop("mx.example", "192.0.2.1", 25)


class Router:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    async def route(self, domain: str) -> list[NextHop]:
        await asyncio.sleep(0)
        answer = self.answers[domain]
        if isinstance(answer, BaseException):
            raise answer
        return list(answer)


class Client:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[NextHop, ...], tuple[str, ...]]] = []

    async def deliver(self, hops: list[NextHop], mail_from: str, rcpts: list[str], raw: bytes) -> dict[str, RcptResult]:
        self.calls.append((tuple(hops), tuple(rcpts)))
        return {r: classify(250, "2.0.0 ok", hops[0].key) for r in rcpts if not r.startswith("none")}


def _worker(answers: dict[str, Any]) -> tuple[DeliveryWorker, Client]:
    worker = DeliveryWorker.__new__(DeliveryWorker)
    worker.max_received_headers = 30
    worker.relay = SimpleNamespace(attempt_seconds=5.0)  # type: ignore[assignment]
    client = Client()
    worker.router = Router(answers)  # type: ignore[assignment]
    worker.client = client  # type: ignore[assignment]
    return worker, client


CASES: list[Any] = [
    [HOP],
    RouteError(550, "5.1.2", "no such domain"),
    RouteError(451, "4.4.3", "dns timeout"),
]


def _message(rcpts: tuple[str, ...]) -> QueuedMessage:
    return QueuedMessage(id="q1", envelope=Envelope("s@example.jp", rcpts), received_at=time.time(), pending=rcpts)


@pytest.mark.parametrize("answer", CASES, ids=["hop", "permanent", "temporary"])
def test_one_domain_equals_the_same_domain_among_several(answer: Any) -> None:
    async def run() -> tuple[dict[str, RcptResult], dict[str, RcptResult]]:
        one, _ = _worker({"d.example": answer})
        rcpts = ["a@d.example", "none@d.example"]
        alone = await one._attempt(_message(tuple(rcpts)), RAW, rcpts)
        # The same domain next to another one (gather's path); the other domain's results left out.
        two, _ = _worker({"d.example": answer, "e.example": [HOP]})
        both = await two._attempt(_message((*rcpts, "b@e.example")), RAW, [*rcpts, "b@e.example"])
        return alone, {r: v for r, v in both.items() if r in rcpts}

    alone, among = asyncio.run(run())
    assert alone == among
    assert set(alone) == {"a@d.example", "none@d.example"}
    if isinstance(answer, RouteError):
        assert {v.outcome for v in alone.values()} == {Outcome.PERMANENT if answer.permanent else Outcome.TEMPORARY}
    else:
        assert alone["a@d.example"].outcome is Outcome.DELIVERED
        assert alone["none@d.example"].status == "4.4.0"  # no result from the client: the default


@pytest.mark.parametrize("error", [ValueError("bug"), asyncio.CancelledError()])
def test_other_errors_are_raised_with_one_domain_or_several(error: BaseException) -> None:
    for answers in ({"d.example": error}, {"d.example": error, "e.example": [HOP]}):
        worker, client = _worker(answers)
        rcpts = sorted(f"a@{d}" for d in answers)
        with pytest.raises(type(error)):
            asyncio.run(worker._attempt(_message(tuple(rcpts)), RAW, rcpts))
        assert client.calls == []
