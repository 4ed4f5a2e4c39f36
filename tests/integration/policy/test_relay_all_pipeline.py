"""The rules decide what is inspected, through the real pipeline step (`flow.process`): with rules that
read only recipients, a message carrying a My Number is relayed without the inspection pool being
used at all; with the shipped rules the same message is extracted, scanned and held. `gateway check`
(decide_message with all_content=True) always inspects.

The observable for "the pool did no work": InspectPool has no counter of inspected messages, but it
starts its worker processes on the first inspect() only. The relay-all cases get a pool that was
never started and check that it is still not running and has no worker. The content cases share one
started pool (one worker, patterns and Sudachi only: GiNZA is not under test)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway import flow
from gateway.config import Config
from gateway.config.inspection import InspectionConfig
from gateway.config.policy import SHIPPED_RULES, PolicySettings
from gateway.hold.backends import open_holds
from gateway.hold.workflow import HoldWorkflow
from gateway.inspection.pool import InspectPool
from gateway.inspection.tools import Inspectors
from gateway.message import Envelope, QueuedMessage, new_message_id
from gateway.policy.policy import Policy
from gateway.scan import ScanConfig
from gateway.store import open_store
from gateway.store.base import Queue, Store
from gateway.verdict import Action, Verdict

SCAN = ScanConfig(ner_window_chars=0)
SENDER = "taro.yamada@example.co.jp"
RCPT = "tanaka@customer.example"
MY_NUMBER = "123456789018"  # valid check digit (tests/unit/scan/test_scan_recognizers.py)

DORMANT = """\
rules:
  - name: dormant
    description: {ja: 休止中, en: Dormant}
    enabled: false
    when: {recipients.any_external: true}
    action: hold_sender
"""
BOTH_GROUPS = """\
people:
  - {address: both@example.co.jp, groups: [a, b]}
  - {address: only.a@example.co.jp, groups: [a]}
groups:
  a:
    rules:
      dormant: {when: {pii.entities: {contains: JP_MY_NUMBER}}}
  b:
    rules:
      dormant: {enabled: true}
