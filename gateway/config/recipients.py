"""`recipients:` in config.yaml: who counts as internal, affiliate, allowed, denied, and how hard to look.

Domains are written as in mail (`example.co.jp`, `例え.jp`) and stored in their ASCII form
(`xn--r8jz45g.jp`), lower case. A domain entry covers the domain and all its subdomains. Address
entries are whole addresses, compared without regard to case.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.mail.addresses import AddressError, normalise_domain, parse_address

# The PSL lists only 'lg.jp', which would make every Tokyo municipality one organisation 'tokyo.lg.jp'.
DEFAULT_EXTRA_SUFFIXES = ("*.lg.jp",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _domains(values: list[str]) -> list[str]:
    out = []
    for v in values:
        try:
            out.append(normalise_domain(v.strip().lstrip("@")))
        except AddressError as e:
            raise ValueError(f"not a domain: {v!r} ({e})") from None
    return out


def _addresses(values: list[str]) -> list[str]:
    out = []
    for v in values:
        try:
            out.append(parse_address(v.strip()).normalised)
        except AddressError as e:
            raise ValueError(f"not an address: {v!r} ({e})") from None
    return out


class PartnerEntry(_Strict):
    """A known partner: its domains and addresses are allowed, and its name appears in reasons and pages."""

    name: str = Field(min_length=1, description="Display name shown to senders, e.g. 'さくら商事'.")
    domains: list[str] = Field(default_factory=list, description="The partner's domains (and subdomains).")
    addresses: list[str] = Field(default_factory=list, description="Single addresses at the partner.")

    @field_validator("domains")
    @classmethod
    def _check_domains(cls, v: list[str]) -> list[str]:
        return _domains(v)

    @field_validator("addresses")
    @classmethod
    def _check_addresses(cls, v: list[str]) -> list[str]:
        return _addresses(v)


class RecipientLists(_Strict):
    """Allow and deny lists. The most specific entry wins (an address beats a domain, a subdomain beats
    its parent); between an allow and a deny entry equally specific, deny wins."""

    allow_domains: list[str] = Field(default_factory=list, description="Allowed recipient domains.")
    allow_addresses: list[str] = Field(default_factory=list, description="Allowed recipient addresses.")
    deny_domains: list[str] = Field(default_factory=list, description="Recipient domains never to send to.")
    deny_addresses: list[str] = Field(default_factory=list, description="Recipient addresses never to send to.")
    partners: list[PartnerEntry] = Field(
        default_factory=list, description="Allowed partners with a display name (domains and addresses)."
    )

    @field_validator("allow_domains", "deny_domains")
    @classmethod
    def _check_domains(cls, v: list[str]) -> list[str]:
        return _domains(v)

    @field_validator("allow_addresses", "deny_addresses")
    @classmethod
    def _check_addresses(cls, v: list[str]) -> list[str]:
        return _addresses(v)


class SenderGroup(RecipientLists):
    """Lists that apply only to mail from the group's senders (in addition to the global lists)."""

    senders: list[str] = Field(
        min_length=1,
        description="Members: addresses ('taro@example.co.jp') or domains ('sales.example.co.jp', with "
        "subdomains) of the envelope sender.",
    )

    @field_validator("senders")
    @classmethod
    def _senders(cls, v: list[str]) -> list[str]:
        return [_addresses([s])[0] if "@" in s.strip().lstrip("@") else _domains([s])[0] for s in v]


class LookalikeConfig(_Strict):
    """A recipient domain close to a known one but not equal to it (typo, 1/l, homoglyph, other TLD)."""

    enabled: bool = Field(default=True, description="Look for lookalike recipient domains at all.")
    min_name_length: int = Field(
        default=4,
        ge=1,
        description="Names (the label before the public suffix) shorter than this are "
        "never compared by edit distance: 'abc' and 'abd' are simply different companies.",
    )
    max_distance: int = Field(default=1, ge=0, le=3, description="Edit distance flagged for short names.")
    long_name_length: int = Field(default=9, ge=1, description="From this name length on, `max_distance_long` applies.")
    max_distance_long: int = Field(default=2, ge=0, le=4, description="Edit distance flagged for long names.")
    frequent_domains: int = Field(
        default=500,
        ge=0,
        description="How many of the most-mailed organisations (from the delivery "
        "history) are protected as 'frequently used'.",
    )
    frequent_refresh_seconds: float = Field(
        default=600.0, gt=0, description="How often the frequently-used list is re-read from the history."
    )
    protected_domains: list[str] = Field(
        default_factory=list, description="More domains to protect against lookalikes (not allow-listed)."
    )
    ignore_domains: list[str] = Field(
        default_factory=list, description="Recipient domains never flagged as lookalikes."
    )
    check_known_domains: bool = Field(
        default=False,
        description="Also compare recipients that are themselves known (internal, "
        "affiliate, allow-listed, partner, frequently used). Off: two known partners example.com and "
        "example.org are never flagged as lookalikes of each other.",
    )

    @field_validator("protected_domains", "ignore_domains")
    @classmethod
    def _check_domains(cls, v: list[str]) -> list[str]:
        return _domains(v)


