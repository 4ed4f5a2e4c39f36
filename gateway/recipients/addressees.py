"""Who the content says it is for: the names in addressee positions, and only there.

Addressee positions are
- the greeting block at the top of the body ("株式会社エグザンプル\\n営業部 山田様", "エグザンプル様",
  "(株)エグザンプル 御中", "Dear Mr. Smith,"): the first few short lines up to the last one ending in
  an honorific (様, 御中, 殿, さん ...), before the first sentence;
- the subject's bracketed addressee ("【エグザンプル様】お見積りの件");
- attachment file names with an honorific ("エグザンプル様_御見積書.xlsx", "北斗物産御中_請求書.pdf");
- the first lines of an attachment ending in an honorific ("みなと銀行 御中" on an invoice).

A company mentioned in a sentence ("みなと銀行様との打ち合わせの件で") is not an addressee, nor is a
name in quoted text. Everything here is pure (text in, names out) and cheap: a few short lines per
message are looked at.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.content import Extraction, Segment
from gateway.recipients.names import (
    has_legal_form,
    is_org_like,
    nfkc,
    org_key,
    person_key,
    strip_honorific,
)

MAX_BLOCK_LINES = 5  # greeting block: lines looked at before the first sentence
MAX_LINE_CHARS = 60
ATTACHMENT_LINES = 8  # first lines of an attachment looked at

BODY, SUBJECT, FILE_NAME, ATTACHMENT = "body", "subject", "attachment_name", "attachment"

_TO_HONORIFICS = ("様", "さま", "御中", "殿", "さん", "先生", "宛", "宛て", "どの")
_GROUP_ONLY = {
    "各位",
    "関係者",
    "ご担当者",
    "ご担当",
    "担当者",
    "皆様",
    "皆さま",
    "みなさま",
    "皆さん",
    "みなさん",
    "お客",
}
_DEPT = re.compile(
    r"(?:部|課|室|係|局|グループ|チーム|センター|支店|支社|営業所|本部|事業部|本社|工場|研究所|事務局|"
    r"division|dept\.?|department|team|group|office)$",
    re.IGNORECASE,
)
_TITLE_ONLY = re.compile(
    r"^(?:部長|課長|次長|係長|主任|社長|室長|所長|支店長|店長|取締役|代表取締役|専務|常務|ご?担当者?)$"
)
_LABEL = re.compile(r"^(?:to|cc|attn\.?|attention|宛先|宛名|送付先|御中)\s*[:：]\s*", re.IGNORECASE)
_EN_GREETING = re.compile(
    r"^(?:dear|hi|hello|attn\.?|attention)[\s:]+(?P<name>[^,:;!]{1,60}?)\s*[,:;!]?\s*$", re.IGNORECASE
)
_EN_NOT_A_NAME = re.compile(
    r"^(?:all|everyone|team|colleagues|sir|madam|sirs|sir\s+or\s+madam|sir/madam|customer|customers|"
    r"valued\s+customer|friends|there|folks|partners?|members?|to\s+whom\s+it\s+may\s+concern)\b",
    re.IGNORECASE,
)
_EN_TITLE = re.compile(r"^(?:mr|mrs|ms|miss|mx|dr|prof)\.?\s+", re.IGNORECASE)
_SENTENCE = re.compile(r"[。．！？!?]|です|ます|ました|ください|いたします|お世話|よろしく")
_QUOTE = re.compile(r"^\s*[>＞|]")
_FILE_SPLIT = re.compile(r"[_\s\-－―・()（）【】\[\]〔〕「」『』+＋,，、&＆]+")
_SUBJECT_BRACKETS = re.compile(r"[【\[〔<「『]([^】\]〕>」』]{1,40})[】\]〕>」』]")


@dataclass(frozen=True)
class Addressee:
    """One addressee the content names. kind: org | person | name (an organisation or a person, can't tell)."""

    seen: str  # as written (one line, at most 80 characters)
    where: str  # body | subject | attachment_name | attachment
    kind: str
    key: str  # org_key or person_key of the main name
    org: str = ""  # organisation part as written, if any
    org_key: str = ""
    person: str = ""  # person part as written, if any
    person_key: str = ""
    attachment: str = ""  # the attachment's name (attachment_name, attachment)

    def to_json(self) -> dict[str, str]:
        return {
            "seen": self.seen,
            "where": self.where,
            "kind": self.kind,
            "org": self.org,
            "person": self.person,
            "attachment": self.attachment,
        }


def _clean(line: str) -> str:
    return " ".join(nfkc(line).replace("\u3000", " ").split())


def _ends_with_honorific(line: str) -> str:
    _core, h = strip_honorific(line)
    return h if h in _TO_HONORIFICS or h == "各位" else ""


def parse_addressee(lines: list[str], where: str, attachment: str = "") -> Addressee | None:
    """One addressee from the lines of a greeting block (the last ends in an honorific)."""
    if not lines:
        return None
    seen = " ".join(lines)[:80]
    last_core, honorific = strip_honorific(lines[-1])
    if honorific == "各位" or not honorific:
        # "関係者各位", "営業部各位": a group, not a name; an organisation line above it still counts.
        lines, honorific = lines[:-1], "御中"
    else:
        lines = [*lines[:-1], last_core]
    tokens: list[str] = []
    for line in lines:
        tokens.extend(_LABEL.sub("", line).split())
    tokens = [t for t in tokens if t and t not in _GROUP_ONLY and not _TITLE_ONLY.match(t)]
    # A bare legal form joins its neighbour: "株式会社 エグザンプル", "エグザンプル 株式会社".
    joined: list[str] = []
    for t in tokens:
        if (joined and has_legal_form(joined[-1]) and not org_key(joined[-1])) or (
            joined and has_legal_form(t) and not org_key(t)
        ):
            joined[-1] += t
        else:
            joined.append(t)
    tokens = joined
    if not tokens:
        return None
    names = [t for t in tokens if not _DEPT.search(t) or has_legal_form(t)]
    if not names:
        return None
    multi_line = len(lines) > 1
    orgs = [t for t in names if is_org_like(t)]
    if honorific == "御中":
        org = orgs[0] if orgs else names[0]
        return _org(seen, where, org, attachment)
    person_tokens = [t for t in names if t not in orgs]
    if orgs:
        org = orgs[0]
        after = names[names.index(org) + 1 :]
        person = " ".join(t for t in after if t not in orgs)
        if person and person_key(person):
            return _both(seen, where, org, person, attachment)
        return _org(seen, where, org, attachment)
    if multi_line and len(person_tokens) >= 2:
        # "エグザンプル\n山田 太郎様": the first line names the organisation
        first_line = _LABEL.sub("", lines[0]).split()
        if first_line and first_line[0] == person_tokens[0] and len(first_line) < len(person_tokens):
            org = " ".join(first_line)
            person = " ".join(person_tokens[len(first_line) :])
            return _both(seen, where, org, person, attachment)
    if len(person_tokens) == 2 and not _looks_like_full_name(person_tokens):
        return _both(seen, where, person_tokens[0], person_tokens[1], attachment)
    if len(person_tokens) >= 3:
        return _both(seen, where, person_tokens[0], " ".join(person_tokens[1:]), attachment)
    text = " ".join(person_tokens)
    key = person_key(text)
    if not key:
        return None
    if len(person_tokens) == 2:
        return Addressee(seen, where, "person", key, person=text, person_key=key, attachment=attachment)
    return Addressee(
        seen, where, "name", key, org=text, org_key=org_key(text), person=text, person_key=key, attachment=attachment
    )


def _looks_like_full_name(tokens: list[str]) -> bool:
    """'山田 太郎' (two short parts) rather than 'エグザンプル 山田': Japanese family and given names are
    one to three characters each (a Latin-script name is any two words)."""
    if all(t.isascii() and t.isalpha() for t in tokens):
        return True
    return all(1 <= len(t) <= 3 for t in tokens) and not any(is_org_like(t) for t in tokens)


def _org(seen: str, where: str, org: str, attachment: str) -> Addressee | None:
    key = org_key(org)
    if not key:
        return None
    return Addressee(seen, where, "org", key, org=org, org_key=key, attachment=attachment)


def _both(seen: str, where: str, org: str, person: str, attachment: str) -> Addressee | None:
    okey, pkey = org_key(org), person_key(person)
    if not okey:
        return None
    return Addressee(
        seen, where, "org", okey, org=org, org_key=okey, person=person, person_key=pkey, attachment=attachment
    )


def from_greeting(text: str, where: str = BODY, attachment: str = "") -> list[Addressee]:
    """The addressee block at the top of a text (a body, or an attachment's first lines)."""
    lines: list[str] = []
    for raw in text.splitlines()[:40]:
        if _QUOTE.match(raw):
            break
        line = _clean(raw)
        if not line:
            if lines and where == BODY and any(_ends_with_honorific(x) for x in lines):
                break  # an empty line after the greeting block ends it
            continue
        m = _EN_GREETING.match(line)
        if m and not lines:
            a = _english(m.group("name"), line, where, attachment)
            return [a] if a else []
        if len(line) > MAX_LINE_CHARS or _SENTENCE.search(line):
            break
        lines.append(line)
        if len(lines) >= (MAX_BLOCK_LINES if where == BODY else ATTACHMENT_LINES):
            break
    last = max((i for i, x in enumerate(lines) if _ends_with_honorific(x)), default=-1)
    if last < 0:
        return []
    out: list[Addressee] = []
    block: list[str] = []
    if where != BODY:  # in an attachment: each honorific line on its own, with the line above it if it is an org
        for i, line in enumerate(lines[: last + 1]):
            if _ends_with_honorific(line):
                block = [line]
                if i and is_org_like(lines[i - 1]) and not _ends_with_honorific(lines[i - 1]):
                    block.insert(0, lines[i - 1])
                a = parse_addressee(block, where, attachment)
                if a:
                    out.append(a)
        return out
    # In the body: each honorific line closes one addressee, with the lines above it since the last
    # one ("株式会社A\n営業部 山田様\nCC: 株式会社B 佐藤様" is two addressees).
    for line in lines[: last + 1]:
        block.append(line)
        if _ends_with_honorific(line):
            a = parse_addressee(block[-4:], where, attachment)
            if a:
                out.append(a)
            block = []
    return out


def _english(name: str, line: str, where: str, attachment: str) -> Addressee | None:
    name = name.strip()
    if _EN_NOT_A_NAME.match(name):
        return None
    bare = _EN_TITLE.sub("", name)
    key = person_key(bare)
    if not key or (not re.search(r"[a-z]", key) and not re.search(r"[^\x00-\x7f]", key)):
        return None
    if is_org_like(bare):
        return _org(line[:80], where, bare, attachment)
    return Addressee(line[:80], where, "person", key, person=bare, person_key=key, attachment=attachment)


def from_file_name(name: str) -> list[Addressee]:
    """'エグザンプル様_御見積書.xlsx' -> エグザンプル; a name without an honorific says nothing."""
    stem = nfkc(os.path.splitext(os.path.basename(name))[0])
    out: list[Addressee] = []
    for token in _FILE_SPLIT.split(stem):
        core, h = strip_honorific(token)
        if h not in _TO_HONORIFICS:
            if token.endswith("向け") and len(token) > 3:
                core, h = token[:-2], "向け"
            else:
                continue
        if core in _GROUP_ONLY or not core:
            continue
        kind = "org" if h in ("御中", "向け") or is_org_like(core) else "name"
        key = org_key(core)
        if not key:
            continue
        out.append(
            Addressee(
                token[:80],
                FILE_NAME,
                kind,
                key,
                org=core,
                org_key=key,
                person=core if kind == "name" else "",
                person_key=person_key(core) if kind == "name" else "",
                attachment=name,
            )
        )
    return out


def from_subject(subject: str) -> list[Addressee]:
    """'【エグザンプル様】お見積りの件' -> エグザンプル (bracketed addressees only)."""
    out: list[Addressee] = []
    for m in _SUBJECT_BRACKETS.finditer(nfkc(subject)):
        inner = m.group(1).strip()
        core, h = strip_honorific(inner)
        if h not in ("様", "御中", "殿", "さま") or not core:
            continue
        a = parse_addressee([inner], SUBJECT)
        if a:
            out.append(a)
    return out


def _attachment_of(s: Segment) -> str:
    return s.path[-1] if s.path else s.attachment


def addressees_of(extraction: Extraction) -> list[Addressee]:
    """Every addressee the message's content names, in order: subject, body, attachments."""
    out: list[Addressee] = []
    body_done = False
    first_text: dict[str, Segment] = {}
    for s in extraction.segments:
        if s.kind == "subject" and not s.attachment:
            out.extend(from_subject(s.text))
        elif s.kind == "body" and not s.attachment and not s.quoted and not body_done and s.text.strip():
            out.extend(from_greeting(s.text, BODY))
            body_done = True
        elif s.attachment and s.kind in ("attachment", "table", "body") and s.text.strip():
            first_text.setdefault(_attachment_of(s), s)
    names: Iterable[str] = dict.fromkeys(a.name for a in extraction.attachments if a.name)
    for name in names:
        out.extend(from_file_name(name))
    for name, seg in first_text.items():
        head = "\n".join(seg.text.splitlines()[:ATTACHMENT_LINES])
        if seg.kind == "table":
            head = "\n".join(c for line in head.splitlines() for c in line.split("\t") if c.strip())
        out.extend(from_greeting(head, ATTACHMENT, name))
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for a in out:
        k = (a.kind, a.key, a.person_key)
        if k not in seen:
            seen.add(k)
            unique.append(a)
    return unique
