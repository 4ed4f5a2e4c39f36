"""Is the content addressed to someone other than its recipients? Four signals, each with evidence
(what the mail says / where it goes) and a reason in Japanese and English:

- `addressee_mismatch`: a name in an addressee position (greeting, subject, attachment name or first
  lines; see addressees.py) is known at another external organisation than the recipients';
- `display_name_elsewhere`: a recipient's display name is a known contact at another organisation
  (same person name, other domain: the autocomplete slip);
- `thread_new_org`: a reply in a thread that so far went to organisation A now also goes to C;
- `attachment_seen_elsewhere`: an attachment identical to one sent before to another organisation.

Only external recipients are compared; mail without any is never flagged. What is known comes from
the contact book (contacts.py, learned from delivered mail) and from configuration (partner names,
the directory's external people). A name unknown everywhere (a first contact) never raises a signal,
and one known at many organisations (`max_orgs_per_name`) proves nothing.
"""

from __future__ import annotations

import asyncio
import email.header
import email.message
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway.config.recipients import RecipientsConfig
from gateway.content import Extraction
from gateway.mail.addresses import AddressError, parse_address, unicode_domain
from gateway.recipients.addressees import ATTACHMENT, BODY, FILE_NAME, SUBJECT, Addressee, addressees_of
from gateway.recipients.contacts import (
    DISPLAY,
    MAX_THREAD_IDS,
    NAME,
    ORG,
    PERSON,
    SHORT,
    SURNAME,
    ContactBook,
    Lesson,
    NameRow,
)
from gateway.recipients.domains import Organisations
from gateway.recipients.history import DAY
from gateway.recipients.model import RecipientAssessment, RecipientRisk
from gateway.recipients.names import org_key, person_key, short_forms, surname_key
from gateway.recipients.reasons import Reason

log = logging.getLogger(__name__)

SIGNALS = ("addressee_mismatch", "display_name_elsewhere", "thread_new_org", "attachment_seen_elsewhere")
_MSGID = re.compile(r"<[^<>\s]{1,250}>")
# `"Display Name" <addr>` or `Display Name <addr>` in a decoded To/Cc value (the address is checked
# against the envelope, so a display name is only ever advice about a recipient we already know).
_NAME_ADDR = re.compile(r'(?:^|,)\s*(?:"((?:[^"\\]|\\.){0,200})"|([^,<>"]{0,200}?))\s*<([^<>\s,]{1,320})>')

_WHERE_JA = {
    BODY: "本文の宛名",
    SUBJECT: "件名の宛名",
    FILE_NAME: "添付ファイル名「{attachment}」の宛名",
    ATTACHMENT: "添付ファイル「{attachment}」冒頭の宛名",
}
_WHERE_EN = {
    BODY: "addressee in the body",
    SUBJECT: "addressee in the subject",
    FILE_NAME: "addressee in the attachment name \u201c{attachment}\u201d",
    ATTACHMENT: "addressee at the top of the attachment \u201c{attachment}\u201d",
}


@dataclass(frozen=True)
class Evidence:
    signal: str
    seen: str  # what the mail says
    where: str  # body | subject | attachment_name | attachment | display_name | thread | attachment_file
    known_at: tuple[str, ...]  # organisations it belongs to (readable)
    goes_to: tuple[str, ...]  # where the mail goes (readable)
    reason: Reason
    attachment: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "seen": self.seen,
            "where": self.where,
            "attachment": self.attachment,
            "known_at": list(self.known_at),
            "goes_to": list(self.goes_to),
            "ja": self.reason.ja,
            "en": self.reason.en,
        }


@dataclass
class Addressing:
    """The outcome for one message: signals with evidence, the addressees read, and the lesson."""

    assessed: bool = False  # False: internal mail, disabled, or the contact book unreachable
    addressees: list[Addressee] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    lesson: Lesson = field(default_factory=Lesson)

    @property
    def signals(self) -> list[str]:
        return list(dict.fromkeys(e.signal for e in self.evidence))

    def has(self, signal: str) -> bool:
        return any(e.signal == signal for e in self.evidence)

    def to_json(self) -> dict[str, Any]:
        return {
            "assessed": self.assessed,
            "signals": self.signals,
            "addressees": [a.to_json() for a in self.addressees],
            "evidence": [e.to_json() for e in self.evidence],
        }


