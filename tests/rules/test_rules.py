"""Rule tests in the rspamd style: every tests/rules/NAME.eml beside NAME.expect.yaml (the action and
the rules that must hit), run through the real inspection (extraction worker, recipient assessment
with a SQLite history and a contact book learned from the sent mail in history/, the personal-data
scanner) and the shipped rules. One inspection pool (one
worker, GiNZA loaded once) serves every message.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.cli.envelope import envelope_from_headers
from gateway.config import Config
from gateway.config.policy import PolicySettings
from gateway.extract import extract_message
from gateway.flow import inspect, parse
from gateway.inspection.pool import InspectPool
from gateway.inspection.tools import Inspectors
from gateway.policy.policy import Policy
from gateway.policy.ruletest import compare, load_expectation
from gateway.recipients.domains import RecipientClass
from gateway.recipients.misaddressed import lesson_of
from gateway.recipients.model import RecipientRisk

HERE = Path(__file__).parent
EXAMPLES = HERE.parents[1] / "examples"
MESSAGES = sorted(HERE.glob("*.eml"))
HISTORY = HERE / "history"  # sent mail the contact book learns from before the tests
SENDER = "taro.yamada@example.co.jp"
KNOWN = ["tanaka@sakura-shoji.co.jp", "tanaka@partner-bank.co.jp", "hanako.sato@example.co.jp"]


def config(tmp: Path) -> Config:
    return Config.model_validate(
        {
            "store": {"url": f"sqlite:///{tmp}/gateway.db"},
            "organization": {"internal_domains": ["example.co.jp"]},
            "recipients": {
                "dns": {"enabled": False},
                "partners": [{"name": "さくら商事", "domains": ["sakura-shoji.co.jp"]}],
                "allow_domains": ["partner-bank.co.jp"],
            },
            "policy": {"directory": str(EXAMPLES / "directory.yaml"), "fallback_group": "compliance"},
        }
    )


@pytest.fixture(scope="module")
def pool() -> Iterator[InspectPool]:
    p = InspectPool(Config().scan, Config().inspection, workers=1)
    p.start_sync()
    yield p
    p.close_sync()


@pytest.fixture
async def tools(tmp_path: Path, pool: InspectPool) -> AsyncIterator[Inspectors]:
    cfg = config(tmp_path)
    inspectors = Inspectors.from_config(cfg, pool=pool)
    inspectors.history.record_delivery(SENDER, KNOWN, time.time() - 86400)
    learn_history(inspectors)
    yield inspectors
    inspectors.close()


def learn_history(tools: Inspectors) -> None:
    """Sent mail in history/ teaches the contact book as if it had been delivered a day ago."""
    assert tools.contacts is not None
    for path in sorted(HISTORY.glob("*.eml")):
        raw = path.read_bytes()
        headers = parse(raw)
        envelope = envelope_from_headers(raw, None, [])
        external = [
            RecipientRisk(a, RecipientClass.EXTERNAL, organisation=tools.recipients.orgs.of(a.rpartition("@")[2]))
            for a in envelope.rcpt_tos
            if not a.endswith("@example.co.jp")
        ]
        lesson = lesson_of(headers, extract_message(raw), external)
        tools.contacts.learn(lesson, envelope.rcpt_tos, time.time() - 86400)
        tools.history.record_delivery(envelope.mail_from, envelope.rcpt_tos, time.time() - 86400)


def test_there_are_rule_tests() -> None:
    assert len(MESSAGES) >= 8
    assert all(m.with_suffix(".expect.yaml").exists() for m in MESSAGES)


@pytest.mark.parametrize("message", MESSAGES, ids=[m.stem for m in MESSAGES])
async def test_message_gets_expected_verdict(message: Path, tools: Inspectors) -> None:
    expect = load_expectation(message)
    assert expect is not None
    raw = message.read_bytes()
    envelope = envelope_from_headers(raw, expect.mail_from, expect.rcpt)
    policy = Policy.load(PolicySettings.model_validate(config(Path("unused")).policy.model_dump()))
    verdict = policy.decide(envelope, await inspect(envelope, raw, tools))
    problems = compare(expect, verdict)
    assert problems == [], "\n".join([*problems, *(f"{h.rule}: {h.reason.en}" for h in verdict.hits)])
