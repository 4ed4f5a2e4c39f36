"""assess_recipients end to end with a real SQLite history (DNS off here; see the integration tests)."""

from __future__ import annotations

import email
import email.policy
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config.recipients import RecipientsConfig
from gateway.message import Envelope
from gateway.recipients.assess import RecipientContext, assess_recipients
from gateway.recipients.history import DAY, RecipientHistory
from gateway.recipients.history_backends import open_history
from gateway.recipients.history_import import import_postfix_log
from gateway.recipients.reasons import CODES, reason

DATA = Path(__file__).parents[2] / "data" / "recipients"
NOW = time.mktime((2025, 6, 1, 12, 0, 0, 0, 0, -1))
SENDER = "taro.yamada@example.co.jp"

CONFIG = RecipientsConfig.model_validate(
    {
        "affiliate_domains": ["group-sub.co.jp"],
        "allow_domains": ["partner-bank.co.jp"],
        "deny_domains": ["competitor.example"],
        "partners": [{"name": "さくら商事", "domains": ["sakura-shoji.co.jp"]}],
        "dns": {"enabled": False},
        "visible_external_threshold": 3,
        "reply_all_threshold": 4,
    }
)


@pytest.fixture
def history(tmp_path: Path) -> Iterator[RecipientHistory]:
    h = open_history(f"sqlite:///{tmp_path}/gateway.db")
    import_postfix_log(DATA / "maillog.sample", h, internal_domains=["example.co.jp"], now=NOW)
    yield h
    h.close()


@pytest.fixture
def ctx(history: RecipientHistory) -> RecipientContext:
    return RecipientContext.create(CONFIG, ["example.co.jp"], history=history)


def msg(headers: str) -> email.message.Message:
    return email.message_from_string(headers + "\r\n\r\nbody\r\n", policy=email.policy.default)


async def assess(ctx: RecipientContext, rcpts: list[str], headers: str | None = None, sender: str = SENDER):
    return await assess_recipients(Envelope(sender, tuple(rcpts)), msg(headers) if headers else None, ctx, now=NOW)


def by_address(result, address):  # type: ignore[no-untyped-def]
    return next(r for r in result.recipients if r.address == address)


async def test_known_partner_recipient_has_no_risk_signals(ctx: RecipientContext) -> None:
    result = await assess(ctx, ["tanaka@sakura-shoji.co.jp"], "To: Tanaka <tanaka@sakura-shoji.co.jp>")
    r = result.recipients[0]
    assert r.recipient_class.value == "external"
    assert r.organisation == "sakura-shoji.co.jp"
    assert r.partner == "さくら商事" and r.list_verdict == "allow"
    assert (r.first_time_sender, r.first_time_org) == (False, False)  # seeded from the Postfix log
    assert r.signals == ["external", "allowed", "partner"]
    assert r.visibility == "to"
    assert result.signals == []


async def test_first_time_for_sender_but_not_for_the_organisation(ctx: RecipientContext) -> None:
    result = await assess(ctx, ["new.person@sakura-shoji.co.jp"])
    r = result.recipients[0]
    assert (r.first_time_sender, r.first_time_org) == (True, False)
    assert "first_time_sender" in r.signals and "first_time_org" not in r.signals


async def test_another_sender_is_first_time_too(ctx: RecipientContext) -> None:
    result = await assess(ctx, ["tanaka@sakura-shoji.co.jp"], sender="hanako@example.co.jp")
    assert result.recipients[0].first_time_sender is True


async def test_first_time_window(ctx: RecipientContext, history: RecipientHistory) -> None:
    later = NOW + 400 * DAY  # the sample log is from March 2025: outside a 365-day window by then
    result = await assess_recipients(Envelope(SENDER, ("tanaka@sakura-shoji.co.jp",)), None, ctx, now=later)
    r = result.recipients[0]
    assert (r.first_time_sender, r.first_time_org) == (True, True)


async def test_history_is_updated_only_by_record_delivery(ctx: RecipientContext, history: RecipientHistory) -> None:
    rcpt = "someone@brand-new.example"
    first = await assess(ctx, [rcpt])
    assert first.recipients[0].first_time_sender is True
    again = await assess(ctx, [rcpt])  # assessing is not delivering
    assert again.recipients[0].first_time_sender is True
    history.record_delivery(SENDER, [rcpt], NOW - 60)
    after = await assess(ctx, [rcpt])
    assert (after.recipients[0].first_time_sender, after.recipients[0].first_time_org) == (False, False)


