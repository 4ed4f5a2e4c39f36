"""Rule tests in the rspamd style: every tests/rules/NAME.eml beside NAME.expect.yaml (the action and
the rules that must hit), run through the real inspection (extraction worker, recipient assessment
with a SQLite history, the personal-data scanner) and the shipped rules. One inspection pool (one
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
from gateway.flow import inspect
from gateway.inspection.pool import InspectPool
from gateway.inspection.tools import Inspectors
from gateway.policy.policy import Policy
from gateway.policy.ruletest import compare, load_expectation

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
    yield inspectors
    inspectors.close()


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
