"""Organisations by the Public Suffix List, classification, allow/deny lists, settings."""

from __future__ import annotations

import pydantic
import pytest

from gateway.config.recipients import DnsCheckConfig, LookalikeConfig, PartnerEntry, RecipientsConfig, SenderGroup
from gateway.recipients.domains import Classifier, Organisations, RecipientClass
from gateway.recipients.lists import ListVerdict, RecipientListIndex

ORGS = [
    # co.jp: foo.co.jp and bar.co.jp are different organisations
    ("foo.co.jp", "foo.co.jp"),
    ("bar.co.jp", "bar.co.jp"),
    ("mail.a.foo.co.jp", "foo.co.jp"),
    ("co.jp", "co.jp"),  # a bare suffix is its own "organisation"
    # ac.jp
    ("u-tokyo.ac.jp", "u-tokyo.ac.jp"),
    ("mail.ecc.u-tokyo.ac.jp", "u-tokyo.ac.jp"),
    # lg.jp: the PSL has only lg.jp; the shipped extra rule *.lg.jp splits municipalities
    ("city.shibuya.tokyo.lg.jp", "shibuya.tokyo.lg.jp"),
    ("city.minato.tokyo.lg.jp", "minato.tokyo.lg.jp"),
    ("pref.tokyo.lg.jp", "pref.tokyo.lg.jp"),
    # com.au
    ("example.com.au", "example.com.au"),
    ("www.example.com.au", "example.com.au"),
    ("other.com.au", "other.com.au"),
    # plain gTLDs, geographic jp names, wildcard/exception rules, IDN
    ("mail.google.com", "google.com"),
    ("example.tokyo.jp", "example.tokyo.jp"),
    ("city.kawasaki.jp", "city.kawasaki.jp"),
    ("xn--r8jz45g.jp", "xn--r8jz45g.jp"),
    ("a.b.xn--r8jz45g.jp", "xn--r8jz45g.jp"),
]


@pytest.mark.parametrize(("domain", "org"), ORGS)
def test_organisation_by_psl(domain: str, org: str) -> None:
    assert Organisations().of(domain) == org


def test_without_the_extra_rule_lg_jp_is_one_organisation_per_prefecture() -> None:
    plain = Organisations(extra_suffixes=())
    assert plain.of("city.shibuya.tokyo.lg.jp") == "tokyo.lg.jp"
    assert plain.of("city.minato.tokyo.lg.jp") == "tokyo.lg.jp"


def test_org_name_and_suffix() -> None:
    o = Organisations()
    assert (o.name("foo.co.jp"), o.suffix("foo.co.jp")) == ("foo", "co.jp")


def test_classification() -> None:
    c = Classifier(["example.co.jp"], ["group-sub.co.jp"])
    assert c.classify("example.co.jp") is RecipientClass.INTERNAL
    assert c.classify("sales.example.co.jp") is RecipientClass.INTERNAL
    assert c.classify("notexample.co.jp") is RecipientClass.EXTERNAL  # label boundary
    assert c.classify("group-sub.co.jp") is RecipientClass.AFFILIATE
    assert c.classify("x.group-sub.co.jp") is RecipientClass.AFFILIATE
    assert c.classify("example.co.jp.evil.example") is RecipientClass.EXTERNAL


def _cfg(**kw: object) -> RecipientsConfig:
    return RecipientsConfig.model_validate(kw)


LISTS = _cfg(
    allow_domains=["partner.co.jp"],
    deny_domains=["gmail.com", "bad.partner.co.jp"],
    allow_addresses=["ok.person@gmail.com"],
    deny_addresses=["former@partner.co.jp"],
    partners=[{"name": "さくら商事", "domains": ["sakura-shoji.co.jp"], "addresses": ["boss@freemail.example"]}],
    sender_groups={
        "hr": {
            "senders": ["hr.example.co.jp", "chief@example.co.jp"],
            "allow_domains": ["gmail.com"],
            "deny_domains": ["partner.co.jp"],
        }
    },
)