class AddressingContext:
    """Built once per node: the contact book, and the names configuration makes known."""

    def __init__(
        self,
        config: RecipientsConfig,
        contacts: ContactBook | None,
        orgs: Organisations | None = None,
        clock: Callable[[], float] = time.time,
        is_external: Callable[[str], bool] | None = None,
    ) -> None:
        self.config = config
        self.is_external = is_external or (lambda domain: True)
        self._people: object = None  # the directory last taken (use_directory)
        self._configured: dict[str, list[tuple[str, str]]] = {}
        self.settings = config.misaddressed
        self.contacts = contacts
        self.orgs = orgs or Organisations(config.extra_public_suffixes)
        self.clock = clock
        self.static: dict[str, list[tuple[str, str]]] = {}  # key -> [(kind, org)]
        self.partner_orgs: dict[str, set[str]] = {}
        for p in config.partners:
            orgs_of = {self.orgs.of(d) for d in p.domains} | {self.orgs.of(a.rpartition("@")[2]) for a in p.addresses}
            self.partner_orgs[p.name] = orgs_of
            for org in orgs_of:
                self.add_known_org(p.name, org)
        self._configured = {k: list(v) for k, v in self.static.items()}

    def add_known_org(self, name: str, org: str) -> None:
        """An organisation's name from configuration (a partner's display name)."""
        key = org_key(name)
        if key:
            self.static.setdefault(key, []).append((ORG, org))
            for s in short_forms(key):
                self.static.setdefault(s, []).append((SHORT, org))

    def use_directory(self, people: Iterable[tuple[str, str]], source: object) -> None:
        """The directory's people (name, address): those at external addresses are known contacts.
        Rebuilt only when `source` (the loaded directory) changes, so a policy reload brings new names."""
        if source is self._people:
            return
        self.static = {k: list(v) for k, v in self._configured.items()}
        for name, address in people:
            if name:
                self.add_known_person(name, address)
        self._people = source

    def add_known_person(self, name: str, address: str) -> None:
        """A person at an external address (the directory's external entries)."""
        try:
            domain = parse_address(address).domain
        except AddressError:
            return
        if not self.is_external(domain):
            return
        org = self.orgs.of(domain)
        for kind, key in ((DISPLAY, person_key(name)), (SURNAME, surname_key(name))):
            if key:
                self.static.setdefault(key, []).append((kind, org))


def _display_names(headers: email.message.Message | None, wanted: set[str]) -> dict[str, str]:
    """address -> display name from To/Cc, for the envelope's external recipients only. The header
    parser only supplies the advisory display name; the address must be one the envelope names."""
    out: dict[str, str] = {}
    if headers is None or not wanted:
        return out
    for name in ("to", "cc"):
        for value in headers.get_all(name) or []:
            try:
                text = str(value)
                if "=?" in text:  # no encoded word: decoding would give the same text back
                    text = str(email.header.make_header(email.header.decode_header(text)))
            except Exception:  # an encoded word that does not decode: no display names from it
                continue
            for m in _NAME_ADDR.finditer(text):
                display = (m.group(1) if m.group(1) is not None else m.group(2) or "").strip()
                addr = m.group(3).strip().lower()
                if display and addr in wanted and addr not in out:
                    out[addr] = display.replace('\\"', '"')[:100]
    return out


def _thread_ids(headers: email.message.Message | None) -> tuple[str, list[str]]:
    """(this message's Message-ID, the ids it refers to: In-Reply-To and References, newest last)."""
    if headers is None:
        return "", []
    own = _MSGID.findall(str(headers.get("message-id", "") or ""))
    refs: list[str] = []
    for name in ("references", "in-reply-to"):
        for value in headers.get_all(name) or []:
            refs.extend(_MSGID.findall(str(value)))
    return (own[0] if own else ""), list(dict.fromkeys(refs))[-MAX_THREAD_IDS:]


