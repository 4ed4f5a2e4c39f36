"""The receive side over real SMTP on loopback: aiosmtplib for well-behaved clients, raw sockets for
everything a well-behaved client would refuse to send."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from gateway.config import SmtpAuthUser, SmtpConfig
from gateway.message import Envelope
from gateway.passwords import hash_password
from gateway.smtp.server import SmtpServerHandle, start_smtp_server
from gateway.store.base import StoreError
from tests.support.certs import self_signed

MSG = b"From: alice@example.co.jp\r\nTo: bob@partner.example\r\nSubject: report\r\n\r\nHello Bob.\r\n"


class Recorder:
    """A real (in-memory) accept callable: records what was accepted, returns a queue id."""

    def __init__(self, error: Exception | None = None) -> None:
        self.messages: list[tuple[Envelope, bytes]] = []
        self.error = error
        self.gate: asyncio.Event | None = None  # when set, accept waits for it

    async def __call__(self, envelope: Envelope, raw: bytes) -> str:
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        self.messages.append((envelope, raw))
        return f"Q{len(self.messages):04d}"

    def body(self, i: int = 0) -> bytes:
        """The stored message without our Received header."""
        raw = self.messages[i][1]
        assert raw.startswith(b"Received: from ")
        end = raw.index(b";\r\n\t") + 3
        return raw[raw.index(b"\r\n", end) + 2 :]


Start = Callable[..., Awaitable[tuple[SmtpServerHandle, Recorder]]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    handles: list[SmtpServerHandle] = []

    async def _start(recorder: Recorder | None = None, **settings: Any) -> tuple[SmtpServerHandle, Recorder]:
        settings.setdefault("allowed_clients", ["127.0.0.0/8"])
        settings.setdefault("listen", "127.0.0.1:0")
        config = SmtpConfig(hostname="gw.test", **settings)
        rec = recorder or Recorder()
        handle = await start_smtp_server(config, rec)
        handles.append(handle)
        return handle, rec

    yield _start
    for handle in handles:
        await handle.close(grace=1.0)


class Raw:
    """A raw SMTP client: sends exactly the bytes given."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int, greet: bool = True) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        raw = cls(reader, writer)
        if greet:
            code, _ = await raw.reply()
            assert code == 220
        return raw

    async def reply(self) -> tuple[int, str]:
        lines = []
        while True:
            line = await self.reader.readline()
            if not line:
                raise ConnectionError("connection closed")
            lines.append(line.decode().rstrip("\r\n"))
            if line[3:4] != b"-":
                return int(line[:3]), "\n".join(lines)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def cmd(self, line: str | bytes) -> tuple[int, str]:
        await self.send((line.encode() if isinstance(line, str) else line) + b"\r\n")
        return await self.reply()

    async def start_mail(self, rcpts: tuple[str, ...] = ("bob@partner.example",)) -> None:
        assert (await self.cmd("EHLO client.test"))[0] == 250
        assert (await self.cmd("MAIL FROM:<alice@example.co.jp>"))[0] == 250
        for rcpt in rcpts:
            assert (await self.cmd(f"RCPT TO:<{rcpt}>"))[0] == 250
        assert (await self.cmd("DATA"))[0] == 354

    async def rest(self) -> bytes:
        """Everything until the server closes the connection."""
        return await self.reader.read()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


async def send(port: int, rcpts: list[str], msg: bytes = MSG, sender: str = "alice@example.co.jp") -> Any:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as smtp:
        return await smtp.sendmail(sender, rcpts, msg)


# --- the normal case ---------------------------------------------------------------------------


async def test_accepts_stores_and_answers_with_queue_id(start: Start) -> None:
    handle, rec = await start()
    errors, reply = await send(handle.port, ["Bob@Partner.EXAMPLE", "carol@partner.example"])
    assert errors == {}
    assert reply == "2.0.0 Ok: queued as Q0001"
    [(env, raw)] = rec.messages
    assert env.mail_from == "alice@example.co.jp"
    assert env.rcpt_tos == ("Bob@partner.example", "carol@partner.example")  # domain lower-cased
    assert env.client_address == "127.0.0.1"
    assert env.helo
    first = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert first[0] == f"Received: from {env.helo} ([127.0.0.1])".encode()
    assert first[1].startswith(b"\tby gw.test with ESMTP id ")
    assert b"with ESMTP id" in raw and b"alice" not in raw.split(b"\r\nFrom:")[0]
    assert rec.body() == MSG


