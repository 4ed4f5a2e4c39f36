"""Misaddressed mail: how much is caught, how much correct mail is held, and what the signals cost.

A corpus is generated with Faker (ja_JP company and person names; `pip install Faker`, the `bench`
extra): external organisations named like real Japanese companies (surname + trade, so 木村印刷 and
木村食品 both exist), their contacts, and internal senders. Then

1. a history period (default 1,500 messages over 300 days): each sender mails contacts with their
   own greeting habits (株式会社X 部 Y様 / X Y様 / X様 / (株)X 御中 / Y様), replies in threads,
   quotes as .xlsx with "X 御中" on top, data files as .csv, a brochure everyone gets. Every message
   goes through the real pipeline (`flow.decide_message`: parse, extraction, recipient assessment,
   the addressing signals, the shipped rules) and, as if delivered, through the delivery recorder
   (`HistoryRecorder`), which writes the recipient history and the contact book;
2. test mail, per kind (default 100 each), decided by the same pipeline:
   misaddressed - slip (written for A, sent to a known B), slip_unmailed (written for an organisation
   never mailed, sent to a known B: only partner names can tell; a quarter as many), wrong_address
   (A's contact's name on an address at B), wrong_attachment (B's mail with a file sent before to
   A), wrong_thread (a reply in A's thread that also goes to C);
   correct - plain, mention (another company named in a sentence), similar_name (a company whose name
   differs from a known one only in its trade), namesake (a new contact at B with the full name of a
   contact at A), first_contact (a new organisation), reply, shared attachment (the brochure),
   internal (a greeting to a customer, sent inside).

Printed: per kind the share held by `misaddressed_external`, once without and once with partner
names configured (`recipients.partners`: every organisation's name and domain), and the CPU of the
addressing signals per message (time.process_time around `assess_addressing`, contact book lookups
included). The personal-data scan is not run (the signals do not read it; `--scan` runs the real
inspection workers with GiNZA as well).

    python -m bench.misaddressed [--history 1500] [--per-kind 100] [--seed 7] [--redis URL] [--scan]

Goals (issue 19): >= 90% of misaddressed mail held, <= 3% of correct mail held, <= 1 ms CPU per
message for the signals.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import secrets
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, cast

from faker import Faker

import gateway.flow as flow
from gateway.config import Config
from gateway.content import Extraction
from gateway.extract import extract_message
from gateway.inspection.tools import Inspectors
from gateway.message import Envelope
from gateway.policy.policy import Policy
from gateway.recipients import misaddressed
from gateway.recipients.contacts_backends import open_contacts
from gateway.recipients.history_backends import open_history
from gateway.recipients.recorder import HistoryRecorder
from gateway.scan.model import ScanResult

DAY = 86400.0
INTERNAL = "example.co.jp"
TRADES = {
    "水産": "suisan",
    "農林": "norin",
    "鉱業": "kogyo",
    "建設": "kensetsu",
    "食品": "shokuhin",
    "印刷": "insatsu",
    "電気": "denki",
    "ガス": "gas",
    "情報": "joho",
    "通信": "tsushin",
    "運輸": "unyu",
    "銀行": "bank",
    "保険": "hoken",
}
DEPARTMENTS = ["営業部", "総務部", "経理部", "購買部", "情報システム部", "業務課", "企画室"]
TOPICS = [
    "先日ご依頼いただいた件について、資料をお送りいたします。",
    "来週のお打ち合わせの日程について、ご都合をお知らせください。",
    "お見積りの件、ご確認のほどよろしくお願いいたします。",
    "納品予定日について変更がございましたのでご連絡いたします。",
    "請求書を添付いたしましたのでご査収ください。",
]
MISADDRESSED = ("slip", "slip_unmailed", "wrong_address", "wrong_attachment", "wrong_thread")
CORRECT = ("plain", "mention", "similar_name", "namesake", "first_contact", "reply", "shared_attachment", "internal")


@dataclass
class Person:
    last: str
    first: str
    address: str

    @property
    def display(self) -> str:
        return f"{self.last} {self.first}"


@dataclass
class Org:
    surname: str
    trade: str
    legal: str
    legal_first: bool
    domain: str
    people: list[Person] = field(default_factory=list)

    @property
    def name(self) -> str:  # 木村印刷
        return self.surname + self.trade

    def formal(self, rng: random.Random) -> str:
        if rng.random() < 0.15 and self.legal == "株式会社":
            return f"{rng.choice(['(株)', '㈱', '（株）'])}{self.name}"
        return f"{self.legal}{self.name}" if self.legal_first else f"{self.name}{self.legal}"


@dataclass
class Sent:
    org: Org
    person: Person
    message_id: str
    raw: bytes
    attachment: tuple[str, bytes] | None = None


class World:
    def __init__(self, seed: int, n_orgs: int) -> None:
        self.rng = random.Random(seed)
        Faker.seed(seed)
        self.fake = Faker("ja_JP")
        self.orgs: list[Org] = []
        seen: set[str] = set()
        while len(self.orgs) < n_orgs:
            last, _kana, roman = self.fake.last_name_pair()
            trade = self.rng.choice(list(TRADES))
            if last + trade in seen:
                continue
            seen.add(last + trade)
            legal = self.rng.choice(["株式会社", "株式会社", "株式会社", "有限会社", "合同会社"])
            domain = f"{roman.lower()}-{TRADES[trade]}.{self.rng.choice(['co.jp', 'co.jp', 'jp', 'com'])}"
            org = Org(last, trade, legal, self.rng.random() < 0.6, domain)
            for _ in range(self.rng.randint(1, 4)):
                org.people.append(self._person(org.domain))
            self.orgs.append(org)
        self.new_orgs = self.orgs[n_orgs * 4 // 5 :]  # never mailed in the history: first contacts
        self.known = self.orgs[: n_orgs * 4 // 5]
        self.senders = [self._person(INTERNAL) for _ in range(15)]
        self.colleagues = [self._person(INTERNAL) for _ in range(10)]
        # Each sender writes to each organisation in one or two habitual ways.
        self.habits: dict[tuple[str, str], list[str]] = {}
        self.brochure = ("会社案内.txt", ("株式会社サンプル 会社案内\n" + "事業内容のご紹介です。\n" * 80).encode())

    def _person(self, domain: str) -> Person:
        last, _k1, lroman = self.fake.last_name_pair()
        first, _k2, froman = self.fake.first_name_pair()
        local = f"{froman.lower()}.{lroman.lower()}{self.rng.randint(1, 99)}"
        return Person(last, first, f"{local}@{domain}")

    def habit(self, sender: Person, org: Org) -> list[str]:
        key = (sender.address, org.domain)
        if key not in self.habits:
            styles = ["full", "line", "org_person", "org_only", "onchu", "person_only"]
            weights = [3, 3, 2, 1, 1, 1]
            self.habits[key] = list(dict.fromkeys(self.rng.choices(styles, weights, k=2)))
        return self.habits[key]

    def greeting(self, style: str, org: Org, person: Person) -> str:
        rng = self.rng
        if style == "full":
            return f"{org.formal(rng)}\n{rng.choice(DEPARTMENTS)}\n{person.display}様"
        if style == "line":
            return f"{org.formal(rng)} {rng.choice(DEPARTMENTS)} {person.last}様"
        if style == "org_person":
            return f"{org.name} {person.last}様"
        if style == "org_only":
            return f"{org.name}様"
        if style == "onchu":
            return f"{org.formal(rng)} 御中"
        return f"{person.last}様"

    def body(self, greeting: str, sender: Person, mention: Org | None = None) -> str:
        lines = [greeting, "", "いつもお世話になっております。", f"株式会社サンプルの{sender.last}です。", ""]
        if mention is not None:
            lines.append(f"{mention.name}様との打ち合わせの件で、ご相談があります。")
        lines += [self.rng.choice(TOPICS), "", "よろしくお願いいたします。", "", "--", f"{sender.display}"]
        return "\n".join(lines) + "\n"

    def quote(self, org: Org) -> tuple[str, bytes]:
        import xlsxwriter

        buf = io.BytesIO()
        book = xlsxwriter.Workbook(buf, {"in_memory": True})
        sheet = book.add_worksheet("御見積書")
        sheet.write(0, 0, f"{org.formal(self.rng)} 御中")
        sheet.write(1, 0, "御見積書")
        for i in range(self.rng.randint(3, 8)):
            sheet.write(3 + i, 0, f"品目{self.rng.randint(1, 999)}")
            sheet.write(3 + i, 1, self.rng.randint(1000, 99999))
        book.close()
        name = f"{org.name}様_御見積書_{self.rng.randint(1, 999)}.xlsx" if self.rng.random() < 0.5 else "御見積書.xlsx"
        return name, buf.getvalue()

    def datafile(self) -> tuple[str, bytes]:
        rows = ["日付,品番,数量"] + [
            f"2026-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d},"
            f"{secrets.token_hex(4)},{self.rng.randint(1, 500)}"
            for _ in range(self.rng.randint(20, 60))
        ]
        return "明細.csv", "\n".join(rows).encode()


def build(
    sender: Person,
    to: list[tuple[str, str]],
    body: str,
    *,
    cc: list[tuple[str, str]] | None = None,
    reply_to: Sent | None = None,
    attachment: tuple[str, bytes] | None = None,
    when: float,
) -> tuple[str, bytes]:
    m = EmailMessage()
    m["From"] = f"{sender.display} <{sender.address}>"
    m["To"] = ", ".join(f"{d} <{a}>" for d, a in to)
    if cc:
        m["Cc"] = ", ".join(f"{d} <{a}>" for d, a in cc)
    m["Subject"] = ("Re: " if reply_to else "") + "ご連絡"
    m["Date"] = formatdate(when, localtime=True)
    mid = make_msgid(domain=INTERNAL)
    m["Message-ID"] = mid
    if reply_to is not None:
        m["In-Reply-To"] = reply_to.message_id
        m["References"] = reply_to.message_id
    m.set_content(body)
    if attachment is not None:
        name, data = attachment
        main, sub = ("text", "plain") if name.endswith((".txt", ".csv")) else ("application", "octet-stream")
        if main == "text":
            m.add_attachment(data.decode(), subtype="csv" if name.endswith(".csv") else "plain", filename=name)
        else:
            m.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return mid, m.as_bytes()


class InProcessPool:
    """Extraction in this process (the real extractor) and no personal-data scan: what the signals read."""

    async def inspect(self, raw: bytes, limits: Any, context: Any) -> tuple[Extraction, ScanResult]:
        return extract_message(raw, limits), ScanResult()

    def close_sync(self) -> None:
        pass


@dataclass
class Case:
    kind: str
    envelope: Envelope
    raw: bytes


def history_mail(world: World, n: int, now: float) -> Iterator[tuple[Envelope, bytes, float, Sent]]:
    rng = world.rng
    sent: dict[str, list[Sent]] = defaultdict(list)
    for i in range(n):
        when = now - 300 * DAY + i * (290 * DAY / n)
        sender = rng.choice(world.senders)
        org = rng.choice(world.known)
        person = rng.choice(org.people)
        reply_to = rng.choice(sent[org.domain]) if sent[org.domain] and rng.random() < 0.3 else None
        style = rng.choice(world.habit(sender, org))
        mention = rng.choice(world.known) if rng.random() < 0.1 else None
        attachment = None
        r = rng.random()
        if r < 0.15:
            attachment = world.quote(org)
        elif r < 0.25:
            attachment = world.datafile()
        elif r < 0.30:
            attachment = world.brochure
        body = world.body(world.greeting(style, org, person), sender, mention if mention is not org else None)
        mid, raw = build(
            sender, [(person.display, person.address)], body, reply_to=reply_to, attachment=attachment, when=when
        )
        record = Sent(org, person, mid, raw, attachment)
        sent[org.domain].append(record)
        yield Envelope(sender.address, (person.address,)), raw, when, record


def test_cases(world: World, history: list[Sent], per_kind: int, now: float) -> list[Case]:
    rng = world.rng
    by_org: dict[str, list[Sent]] = defaultdict(list)
    for s in history:
        by_org[s.org.domain].append(s)
    known = [o for o in world.known if by_org[o.domain]]
    with_files = [s for s in history if s.attachment is not None and s.attachment != world.brochure]
    cases: list[Case] = []

    def other(org: Org) -> Org:
        while True:
            o = rng.choice(known)
            if o.domain != org.domain:
                return o

    for i in range(per_kind):
        sender = rng.choice(world.senders)
        # misaddressed
        a = rng.choice(known)
        b = other(a)
        pa, pb = rng.choice(a.people), rng.choice(b.people)
        greet = world.greeting(rng.choice(world.habit(sender, a)), a, pa)
        _, raw = build(sender, [(pb.display, pb.address)], world.body(greet, sender), when=now)
        cases.append(Case("slip", Envelope(sender.address, (pb.address,)), raw))

        greet = world.greeting(rng.choice(world.habit(sender, a)), a, pa)
        _, raw = build(sender, [(pa.display, pb.address)], world.body(greet, sender), when=now)
        cases.append(Case("wrong_address", Envelope(sender.address, (pb.address,)), raw))

        old = rng.choice(with_files)
        b = other(old.org)
        pb = rng.choice(b.people)
        greet = world.greeting(rng.choice(world.habit(sender, b)), b, pb)
        _, raw = build(
            sender, [(pb.display, pb.address)], world.body(greet, sender), attachment=old.attachment, when=now
        )
        cases.append(Case("wrong_attachment", Envelope(sender.address, (pb.address,)), raw))

        thread = rng.choice(history)
        c = other(thread.org)
        pc = rng.choice(c.people)
        greet = world.greeting(rng.choice(world.habit(sender, thread.org)), thread.org, thread.person)
        to = [(thread.person.display, thread.person.address)]
        _, raw = build(sender, to, world.body(greet, sender), cc=[(pc.display, pc.address)], reply_to=thread, when=now)
        cases.append(Case("wrong_thread", Envelope(sender.address, (thread.person.address, pc.address)), raw))

        # Written for an organisation nobody here has mailed yet (only partner names can know it),
        # sent to a known one; a quarter as many as the other kinds: first mails are rarer.
        if i % 4 == 0:
            n = rng.choice(world.new_orgs)
            pn = rng.choice(n.people)
            b = rng.choice(known)
            pb = rng.choice(b.people)
            greet = world.greeting(rng.choice(["full", "line", "org_person", "onchu"]), n, pn)
            _, raw = build(sender, [(pb.display, pb.address)], world.body(greet, sender), when=now)
            cases.append(Case("slip_unmailed", Envelope(sender.address, (pb.address,)), raw))

        # correct
        a = rng.choice(known)
        pa = rng.choice(a.people)
        greet = world.greeting(rng.choice(world.habit(sender, a)), a, pa)
        _, raw = build(sender, [(pa.display, pa.address)], world.body(greet, sender), when=now)
        cases.append(Case("plain", Envelope(sender.address, (pa.address,)), raw))

        c = other(a)
        greet = world.greeting(rng.choice(world.habit(sender, a)), a, pa)
        _, raw = build(sender, [(pa.display, pa.address)], world.body(greet, sender, mention=c), when=now)
        cases.append(Case("mention", Envelope(sender.address, (pa.address,)), raw))

        # A company whose name differs from a known one only in its trade (木村印刷 / 木村食品).
        names = {o.name for o in world.orgs}
        base = rng.choice([o for o in known if any(o.surname + t not in names for t in TRADES)])
        trade = rng.choice([t for t in TRADES if base.surname + t not in names])
        twin = Org(base.surname, trade, base.legal, base.legal_first, f"{secrets.token_hex(3)}-{TRADES[trade]}.co.jp")
        twin.people.append(world._person(twin.domain))
        pt = twin.people[0]
        greet = world.greeting(rng.choice(["full", "line", "org_person", "onchu"]), twin, pt)
        _, raw = build(sender, [(pt.display, pt.address)], world.body(greet, sender), when=now)
        cases.append(Case("similar_name", Envelope(sender.address, (pt.address,)), raw))

        # A new contact at B who has the same full name as a contact at A (a namesake, not a slip).
        a = rng.choice(known)
        b = other(a)
        pa = rng.choice(a.people)
        twin_person = Person(pa.last, pa.first, f"{secrets.token_hex(3)}@{b.domain}")
        greet = world.greeting(rng.choice(world.habit(sender, b)), b, twin_person)
        _, raw = build(sender, [(twin_person.display, twin_person.address)], world.body(greet, sender), when=now)
        cases.append(Case("namesake", Envelope(sender.address, (twin_person.address,)), raw))

        n = rng.choice(world.new_orgs)
        pn = rng.choice(n.people)
        greet = world.greeting(rng.choice(["full", "line", "org_person", "onchu"]), n, pn)
        _, raw = build(sender, [(pn.display, pn.address)], world.body(greet, sender), when=now)
        cases.append(Case("first_contact", Envelope(sender.address, (pn.address,)), raw))

        thread = rng.choice(history)
        greet = world.greeting(rng.choice(world.habit(sender, thread.org)), thread.org, thread.person)
        to = [(thread.person.display, thread.person.address)]
        _, raw = build(sender, to, world.body(greet, sender), reply_to=thread, when=now)
        cases.append(Case("reply", Envelope(sender.address, (thread.person.address,)), raw))

        greet = world.greeting(rng.choice(world.habit(sender, a)), a, pa)
        _, raw = build(
            sender, [(pa.display, pa.address)], world.body(greet, sender), attachment=world.brochure, when=now
        )
        cases.append(Case("shared_attachment", Envelope(sender.address, (pa.address,)), raw))

        colleague = rng.choice(world.colleagues)
        greet = world.greeting(rng.choice(world.habit(sender, a)), a, pa)
        _, raw = build(sender, [(colleague.display, colleague.address)], world.body(greet, sender), when=now)
        cases.append(Case("internal", Envelope(sender.address, (colleague.address,)), raw))
    return cases


def config(url: str, world: World, partners: bool) -> Config:
    recipients: dict[str, Any] = {"dns": {"enabled": False}, "lookalike": {"enabled": False}}
    if partners:
        recipients["partners"] = [{"name": f"{o.legal}{o.name}", "domains": [o.domain]} for o in world.orgs]
    return Config.model_validate(
        {"store": {"url": url}, "organization": {"internal_domains": [INTERNAL]}, "recipients": recipients}
    )


CPU: list[float] = []


def _timed_assess() -> None:
    """Wrap the signals with a CPU clock (process time: the contact book lookups in their thread too)."""
    real = misaddressed.assess_addressing

    async def timed(*args: Any, **kwargs: Any) -> misaddressed.Addressing:
        start = time.process_time()
        out = await real(*args, **kwargs)
        CPU.append(time.process_time() - start)
        return out

    flow.assess_addressing = timed


async def run(args: argparse.Namespace, partners: bool, url: str) -> dict[str, tuple[int, int]]:
    world = World(args.seed, args.orgs)
    cfg = config(url, world, partners)
    history = open_history(url)
    contacts = open_contacts(url)
    pool: Any = None
    if args.scan:
        from gateway.inspection.pool import InspectPool

        pool = InspectPool(cfg.scan, cfg.inspection, workers=1)
        await pool.start()
    else:
        pool = InProcessPool()
    tools = Inspectors.from_config(cfg, history, pool=cast(Any, pool), contacts=contacts)
    policy = Policy.load(cfg.policy)
    recorder = HistoryRecorder(history, contacts=contacts)
    now = time.time()
    sent: list[Sent] = []
    for envelope, raw, when, record in history_mail(world, args.history, now):
        verdict = await flow.decide_message(envelope, raw, tools, policy, all_content=False)
        recorder.add(envelope.mail_from, envelope.rcpt_tos, when, verdict.lesson)  # as if delivered
        sent.append(record)
    await recorder.drain()
    results: dict[str, list[bool]] = defaultdict(list)
    CPU.clear()
    for case in test_cases(world, sent, args.per_kind, now):
        verdict = await flow.decide_message(case.envelope, case.raw, tools, policy, all_content=False)
        held = any(h.rule == "misaddressed_external" and h.mode == "enforce" for h in verdict.hits)
        results[case.kind].append(held)
        if args.verbose and held != (case.kind in MISADDRESSED):
            found = verdict.facts.get("misaddressed", {})
            print(f"  {case.kind}: {[a['seen'] for a in found.get('addressees', [])]} -> {case.envelope.rcpt_tos}")
            for e in found.get("evidence", []):
                print(f"    {e['ja']}")
    tools.close()
    if args.scan:
        await pool.aclose()
    history.clear()
    contacts.clear()
    history.close()
    contacts.close()
    return {k: (sum(v), len(v)) for k, v in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--history", type=int, default=1500, help="messages in the history period")
    parser.add_argument("--per-kind", type=int, default=100, help="test messages of each kind")
    parser.add_argument("--orgs", type=int, default=60, help="external organisations (a fifth never mailed)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--redis", default="", help="a Redis URL: use it instead of a SQLite file")
    parser.add_argument("--scan", action="store_true", help="run the real inspection workers (GiNZA) too")
    parser.add_argument("--verbose", action="store_true", help="show the misses and false alarms")
    args = parser.parse_args()
    _timed_assess()
    tables = {}
    cpu = {}
    with tempfile.TemporaryDirectory() as tmp:
        for partners in (False, True):
            if args.redis:
                url = f"{args.redis}?prefix=bench-mis-{secrets.token_hex(4)}"
            else:
                url = f"sqlite://{Path(tmp) / f'bench-{int(partners)}.db'}"
            tables[partners] = asyncio.run(run(args, partners, url))
            cpu[partners] = list(CPU)
    backend = "Redis" if args.redis else "SQLite"
    print(f"misaddressed mail: {args.history} history messages, {args.per_kind} test messages per kind, {backend}")
    print(f"{'kind':20} {'':13} {'held, no partners':>18} {'held, partners':>16}")
    totals: dict[tuple[bool, bool], list[int]] = defaultdict(lambda: [0, 0])
    for kind in (*MISADDRESSED, *CORRECT):
        cells = []
        for partners in (False, True):
            held, n = tables[partners].get(kind, (0, 0))
            cells.append(f"{held:4d}/{n:<4d} {100 * held / max(n, 1):5.1f}%")
            t = totals[(kind in MISADDRESSED, partners)]
            t[0] += held
            t[1] += n
        group = "misaddressed" if kind in MISADDRESSED else "correct"
        print(f"{kind:20} {group:13} {cells[0]:>18} {cells[1]:>16}")
    for label, bad in (("caught (goal >= 90%)", True), ("false alarms (goal <= 3%)", False)):
        cells = []
        for partners in (False, True):
            held, n = totals[(bad, partners)]
            cells.append(f"{held:4d}/{n:<4d} {100 * held / max(n, 1):5.1f}%")
        print(f"{label:34} {cells[0]:>18} {cells[1]:>16}")
    for partners in (False, True):
        samples = cpu[partners]
        print(
            f"signal CPU per message ({'partners' if partners else 'no partners'}): "
            f"median {statistics.median(samples) * 1000:.3f} ms, "
            f"p95 {sorted(samples)[int(len(samples) * 0.95)] * 1000:.3f} ms, "
            f"mean {statistics.fmean(samples) * 1000:.3f} ms "
            f"(goal <= 1 ms)"
        )


if __name__ == "__main__":
    main()