LIST_CASES = [
    # sender, recipient, verdict, source, partner
    ("taro@example.co.jp", "a@partner.co.jp", "allow", "global", None),
    ("taro@example.co.jp", "a@mail.partner.co.jp", "allow", "global", None),
    ("taro@example.co.jp", "a@bad.partner.co.jp", "deny", "global", None),  # more specific domain
    ("taro@example.co.jp", "former@partner.co.jp", "deny", "global", None),  # address beats domain
    ("taro@example.co.jp", "x@gmail.com", "deny", "global", None),
    ("taro@example.co.jp", "ok.person@gmail.com", "allow", "global", None),  # address beats domain
    ("taro@example.co.jp", "a@sakura-shoji.co.jp", "allow", "global", "さくら商事"),
    ("taro@example.co.jp", "boss@freemail.example", "allow", "global", "さくら商事"),
    ("taro@example.co.jp", "a@unknown.example", None, None, None),
    # group hr: gmail allowed at the same level as the global deny -> deny wins
    ("x@hr.example.co.jp", "x@gmail.com", "deny", "global", None),
    # group hr: partner.co.jp denied at the same level as the global allow -> deny wins
    ("chief@example.co.jp", "a@partner.co.jp", "deny", "group:hr", None),
    ("chief@example.co.jp", "ok.person@gmail.com", "allow", "global", None),
]


@pytest.mark.parametrize(("sender", "rcpt", "verdict", "source", "partner"), LIST_CASES)
def test_list_precedence(sender: str, rcpt: str, verdict: str | None, source: str | None, partner: str | None) -> None:
    index = RecipientListIndex(LISTS)
    m = index.match(index.indexes_for(sender), rcpt, rcpt.rpartition("@")[2])
    assert (m.verdict.value if m.verdict else None) == verdict
    assert (m.entry.source if m.entry else None) == source
    assert m.partner == partner


def test_group_membership() -> None:
    index = RecipientListIndex(LISTS)
    assert index.groups_of("a@hr.example.co.jp") == ["hr"]
    assert index.groups_of("chief@example.co.jp") == ["hr"]
    assert index.groups_of("other@example.co.jp") == []
    assert index.groups_of("") == []


def test_group_allow_of_a_more_specific_address_beats_global_domain_deny() -> None:
    cfg = _cfg(
        deny_domains=["gmail.com"],
        sender_groups={"hr": {"senders": ["hr@x.co.jp"], "allow_addresses": ["c@gmail.com"]}},
    )
    index = RecipientListIndex(cfg)
    m = index.match(index.indexes_for("hr@x.co.jp"), "c@gmail.com", "gmail.com")
    assert m.verdict is ListVerdict.ALLOW and m.entry is not None and m.entry.source == "group:hr"
    m = index.match(index.indexes_for("other@x.co.jp"), "c@gmail.com", "gmail.com")
    assert m.verdict is ListVerdict.DENY


def test_settings_normalise_entries() -> None:
    cfg = _cfg(allow_domains=["Partner.CO.JP", "@例え.jp"], deny_addresses=["Former@Partner.co.jp"])
    assert cfg.allow_domains == ["partner.co.jp", "xn--r8jz45g.jp"]
    assert cfg.deny_addresses == ["former@partner.co.jp"]


@pytest.mark.parametrize(
    "bad",
    [
        {"allow_domains": ["not a domain"]},
        {"deny_addresses": ["a%b@example.com"]},
        {"partners": [{"name": "", "domains": ["x.co.jp"]}]},
        {"sender_groups": {"g": {"senders": []}}},
        {"unknown_key": 1},
        {"lookalike": {"max_distance": 9}},
        {"dns": {"timeout": 0}},
        {"extra_public_suffixes": ["a.*.jp"]},
    ],
)
def test_settings_reject_bad_values(bad: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        _cfg(**bad)


def test_settings_are_frozen_and_documented() -> None:
    cfg = RecipientsConfig()
    with pytest.raises(pydantic.ValidationError):
        cfg.first_time_window_days = 1  # type: ignore[misc]
    for model in (RecipientsConfig, LookalikeConfig, DnsCheckConfig, PartnerEntry, SenderGroup):
        assert model.model_config.get("extra") == "forbid" and model.model_config.get("frozen")
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