async def test_null_sender_and_duplicate_recipients(start: Start) -> None:
    handle, rec = await start()
    raw = await Raw.connect(handle.port)
    assert (await raw.cmd("EHLO client.test"))[0] == 250
    assert (await raw.cmd("MAIL FROM:<>"))[0] == 250
    assert (await raw.cmd("RCPT TO:<bob@partner.example>"))[0] == 250
    assert (await raw.cmd("RCPT TO:<bob@PARTNER.example>"))[0] == 250
    assert (await raw.cmd("DATA"))[0] == 354
    code, text = await raw.cmd(MSG + b".")
    assert code == 250 and "queued as Q0001" in text
    env = rec.messages[0][0]
    assert env.mail_from == "" and env.is_null_sender
    assert env.rcpt_tos == ("bob@partner.example",)
    await raw.close()


async def test_smtp_protocol_in_received_header_for_helo(start: Start) -> None:
    handle, rec = await start()
    raw = await Raw.connect(handle.port)
    assert (await raw.cmd("HELO old.client"))[0] == 250
    assert (await raw.cmd("MAIL FROM:<alice@example.co.jp> SIZE=10"))[0] == 501  # no params after HELO
    assert (await raw.cmd("MAIL FROM:<alice@example.co.jp>"))[0] == 250
    assert (await raw.cmd("RCPT TO:<bob@partner.example>"))[0] == 250
    assert (await raw.cmd("DATA"))[0] == 354
    assert (await raw.cmd(MSG + b"."))[0] == 250
    assert b"with SMTP id" in rec.messages[0][1]
    assert rec.messages[0][0].helo == "old.client"


async def test_ehlo_advertises_extensions(start: Start) -> None:
    handle, _ = await start(max_message_size=1000)
    raw = await Raw.connect(handle.port)
    code, text = await raw.cmd("EHLO client.test")
    assert code == 250
    lines = text.splitlines()
    for ext in ("SIZE 1000", "8BITMIME", "PIPELINING", "ENHANCEDSTATUSCODES"):
        assert f"250-{ext}" in lines or f"250 {ext}" in lines
    assert not any("AUTH" in line or "STARTTLS" in line or "SMTPUTF8" in line for line in lines)
    await raw.close()


async def test_no_addresses_or_content_in_logs(start: Start, caplog: pytest.LogCaptureFixture) -> None:
    handle, _ = await start()
    caplog.set_level(logging.DEBUG)
    await send(handle.port, ["bob@partner.example"])
    raw = await Raw.connect(handle.port)
    await raw.cmd("EHLO client.test")
    await raw.cmd("MAIL FROM:<alice%evil@example.co.jp>")
    await raw.close()
    assert "queued as Q0001" in caplog.text
    for secret in ("alice", "bob@", "partner.example", "Hello Bob"):
        assert secret not in caplog.text


async def test_port_shared_by_several_servers(start: Start) -> None:
    """SO_REUSEPORT: several receive processes (here: two servers) can listen on one port."""
    first, _ = await start()
    second, rec2 = await start(listen=f"127.0.0.1:{first.port}")
    assert second.port == first.port
    for _ in range(2):
        await send(first.port, ["bob@partner.example"])
    await first.close()
    await send(first.port, ["bob@partner.example"])  # the second one still listens
    assert len(rec2.messages) >= 1


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
async def test_ipv6_client(start: Start) -> None:
    try:
        handle, rec = await start(listen="[::1]:0", allowed_clients=["::1/128"])
    except OSError:
        pytest.skip("::1 not available")
    async with aiosmtplib.SMTP(hostname="::1", port=handle.port, start_tls=False) as smtp:
        await smtp.sendmail("alice@example.co.jp", ["bob@partner.example"], MSG)
    assert rec.messages[0][0].client_address == "::1"
    assert b"([::1])" in rec.messages[0][1]


# --- who may send --------------------------------------------------------------------------------