def _readable(orgs: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(unicode_domain(o) for o in orgs))


def _join(orgs: Iterable[str], lang: str) -> str:
    items = list(orgs)
    shown = items[:3] + (["…"] if len(items) > 3 else [])
    return ("、" if lang == "ja" else ", ").join(shown)


async def assess_addressing(
    headers: email.message.Message | None,
    extraction: Extraction,
    recipients: RecipientAssessment,
    ctx: AddressingContext,
    *,
    pii_attachments: Iterable[str] = (),
    now: float | None = None,
    compare: bool = True,
) -> Addressing:
    """The four signals for one message. Never raises: a store failure leaves it unassessed.
    With compare=False (no rule reads the signals) only the lesson is worked out, for learning."""
    result = Addressing()
    external = [r for r in recipients.recipients if r.valid and r.is_external]
    if not external or not ctx.settings.enabled:
        return result
    now = ctx.clock() if now is None else now
    result.addressees = addressees_of(extraction)
    displays = _display_names(headers, {r.address for r in external})
    own_id, refs = _thread_ids(headers)
    files = _files(extraction, ctx.settings.min_attachment_bytes)
    result.lesson = _lesson(result.addressees, external, displays, own_id, refs, list(files))
    if ctx.contacts is None or not compare:
        return result

    keys: set[str] = set()
    for ad in result.addressees:
        keys.update(k for k in (ad.key, ad.org_key, ad.person_key) if k)
        keys.update(short_forms(ad.org_key) if ad.org_key else ())
    keys.update(k for d in displays.values() for k in (person_key(d), surname_key(d)) if k)
    since = now - ctx.config.history_retention_days * DAY
    book = ctx.contacts

    def lookup() -> tuple[list[NameRow], set[str], dict[str, set[str]]]:
        return (
            book.names(sorted(keys), since) if keys else [],
            book.thread_orgs(refs, since) if refs else set(),
            book.file_orgs(list(files), since) if files else {},
        )

    if not (keys or refs or files):
        result.assessed = True
        return result
    try:
        rows, thread_orgs, file_orgs = await asyncio.to_thread(lookup)
    except Exception as e:  # the store being away must not stop the message: the facts stay unknown
        log.warning("contact book unavailable: %s", type(e).__name__)
        return result
    result.assessed = True
    known: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        known.setdefault(row.key, []).append((row.kind, row.org))
    for key, entries in ctx.static.items():
        if key in keys:
            known.setdefault(key, []).extend(entries)
    judge = _Judge(ctx, external, known, displays, result.addressees)
    for ad in result.addressees:
        judge.addressee(ad)
    for r in external:
        if r.address in displays:
            judge.display_name(r, displays[r.address])
    judge.thread(thread_orgs)
    pii = set(pii_attachments)
    for digest, name in files.items():
        if digest in file_orgs:
            judge.attachment(name, file_orgs[digest], name in pii)
    result.evidence = judge.evidence
    return result


def _files(extraction: Extraction, min_bytes: int) -> dict[str, str]:
    """sha256 -> attachment name, of the attachments big enough to compare."""
    files: dict[str, str] = {}
    for a in extraction.attachments:
        if a.sha256 and a.size >= min_bytes:
            files.setdefault(a.sha256, a.name)
    return files


def lesson_of(
    headers: email.message.Message | None,
    extraction: Extraction,
    external: list[RecipientRisk],
    min_attachment_bytes: int = 256,
) -> Lesson:
    """What a message to these external recipients teaches once delivered (imports use it directly)."""
    displays = _display_names(headers, {r.address for r in external})
    own_id, refs = _thread_ids(headers)
    files = _files(extraction, min_attachment_bytes)
    return _lesson(addressees_of(extraction), external, displays, own_id, refs, list(files))


