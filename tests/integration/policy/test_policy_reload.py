"""Reloading rules on a running gateway: a broken set never replaces a working one; a valid change
takes effect on the next message without dropping any message in flight."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import smtplib
import time
from pathlib import Path

import pytest

from gateway.config import Config
from gateway.config.policy import SHIPPED_RULES, PolicySettings
from gateway.flow import decide_message
from gateway.inspection.tools import Inspectors
from gateway.message import Envelope, QueuedMessage, new_message_id
from gateway.pipeline import PipelineWorker
from gateway.policy.holder import PolicyHolder
from gateway.store import open_store
from gateway.store.base import Queue
from gateway.verdict import Action
from tests.support.gateway_proc import GatewayProcess, write_config
from tests.support.sink import RecordingSink

BLOCK_RULE = """\
rules:
  - name: block_subject
    description: {ja: 件名 BLOCKME は送信しません, en: Subject BLOCKME is never sent}
    when: {subject: {contains: BLOCKME}}
    action: reject
"""
BROKEN = BLOCK_RULE.replace("{subject:", "{subjcet:")


def message(subject: str, n: int = 0) -> bytes:
    return (
        f"From: taro@example.co.jp\r\nTo: boss@example.co.jp\r\nSubject: {subject}\r\n"
        f"Message-ID: <reload-{n}@example.co.jp>\r\n\r\nhello {n}\r\n"
    ).encode()


def rules_copy(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, rules, ignore=shutil.ignore_patterns("local.d"))
    (rules / "local.d").mkdir()
    return rules


def write(path: Path, text: str) -> None:
    """Write so that the file's fingerprint (mtime, size) surely changes."""
    path.write_text(text, encoding="utf-8")
    later = time.time() + 1
    os.utime(path, (later, later))