async def test_unauthorised_client_refused_at_connect(start: Start) -> None:
    """Without AUTH such a client could never send: refused before it holds a slot."""
    handle, rec = await start(allowed_clients=["10.0.0.0/8", "::1/128"])
    raw = await Raw.connect(handle.port, greet=False)
    code, text = await raw.reply()
    assert code == 554 and "5.7.1" in text
    assert await raw.rest() == b""  # closed
    assert rec.messages == []
    assert handle.shared.connections == set() and not handle.shared.per_client


async def _connect_from(source: str, port: int) -> Raw:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    return Raw(reader, writer)


async def _send_from_mta(port: int, n: int) -> None:
    for _ in range(n):
        errors, reply = await send(port, ["bob@partner.example"])
        assert errors == {} and reply.startswith("2.0.0")


async def test_a_flood_from_a_stranger_leaves_the_mta_its_slots(start: Start) -> None:
    handle, rec = await start(allowed_clients=["127.0.0.1/32"], max_connections=20, max_connections_per_client=10)
    stop = asyncio.Event()
    refused: list[int] = []

    async def flood() -> None:
        while not stop.is_set():
            raw = await _connect_from("127.0.0.2", handle.port)
            refused.append((await raw.reply())[0])
            await raw.close()

    flooders = [asyncio.create_task(flood()) for _ in range(30)]
    try:
        while len(refused) < 100:
            await asyncio.sleep(0.01)
        await _send_from_mta(handle.port, 5)
    finally:
        stop.set()
        await asyncio.gather(*flooders)
    assert set(refused) == {554}
    assert len(rec.messages) == 5


async def test_one_client_cannot_take_every_slot(start: Start) -> None:
    """An allowed host gone wrong opens connections and keeps them alive with NOOP: it gets its share."""
    handle, rec = await start(allowed_clients=["127.0.0.0/8"], max_connections=12, max_connections_per_client=5)
    hogs = []
    try:
        for _ in range(5):
            hog = await _connect_from("127.0.0.2", handle.port)
            assert (await hog.reply())[0] == 220
            assert (await hog.cmd("NOOP"))[0] == 250
            hogs.append(hog)
        extra = await _connect_from("127.0.0.2", handle.port)
        code, text = await extra.reply()
        assert code == 421 and "4.7.0" in text and "your address" in text
        await extra.close()
        await _send_from_mta(handle.port, 3)  # the MTA on 127.0.0.1 still delivers
        assert handle.shared.per_client == {"127.0.0.2": 5}
    finally:
        for hog in hogs:
            await hog.close()
    await asyncio.sleep(0.1)
    again = await _connect_from("127.0.0.2", handle.port)  # slots given back when they close
    assert (await again.reply())[0] == 220
    await again.close()
    assert len(rec.messages) == 3