async def test_lookalike_names_the_imitated_domain(ctx: RecipientContext) -> None:
    result = await assess(ctx, ["tanaka@sakura-shoj1.co.jp", "info@partner-bnak.co.jp"])
    a, b = result.recipients
    assert (a.lookalike_of, a.lookalike_kind, a.lookalike_reason) == ("sakura-shoji.co.jp", "partner", "confusable")
    assert (b.lookalike_of, b.lookalike_kind, b.lookalike_reason) == ("partner-bank.co.jp", "allowed", "swapped")
    why = next(x for x in a.reasons if x.code == "lookalike")
    assert "sakura-shoji.co.jp" in why.ja and "sakura-shoji.co.jp" in why.en


async def test_frequently_used_domains_come_from_the_history(ctx: RecipientContext) -> None:
    # u-tokyo.ac.jp is only in the mail log, on no list
    result = await assess(ctx, ["x@u-tokyo.ac.jp", "y@u-tokyo.co.jp", "z@u-tokoy.ac.jp"])
    ok, other_tld, swapped = result.recipients
    assert ok.lookalike_of is None
    assert (other_tld.lookalike_of, other_tld.lookalike_kind, other_tld.lookalike_reason) == (
        "u-tokyo.ac.jp",
        "frequent",
        "other_tld",
    )
    assert swapped.lookalike_reason == "swapped"


async def test_classes_and_denied(ctx: RecipientContext) -> None:
    result = await assess(
        ctx, ["boss@example.co.jp", "x@sales.example.co.jp", "y@group-sub.co.jp", "z@competitor.example"]
    )
    classes = [r.recipient_class.value for r in result.recipients]
    assert classes == ["internal", "internal", "affiliate", "external"]
    internal = result.recipients[0]
    assert internal.first_time_sender is None and internal.lookalike_of is None and internal.signals == ["internal"]
    affiliate = result.recipients[2]
    assert affiliate.first_time_org is True  # affiliates are assessed too
    assert "denied" in result.recipients[3].signals
    assert result.external_organisations == ["competitor.example"]


async def test_two_customers_in_one_mail(ctx: RecipientContext) -> None:
    result = await assess(ctx, ["a@sakura-shoji.co.jp", "b@mail.sakura-shoji.co.jp", "c@partner-bank.co.jp"])
    assert result.external_organisations == ["さくら商事", "partner-bank.co.jp"]
    assert "multiple_external_orgs" in result.signals
    one = await assess(ctx, ["a@sakura-shoji.co.jp", "b@sakura-shoji.co.jp", "boss@example.co.jp"])
    assert "multiple_external_orgs" not in one.signals and one.external_org_count == 1


async def test_visible_and_hidden_recipients(ctx: RecipientContext) -> None:
    headers = (
        "To: a@customer-a.example, b@customer-b.example\r\n"
        "Cc: c@customer-c.example, boss@example.co.jp\r\n"
        "Bcc: d@customer-d.example"
    )
    rcpts = [
        "a@customer-a.example",
        "b@customer-b.example",
        "c@customer-c.example",
        "boss@example.co.jp",
        "d@customer-d.example",
        "e@customer-e.example",
    ]
    result = await assess(ctx, rcpts, headers)
    vis = {r.address: r.visibility for r in result.recipients}
    assert vis == {
        "a@customer-a.example": "to",
        "b@customer-b.example": "to",
        "c@customer-c.example": "cc",
        "boss@example.co.jp": "cc",
        "d@customer-d.example": "bcc",
        "e@customer-e.example": "hidden",
    }
    assert (result.visible_external, result.hidden_external, result.visible_recipients) == (3, 2, 4)
    assert {"many_visible_external", "external_in_bcc", "multiple_external_orgs"} <= set(result.signals)
    assert "reply_all_many" not in result.signals


async def test_reply_all_to_many(ctx: RecipientContext) -> None:
    headers = (
        "To: a@example.co.jp, b@example.co.jp\r\nCc: c@example.co.jp, d@example.co.jp\r\n"
        "In-Reply-To: <123@example.co.jp>"
    )
    result = await assess(ctx, ["a@example.co.jp"], headers)
    assert result.is_reply and "reply_all_many" in result.signals
    assert "many_visible_external" not in result.signals  # all internal


