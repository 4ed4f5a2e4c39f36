"""The first process freezes what start-up built (service.freeze_heap, gc.freeze) once its parts run:
those objects leave the collector's generations, garbage made later is collected as before, and
`gateway run` asks for it (serve(settle=True)) in its first process and in each child process
(receive, delivery ...)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from gateway import service
from gateway.config.model import Config


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_freeze_moves_what_lives_out_of_the_generations() -> None:
    before = gc.get_freeze_count()
    try:
        kept = [_Cycle() for _ in range(100)]
        service.freeze_heap()
        assert gc.get_freeze_count() >= before + len(kept)
        assert sum(gc.get_count()) < 100  # the generations start empty again
        later = _Cycle()  # cyclic garbage made after the freeze is still collected
        gone = weakref.ref(later)
        del later
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()  # the test process goes on as it was


def test_gateway_run_settles_its_first_process(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    async def fake_serve(config: Config, parts: Any = (), **kwargs: Any) -> None:
        seen.update(kwargs)

    monkeypatch.setattr(service, "serve", fake_serve)
    service.run_node(Config(), parts=["worker"])
    assert seen.get("settle") is True


def test_child_processes_settle_too(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    async def fake_serve(config: Config, parts: Any = (), **kwargs: Any) -> None:
        seen.update(kwargs, parts=parts)

    monkeypatch.setattr(service, "serve", fake_serve)
    monkeypatch.setattr(service, "stop_when_orphaned", lambda: None)
    monkeypatch.setattr("gateway.logsetup.name_process", lambda part: None)
    monkeypatch.setattr("gateway.logsetup.setup_logging", lambda level: None)
    service._serve_part(Config(), "smtp", doorbells=None)  # type: ignore[arg-type]
    assert seen.get("settle") is True
    assert seen.get("parts") == ("smtp",)