async def test_with_auth_strangers_share_what_is_not_reserved(start: Start, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    user = SmtpAuthUser(username="mta", password_hash=hash_password("correct horse", n=2**10))
    handle, rec = await start(
        allowed_clients=["127.0.0.1/32"],
        tls_cert=cert,
        tls_key=key,
        auth_users=[user],
        max_connections=10,
        reserved_connections=4,
        max_connections_per_client=5,
    )
    held = []
    try:
        for source in ("127.0.0.2",) * 5 + ("127.0.0.3",):  # strangers: may still AUTH, so not refused
            conn = await _connect_from(source, handle.port)
            assert (await conn.reply())[0] == 220
            held.append(conn)
        for source in ("127.0.0.3", "127.0.0.4"):  # 6 strangers = 10 - 4 reserved: full for strangers
            conn = await _connect_from(source, handle.port)
            code, text = await conn.reply()
            assert code == 421 and "4.7.0" in text, text
            await conn.close()
        for _ in range(4):  # the reserved slots are the MTA's
            conn = await _connect_from("127.0.0.1", handle.port)
            assert (await conn.reply())[0] == 220
            held.append(conn)
        conn = await _connect_from("127.0.0.1", handle.port)
        assert (await conn.reply())[0] == 421  # every slot taken
        await conn.close()
    finally:
        for conn in held:
            await conn.close()
    await asyncio.sleep(0.1)
    assert handle.shared.outsiders == 0 and not handle.shared.per_client
    await _send_from_mta(handle.port, 1)
    assert len(rec.messages) == 1


# --- limits ------------------------------------------------------------------------------------


async def test_size_declared_and_enforced(start: Start) -> None:
    handle, rec = await start(max_message_size=1000)
    raw = await Raw.connect(handle.port)
    assert (await raw.cmd("EHLO client.test"))[0] == 250
    code, text = await raw.cmd("MAIL FROM:<alice@example.co.jp> SIZE=1001")
    assert code == 552 and "5.3.4" in text
    assert (await raw.cmd("MAIL FROM:<alice@example.co.jp> SIZE=1000 BODY=8BITMIME"))[0] == 250
    assert (await raw.cmd("RCPT TO:<bob@partner.example>"))[0] == 250
    assert (await raw.cmd("DATA"))[0] == 354
    code, text = await raw.cmd(MSG + b"x" * 998 + b"\r\n" + b".")  # SIZE lied
    assert code == 552 and "5.3.4" in text
    # The session is still in step: a new transaction works.
    assert (await raw.cmd("MAIL FROM:<alice@example.co.jp>"))[0] == 250
    assert (await raw.cmd("RCPT TO:<bob@partner.example>"))[0] == 250
    assert (await raw.cmd("DATA"))[0] == 354
    assert (await raw.cmd(MSG + b"."))[0] == 250
    assert len(rec.messages) == 1
    await raw.close()


async def test_unknown_mail_parameters(start: Start) -> None:
    handle, _ = await start()
    raw = await Raw.connect(handle.port)
    await raw.cmd("EHLO client.test")
    assert (await raw.cmd("MAIL FROM:<a@example.com> SMTPUTF8"))[0] == 555
    assert (await raw.cmd("MAIL FROM:<a@example.com> BODY=BINARYMIME"))[0] == 501
    assert (await raw.cmd("MAIL FROM:<a@example.com> SIZE=abc"))[0] == 501
    assert (await raw.cmd("MAIL FROM:<a@example.com> AUTH=<>"))[0] == 250
    assert (await raw.cmd("RCPT TO:<b@example.com> NOTIFY=NEVER"))[0] == 555
    await raw.close()


async def test_too_many_recipients(start: Start) -> None:
    handle, rec = await start(max_recipients=2)
    rcpts = ["r1@partner.example", "r2@partner.example", "r3@partner.example"]
    errors, reply = await send(handle.port, rcpts)
    assert set(errors) == {"r3@partner.example"}
    assert errors["r3@partner.example"].code == 452
    assert "4.5.3" in errors["r3@partner.example"].message
    assert "queued as Q0001" in reply
    assert rec.messages[0][0].rcpt_tos == ("r1@partner.example", "r2@partner.example")


async def test_header_size_limit(start: Start) -> None:
    handle, rec = await start(max_header_size=1000)
    big_header = b"X-Filler: " + b"a" * 1200 + b"\r\n"
    with pytest.raises(aiosmtplib.SMTPDataError) as e:
        await send(handle.port, ["bob@partner.example"], big_header + MSG)
    assert e.value.code == 552 and "5.3.4" in e.value.message
    # A large body under small headers is fine.
    await send(handle.port, ["bob@partner.example"], MSG + b"b" * 5000 + b"\r\n")
    assert len(rec.messages) == 1


async def test_received_hop_limit(start: Start) -> None:
    """The limit counts our own Received: header too (as delivery does): 3 allows 2 of theirs."""
    handle, rec = await start(max_received_headers=3)
    hop = b"Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    with pytest.raises(aiosmtplib.SMTPDataError) as e:
        await send(handle.port, ["bob@partner.example"], hop + b"RECEIVED : from x\r\n" + hop + MSG)
    assert e.value.code == 554 and "5.4.6" in e.value.message
    await send(handle.port, ["bob@partner.example"], hop * 2 + MSG)
    assert len(rec.messages) == 1
    assert rec.messages[0][1].count(b"Received: ") == 3  # theirs and ours


async def test_long_lines(start: Start) -> None:
    handle, rec = await start(max_line_length=2000)
    ok = MSG + b"y" * 1500 + b"\r\n"  # beyond aiosmtpd's default of 1001: accepted
    await send(handle.port, ["bob@partner.example"], ok)
    assert rec.body() == ok
    raw = await Raw.connect(handle.port)
    await raw.start_mail()
    code, text = await raw.cmd(MSG + b"z" * 5000 + b"\r\nafter\r\n.")
    assert code == 552 and "line too long" in text.lower()
    # Over-long line right before the terminator, split inside its CRLF: still in step.
    assert (await raw.cmd("MAIL FROM:<alice@example.co.jp>"))[0] == 250
    assert (await raw.cmd("RCPT TO:<bob@partner.example>"))[0] == 250
    assert (await raw.cmd("DATA"))[0] == 354
    code, _ = await raw.cmd(b"w" * 4000 + b"\r\n.")
    assert code == 552
    assert (await raw.cmd("NOOP"))[0] == 250
    assert len(rec.messages) == 1
    await raw.close()


async def test_connection_limit(start: Start) -> None:
    handle, _ = await start(max_connections=2, max_connections_per_client=2)
    first = await Raw.connect(handle.port)
    second = await Raw.connect(handle.port)
    third = await Raw.connect(handle.port, greet=False)
    code, text = await third.reply()
    assert code == 421 and "4.7.0" in text
    assert await third.rest() == b""
    # Once a slot is free, a new client gets in.
    assert (await first.cmd("QUIT"))[0] == 221
    await first.close()
    while len(handle.shared.connections) > 1:
        await asyncio.sleep(0.01)
    fourth = await Raw.connect(handle.port)
    assert (await fourth.cmd("NOOP"))[0] == 250
    for c in (second, third, fourth):
        await c.close()


async def test_concurrent_data_limit(start: Start) -> None:
    handle, rec = await start(max_concurrent_data=1)
    first = await Raw.connect(handle.port)
    await first.start_mail()  # now inside DATA
    second = await Raw.connect(handle.port)
    assert (await second.cmd("EHLO client.test"))[0] == 250
    assert (await second.cmd("MAIL FROM:<alice@example.co.jp>"))[0] == 250
    assert (await second.cmd("RCPT TO:<bob@partner.example>"))[0] == 250
    code, text = await second.cmd("DATA")
    assert code == 452 and "4.3.1" in text
    assert (await first.cmd(MSG + b"."))[0] == 250
    # The transaction survived the 452: DATA again now that the slot is free.
    assert (await second.cmd("DATA"))[0] == 354
    assert (await second.cmd(MSG + b"."))[0] == 250
    assert len(rec.messages) == 2
    await first.close()
    await second.close()


async def test_idle_timeout_closes_connection(start: Start) -> None:
    handle, _ = await start(timeout=0.2)
    raw = await Raw.connect(handle.port)
    assert await raw.rest() == b""  # the server hung up on the idle client
    await raw.close()


async def test_slow_drip_of_lines_is_cut_off_after_max_data_seconds(start: Start) -> None:
    handle, rec = await start(timeout=5, max_data_seconds=0.5)
    raw = await Raw.connect(handle.port)
    await raw.start_mail()
    await raw.send(b"Subject: slow\r\n\r\n")
    for i in range(100):  # a line every 20 ms: never idle, but never done either
        try:
            await raw.send(b"line %d\r\n" % i)
        except ConnectionError:
            break
        await asyncio.sleep(0.02)
        if raw.reader.at_eof() or raw.reader._buffer:  # type: ignore[attr-defined]
            break
    reply = await raw.rest()
    assert reply.startswith(b"421 4.4.2")
    assert rec.messages == []
    await raw.close()


# --- addresses ---------------------------------------------------------------------------------

BAD_SENDERS = [
    b"MAIL FROM:<@relay.example,@other.example:alice@example.co.jp>",
    b"MAIL FROM:<alice%evil.example@example.co.jp>",
    b"MAIL FROM:<evil.example!alice@example.co.jp>",
    b'MAIL FROM:<"alice@evil.example"@example.co.jp>',
    b"MAIL FROM:<alice@[127.0.0.1]>",
    b"MAIL FROM:<alice@example.co.jp\rRCPT TO:<x@evil.example>>",
    b"MAIL FROM:<ali\x00ce@example.co.jp>",
    b"MAIL FROM:alice@example.co.jp",
    b"MAIL FROM:<alice@example.co.jp",
]

BAD_RECIPIENTS = [
    b"RCPT TO:<@relay.example:bob@partner.example>",
    b"RCPT TO:<bob%partner.example@relay.example>",
    b"RCPT TO:<partner.example!bob@relay.example>",
    b'RCPT TO:<"bob@partner.example"@relay.example>',
    b"RCPT TO:<bob@[192.0.2.1]>",
    b"RCPT TO:<bob@partner.example>\rRCPT TO:<eve@evil.example>",
    b"RCPT TO:<bob\t@partner.example>",
    b"RCPT TO:<>",
    b"RCPT TO:<postmaster>",
    b"RCPT TO:<a@b@partner.example>",
]


@pytest.mark.parametrize("command", BAD_SENDERS)
async def test_bad_sender_rejected(start: Start, command: bytes) -> None:
    handle, _ = await start()
    raw = await Raw.connect(handle.port)
    assert (await raw.cmd("EHLO client.test"))[0] == 250
    code, text = await raw.cmd(command)
    assert code in (501, 553) and "5.1.7" in text, text
    assert (await raw.cmd("RCPT TO:<bob@partner.example>"))[0] == 503  # no sender was set
    await raw.close()


@pytest.mark.parametrize("command", BAD_RECIPIENTS)
async def test_bad_recipient_rejected(start: Start, command: bytes) -> None:
    handle, rec = await start()
    raw = await Raw.connect(handle.port)
    assert (await raw.cmd("EHLO client.test"))[0] == 250
    assert (await raw.cmd("MAIL FROM:<alice@example.co.jp>"))[0] == 250
    code, text = await raw.cmd(command)
    assert code in (501, 553) and "5.1.3" in text, text
    assert (await raw.cmd("DATA"))[0] == 503  # no recipient was added
    await raw.close()
    assert rec.messages == []


async def test_bare_lf_in_a_command_is_no_injection(start: Start) -> None:
    """A bare LF ends a command line (as in Postfix); it cannot hide a second address in one."""
    handle, rec = await start()
    raw = await Raw.connect(handle.port)
    assert (await raw.cmd("EHLO client.test"))[0] == 250
    assert (await raw.cmd("MAIL FROM:<alice@example.co.jp>"))[0] == 250
    await raw.send(b"RCPT TO:<bob@partner.example>\nRCPT TO:<eve@evil.example>\r\n")
    assert (await raw.reply())[0] == 250
    assert (await raw.reply())[0] == 250
    assert (await raw.cmd("DATA"))[0] == 354
    assert (await raw.cmd(MSG + b"."))[0] == 250
    assert rec.messages[0][0].rcpt_tos == ("bob@partner.example", "eve@evil.example")
    await raw.close()


# --- content framing ---------------------------------------------------------------------------


async def test_bare_lf_normalised(start: Start) -> None:
    handle, rec = await start()
    raw = await Raw.connect(handle.port)
    await raw.start_mail()
    code, _ = await raw.cmd(b"Subject: lf\nX-Mixed: yes\r\n\nline 1\nline 2\r\n.")
    assert code == 250
    assert rec.body() == b"Subject: lf\r\nX-Mixed: yes\r\n\r\nline 1\r\nline 2\r\n"
    await raw.close()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"Subject: cr\r\n\r\nbefore\rafter\r\n", "bare CR"),
        (b"Subject: cr\r\n\r\nends with CR\r", "bare CR"),
        (b"Subject: nul\r\n\r\nbefore\x00after\r\n", "NUL"),
    ],
)
async def test_bare_cr_and_nul_rejected(start: Start, content: bytes, why: str) -> None:
    handle, rec = await start()
    raw = await Raw.connect(handle.port)
    await raw.start_mail()
    if not content.endswith(b"\r\n"):
        content += b"\r\n"
    code, text = await raw.cmd(content + b".")
    assert code == 550 and "5.6.0" in text and why in text
    assert (await raw.cmd("NOOP"))[0] == 250
    assert rec.messages == []
    await raw.close()


