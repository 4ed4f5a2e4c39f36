"""Who is this really going to? `assess_recipients` gives every envelope recipient and the message
the signals the rules decide on, each with a reason in Japanese and English.

Envelope recipients are the truth about where the mail goes; To/Cc/Bcc only tell who is visible to
whom, and are read with the strict parser in `address.py`.

    ctx = RecipientContext.create(config.recipients, config.organization.internal_domains,
                                  history=open_history(config.store.url))
    assessment = await assess_recipients(envelope, headers, ctx)
    assessment.to_json()   # -> `gateway check --json` under "recipients"
"""

from __future__ import annotations

import asyncio
import email.message
import logging
import time
from collections.abc import Callable, Iterable

import dns.asyncresolver

from gateway.config.recipients import RecipientsConfig
from gateway.mail.addresses import (
    AddressError,
    mask,
    normalise_domain,
    parse_address,
    parse_address_list,
    unicode_domain,
)
from gateway.message import Envelope
from gateway.recipients.dnscheck import DnsStatus, DomainChecker
from gateway.recipients.domains import Classifier, Organisations, RecipientClass, in_domain
from gateway.recipients.history import DAY, RecipientHistory
from gateway.recipients.lists import ListVerdict, RecipientListIndex
from gateway.recipients.lookalike import KIND_ORDER, LookalikeIndex, is_mixed_script
from gateway.recipients.model import RecipientAssessment, RecipientRisk
from gateway.recipients.reasons import reason

log = logging.getLogger(__name__)

_VISIBLE_HEADERS = ("to", "cc", "bcc")