async def test_envelope_is_the_truth_not_the_headers(ctx: RecipientContext) -> None:
    # The header claims an internal recipient; the envelope goes elsewhere.
    result = await assess(ctx, ["x@attacker.example"], "To: boss@example.co.jp")
    assert [r.address for r in result.recipients] == ["x@attacker.example"]
    assert result.recipients[0].visibility == "hidden"
    assert "external_in_bcc" in result.signals


async def test_unparseable_header_is_a_signal(ctx: RecipientContext) -> None:
    result = await assess(ctx, ["bob@example.com"], "To: alice@example.org)<bob@example.com>")
    assert "header_unparseable" in result.signals
    assert result.header_errors and "alice" not in " ".join(result.header_errors)


async def test_sender_outside_internal_domains(ctx: RecipientContext) -> None:
    foreign = await assess(ctx, ["a@example.co.jp"], sender="spammer@elsewhere.example")
    assert foreign.sender_class == "external" and "sender_not_internal" in foreign.signals
    affiliate = await assess(ctx, ["a@example.co.jp"], sender="x@group-sub.co.jp")
    assert "sender_not_internal" in affiliate.signals  # unless allowed_sender_domains says so
    bounce = await assess(ctx, ["a@customer.example"], sender="")
    assert bounce.sender_class == "null" and "sender_not_internal" not in bounce.signals
    assert bounce.recipients[0].first_time_sender is None
    cfg = CONFIG.model_copy(update={"allowed_sender_domains": ["group-sub.co.jp"]})
    allowed = await assess_recipients(
        Envelope("x@group-sub.co.jp", ("a@example.co.jp",)),
        None,
        RecipientContext.create(cfg, ["example.co.jp"]),
        now=NOW,
    )
    assert "sender_not_internal" not in allowed.signals


async def test_invalid_and_duplicate_envelope_recipients(ctx: RecipientContext) -> None:
    result = await assess(ctx, ["a%b@relay.example", "Dup@Customer.example", "dup@customer.example"])
    bad, dup = result.recipients
    assert not bad.valid and bad.signals == ["invalid_address"]
    assert dup.address == "dup@customer.example"


async def test_idn_recipient(ctx: RecipientContext) -> None:
    result = await assess(ctx, ["info@例え.jp", "x@раураl.com"])
    idn, homograph = result.recipients
    assert idn.domain == "xn--r8jz45g.jp" and idn.domain_unicode == "例え.jp"
    assert "idn" in idn.signals and "mixed_script" not in idn.signals
    assert {"idn", "mixed_script"} <= set(homograph.signals)


async def test_without_history_first_time_is_unknown() -> None:
    ctx = RecipientContext.create(CONFIG, ["example.co.jp"])
    result = await assess(ctx, ["a@customer.example"])
    r = result.recipients[0]
    assert (r.first_time_sender, r.first_time_org) == (None, None)
    assert r.dns.value == "not-checked"


async def test_json_output_is_serialisable_and_bilingual(ctx: RecipientContext) -> None:
    result = await assess(
        ctx,
        ["tanaka@sakura-shoj1.co.jp", "a@customer.example", "boss@example.co.jp"],
        "To: tanaka@sakura-shoj1.co.jp\r\nCc: boss@example.co.jp",
    )
    data = json.loads(json.dumps(result.to_json(), ensure_ascii=False))
    assert data["recipients"][0]["class"] == "external"
    assert data["recipients"][0]["lookalike_of"] == "sakura-shoji.co.jp"
    assert data["external_org_count"] == 2
    for item in [data, *data["recipients"]]:
        assert len(item["signals"]) == len(item["reasons"])
        for why in item["reasons"]:
            assert why["ja"] and why["en"] and why["code"] in CODES
            assert "?" not in why["ja"] + why["en"]
            assert "tanaka@" not in why["ja"] + why["en"]  # reasons name domains, not addresses


def test_every_reason_has_both_languages() -> None:
    for code in CODES:
        r = reason(code, how="typo")
        assert r.ja and r.en and r.ja != r.en
