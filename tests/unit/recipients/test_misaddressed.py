"""The four signals over a real contact book (SQLite in a temporary file): learned from lessons of
delivered mail, then asked about new mail. Messages are real MIME built with the email package and
read by the real extractor."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import redis

from gateway.config.recipients import RecipientsConfig
from gateway.extract import extract_message
from gateway.flow import parse
from gateway.message import Envelope
from gateway.recipients.assess import RecipientContext, assess_recipients
from gateway.recipients.contacts_redis import RedisContacts
from gateway.recipients.contacts_sqlite import SqliteContacts
from gateway.recipients.history_sqlite import SqliteHistory
from gateway.recipients.misaddressed import Addressing, AddressingContext, assess_addressing
from tests.support.net import free_port

SENDER = "taro@example.co.jp"
QUOTE = b"PK-not-really-a-zip " + bytes(range(256)) * 8  # an attachment: only its bytes matter here


def mail(
    to: str,
    body: str,
    *,
    cc: str = "",
    attachment: tuple[str, bytes] | None = None,
    reply_to: str = "",
    message_id: str = "",
) -> bytes:
    m = EmailMessage()
    m["From"] = f"山田 太郎 <{SENDER}>"
    m["To"] = to
    if cc:
        m["Cc"] = cc
    m["Subject"] = "ご連絡"
    if message_id:
        m["Message-ID"] = message_id
    if reply_to:
        m["In-Reply-To"] = reply_to
        m["References"] = reply_to
    m.set_content(body)
    if attachment:
        m.add_attachment(attachment[1], maintype="application", subtype="octet-stream", filename=attachment[0])
    return m.as_bytes()


class World:
    def __init__(self, tmp: Path, **settings: Any) -> None:
        self.config = RecipientsConfig.model_validate({"dns": {"enabled": False}, **settings})
        self.history = SqliteHistory(tmp / "g.db")
        self.book = SqliteContacts(tmp / "g.db")
        self.recipients = RecipientContext(self.config, ["example.co.jp"], self.history)
        self.ctx = AddressingContext(self.config, self.book, self.recipients.orgs)

    async def check(self, raw: bytes, *rcpts: str) -> Addressing:
        envelope = Envelope(SENDER, rcpts)
        headers = parse(raw)
        assessed = await assess_recipients(envelope, headers, self.recipients)
        return await assess_addressing(headers, extract_message(raw), assessed, self.ctx)

    async def deliver(self, raw: bytes, *rcpts: str) -> Addressing:
        """As the delivery recorder does once the next hop accepted the message."""
        found = await self.check(raw, *rcpts)
        when = time.time() - 86400
        self.history.record_delivery(SENDER, rcpts, when)
        self.book.learn(found.lesson.to_json(), rcpts, when)
        return found

    def close(self) -> None:
        self.history.close()
        self.book.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.close()


GREETING_A = "株式会社エグザンプル 営業部 山田様\n\nいつもお世話になっております。\n"
GREETING_B = "北斗商事株式会社\n総務部 佐藤様\n\nいつもお世話になっております。\n"


async def seed(world: World) -> None:
    await world.deliver(
        mail(
            "山田 一郎 <yamada@example-client.com>", GREETING_A, attachment=("見積書.xlsx", QUOTE), message_id="<a1@x>"
        ),
        "yamada@example-client.com",
    )
    await world.deliver(mail("佐藤 花子 <sato@hokuto-shoji.co.jp>", GREETING_B), "sato@hokuto-shoji.co.jp")


async def test_greeting_for_another_customer_is_a_mismatch_with_the_reason(world: World) -> None:
    await seed(world)
    found = await world.check(mail("佐藤 花子 <sato@hokuto-shoji.co.jp>", GREETING_A), "sato@hokuto-shoji.co.jp")
    assert found.signals == ["addressee_mismatch"]
    (e,) = found.evidence
    assert e.reason.ja == (
        "本文の宛名「株式会社エグザンプル 営業部 山田様」は example-client.com の方ですが、"
        "宛先は hokuto-shoji.co.jp です"
    )
    assert "example-client.com" in e.reason.en and e.known_at == ("example-client.com",)
    assert e.goes_to == ("hokuto-shoji.co.jp",)


@pytest.mark.parametrize(
    "greeting",
    [
        "(株)エグザンプル 御中\n\nお世話になります。\n",
        "ｴｸﾞｻﾞﾝﾌﾟﾙ様\n\nお世話になります。\n",
        "エグザンプル株式会社\n山田 一郎様\n\nお世話になります。\n",
    ],
)
async def test_other_writings_of_the_same_name_match(world: World, greeting: str) -> None:
    await seed(world)
    assert (await world.check(mail("s <sato@hokuto-shoji.co.jp>", greeting), "sato@hokuto-shoji.co.jp")).signals == [
        "addressee_mismatch"
    ]
    assert (
        await world.check(mail("y <yamada@example-client.com>", greeting), "yamada@example-client.com")
    ).signals == []


async def test_correct_mail_mentioning_another_company_passes(world: World) -> None:
    await seed(world)
    body = GREETING_B + "株式会社エグザンプル様との打ち合わせの件で、資料をお送りします。\n"
    assert (await world.check(mail("s <sato@hokuto-shoji.co.jp>", body), "sato@hokuto-shoji.co.jp")).evidence == []


async def test_similar_names_stay_apart_and_a_first_contact_passes(world: World) -> None:
    await seed(world)
    first = "北斗物産株式会社 田中様\n\nはじめてご連絡いたします。\n"
    assert (
        await world.check(mail("t <tanaka@hokuto-bussan.co.jp>", first), "tanaka@hokuto-bussan.co.jp")
    ).evidence == []
    wrong = await world.check(mail("t <tanaka@hokuto-bussan.co.jp>", GREETING_B), "tanaka@hokuto-bussan.co.jp")
    assert wrong.signals == ["addressee_mismatch"] and wrong.evidence[0].known_at == ("hokuto-shoji.co.jp",)


async def test_a_short_form_of_the_recipients_name_passes(world: World) -> None:
    await seed(world)
    short = "北斗様\n\nお世話になります。\n"
    assert (await world.check(mail("s <sato@hokuto-shoji.co.jp>", short), "sato@hokuto-shoji.co.jp")).evidence == []


async def test_internal_mail_is_never_flagged(world: World) -> None:
    await seed(world)
    found = await world.check(mail("同僚 <hanako@example.co.jp>", GREETING_A), "hanako@example.co.jp")
    assert found.evidence == [] and not found.assessed and found.lesson.to_json() == ""


async def test_display_name_of_a_contact_elsewhere(world: World) -> None:
    await seed(world)
    found = await world.check(
        mail("山田 一郎 <yamada@hokuto-bussan.co.jp>", "田中様\n\n資料です。\n"), "yamada@hokuto-bussan.co.jp"
    )
    assert found.signals == ["display_name_elsewhere"]
    assert found.evidence[0].reason.ja == (
        "宛先の表示名「山田 一郎」は example-client.com の連絡先ですが、このアドレスは hokuto-bussan.co.jp です"
    )


async def test_a_namesake_greeted_as_their_own_company_is_no_slip(world: World) -> None:
    await seed(world)
    body = "北斗物産株式会社 山田様\n\nはじめまして。\n"
    found = await world.check(mail("山田 一郎 <yamada@hokuto-bussan.co.jp>", body), "yamada@hokuto-bussan.co.jp")
    assert found.evidence == []


async def test_a_reply_that_adds_another_organisation(world: World) -> None:
    await seed(world)
    raw = mail("y <yamada@example-client.com>", GREETING_A, cc="s <sato@hokuto-shoji.co.jp>", reply_to="<a1@x>")
    found = await world.check(raw, "yamada@example-client.com", "sato@hokuto-shoji.co.jp")
    assert found.signals == ["thread_new_org"]
    assert "example-client.com" in found.evidence[0].reason.ja and "hokuto-shoji.co.jp" in found.evidence[0].reason.ja
    same = await world.check(
        mail("y <yamada@example-client.com>", GREETING_A, reply_to="<a1@x>"), "yamada@example-client.com"
    )
    assert same.evidence == []


async def test_an_attachment_sent_before_to_another_organisation(world: World) -> None:
    await seed(world)
    raw = mail("s <sato@hokuto-shoji.co.jp>", GREETING_B, attachment=("資料.xlsx", QUOTE))
    found = await world.check(raw, "sato@hokuto-shoji.co.jp")
    assert found.signals == ["attachment_seen_elsewhere"]
    assert found.evidence[0].reason.ja.startswith("添付ファイル「資料.xlsx」は以前 example-client.com に送ったもの")
    again = await world.check(
        mail("y <yamada@example-client.com>", GREETING_A, attachment=("q.xlsx", QUOTE)), "yamada@example-client.com"
    )
    assert again.evidence == []


async def test_a_file_everyone_gets_is_not_flagged(tmp_path: Path) -> None:
    world = World(tmp_path, misaddressed={"widely_shared_files": 2})
    try:
        for i in range(3):
            await world.deliver(
                mail(f"c <c@org{i}.example>", "各位\n\nご案内です。\n", attachment=("案内.pdf", QUOTE)),
                f"c@org{i}.example",
            )
        found = await world.check(
            mail("s <s@new.example>", "お知らせ\n", attachment=("案内.pdf", QUOTE)), "s@new.example"
        )
        assert found.evidence == []
    finally:
        world.close()


async def test_a_name_known_at_many_organisations_proves_nothing(tmp_path: Path) -> None:
    world = World(tmp_path, misaddressed={"max_orgs_per_name": 2})
    try:
        for i in range(3):
            await world.deliver(mail(f"c <c@org{i}.example>", "鈴木様\n\nお世話になります。\n"), f"c@org{i}.example")
        found = await world.check(mail("s <s@org9.example>", "鈴木様\n\nお世話になります。\n"), "s@org9.example")
        assert found.evidence == []
    finally:
        world.close()


async def test_partner_names_from_configuration_are_known_without_history(tmp_path: Path) -> None:
    world = World(tmp_path, partners=[{"name": "みなと銀行", "domains": ["minato-bank.co.jp"]}])
    try:
        found = await world.check(
            mail("s <s@other.example>", "みなと銀行 御中\n\nお世話になります。\n"), "s@other.example"
        )
        assert found.signals == ["addressee_mismatch"] and found.evidence[0].known_at == ("minato-bank.co.jp",)
        ok = await world.check(
            mail("s <s@minato-bank.co.jp>", "㈱みなと銀行 御中\n\nお世話になります。\n"), "s@minato-bank.co.jp"
        )
        assert ok.evidence == []
    finally:
        world.close()


async def test_names_are_learned_only_from_mail_to_one_organisation(world: World) -> None:
    await world.deliver(mail("a <a@one.example>", GREETING_A, cc="b <b@two.example>"), "a@one.example", "b@two.example")
    found = await world.check(mail("c <c@three.example>", GREETING_A), "c@three.example")
    assert found.evidence == []


async def test_an_unreachable_contact_book_leaves_the_message_unassessed(world: World) -> None:
    await seed(world)
    # A Redis nobody answers at (a port just freed): the lookups fail, the message goes on.
    world.ctx.contacts = RedisContacts(redis.Redis(port=free_port(), socket_connect_timeout=1), prefix="gone")
    found = await world.check(mail("s <sato@hokuto-shoji.co.jp>", GREETING_A), "sato@hokuto-shoji.co.jp")
    assert found.assessed is False and found.evidence == []
    assert found.lesson.names  # what it teaches is still worked out


async def test_the_directory_s_external_people_are_known_contacts(world: World) -> None:
    world.ctx.is_external = lambda domain: domain != "example.co.jp"
    people = [("鈴木 花子", "hanako@client.example"), ("社内 太郎", "taro2@example.co.jp")]
    world.ctx.use_directory(people, source=people)
    found = await world.check(
        mail("鈴木 花子 <hanako@other.example>", "ご担当者様\n\n資料です。\n"), "hanako@other.example"
    )
    assert found.signals == ["display_name_elsewhere"] and found.evidence[0].known_at == ("client.example",)
    inside = await world.check(mail("社内 太郎 <taro2@other.example>", "資料です。\n"), "taro2@other.example")
    assert inside.evidence == []  # internal people are not external contacts
    world.ctx.use_directory([], source=[])  # a reloaded directory without them
    found = await world.check(mail("鈴木 花子 <hanako@other.example>", "資料です。\n"), "hanako@other.example")
    assert found.evidence == []