class RecipientContext:
    """Everything built once at start-up: indexes of the lists, the known domains, history, DNS."""

    def __init__(
        self,
        config: RecipientsConfig,
        internal_domains: Iterable[str],
        history: RecipientHistory | None = None,
        checker: DomainChecker | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.internal = [normalise_domain(d) for d in internal_domains]
        self.orgs = Organisations(config.extra_public_suffixes)
        if history is not None and history.orgs.extra_suffixes != self.orgs.extra_suffixes:
            # What delivery records must be what we read: open it with open_node_history.
            raise ValueError("the recipient history was opened with other organisation rules")
        self.classifier = Classifier(self.internal, config.affiliate_domains)
        self.lists = RecipientListIndex(config)
        self.history = history
        self.checker = checker if config.dns.enabled else None
        self.clock = clock
        self.static_known = self._static_known()
        self.lookalikes = LookalikeIndex(self.static_known, self.orgs, config.lookalike)
        self._frequent_at: float | None = None
        self._refresh_lock = asyncio.Lock()

    @classmethod
    def create(
        cls,
        config: RecipientsConfig,
        internal_domains: Iterable[str],
        history: RecipientHistory | None = None,
        resolver: dns.asyncresolver.Resolver | None = None,
    ) -> RecipientContext:
        """The usual set-up: a DNS checker with the configured resolver unless DNS checks are off."""
        checker = DomainChecker(config.dns, resolver) if config.dns.enabled else None
        return cls(config, internal_domains, history, checker)

    def _static_known(self) -> dict[str, str]:
        by_kind: dict[str, list[str]] = {k: [] for k in KIND_ORDER}
        by_kind["internal"] = list(self.internal)
        by_kind["affiliate"] = list(self.config.affiliate_domains)
        for domain, kind in self.lists.all_domains().items():
            by_kind[kind].append(domain)
        by_kind["protected"] = list(self.config.lookalike.protected_domains)
        known: dict[str, str] = {}
        for kind in KIND_ORDER:
            for d in by_kind[kind]:
                known.setdefault(self.orgs.of(d), kind)
        return known

    async def refresh(self, now: float | None = None) -> None:
        """Re-read the frequently used organisations from the history and rebuild the lookalike index."""
        now = self.clock() if now is None else now
        known = dict(self.static_known)
        lk = self.config.lookalike
        if self.history is not None and lk.enabled and lk.frequent_domains:
            since = now - self.config.org_first_time_window_days * DAY
            try:
                top = await asyncio.to_thread(self.history.top_domains, lk.frequent_domains, since)
            except Exception as e:  # the store being away must not stop assessments: try again later
                log.warning("frequently used domains unavailable: %s", e.__class__.__name__)
                self._frequent_at = now
                return
            for org, _count in top:
                known.setdefault(org, "frequent")
        self.lookalikes = LookalikeIndex(known, self.orgs, lk)
        self._frequent_at = now

    async def refresh_if_due(self, now: float) -> None:
        if self.history is None:
            return
        due = self._frequent_at is None or now - self._frequent_at >= self.config.lookalike.frequent_refresh_seconds
        if due:
            async with self._refresh_lock:
                if self._frequent_at is None or now - self._frequent_at >= (
                    self.config.lookalike.frequent_refresh_seconds
                ):
                    await self.refresh(now)


def _visible(headers: email.message.Message | None, result: RecipientAssessment) -> dict[str, str]:
    """Address -> first header it is shown in ('to', 'cc', 'bcc'), parsed strictly."""
    shown: dict[str, str] = {}
    if headers is None:
        return shown
    result.headers_seen = True
    items = headers.raw_items() if hasattr(headers, "raw_items") else headers.items()
    found: dict[str, list[str]] = {h: [] for h in _VISIBLE_HEADERS}
    for name, value in items:
        key = name.lower()
        if key in found:
            parsed = parse_address_list(str(value))
            found[key].extend(a.normalised for a in parsed.addresses)
            result.header_errors.extend(f"{name}: {e}" for e in parsed.errors)
        elif key in ("in-reply-to", "references") and str(value).strip():
            result.is_reply = True
    for key in _VISIBLE_HEADERS:  # To before Cc before Bcc
        for a in found[key]:
            shown.setdefault(a, key)
    return shown


def _source_text(source: str | None) -> str:
    if not source or source == "global":
        return "global"
    return source.replace("group:", "group ", 1)


async def assess_recipients(
    envelope: Envelope,
    headers: email.message.Message | None,
    ctx: RecipientContext,
    *,
    now: float | None = None,
) -> RecipientAssessment:
    """Assess every envelope recipient and the message. Never raises for bad input: an invalid
    address is a signal; a DNS or history failure leaves facts unknown (None / 'unknown')."""
    now = ctx.clock() if now is None else now
    await ctx.refresh_if_due(now)
    cfg = ctx.config

    # The sender: who is this, and may it send through us?
    sender, sender_domain, sender_class = "", "", "null"
    if not envelope.is_null_sender:
        try:
            s = parse_address(envelope.mail_from)
            sender, sender_domain = s.normalised, s.domain
            sender_class = ctx.classifier.classify(s.domain).value
        except AddressError:
            sender_class = "invalid"
    result = RecipientAssessment(sender, sender_class, ctx.lists.groups_of(sender))
    indexes = ctx.lists.indexes_for(sender)
    shown = _visible(headers, result)

    # Per recipient: what can be decided from configuration alone.
    risks: list[RecipientRisk] = []
    seen: set[str] = set()
    for raw in envelope.rcpt_tos:
        try:
            addr = parse_address(raw)
        except AddressError as e:
            risk = RecipientRisk(raw, RecipientClass.EXTERNAL, valid=False)
            risk.add("invalid_address", reason("invalid_address", detail=str(e)))
            risks.append(risk)
            continue
        if addr.normalised in seen:
            continue
        seen.add(addr.normalised)
        domain = addr.domain
        org = ctx.orgs.of(domain)
        risk = RecipientRisk(
            addr.normalised,
            ctx.classifier.classify(domain),
            domain=domain,
            domain_unicode=unicode_domain(domain),
            organisation=org,
        )
        if result.headers_seen:
            risk.visibility = shown.get(addr.normalised, "hidden")
        match = ctx.lists.match(indexes, addr.normalised, domain)
        if match.verdict is not None and match.entry is not None:
            risk.list_verdict = match.verdict.value
            risk.list_entry = match.entry.entry
            risk.list_source = match.entry.source
        risk.partner = match.partner
        if risk.recipient_class is not RecipientClass.INTERNAL:
            found = ctx.lookalikes.check(domain, org)
            if found is not None:
                risk.lookalike_of = found.of
                risk.lookalike_kind = found.kind
                risk.lookalike_reason = found.reason.value
                risk.lookalike_distance = found.distance
        risks.append(risk)

    # What needs the store and DNS, concurrently.
    assessable = [r for r in risks if r.valid and r.recipient_class is not RecipientClass.INTERNAL]
    to_check = [
        r.domain for r in risks if r.valid and (r.recipient_class is RecipientClass.EXTERNAL or cfg.dns.check_internal)
    ]
    history_task = _history_facts(ctx, sender, assessable, now)
    dns_task = ctx.checker.check_many(to_check) if ctx.checker is not None and to_check else _nothing()
    (sent, orgs_seen), dns_status = await asyncio.gather(history_task, dns_task)

    for r in risks:
        if not r.valid:
            continue
        _explain(r, cfg, ctx, sent, orgs_seen, dns_status)
    result.recipients = risks
    _message_signals(result, ctx, shown, sender_domain)
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "recipients of %s: %d assessed, signals %s",
            mask(sender) if sender else "<>",
            len(risks),
            sorted(result.all_signals()),
        )
    return result


async def _nothing() -> dict[str, DnsStatus]:
    return {}


async def _history_facts(
    ctx: RecipientContext, sender: str, risks: list[RecipientRisk], now: float
) -> tuple[set[str] | None, set[str] | None]:
    """(addresses the sender mailed, organisations anyone mailed) within the windows; None if unknown."""
    if ctx.history is None or not risks:
        return None, None
    history = ctx.history
    cfg = ctx.config
    since_sender = now - cfg.first_time_window_days * DAY
    since_org = now - cfg.org_first_time_window_days * DAY
    addresses = [r.address for r in risks]
    orgs = list(dict.fromkeys(r.organisation for r in risks))

    def lookup() -> tuple[set[str] | None, set[str]]:
        sent = history.sent_to(sender, addresses, since_sender) if sender else None
        return sent, history.orgs_seen(orgs, since_org)

    try:
        return await asyncio.to_thread(lookup)
    except Exception as e:  # the store being away must not stop the assessment: facts stay unknown
        log.warning("recipient history unavailable: %s", e.__class__.__name__)
        return None, None