def _lesson(
    addressees: list[Addressee],
    external: list[RecipientRisk],
    displays: dict[str, str],
    own_id: str,
    refs: list[str],
    files: list[str],
) -> Lesson:
    names: list[tuple[str, str]] = []
    for a in addressees:
        if a.kind == NAME:
            names.append((NAME, a.key))
        if a.org_key and a.kind == ORG:
            names.append((ORG, a.org_key))
        if a.org_key and a.kind in (ORG, NAME):
            names.extend((SHORT, s) for s in short_forms(a.org_key))
        if a.person_key and a.kind != NAME:
            names.append((PERSON, a.person_key))
    return Lesson(
        recipient_orgs={r.address: r.organisation for r in external},
        names=list(dict.fromkeys(names)),
        displays={a: [person_key(d), surname_key(d)] for a, d in displays.items()},
        threads=([own_id] if own_id else []) + refs,
        files=files,
    )


class _Judge:
    """Compares what one message says with what is known; collects the evidence."""

    def __init__(
        self,
        ctx: AddressingContext,
        external: list[RecipientRisk],
        known: dict[str, list[tuple[str, str]]],
        displays: dict[str, str],
        addressees: list[Addressee] | None = None,
    ) -> None:
        self.ctx = ctx
        self.greeted = [a for a in addressees or [] if a.kind == ORG and a.org_key]
        self.max_orgs = ctx.settings.max_orgs_per_name
        self.external = external
        self.known = known
        self.evidence: list[Evidence] = []
        here: set[str] = set()
        for r in external:
            here.add(r.organisation)
            if r.partner:
                here |= ctx.partner_orgs.get(r.partner, set())
        self.here = here
        self.goes_to = _readable(dict.fromkeys(r.organisation for r in external))
        self.display_keys: set[str] = set()
        for d in displays.values():
            self.display_keys.update(k for k in (person_key(d), surname_key(d)) if k)
        self.labels = {ctx.orgs.name(o).replace("-", "").replace("_", "") for o in here}
        self.first_time = all(r.first_time_org for r in external)

    def _orgs(self, key: str, kinds: Iterable[str]) -> set[str]:
        wanted = set(kinds)
        return {org for kind, org in self.known.get(key, []) if kind in wanted}

    def _add(
        self, signal: str, seen: str, where: str, known_at: Iterable[str], reason: Reason, attachment: str = ""
    ) -> None:
        self.evidence.append(Evidence(signal, seen, where, _readable(known_at), self.goes_to, reason, attachment))

    def _org_matches(self, a: Addressee) -> set[str]:
        """Organisations an addressee's organisation name is known at (as written, or as the short form
        of a longer name there)."""
        return self._orgs(a.org_key, (ORG, NAME, SHORT))

    def addressee(self, a: Addressee) -> None:
        # One word with 様 ("山田様", "エグザンプル様"): a person's name if one is known by it anywhere,
        # then it is judged as a person (a common surname proves less than a company name).
        as_person = a.kind == NAME and bool(self._orgs(a.key, (PERSON, DISPLAY, SURNAME)))
        if a.org_key and (a.kind == ORG or (a.kind == NAME and not as_person)):
            strong = self._orgs(a.org_key, (ORG, NAME))
            weak = self._orgs(a.org_key, (SHORT,))
            for s in short_forms(a.org_key):
                weak |= self._orgs(s, (ORG, NAME, SHORT))
            if strong & self.here or a.org_key in self.labels:
                return
            # "北斗様" is a short form of "北斗物産" here: fine. But "北斗商事" written to 北斗物産 is not,
            # when 北斗商事 is known elsewhere: a shared stem never outweighs the full name.
            if self._orgs(a.org_key, (SHORT,)) & self.here or (weak & self.here and not strong):
                return
            if a.kind == NAME and a.key in self.display_keys:
                return
            if strong and len(strong) <= self.max_orgs:
                self._mismatch(a, strong, person=a.kind == ORG and bool(a.person))
                return
            if a.kind == ORG:
                return  # an organisation nobody here has written to: a first contact, fine
        if a.person_key and a.kind in (PERSON, NAME):
            found = self._orgs(a.person_key, (PERSON, NAME, DISPLAY, SURNAME))
            if found & self.here or a.person_key in self.display_keys:
                return
            full = bool(self._orgs(a.person_key, (DISPLAY,))) or (a.kind == PERSON and len(a.person_key) >= 3)
            if found and len(found) <= self.max_orgs and (full or not self.first_time):
                self._mismatch(a, found, person=True)

    def _mismatch(self, a: Addressee, orgs: set[str], person: bool) -> None:
        where = a.where
        values = {"attachment": a.attachment}
        known_ja, known_en = _join(_readable(orgs), "ja"), _join(_readable(orgs), "en")
        goes_ja, goes_en = _join(self.goes_to, "ja"), _join(self.goes_to, "en")
        ja = (
            f"{_WHERE_JA[where].format(**values)}「{a.seen}」は {known_ja} の"
            f"{'方' if person else '宛名'}ですが、宛先は {goes_ja} です"
        )
        en = (
            f"The {_WHERE_EN[where].format(**values)}, \u201c{a.seen}\u201d, "
            f"{'is a person at' if person else 'names'} {known_en}, but the mail goes to {goes_en}"
        )
        self._add("addressee_mismatch", a.seen, where, orgs, Reason("addressee_mismatch", ja, en), a.attachment)

    def display_name(self, r: RecipientRisk, display: str) -> None:
        key = person_key(display)
        if len(key) < 2:
            return
        if not surname_key(display) and len(key) < 4:
            return  # one short word ("山田"): not a person's full name
        found = self._orgs(key, (DISPLAY,))
        if not found or r.organisation in found or found & self.here or len(found) > self.max_orgs:
            return
        if self.greeted and not any(self._org_matches(a) & found for a in self.greeted):
            return  # the content names another organisation than the name's: a namesake, not a slip
        org = unicode_domain(r.organisation)
        known_ja, known_en = _join(_readable(found), "ja"), _join(_readable(found), "en")
        ja = f"宛先の表示名「{display}」は {known_ja} の連絡先ですが、このアドレスは {org} です"
        en = (
            f"The recipient's display name \u201c{display}\u201d is a contact at {known_en}, "
            f"but this address is at {org}"
        )
        self._add("display_name_elsewhere", display, "display_name", found, Reason("display_name_elsewhere", ja, en))

    def thread(self, thread_orgs: set[str]) -> None:
        if not thread_orgs:
            return
        same = set(thread_orgs)
        for r in self.external:
            if r.partner and r.organisation in thread_orgs:
                same |= self.ctx.partner_orgs.get(r.partner, set())
        new = [o for o in dict.fromkeys(r.organisation for r in self.external) if o not in same]
        if not new:
            return
        known = _readable(thread_orgs)
        added = _readable(new)
        ja = (
            f"このスレッドはこれまで {_join(known, 'ja')} とのやり取りでしたが、"
            f"今回 {_join(added, 'ja')} にも送られます"
        )
        en = f"This thread so far went to {_join(known, 'en')}; this message also goes to {_join(added, 'en')}"
        self.evidence.append(Evidence("thread_new_org", "", "thread", known, added, Reason("thread_new_org", ja, en)))

    def attachment(self, name: str, orgs: set[str], personal: bool) -> None:
        if orgs & self.here:
            return
        if len(orgs) > self.ctx.settings.widely_shared_files and not personal:
            return
        known_ja, known_en = _join(_readable(orgs), "ja"), _join(_readable(orgs), "en")
        goes_ja, goes_en = _join(self.goes_to, "ja"), _join(self.goes_to, "en")
        extra_ja = "（個人情報を含みます）" if personal else ""
        extra_en = " (it holds personal data)" if personal else ""
        ja = f"添付ファイル「{name}」は以前 {known_ja} に送ったものと同一ですが、宛先は {goes_ja} です{extra_ja}"
        en = (
            f"The attachment \u201c{name}\u201d is identical to one sent before to {known_en}, "
            f"but the mail goes to {goes_en}{extra_en}"
        )
        self._add(
            "attachment_seen_elsewhere",
            name,
            "attachment_file",
            orgs,
            Reason("attachment_seen_elsewhere", ja, en),
            name,
        )
