"""`gateway queue list shunt` shows what was shunted and why; `gateway queue requeue ID` gives it to
the pipeline again with its failure count reset."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gateway.cli import main
from gateway.store import open_store
from gateway.store.base import Queue
from tests.conftest import MakeMessage


def test_list_and_requeue_a_shunted_message(
    tmp_path: Path, make_message: MakeMessage, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/gateway.db"
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"store": {"url": url}}), encoding="utf-8")
    store = open_store(url)
    try:
        reason = "outbound worker failed 5 times"
        msg, raw = make_message(failures=5, last_error="RuntimeError: boom", shunt_reason=reason)
        store.accept([(msg, raw)], Queue.SHUNT)
    finally:
        store.close()
    assert main(["queue", "list", "shunt", "--config", str(config)]) == 0
    listed = capsys.readouterr().out
    assert msg.id in listed and "failures=5" in listed and "outbound worker failed 5 times" in listed
    assert main(["queue", "requeue", msg.id, "--config", str(config)]) == 0
    assert main(["queue", "requeue", msg.id, "--config", str(config)]) == 1  # not on the shunt queue any more
    store = open_store(url)
    try:
        where = store.get(msg.id)
        assert where is not None and where[0] is Queue.OUTBOUND  # it failed in delivery: delivered again
        assert where[1].failures == 0 and where[1].shunt_reason == ""
    finally:
        store.close()