def test_broken_file_keeps_the_rules_in_force(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rules = rules_copy(tmp_path)
    holder = PolicyHolder(PolicySettings(rules_dir=rules))
    before = holder.current
    write(rules / "local.d" / "site.yaml", BROKEN)
    with caplog.at_level(logging.ERROR, logger="gateway.policy.holder"):
        assert holder.reload_if_changed() is False
    assert holder.current is before
    assert "rules not reloaded, keeping the rules in force" in caplog.text
    assert "site.yaml:4: rule 'block_subject': when: unknown fact 'subjcet'" in caplog.text
    assert holder.reload_if_changed() is None  # the broken file is not retried until it changes again
    write(rules / "local.d" / "site.yaml", BLOCK_RULE)
    assert holder.reload_if_changed() is True
    assert "block_subject" in [r.name for r in holder.current.rules]


def test_broken_rules_at_start_up_stop_the_node(tmp_path: Path) -> None:
    rules = rules_copy(tmp_path)
    write(rules / "local.d" / "site.yaml", BROKEN)
    with pytest.raises(Exception, match="unknown fact 'subjcet'"):
        PolicyHolder(PolicySettings(rules_dir=rules))


async def test_watch_picks_up_a_valid_change(tmp_path: Path) -> None:
    rules = rules_copy(tmp_path)
    holder = PolicyHolder(PolicySettings(rules_dir=rules, watch_interval=0.05))
    stop = asyncio.Event()
    watcher = asyncio.create_task(holder.watch(stop))
    write(rules / "local.d" / "site.yaml", BLOCK_RULE)
    for _ in range(400):
        if holder.generation == 2:
            break
        await asyncio.sleep(0.025)
    stop.set()
    await watcher
    assert holder.generation == 2
    assert "block_subject" in [r.name for r in holder.current.rules]


async def test_message_in_flight_keeps_the_rules_it_started_with(tmp_path: Path) -> None:
    rules = rules_copy(tmp_path)
    config = Config.model_validate(
        {
            "store": {"url": f"sqlite:///{tmp_path}/gw.db"},
            "organization": {"internal_domains": ["example.co.jp"]},
            "recipients": {"dns": {"enabled": False}},
            "policy": {"rules_dir": str(rules)},
        }
    )
    holder = PolicyHolder(config.policy)
    tools = Inspectors.from_config(config)
    envelope = Envelope("taro@example.co.jp", ("boss@example.co.jp",))
    try:
        started_with = holder.current
        in_flight = asyncio.create_task(decide_message(envelope, message("BLOCKME"), tools, started_with))
        write(rules / "local.d" / "site.yaml", BLOCK_RULE)
        assert holder.reload()
        after = await decide_message(envelope, message("BLOCKME", 1), tools, holder.current)
        assert (await in_flight).action is Action.RELAY
        assert after.action is Action.REJECT
    finally:
        tools.close()


async def test_pipeline_loses_nothing_while_rules_reload(tmp_path: Path) -> None:
    rules = rules_copy(tmp_path)
    config = Config.model_validate(
        {
            "store": {"url": f"sqlite:///{tmp_path}/gw.db"},
            "organization": {"internal_domains": ["example.co.jp"]},
            "recipients": {"dns": {"enabled": False}},
            "worker": {"poll_interval": 0.02, "pipeline_concurrency": 4},
            "policy": {"rules_dir": str(rules)},
        }
    )
    store = open_store(config.store.url)
    holder = PolicyHolder(config.policy)
    tools = Inspectors.from_config(config)
    stop = asyncio.Event()
    worker = asyncio.create_task(PipelineWorker(store, config.worker, tools, holder).run(stop))
    try:
        for n in range(30):
            m = QueuedMessage(new_message_id(), Envelope("taro@example.co.jp", ("boss@example.co.jp",)), time.time())
            m.pending = m.envelope.rcpt_tos
            store.accept([(m, message("hello", n))])
            if n % 10 == 5:
                write(rules / "local.d" / "site.yaml", BROKEN if n == 5 else "rules: []\n")
                holder.reload()
        for _ in range(4000):  # up to 100 s on a loaded machine; a passing run leaves as soon as all are out
            if store.counts()[Queue.OUTBOUND] == 30:
                break
            await asyncio.sleep(0.025)
    finally:
        stop.set()
        await worker
        tools.close()
    counts = store.counts()
    store.close()
    assert counts[Queue.OUTBOUND] == 30
    assert counts[Queue.INBOUND] == counts[Queue.SHUNT] == 0
    assert holder.generation == 3  # two valid reloads; the broken one was refused


def test_sighup_reloads_a_running_gateway(tmp_path: Path) -> None:
    rules = rules_copy(tmp_path)
    site = rules / "local.d" / "site.yaml"
    log = tmp_path / "gw.log"

    def wait_log(text: str, count: int = 1) -> None:
        for _ in range(600):
            if log.exists() and log.read_text(errors="replace").count(text) >= count:
                return
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not logged:\n{log.read_text(errors='replace')}")

    with RecordingSink() as sink:
        config, port = write_config(
            tmp_path,
            {"relay": {"smarthost": f"127.0.0.1:{sink.port}"}, "policy": {"rules_dir": str(rules), "watch": False}},
        )
        with GatewayProcess(config, port, log) as gw, smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            assert gw.process is not None
            client.sendmail("taro@example.co.jp", ["boss@example.co.jp"], message("BLOCKME", 1))
            assert sink.wait_for(1, timeout=60)

            write(site, BROKEN)
            gw.process.send_signal(signal.SIGHUP)
            wait_log("rules not reloaded, keeping the rules in force")
            client.sendmail("taro@example.co.jp", ["boss@example.co.jp"], message("BLOCKME", 2))
            assert sink.wait_for(2, timeout=60)  # the old rules still relay it

            write(site, BLOCK_RULE)
            gw.process.send_signal(signal.SIGHUP)
            wait_log("rules reloaded")
            client.sendmail("taro@example.co.jp", ["boss@example.co.jp"], message("BLOCKME", 3))
            # decided under the new rules: rejected, and the sender gets a notice instead
            assert sink.wait_until(lambda got: any(r.mail_from == "" for r in got), timeout=60)
            client.sendmail("taro@example.co.jp", ["boss@example.co.jp"], message("fine", 4))
            assert sink.wait_for(4, timeout=60)
        got = sink.snapshot()
        assert [r.message.get("Subject") for r in got if r.mail_from] == ["BLOCKME", "BLOCKME", "fine"]
        notices = [r for r in got if not r.mail_from]
        assert len(notices) == 1
        assert notices[0].rcpt_tos == ("taro@example.co.jp",)
