"""The extraction limits of an inspect request are pickled once in the parent and loaded once in each
worker (gateway.inspection.child `pickled_limits`, `_limits`): the worker reads the limits that were
sent, and a worker's loop answers the same for requests with pickled limits as with the limits
themselves (the form before)."""

from __future__ import annotations

import gc
import pickle
from typing import Any

import pytest

from gateway.config.extract import ExtractLimits
from gateway.config.scan import ScanConfig
from gateway.inspection import child
from gateway.scan.model import ScanContext

MAIL = (
    "From: =?utf-8?b?5bGx55Sw?= <taro@example.co.jp>\r\nTo: hanako@partner.example\r\nSubject: 見積の件\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\nいつもお世話になっております。\r\n山田太郎様 090-1234-5678\r\n"
    "東京都港区芝公園1-2-3\r\n\r\n--\r\n株式会社サンプル 営業部\r\n"
).encode()


def test_limits_are_pickled_once_and_read_as_sent() -> None:
    limits = ExtractLimits(max_attachments=7)
    sent = child.pickled_limits(limits)
    assert isinstance(sent, bytes)
    assert child.pickled_limits(ExtractLimits(max_attachments=7)) is sent  # equal limits: the same bytes
    known: dict[bytes, ExtractLimits] = {}
    loaded = child._limits(known, sent)
    assert loaded == limits and loaded.max_attachments == 7
    assert child._limits(known, sent) is loaded  # loaded once
    assert child._limits(known, limits) is limits  # the limits themselves pass as they are
    for i in range(40):  # bounded
        child._limits(known, child.pickled_limits(ExtractLimits(max_attachments=100 + i)))
    assert len(known) <= 16
    with pytest.raises(TypeError):
        child._limits(known, pickle.dumps({"not": "limits"}))


class _Pipe:
    def __init__(self, requests: list[Any]) -> None:
        self.requests = [pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL) for r in requests]
        self.answers: list[Any] = []

    def recv(self) -> Any:
        return pickle.loads(self.requests.pop(0)) if self.requests else None

    def send(self, obj: Any) -> None:
        self.answers.append(pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)))


def _without_figures(answer: Any) -> Any:
    """An answer without its figures of time, memory and process (they differ from run to run)."""
    kind, result, recycle = answer
    stats = {k: v for k, v in result.stats.items() if not k.endswith(("seconds", "bytes", "pid"))}
    return kind, result.findings, getattr(result, "segments", None), stats, recycle


def test_the_worker_answers_the_same_with_pickled_limits() -> None:
    context = ScanContext(sender="taro@example.co.jp", recipients=("hanako@partner.example",))
    limits = ExtractLimits()
    answers = []
    for sent in (limits, child.pickled_limits(limits)):
        pipe = _Pipe([(child.INSPECT, MAIL, sent, context, "defer")] * 2)
        child._serve(pipe, ScanConfig(ner_window_chars=0).model_dump_json(), 2**30)  # type: ignore[arg-type]
        assert pipe.answers[0][0] == "ready"
        answers.append([_without_figures(a) for a in pipe.answers[1:]])
    gc.unfreeze()  # what the worker froze for itself
    assert answers[0] == answers[1]
    assert [a[0] for a in answers[1]] == ["extracted", "scanned"] * 2
    assert any(f.entity == "JP_PHONE_NUMBER" for f in answers[1][1][1])  # it was scanned
