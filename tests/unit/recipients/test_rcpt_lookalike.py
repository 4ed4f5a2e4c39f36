"""Lookalike domains that must and must not be flagged, each with the reason and the domain imitated."""

from __future__ import annotations

import pytest

from gateway.config.recipients import LookalikeConfig
from gateway.mail.addresses import normalise_domain
from gateway.recipients.domains import Organisations
from gateway.recipients.lookalike import LookalikeIndex, is_mixed_script, skeleton

KNOWN = {
    "example.co.jp": "internal",
    "group-sub.co.jp": "affiliate",
    "sakura-shoji.co.jp": "partner",
    "partner-bank.co.jp": "allowed",
    "example.com": "partner",
    "example.org": "partner",
    "paypal.com": "protected",
    "mizuho-sec.co.jp": "frequent",
    "abc.co.jp": "frequent",
}

MUST = [
    # recipient domain, imitated, reason
    ("sakura-shoj1.co.jp", "sakura-shoji.co.jp", "confusable"),  # 1 for i
    ("sakura-sh0ji.co.jp", "sakura-shoji.co.jp", "confusable"),  # 0 for o
    ("partner-bnak.co.jp", "partner-bank.co.jp", "swapped"),
    ("partner-banc.co.jp", "partner-bank.co.jp", "typo"),
    ("partnerbank.co.jp", "partner-bank.co.jp", "typo"),  # hyphen dropped
    ("sakura-shoji.co", "sakura-shoji.co.jp", "other_tld"),
    ("sakura-shoji.com", "sakura-shoji.co.jp", "other_tld"),
    ("sakura-shoji.jp", "sakura-shoji.co.jp", "other_tld"),
    ("examp1e.co.jp", "example.co.jp", "confusable"),
    ("exarnple.co.jp", "example.co.jp", "confusable"),  # rn for m
    ("group-sub.jp", "group-sub.co.jp", "other_tld"),
    ("mail.sakura-shoj1.co.jp", "sakura-shoji.co.jp", "confusable"),  # subdomain of the lookalike
    ("sakura-shoji.co.jp.evil.example", "sakura-shoji.co.jp", "embedded"),
    ("mizuho-secc.co.jp", "mizuho-sec.co.jp", "typo"),
    ("xn--pypal-4ve.com", "paypal.com", "homoglyph"),  # 'pаypal' with a Cyrillic а
    ("xn--pal-5cd3fta.com", "paypal.com", "homoglyph"),  # 'рауpal': Cyrillic р, а, у
    ("раураl.com", "paypal.com", "homoglyph"),  # written in Unicode: Cyrillic р а у р а with a Latin l
]

MUST_NOT = [
    "sakura-shoji.co.jp",  # known itself
    "mail.sakura-shoji.co.jp",  # subdomain of a known one
    "example.org",  # known partner next to known example.com: not a lookalike unless configured
    "example.com",
    "abd.co.jp",  # short names: 'abc' and 'abd' are just different companies
    "toyota.co.jp",
    "google.com",
    "sakura.co.jp",
    "partner-systems.co.jp",
    "co.jp",
]


@pytest.fixture
def index() -> LookalikeIndex:
    return LookalikeIndex(KNOWN, Organisations(), LookalikeConfig())


@pytest.mark.parametrize(("domain", "of", "why"), MUST)
def test_lookalikes_are_flagged(index: LookalikeIndex, domain: str, of: str, why: str) -> None:
    d = normalise_domain(domain)
    m = index.check(d, index.orgs.of(d))
    assert m is not None, domain
    assert (m.of, m.reason.value) == (of, why)
    assert m.kind == KNOWN[of]


def test_fullwidth_letters_are_folded_by_idna_to_the_real_domain() -> None:
    assert normalise_domain("ｐａｙｐａｌ.com") == "paypal.com"


@pytest.mark.parametrize("domain", MUST_NOT)
def test_not_lookalikes(index: LookalikeIndex, domain: str) -> None:
    assert index.check(domain, index.orgs.of(domain)) is None


def test_known_partners_can_be_compared_when_configured() -> None:
    idx = LookalikeIndex(KNOWN, Organisations(), LookalikeConfig(check_known_domains=True))
    m = idx.check("example.org", "example.org")
    assert m is not None and m.reason.value == "other_tld"
    assert m.of in {"example.com", "example.co.jp"}


def test_ignore_and_disable() -> None:
    idx = LookalikeIndex(KNOWN, Organisations(), LookalikeConfig(ignore_domains=["sakura-shoj1.co.jp"]))
    assert idx.check("sakura-shoj1.co.jp", "sakura-shoj1.co.jp") is None
    off = LookalikeIndex(KNOWN, Organisations(), LookalikeConfig(enabled=False))
    assert off.check("partner-bnak.co.jp", "partner-bnak.co.jp") is None


def test_the_most_important_known_domain_is_named() -> None:
    known = {"sakura.co.jp": "frequent", "sakura.com": "internal"}
    idx = LookalikeIndex(known, Organisations(), LookalikeConfig())
    m = idx.check("sakura.jp", "sakura.jp")
    assert m is not None and m.of == "sakura.com" and m.kind == "internal"


def test_distance_limits() -> None:
    known = {"abcdefghijkl.co.jp": "partner", "wxyz.co.jp": "partner"}
    idx = LookalikeIndex(known, Organisations(), LookalikeConfig())
    assert idx.check("abcdefghijxx.co.jp", "abcdefghijxx.co.jp") is not None  # 2 edits on a long name
    assert idx.check("abcdefghixxx.co.jp", "abcdefghixxx.co.jp") is None  # 3 edits
    assert idx.check("wxzz.co.jp", "wxzz.co.jp") is not None  # 1 edit on a short name
    assert idx.check("wqqz.co.jp", "wqqz.co.jp") is None  # 2 edits on a short name


def test_skeleton_and_scripts() -> None:
    assert skeleton("sakura-shoj1") == skeleton("sakura-shoji") == skeleton("sakura-shoj\u0456")
    assert skeleton("paypal") == skeleton("р\u0430ypal")
    assert is_mixed_script("xn--pypal-4ve.com")
    assert not is_mixed_script("xn--r8jz45g.jp")  # 例え: kanji and hiragana are one writing system
    assert is_mixed_script(normalise_domain("раураl.com"))  # Cyrillic with a Latin l
    assert not is_mixed_script("example.com")