class DnsCheckConfig(_Strict):
    """Does the recipient domain exist and accept mail (MX, or A/AAAA as implicit MX)?"""

    enabled: bool = Field(default=True, description="Check recipient domains in DNS at all.")
    nameservers: list[str] = Field(default_factory=list, description="Resolvers to ask; empty means /etc/resolv.conf.")
    port: int = Field(default=53, gt=0, le=65535, description="Port of the resolvers in `nameservers`.")
    timeout: float = Field(default=2.0, gt=0, description="Seconds for one DNS query (a failure is 'unknown').")
    cache_ttl: float = Field(default=3600.0, ge=0, description="Seconds a 'exists' answer is cached.")
    negative_cache_ttl: float = Field(
        default=300.0, ge=0, description="Seconds an 'nxdomain' or 'no-mail' answer is cached."
    )
    unknown_cache_ttl: float = Field(
        default=30.0,
        ge=0,
        description="Seconds a failed lookup ('unknown') is cached, so a dead "
        "resolver is not asked again for every recipient.",
    )
    cache_size: int = Field(default=20_000, gt=0, description="Domains kept in the cache.")
    max_concurrent: int = Field(default=20, gt=0, description="Lookups in flight at once.")
    check_internal: bool = Field(default=False, description="Also check internal and affiliate domains.")


class MisaddressedConfig(_Strict):
    """Content addressed to someone other than its recipients (gateway/recipients/misaddressed.py)."""

    enabled: bool = Field(default=True, description="Learn who is who from delivered mail and compare.")
    max_orgs_per_name: int = Field(
        default=2,
        ge=1,
        description="A name known at more external organisations than this (a common surname, a generic "
        "word) proves nothing and is never a mismatch.",
    )
    widely_shared_files: int = Field(
        default=3,
        ge=1,
        description="An attachment already sent to more organisations than this (a brochure, terms and "
        "conditions) is not flagged when it goes to another one, unless it holds personal data.",
    )
    min_attachment_bytes: int = Field(
        default=256, ge=0, description="Attachments smaller than this are not compared (icons, tiny files)."
    )


class RecipientsConfig(RecipientLists):
    """Everything the recipient assessment needs besides `organization.internal_domains`.

    The allow/deny/partner fields inherited from RecipientLists are the global lists.
    """

    affiliate_domains: list[str] = Field(
        default_factory=list, description="Group companies: neither internal nor external ('affiliate')."
    )
    extra_public_suffixes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EXTRA_SUFFIXES),
        description="Suffixes added to the Public Suffix List when deciding the organisation. The PSL "
        "lists only 'lg.jp', so every Tokyo municipality would be the one organisation 'tokyo.lg.jp'; "
        "'*.lg.jp' makes city.shibuya.tokyo.lg.jp the organisation shibuya.tokyo.lg.jp.",
    )
    sender_groups: dict[str, SenderGroup] = Field(
        default_factory=dict, description="Named groups of senders with their own lists."
    )
    first_time_window_days: float = Field(
        default=365.0,
        gt=0,
        description="A recipient this sender has not mailed within this many days is 'first time' for the sender.",
    )
    org_first_time_window_days: float = Field(
        default=365.0,
        gt=0,
        description="An organisation nobody here has mailed within this many days "
        "is 'first time' for the organisation.",
    )
    history_retention_days: float = Field(
        default=400.0,
        gt=0,
        description="Recipient history last used longer ago than this is deleted (every 6 hours by the "
        "delivery part, or at once with `gateway history prune`). At least both first-time windows.",
    )
    lookalike: LookalikeConfig = Field(
        default_factory=LookalikeConfig, description="Lookalike-domain detection (see LookalikeConfig)."
    )
    dns: DnsCheckConfig = Field(
        default_factory=DnsCheckConfig, description="DNS checks of recipient domains (see DnsCheckConfig)."
    )
    misaddressed: MisaddressedConfig = Field(
        default_factory=MisaddressedConfig,
        description="Content addressed to someone else: addressee mismatch, display names, threads, "
        "attachments (see MisaddressedConfig).",
    )
    visible_external_threshold: int = Field(
        default=10,
        ge=1,
        description="This many external addresses visible in To/Cc raise "
        "'many_visible_external' (candidates for Bcc conversion).",
    )
    external_orgs_threshold: int = Field(
        default=2,
        ge=2,
        description="This many distinct external organisations in one message raise "
        "'multiple_external_orgs' (two unrelated customers in one mail).",
    )
    reply_all_threshold: int = Field(
        default=5,
        ge=2,
        description="A reply (In-Reply-To/References) to this many visible recipients raises 'reply_all_many'.",
    )
    allowed_sender_domains: list[str] = Field(
        default_factory=list,
        description="Envelope sender domains accepted besides the internal ones "
        "(e.g. affiliates relaying through us). Others raise 'sender_not_internal'.",
    )

    @field_validator("affiliate_domains", "allowed_sender_domains")
    @classmethod
    def _check_other_domains(cls, v: list[str]) -> list[str]:
        return _domains(v)

    @field_validator("extra_public_suffixes")
    @classmethod
    def _suffixes(cls, v: list[str]) -> list[str]:
        out = []
        for s in v:
            s = s.strip().lower().strip(".")
            labels = s.split(".")
            if not s or any(not lab for lab in labels) or "*" in "".join(labels[1:]) or len(labels) < 2:
                raise ValueError(f"not a suffix rule: {s!r} (e.g. 'lg.jp' or '*.lg.jp')")
            if labels[0] != "*":
                normalise_domain(s)
            out.append(s)
        return out

    @model_validator(mode="after")
    def _retention_covers_the_windows(self) -> RecipientsConfig:
        longest = max(self.first_time_window_days, self.org_first_time_window_days)
        if self.history_retention_days < longest:
            raise ValueError(
                f"history_retention_days ({self.history_retention_days:g}) must be at least the longest "
                f"first-time window ({longest:g} days), or recipients would look new again too early"
            )
        return self