def _explain(
    r: RecipientRisk,
    cfg: RecipientsConfig,
    ctx: RecipientContext,
    sent: set[str] | None,
    orgs_seen: set[str] | None,
    dns_status: dict[str, DnsStatus],
) -> None:
    """Fill signals and reasons in a fixed order (class, lists, lookalike, IDN, DNS, history, Bcc)."""
    org = unicode_domain(r.organisation)
    domain = r.domain_unicode
    r.add(r.recipient_class.value, reason(r.recipient_class.value, org=org))
    if r.list_verdict == ListVerdict.DENY:
        r.add("denied", reason("denied", entry=r.list_entry, source=_source_text(r.list_source)))
    elif r.list_verdict == ListVerdict.ALLOW:
        r.add("allowed", reason("allowed", entry=r.list_entry, source=_source_text(r.list_source)))
    if r.partner:
        r.add("partner", reason("partner", partner=r.partner))
    if r.lookalike_of:
        r.add(
            "lookalike",
            reason(
                "lookalike",
                domain=domain,
                of=unicode_domain(r.lookalike_of),
                kind=r.lookalike_kind,
                how=r.lookalike_reason,
                distance=r.lookalike_distance,
            ),
        )
    if any(label.startswith("xn--") for label in r.domain.split(".")):
        r.add("idn", reason("idn", domain=f"{domain} = {r.domain}"))
        if is_mixed_script(r.domain):
            r.add("mixed_script", reason("mixed_script", domain=domain))
    if r.domain in dns_status:
        r.dns = dns_status[r.domain]
        code = {
            DnsStatus.NXDOMAIN: "dns_nxdomain",
            DnsStatus.NO_MAIL: "dns_no_mail",
            DnsStatus.UNKNOWN: "dns_unknown",
        }.get(r.dns)
        if code:
            r.add(code, reason(code, domain=domain))
    if r.recipient_class is not RecipientClass.INTERNAL:
        if orgs_seen is not None:
            r.first_time_org = r.organisation not in orgs_seen
            if r.first_time_org:
                days = f"{cfg.org_first_time_window_days:g}"
                r.add("first_time_org", reason("first_time_org", org=org, days=days))
        if sent is not None:
            r.first_time_sender = r.address not in sent
            if r.first_time_sender:
                days = f"{cfg.first_time_window_days:g}"
                r.add("first_time_sender", reason("first_time_sender", days=days))
    if r.visibility in ("hidden", "bcc"):
        r.add("hidden", reason("hidden"))


def _message_signals(
    result: RecipientAssessment, ctx: RecipientContext, shown: dict[str, str], sender_domain: str
) -> None:
    cfg = ctx.config
    external = [r for r in _valid(result.recipients) if r.is_external]
    identities = list(dict.fromkeys(r.partner or r.organisation for r in external))
    result.external_organisations = identities
    if len(identities) >= cfg.external_orgs_threshold:
        names = [unicode_domain(o) for o in identities[:5]] + (["…"] if len(identities) > 5 else [])
        result.add(
            "multiple_external_orgs",
            reason("multiple_external_orgs", count=len(identities), orgs=", ".join(names), orgs_ja="、".join(names)),
        )
    visible = [a for a, where in shown.items() if where in ("to", "cc")]
    result.visible_recipients = len(visible)
    result.visible_external = sum(
        1 for a in visible if ctx.classifier.classify(a.rpartition("@")[2]) is RecipientClass.EXTERNAL
    )
    if result.visible_external >= cfg.visible_external_threshold:
        result.add("many_visible_external", reason("many_visible_external", count=result.visible_external))
    result.hidden_external = sum(1 for r in external if r.visibility in ("hidden", "bcc"))
    if result.hidden_external:
        result.add("external_in_bcc", reason("external_in_bcc", count=result.hidden_external))
    if result.is_reply and result.visible_recipients >= cfg.reply_all_threshold:
        result.add("reply_all_many", reason("reply_all_many", count=result.visible_recipients))
    if result.sender_class != "null" and not (
        result.sender_class == "internal"
        or any(in_domain(sender_domain, d) for d in cfg.allowed_sender_domains if sender_domain)
    ):
        shown_domain = unicode_domain(sender_domain) if sender_domain else "(invalid)"
        result.add("sender_not_internal", reason("sender_not_internal", domain=shown_domain))
    if result.header_errors:
        bad_headers = ", ".join(sorted({e.split(":", 1)[0] for e in result.header_errors}))
        result.add("header_unparseable", reason("header_unparseable", headers=bad_headers))


def _valid(risks: list[RecipientRisk]) -> list[RecipientRisk]:
    return [r for r in risks if r.valid]