"""


def my_number_mail(sender: str = SENDER) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, RCPT, "申込書の件"
    m["Message-ID"] = f"<{new_message_id()}@example.co.jp>"
    m.set_content(f"田中様\n\nお客様のマイナンバー：{MY_NUMBER}\nご確認ください。\n")
    return m.as_bytes()


def config(tmp_path: Path, rules: Path, directory: Path | None = None) -> Config:
    policy: dict[str, object] = {"rules_dir": str(rules), "watch": False}
    if directory is not None:
        policy["directory"] = str(directory)
    return Config.model_validate(
        {
            "store": {"url": f"sqlite:///{tmp_path}/gateway.db"},
            "organization": {"internal_domains": ["example.co.jp"]},
            "recipients": {"dns": {"enabled": False}},
            "scan": SCAN.model_dump(),
            "policy": policy,
        }
    )


def recipient_rules(tmp_path: Path, *extra: str) -> Path:
    """The shipped recipient rules only (denied, lookalike, nonexistent, many visible, internal)."""
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(SHIPPED_RULES / "20-recipients.yaml", rules)
    for i, text in enumerate(extra):
        (rules / f"9{i}-extra.yaml").write_text(text, encoding="utf-8")
    return rules


def shipped_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, rules, ignore=shutil.ignore_patterns("local.d"))
    return rules


def load(cfg: Config) -> Policy:
    return Policy.load(PolicySettings.model_validate(cfg.policy.model_dump()))


@pytest.fixture(scope="module")
def pool() -> Iterator[InspectPool]:
    p = InspectPool(SCAN, InspectionConfig(workers=1))
    p.start_sync()
    yield p
    p.close_sync()


@pytest.fixture
def idle() -> Iterator[InspectPool]:
    """A real pool that starts its workers only if somebody asks it to inspect."""
    p = InspectPool(SCAN, InspectionConfig(workers=1))
    yield p
    p.close_sync()


def untouched(pool: InspectPool) -> bool:
    return not pool.running and pool.worker_pids() == []


def accept(store: Store, raw: bytes, sender: str = SENDER) -> QueuedMessage:
    message = QueuedMessage(new_message_id(), Envelope(sender, (RCPT,)), time.time(), pending=(RCPT,))
    store.accept([(message, raw)])
    return message


async def process(cfg: Config, tools: Inspectors, policy: Policy, raw: bytes) -> tuple[Verdict, Store]:
    store = open_store(cfg.store.url)
    holds = open_holds(cfg.store.url)
    message = accept(store, raw)
    lease = store.claim_message(Queue.INBOUND, message.id, 30)
    assert lease is not None
    try:
        verdict = await flow.process(store, lease, tools, policy, HoldWorkflow.from_config(store, holds, cfg))
    finally:
        holds.close()
    return verdict, store


def personal_entities(verdict: Verdict) -> set[str]:
    return {f["entity"] for f in verdict.facts["personal_data"]["findings"]}


async def test_recipient_rules_relay_a_my_number_without_inspecting(tmp_path: Path, idle: InspectPool) -> None:
    cfg = config(tmp_path, recipient_rules(tmp_path))
    policy = load(cfg)
    assert policy.reads_content is False
    tools = Inspectors.from_config(cfg, pool=idle)
    try:
        verdict, store = await process(cfg, tools, policy, my_number_mail())
    finally:
        tools.close()
    try:
        assert verdict.action is Action.RELAY and verdict.hits == []
        assert store.counts()[Queue.OUTBOUND] == 1 and store.counts()[Queue.HOLD] == 0
    finally:
        store.close()
    assert untouched(idle)
    assert verdict.facts["content_inspected"] is False
    assert personal_entities(verdict) == set() and verdict.facts["segments"] == 0
    # what needs no content is still there: the recipients were assessed
    assert [r["address"] for r in verdict.facts["recipients"]["recipients"]] == [RCPT]


async def test_an_empty_rules_directory_relays_without_inspecting(tmp_path: Path, idle: InspectPool) -> None:
    (tmp_path / "rules").mkdir()
    cfg = config(tmp_path, tmp_path / "rules")
    tools = Inspectors.from_config(cfg, pool=idle)
    try:
        verdict, store = await process(cfg, tools, load(cfg), my_number_mail())
        store.close()
    finally:
        tools.close()
    assert verdict.action is Action.RELAY and verdict.facts["content_inspected"] is False
    assert untouched(idle)


async def test_shipped_rules_hold_the_same_message_on_its_content(tmp_path: Path, pool: InspectPool) -> None:
    cfg = config(tmp_path, shipped_rules(tmp_path))
    policy = load(cfg)
    assert policy.reads_content is True
    tools = Inspectors.from_config(cfg, pool=pool)
    try:
        verdict, store = await process(cfg, tools, policy, my_number_mail())
    finally:
        tools.close()
    try:
        assert verdict.action is Action.HOLD_MANAGER
        assert "sensitive_id_external" in [h.rule for h in verdict.hits]
        assert store.counts()[Queue.HOLD] == 1
        assert not [m for m in store.list_queue(Queue.OUTBOUND, 100) if not m.is_notice]
    finally:
        store.close()
    assert verdict.facts["content_inspected"] is True
    assert "JP_MY_NUMBER" in personal_entities(verdict)


async def test_check_inspects_everything_whatever_the_rules(tmp_path: Path, pool: InspectPool) -> None:
    cfg = config(tmp_path, recipient_rules(tmp_path))
    policy = load(cfg)
    tools = Inspectors.from_config(cfg, pool=pool)
    envelope = Envelope(SENDER, (RCPT,))
    try:
        checked = await flow.decide_message(envelope, my_number_mail(), tools, policy)  # gateway check
        piped = await flow.decide_message(envelope, my_number_mail(), tools, policy, all_content=False)
    finally:
        tools.close()
    assert checked.action is piped.action is Action.RELAY
    assert checked.facts["content_inspected"] is True
    assert "JP_MY_NUMBER" in personal_entities(checked) and checked.facts["segments"] > 0
    assert piped.facts["content_inspected"] is False and personal_entities(piped) == set()


async def test_a_sender_whose_group_rules_read_content_is_inspected_after_all(
    tmp_path: Path, pool: InspectPool
) -> None:
    # Each group alone reads no content, so the policy loads as content-free; a member of both gets
    # a rule that reads pii.entities: deciding without the content raises ContentNotInspected inside
    # decide_message, which inspects the message and decides again.
    directory = tmp_path / "directory.yaml"
    directory.write_text(BOTH_GROUPS, encoding="utf-8")
    cfg = config(tmp_path, recipient_rules(tmp_path, DORMANT), directory)
    policy = load(cfg)
    assert policy.reads_content is False
    tools = Inspectors.from_config(cfg, pool=pool)
    try:
        only_a = await flow.decide_message(
            Envelope("only.a@example.co.jp", (RCPT,)), my_number_mail("only.a@example.co.jp"), tools, policy, False
        )
        both = await flow.decide_message(
            Envelope("both@example.co.jp", (RCPT,)), my_number_mail("both@example.co.jp"), tools, policy, False
        )
    finally:
        tools.close()
    assert only_a.action is Action.RELAY and only_a.facts["content_inspected"] is False
    assert both.action is Action.HOLD_SENDER and [h.rule for h in both.hits] == ["dormant"]
    assert both.facts["content_inspected"] is True and "JP_MY_NUMBER" in personal_entities(both)
    assert policy.reads_content is True  # from now on every message under this policy is inspected