async def test_dot_stuffing_and_terminator(start: Start) -> None:
    handle, rec = await start()
    raw = await Raw.connect(handle.port)
    await raw.start_mail()
    assert (await raw.cmd(b"Subject: dots\r\n\r\n..leading dot\r\n...\r\n.x\r\nend\r\n."))[0] == 250
    assert rec.body() == b"Subject: dots\r\n\r\n.leading dot\r\n..\r\nx\r\nend\r\n"
    await raw.close()


SMUGGLE = (
    b"MAIL FROM:<ceo@example.co.jp>{eol}RCPT TO:<victim@partner.example>{eol}DATA{eol}"
    b"Subject: smuggled{eol}{eol}pay now{eol}"
)


@pytest.mark.parametrize(
    "fake_end",
    [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r\n .\r\n"],
    ids=["LF.LF", "CRLF.LF", "LF.CRLF", "CRLF-space-dot-CRLF"],
)
async def test_smuggling_does_not_end_data(start: Start, fake_end: bytes) -> None:
    handle, rec = await start()
    raw = await Raw.connect(handle.port)
    await raw.start_mail()
    eol = fake_end[-2:] if fake_end.endswith(b"\r\n") else b"\n"
    hidden = SMUGGLE.replace(b"{eol}", eol)
    await raw.send(b"Subject: innocent\r\n\r\nhello" + fake_end + hidden + b"\r\n.\r\nQUIT\r\n")
    replies = (await raw.rest()).decode().splitlines()
    # Exactly one reply to the one DATA, then QUIT's: no replies to smuggled commands.
    assert [r[:3] for r in replies] == ["250", "221"], replies
    assert len(rec.messages) == 1
    env, stored = rec.messages[0]
    assert env.rcpt_tos == ("bob@partner.example",)
    assert b"RCPT TO:<victim@partner.example>" in stored  # the text is content, nothing more
    # Stored as sent: dot-unstuffed at CRLF line starts only (RFC 5321 lines end in CRLF), then bare
    # LFs made CRLF. A "." after a bare LF stays content (delivery dot-stuffs it).
    sent = b"Subject: innocent\r\n\r\nhello" + fake_end + hidden + b"\r\n"
    unstuffed = sent.replace(b"\r\n.", b"\r\n")
    assert rec.body() == unstuffed.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


async def test_cr_dot_cr_does_not_end_data(start: Start) -> None:
    handle, rec = await start()
    raw = await Raw.connect(handle.port)
    await raw.start_mail()
    hidden = SMUGGLE.replace(b"{eol}", b"\r")
    await raw.send(b"Subject: innocent\r\n\r\nhello\r.\r" + hidden + b"\r\n.\r\nQUIT\r\n")
    replies = (await raw.rest()).decode().splitlines()
    assert [r[:3] for r in replies] == ["550", "221"], replies  # one reply: the bare CRs
    assert rec.messages == []


async def test_pipelining(start: Start) -> None:
    handle, rec = await start()
    raw = await Raw.connect(handle.port)
    _, text = await raw.cmd("EHLO client.test")
    assert "PIPELINING" in text
    await raw.send(
        b"MAIL FROM:<alice@example.co.jp>\r\nRCPT TO:<bob@partner.example>\r\n"
        b"RCPT TO:<carol@partner.example>\r\nDATA\r\n"
    )
    assert [(await raw.reply())[0] for _ in range(4)] == [250, 250, 250, 354]
    await raw.send(MSG + b".\r\nMAIL FROM:<alice@example.co.jp>\r\nRCPT TO:<dave@partner.example>\r\nDATA\r\n")
    assert [(await raw.reply())[0] for _ in range(4)] == [250, 250, 250, 354]
    assert (await raw.cmd(MSG + b"."))[0] == 250
    assert [m[0].rcpt_tos for m in rec.messages] == [
        ("bob@partner.example", "carol@partner.example"),
        ("dave@partner.example",),
    ]
    await raw.close()


# --- our own failures --------------------------------------------------------------------------


@pytest.mark.parametrize("error", [StoreError("disk full"), RuntimeError("bug")])
async def test_store_failure_is_temporary(start: Start, error: Exception) -> None:
    handle, rec = await start(Recorder(error=error))
    with pytest.raises(aiosmtplib.SMTPDataError) as e:
        await send(handle.port, ["bob@partner.example"])
    assert e.value.code == 451 and "4.3.0" in e.value.message
    # And the session stays usable for the retry.
    rec.error = None
    await send(handle.port, ["bob@partner.example"])
    assert len(rec.messages) == 1


async def test_close_waits_for_transfer_in_flight(start: Start) -> None:
    handle, rec = await start()
    rec.gate = asyncio.Event()
    idle = await Raw.connect(handle.port)
    busy = await Raw.connect(handle.port)
    await busy.start_mail()
    await busy.send(MSG + b".\r\n")
    while not handle.handler.in_flight:  # the store write has begun
        await asyncio.sleep(0.01)
    closing = asyncio.create_task(handle.close(grace=30))
    code, _ = await idle.reply()
    assert code == 421
    rec.gate.set()
    assert (await busy.reply())[0] == 250
    await closing
    assert len(rec.messages) == 1
    with pytest.raises(OSError):
        await Raw.connect(handle.port)
    await idle.close()
    await busy.close()


# --- TLS and AUTH ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def client_tls(cert: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.check_hostname = False  # we connect to 127.0.0.1; the chain is still verified
    return ctx


@pytest.fixture
async def tls_server(start: Start, certificate: tuple[Path, Path]) -> tuple[SmtpServerHandle, Recorder, Path]:
    cert, key = certificate
    user = SmtpAuthUser(username="mta", password_hash=hash_password("correct horse", n=2**10))
    handle, rec = await start(allowed_clients=["10.0.0.0/8"], tls_cert=cert, tls_key=key, auth_users=[user])
    return handle, rec, cert


async def test_auth_refused_before_tls(tls_server: tuple[SmtpServerHandle, Recorder, Path]) -> None:
    handle, rec, _ = tls_server
    raw = await Raw.connect(handle.port)
    code, text = await raw.cmd("EHLO client.test")
    assert "STARTTLS" in text and "AUTH" not in text
    code, text = await raw.cmd("AUTH PLAIN AG10YQBjb3JyZWN0IGhvcnNl")
    assert code == 538
    code, text = await raw.cmd("MAIL FROM:<alice@example.co.jp>")
    assert code == 530 and "5.7.0" in text
    await raw.close()
    assert rec.messages == []


async def test_starttls_and_auth(tls_server: tuple[SmtpServerHandle, Recorder, Path]) -> None:
    handle, rec, cert = tls_server
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1", port=handle.port, start_tls=True, tls_context=client_tls(cert)
    ) as smtp:
        await smtp.ehlo()  # aiosmtplib forgets the extensions after STARTTLS until it asks again
        assert "auth" in smtp.esmtp_extensions
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as e:
            await smtp.sendmail("alice@example.co.jp", ["bob@partner.example"], MSG)
        assert e.value.code == 530
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await smtp.login("mta", "wrong")
        await smtp.login("mta", "correct horse")
        errors, reply = await smtp.sendmail("alice@example.co.jp", ["bob@partner.example"], MSG)
    assert errors == {} and "queued as Q0001" in reply
    stored = rec.messages[0][1]
    assert b" with ESMTPSA id " in stored
    assert b"(using TLSv1." in stored


async def test_auth_login_mechanism(tls_server: tuple[SmtpServerHandle, Recorder, Path]) -> None:
    handle, rec, cert = tls_server
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1", port=handle.port, start_tls=True, tls_context=client_tls(cert)
    ) as smtp:
        await smtp.ehlo()
        await smtp.auth_login("mta", "correct horse")
        await smtp.sendmail("alice@example.co.jp", ["bob@partner.example"], MSG)
    assert len(rec.messages) == 1


async def test_require_tls(start: Start, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    handle, rec = await start(tls_cert=cert, tls_key=key, require_tls=True)
    raw = await Raw.connect(handle.port)
    await raw.cmd("EHLO client.test")
    assert (await raw.cmd("MAIL FROM:<alice@example.co.jp>"))[0] == 530
    await raw.close()
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1", port=handle.port, start_tls=True, tls_context=client_tls(cert)
    ) as smtp:
        await smtp.sendmail("alice@example.co.jp", ["bob@partner.example"], MSG)
    assert b" with ESMTPS id " in rec.messages[0][1]
