"""Rule tests in the rspamd style: every tests/rules/NAME.eml beside NAME.expect.yaml (the action and
the rules that must hit), run through the real inspection (extraction worker, recipient assessment
with a SQLite history, the personal-data scanner) and the shipped rules.

Until the scanner is wired into flow.inspect, this harness runs it in-process on the extracted
segments when inspect returned no scan result (the same Scanner the pipeline will use).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.cli import _envelope_from_headers
from gateway.config import Config
from gateway.flow import inspect
from gateway.inspection import Facts, Inspectors
from gateway.message import Envelope
from gateway.policy.policy import Policy
from gateway.policy.ruletest import compare, load_expectation
from gateway.policy.settings import PolicySettings

HERE = Path(__file__).parent
EXAMPLES = HERE.parents[1] / "examples"
MESSAGES = sorted(HERE.glob("*.eml"))
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
def scanner():  # type: ignore[no-untyped-def]
    from gateway.scan import ScanConfig, Scanner

    return Scanner(ScanConfig())


@pytest.fixture
async def tools(tmp_path: Path) -> AsyncIterator[Inspectors]:
    cfg = config(tmp_path)
    inspectors = Inspectors(cfg)
    inspectors.history.record_delivery(SENDER, KNOWN, time.time() - 86400)
    yield inspectors
    inspectors.close()


async def facts_of(envelope: Envelope, raw: bytes, tools: Inspectors, scanner) -> Facts:  # type: ignore[no-untyped-def]
    from gateway.scan import ScanContext

    facts = await inspect(envelope, raw, tools)
    if not facts.scan.findings:
        context = ScanContext(
            sender=envelope.mail_from,
            recipients=envelope.rcpt_tos,
            internal_domains=tuple(tools.config.organization.internal_domains),
        )
        facts.scan = scanner.scan(facts.extraction.segments, context)
    return facts


def test_there_are_rule_tests() -> None:
    assert len(MESSAGES) >= 8
    assert all(m.with_suffix(".expect.yaml").exists() for m in MESSAGES)


@pytest.mark.parametrize("message", MESSAGES, ids=[m.stem for m in MESSAGES])
async def test_message_gets_expected_verdict(message: Path, tools: Inspectors, scanner) -> None:  # type: ignore[no-untyped-def]
    expect = load_expectation(message)
    assert expect is not None
    raw = message.read_bytes()
    envelope = _envelope_from_headers(raw, expect.mail_from, expect.rcpt)
    policy = Policy.load(PolicySettings.model_validate(tools.config.policy.model_dump()))
    verdict = policy.decide(envelope, await facts_of(envelope, raw, tools, scanner))
    problems = compare(expect, verdict)
    assert problems == [], "\n".join([*problems, *(f"{h.rule}: {h.reason.en}" for h in verdict.hits)])
