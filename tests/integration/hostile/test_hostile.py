"""Hostile input against a live gateway (`gateway run` in a child process, a recording sink behind it).

Each attack gets its defined answer (README "SMTP answers"); after all of them the gateway still
runs, has relayed nothing for an unauthorised client or a smuggled envelope, and has delivered no
attachment it could not read to an external recipient.
"""

from __future__ import annotations

import contextlib
import email
import email.parser
import email.policy
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.store import open_store
from gateway.store.base import Queue
from tests.support.certs import self_signed
from tests.support.gateway_proc import GatewayProcess, write_config
from tests.support.rawsmtp import RawSMTP
from tests.support.sink import RecordingSink
from tests.unit.extract import extract_fixtures as fx

SENDER = "taro@example.co.jp"
EXTERNAL = "partner@partner.example"
TIMEOUT = 3.0  # smtp.timeout of the gateway under attack (idle seconds)
MAX_CONNECTIONS = 40
PER_CLIENT = 30  # smtp.max_connections_per_client


@dataclass
class Target:
    port: int
    sink: RecordingSink
    gateway: GatewayProcess
    store_url: str
    cert: Path


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp("hostile")
    cert, key = self_signed(tmp)
    with RecordingSink() as sink:
        config, port = write_config(
            tmp,
            {
                "smtp": {
                    "allowed_clients": ["127.0.0.1/32"],  # 127.0.0.2 plays the stranger
                    "timeout": TIMEOUT,
                    "max_connections": MAX_CONNECTIONS,
                    "max_connections_per_client": PER_CLIENT,
                    "tls_cert": str(cert),
                    "tls_key": str(key),
                },
                "relay": {"smarthost": f"127.0.0.1:{sink.port}"},
                "hold": {"language": "en"},
            },
        )
        gateway = GatewayProcess(config, port, tmp / "gateway.log").start()
        try:
            yield Target(port, sink, gateway, f"sqlite:///{tmp}/gateway.db", cert)
            assert gateway.process is not None and gateway.process.poll() is None, "the gateway died"
        finally:
            gateway.stop()
            gateway.kill()


def message(test_id: str, body: str = "お世話になっております。\r\n", to: str = EXTERNAL) -> bytes:
    return (
        f"From: <{SENDER}>\r\nTo: <{to}>\r\nSubject: hostile {test_id}\r\nMessage-ID: <{test_id}@example.co.jp>\r\n"
        f"X-Test-Id: {test_id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{body}"
    ).encode()


def open_transaction(port: int, rcpts: tuple[str, ...] = (EXTERNAL,), source: str = "127.0.0.1") -> RawSMTP:
    client = RawSMTP(port, source=source)
    client.hello()
    assert client.command(f"MAIL FROM:<{SENDER}>")[0] == 250
    for rcpt in rcpts:
        assert client.command(f"RCPT TO:<{rcpt}>")[0] == 250
    code, text = client.command("DATA")
    assert code == 354, text
    return client


def delivered(target: Target, test_id: str) -> list[bytes]:
    return [m.data for m in target.sink.snapshot() if m.header("X-Test-Id") == test_id]


def wait_delivered(target: Target, test_id: str) -> bytes:
    assert target.sink.wait_until(lambda got: any(m.header("X-Test-Id") == test_id for m in got), timeout=60)
    (data,) = delivered(target, test_id)
    return data


def assert_alive(target: Target, test_id: str) -> None:
    """The gateway still takes and relays ordinary mail."""
    client = open_transaction(target.port)
    client.send(message(test_id) + b".\r\n")
    assert client.reply()[0] == 250
    client.close()
    wait_delivered(target, test_id)


# --- SMTP smuggling ----------------------------------------------------------------------------------

SMUGGLED = (
    b"MAIL FROM:<smuggler@evil.example>\r\nRCPT TO:<victim@victim.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n"
)

# end-of-data look-alikes -> the answer to the one real CRLF.CRLF at the end
SMUGGLING = {
    "lf-dot-lf": (b"\n.\n", 250),
    "lf-dot-crlf": (b"\n.\r\n", 250),
    "crlf-dot-lf": (b"\r\n.\n", 250),
    "cr-dot-cr": (b"\r.\r", 550),
    "cr-dot-crlf": (b"\r.\r\n", 550),
    "crlf-dot-cr": (b"\r\n.\r", 550),
    "crlf-dot-nul-crlf": (b"\r\n.\0\r\n", 550),
    "crlf-nul-dot-crlf": (b"\r\n\0.\r\n", 550),
    "nul-lf-dot-lf": (b"\0\n.\n", 550),
    "crlf-dot-nul": (b"\r\n.\0", 550),
}


@pytest.mark.parametrize("variant", sorted(SMUGGLING))
def test_smuggling_end_of_data_variants_are_content_or_refused(target: Target, variant: str) -> None:
    eod, expected = SMUGGLING[variant]
    test_id = f"smuggle-{variant}"
    client = open_transaction(target.port)
    client.send(message(test_id, body="first line\r\n") + eod + SMUGGLED + b".\r\n")
    code, text = client.reply()
    assert code == expected, text
    assert client.command("QUIT")[0] == 221  # no answers to smuggled commands in between
    client.close()
    if expected == 250:
        data = wait_delivered(target, test_id)
        assert b"RCPT TO:<victim@victim.example>" in data  # it stayed content
        assert b"\r" not in data.replace(b"\r\n", b"") and b"\n" not in data.replace(b"\r\n", b"")
    assert not [m for m in target.sink.snapshot() if "victim@victim.example" in m.rcpt_tos]
    assert not [m for m in target.sink.snapshot() if m.mail_from == "smuggler@evil.example"]


# --- open relay forms and strangers ----------------------------------------------------------------

RELAY_FORMS = [
    "<user%victim.example@gw.test>",
    "<user%victim.example>",
    "<@gw.test:user@victim.example>",
    "<@gw.test,@relay.example:user@victim.example>",
    "<victim.example!user>",
    "<victim.example!user@gw.test>",
    '<"user@victim.example"@gw.test>',
    '<"user@victim.example">',
    "<user@victim.example@gw.test>",
    "<user@victim.example>@gw.test",
    "<user@[127.0.0.1]@victim.example>",
]


@pytest.mark.parametrize("form", RELAY_FORMS)
def test_open_relay_address_forms_are_refused(target: Target, form: str) -> None:
    with RawSMTP(target.port) as client:
        client.hello()
        assert client.command(f"MAIL FROM:<{SENDER}>")[0] == 250
        code, text = client.command(f"RCPT TO:{form}")
        assert 500 <= code < 600, text
        assert client.command("DATA")[0] == 503  # no valid recipient: nothing to send
        assert client.command("RSET")[0] == 250
        code, text = client.command(f"MAIL FROM:{form}")
        assert 500 <= code < 600, text


def test_a_stranger_cannot_relay(target: Target) -> None:
    """Refused at connect (no AUTH is offered, so it could never send): it holds no slot."""
    with RawSMTP(target.port, source="127.0.0.2") as client:
        code, text = client.reply()
        assert code == 554 and "5.7.1" in text
        assert client.closed_within(5)
    with RawSMTP(target.port, source="127.0.0.2") as client:
        # Pipelined before the greeting, as a spammer would: nothing is read (the server may have
        # closed the connection before all of it was sent).
        pipelined = f"EHLO x\r\nMAIL FROM:<{SENDER}>\r\nRCPT TO:<{EXTERNAL}>\r\nDATA\r\n".encode()
        with contextlib.suppress(OSError):
            client.send(pipelined + message("stranger") + b".\r\n")
        with contextlib.suppress(OSError):
            assert client.reply()[0] in (554, 0)
    time.sleep(0.5)
    assert delivered(target, "stranger") == []


# --- CR, LF and control characters in addresses and names --------------------------------------------

BAD_ADDRESSES = [
    b"<user\r@partner.example>",
    b"<user\rRCPT TO:<victim@victim.example>@partner.example>",
    b"<user\0@partner.example>",
    b"<us\ter@partner.example>",
    b"<us er@partner.example>",
    b"<user\x7f@partner.example>",
    b"<user\x1b[31m@partner.example>",
    b"<user@partner.example\r>",
]


@pytest.mark.parametrize("address", BAD_ADDRESSES, ids=lambda a: repr(a)[2:-1])
def test_control_characters_in_addresses_are_refused_as_one_line(target: Target, address: bytes) -> None:
    with RawSMTP(target.port) as client:
        client.hello()
        assert client.command(f"MAIL FROM:<{SENDER}>")[0] == 250
        code, text = client.command(b"RCPT TO:" + address)
        assert 500 <= code < 600, text
        code, text = client.command(b"MAIL FROM:" + address)
        assert 500 <= code < 600, text  # nested MAIL or a bad sender: refused either way
        assert client.command("NOOP")[0] == 250  # exactly one answer per line: nothing was split off
        assert client.pending(0.2) == b""


def test_crlf_in_helo_cannot_inject_headers(target: Target) -> None:
    with RawSMTP(target.port) as client:
        assert client.reply()[0] == 220
        code, text = client.command(b"EHLO evil\rBcc: victim@victim.example")
        assert code == 250, text  # accepted as a name; the trace header replaces what is unsafe in it
        assert client.command(f"MAIL FROM:<{SENDER}>")[0] == 250
        assert client.command(f"RCPT TO:<{EXTERNAL}>")[0] == 250
        assert client.command("DATA")[0] == 354
        client.send(message("helo-crlf") + b".\r\n")
        assert client.reply()[0] == 250
    data = wait_delivered(target, "helo-crlf")
    parsed = email.message_from_bytes(data, policy=email.policy.compat32)
    assert parsed.get_all("Bcc") is None
    assert b"\r" not in data.replace(b"\r\n", b"")


FORGERY = b"\x1b[2J\x07\x00\x7f\r\x0b2026-01-01 00:00:00 INFO [1] gateway: all good"


def test_client_text_reaches_the_log_escaped(target: Target) -> None:
    """Unknown commands, HELO names and addresses with ESC, BEL, CR, NUL and a direction override:
    the log shows them as escapes; no raw control byte gets into it (aiosmtpd's own warning included)."""
    with RawSMTP(target.port) as client:
        assert client.reply()[0] == 220
        client.command(b"EHLO forged" + FORGERY)  # accepted or refused: never a raw log line
        assert client.command("EHLO client.example.co.jp")[0] == 250
        for line in (b"XFORGE" + FORGERY, FORGERY + b" arg", b"MAIL FROM:<x" + FORGERY + b"@partner.example>"):
            code, text = client.command(line)
            assert 500 <= code < 600, text
        assert client.command(f"MAIL FROM:<{SENDER}>")[0] == 250
        code, text = client.command(b"RCPT TO:<y" + FORGERY + b"@partner.example>")
        assert 500 <= code < 600, text
        assert client.command("NOOP")[0] == 250
    log_path = target.gateway.log_path
    deadline = time.monotonic() + 10
    while b"XFORGE" not in log_path.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = log_path.read_bytes()
    (line,) = [line for line in log.split(b"\n") if b"XFORGE" in line]
    assert b"unrecognised" in line  # aiosmtpd's warning, escaped on its logger
    assert b"XFORGE\\x1b[2J\\x07\\x00\\x7f\\r\\x0b2026-01-01" in line
    assert [c for c in set(log) if (c < 0x20 and c != 0x0A) or c == 0x7F] == []
    assert b"\n2026-01-01 00:00:00 INFO [1] gateway: all good" not in log


# --- STARTTLS with pipelined plaintext -------------------------------------------------------------


def test_plaintext_pipelined_after_starttls_is_discarded(target: Target) -> None:
    context = ssl.create_default_context(cafile=str(target.cert))
    with RawSMTP(target.port) as client:
        client.hello()
        # One packet: STARTTLS plus commands an attacker in the middle appends in plaintext.
        client.send(b"STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\nRCPT TO:<victim@victim.example>\r\n")
        code, text = client.reply()
        assert code == 220, text
        client.buffer = b""  # the server must not answer the plaintext either: nothing may follow
        client.starttls(context)
        assert client.command("NOOP")[0] == 250  # the first answer inside TLS is to our NOOP
        code, text = client.command(f"MAIL FROM:<{SENDER}>")
        assert code == 503, text  # state was reset by STARTTLS: EHLO first; the injected MAIL is gone
        assert client.command("EHLO client.example.co.jp")[0] == 250
        assert client.command(f"MAIL FROM:<{SENDER}>")[0] == 250
        assert client.command(f"RCPT TO:<{EXTERNAL}>")[0] == 250
        assert client.command("DATA")[0] == 354
        client.send(message("after-starttls") + b".\r\n")
        assert client.reply()[0] == 250
    data = wait_delivered(target, "after-starttls")
    assert b"with ESMTPS" in data.split(b"\r\n\r\n", 1)[0]
    assert not [m for m in target.sink.snapshot() if "victim@victim.example" in m.rcpt_tos]


# --- sizes -------------------------------------------------------------------------------------------


def test_ten_thousand_recipients(target: Target) -> None:
    rcpts = [f"staff{i:05d}@example.co.jp" for i in range(10_000)]
    with RawSMTP(target.port) as client:
        client.hello()
        client.send(f"MAIL FROM:<{SENDER}>\r\n".encode() + b"".join(f"RCPT TO:<{r}>\r\n".encode() for r in rcpts))
        assert client.reply()[0] == 250
        codes = [client.reply()[0] for _ in rcpts]
        assert codes == [250] * 1000 + [452] * 9000  # smtp.max_recipients: the client sends the rest later
        assert client.command("DATA")[0] == 354
        client.send(message("many-rcpts", to="all@example.co.jp") + b".\r\n")
        assert client.reply()[0] == 250
    assert target.sink.wait_until(lambda got: any(m.header("X-Test-Id") == "many-rcpts" for m in got), 60)
    data_rcpts = [m.rcpt_tos for m in target.sink.snapshot() if m.header("X-Test-Id") == "many-rcpts"]
    assert [len(r) for r in data_rcpts] == [1000]
    assert set(data_rcpts[0]) == set(rcpts[:1000])


def test_hundred_megabytes(target: Target) -> None:
    size = 100 * 1024 * 1024
    with RawSMTP(target.port) as client:
        client.hello()
        code, text = client.command(f"MAIL FROM:<{SENDER}> SIZE={size}")
        assert code == 552, text  # announced: refused before a byte is sent
        assert client.command(f"MAIL FROM:<{SENDER}>")[0] == 250
        assert client.command(f"RCPT TO:<{EXTERNAL}>")[0] == 250
        assert client.command("DATA")[0] == 354
        client.send(message("hundred-mb", body=""))
        chunk = (b"A" * 998 + b"\r\n") * 1024  # 1 MB
        for _ in range(100):
            client.send(chunk)
        client.send(b".\r\n")
        code, text = client.reply()
        assert code == 552 and "5.3.4" in text, text
        assert client.command("NOOP")[0] == 250  # the session goes on
    assert_alive(target, "after-hundred-mb")
    assert delivered(target, "hundred-mb") == []


def test_one_megabyte_header_line(target: Target) -> None:
    client = open_transaction(target.port)
    client.send(b"X-Long: " + b"a" * (1024 * 1024) + b"\r\n" + message("long-header-line") + b".\r\n")
    code, text = client.reply()
    assert code == 552 and "too long" in text, text
    client.close()
    # The same megabyte, folded into short lines: within the line limit, over max_header_size.
    client = open_transaction(target.port)
    folded = b"X-Long: x\r\n" + b"\ta" + b"a" * 996 + b"\r\n"
    client.send(folded * 1100 + message("long-header-block") + b".\r\n")
    code, text = client.reply()
    assert code == 552 and "header" in text, text
    client.close()
    assert delivered(target, "long-header-line") == delivered(target, "long-header-block") == []


# --- slow clients ------------------------------------------------------------------------------------


def _drip(client: RawSMTP, data: bytes, stop: threading.Event, every: float) -> None:
    for byte in data:
        if stop.is_set():
            return
        try:
            client.send(bytes([byte]))
        except OSError:
            return
        time.sleep(every)


def test_slow_drip_without_end_of_line_is_cut_off(target: Target) -> None:
    stop = threading.Event()
    command = RawSMTP(target.port)
    command.hello()
    in_data = open_transaction(target.port)
    dripping = [
        threading.Thread(target=_drip, args=(command, b"MAIL FROM:<" + b"x" * 200, stop, 0.1), daemon=True),
        threading.Thread(target=_drip, args=(in_data, b"Subject: " + b"y" * 200, stop, 0.1), daemon=True),
    ]
    for thread in dripping:
        thread.start()
    try:
        # Meanwhile everyone else is served.
        assert_alive(target, "during-drip")
        # A line that never ends does not reset the idle timer: smtp.timeout cuts both off.
        assert command.closed_within(TIMEOUT * 10)
        assert in_data.closed_within(TIMEOUT * 10)
    finally:
        stop.set()
        command.close()
        in_data.close()


def test_slow_drip_of_lines_holds_one_slot_and_others_are_served(target: Target) -> None:
    stop = threading.Event()
    client = open_transaction(target.port)
    lines = message("slow-lines") + b"".join(b"line %d\r\n" % i for i in range(40))
    drip = threading.Thread(target=_drip, args=(client, lines, stop, 0.01), daemon=True)
    drip.start()
    try:
        assert_alive(target, "beside-slow-lines")
        drip.join(timeout=60)
        client.send(b".\r\n")
        assert client.reply()[0] == 250
    finally:
        stop.set()
        client.close()
    wait_delivered(target, "slow-lines")


def test_connection_flood_gets_421_and_recovers(target: Target) -> None:
    hogs = []
    try:
        for _ in range(PER_CLIENT):
            hog = RawSMTP(target.port)
            assert hog.reply()[0] == 220
            hogs.append(hog)
        with RawSMTP(target.port) as extra:  # one address may not hold more
            code, text = extra.reply()
            assert code == 421 and "4.7.0" in text, text
    finally:
        for hog in hogs:
            hog.close()
    time.sleep(0.5)
    assert_alive(target, "after-flood")


def test_a_stranger_flooding_connections_does_not_stop_the_mta(target: Target) -> None:
    """More connections than there are slots, over and over, from 127.0.0.2 (outside allowed_clients)
    while the MTA on 127.0.0.1 sends: every stranger gets 554 at once, the MTA's mail is delivered."""
    stop = threading.Event()
    answers: list[int] = []

    def flood() -> None:
        while not stop.is_set():
            try:
                with RawSMTP(target.port, source="127.0.0.2", timeout=10) as client:
                    answers.append(client.reply()[0])
                    client.command("NOOP")  # keep-alive attempts get nowhere
            except OSError:
                answers.append(-1)

    flooders = [threading.Thread(target=flood, daemon=True) for _ in range(MAX_CONNECTIONS + 10)]
    for thread in flooders:
        thread.start()
    try:
        while len(answers) < 500:
            time.sleep(0.05)
        for i in range(5):
            assert_alive(target, f"mta-during-flood-{i}")
    finally:
        stop.set()
        for thread in flooders:
            thread.join(timeout=30)
    assert set(answers) <= {554, -1} and answers.count(554) >= 500


def test_idle_client_is_disconnected(target: Target) -> None:
    with RawSMTP(target.port) as client:
        client.hello()
        assert client.closed_within(TIMEOUT * 10)  # smtp.timeout: closed (aiosmtpd says nothing first)


# --- content that cannot be read ------------------------------------------------------------------


def _nested_multipart(depth: int) -> bytes:
    body = ""
    for i in range(depth):
        body += f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'
    body += "Content-Type: text/plain\r\n\r\nhello\r\n"
    for i in reversed(range(depth)):
        body += f"--b{i}--\r\n"
    return body.encode()


def _nested_rfc822(depth: int) -> bytes:
    inner = b"Content-Type: text/plain\r\n\r\nhello\r\n"
    for _ in range(depth):
        inner = b"Content-Type: message/rfc822\r\n\r\nFrom: a@example.co.jp\r\nSubject: fwd\r\n" + inner
    return inner


def unreadable(kind: str) -> bytes:
    """Header lines after To/Subject (Content-Type ...), then the body: the part after our own headers."""
    if kind == "nested-multipart":
        return _nested_multipart(2000)
    if kind == "nested-rfc822":
        return _nested_rfc822(300)
    makers = {
        "zip-bomb": lambda: (fx.zip_bomb_deep(), "data.zip", "application/zip"),
        "overlap-bomb": lambda: (fx.overlap_bomb(), "data.zip", "application/zip"),
        "entity-bomb": lambda: (fx.entity_bomb_docx(), "report.docx", "application/octet-stream"),
        "zipcrypto": lambda: (fx.zipcrypto({"list.csv": b"a,b\r\n"}), "list.zip", "application/zip"),
        "aes-zip": lambda: (fx.aes_zip({"list.csv": b"a,b\r\n"}), "list.zip", "application/zip"),
        "encrypted-pdf": lambda: (fx.encrypted_pdf(), "list.pdf", "application/pdf"),
        "broken-base64-xlsx": lambda: (b"PK\x03\x04" + b"\xff" * 64, "list.xlsx", "application/octet-stream"),
    }
    data, name, ctype = makers[kind]()
    mail = fx.mail()
    fx.attach(mail, data, name, ctype)
    raw = mail.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    headers, body = raw.split(b"\r\n\r\n", 1)
    content = b"".join(line + b"\r\n" for line in headers.split(b"\r\n") if line.lower().startswith(b"content-type"))
    if kind == "broken-base64-xlsx":
        body = body.replace(b"UEsDB", b"UEsDB!!@@**==garbage==", 1)
    return content + b"\r\n" + body


UNREADABLE = [
    "zip-bomb",
    "overlap-bomb",
    "entity-bomb",
    "zipcrypto",
    "aes-zip",
    "encrypted-pdf",
    "broken-base64-xlsx",
    "nested-multipart",
    "nested-rfc822",
]


def test_unreadable_attachments_never_reach_an_external_recipient(target: Target) -> None:
    ids = []
    for kind in UNREADABLE:
        test_id = f"unreadable-{kind}"
        raw = (
            f"From: <{SENDER}>\r\nTo: <{EXTERNAL}>\r\nSubject: {kind}\r\nMessage-ID: <{test_id}@example.co.jp>\r\n"
            f"X-Test-Id: {test_id}\r\nMIME-Version: 1.0\r\n"
        ).encode() + unreadable(kind)
        client = open_transaction(target.port)
        client.send(raw.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
        code, text = client.reply()
        assert code == 250, f"{kind}: {text}"  # after-queue: accepted, then inspected
        client.close()
        ids.append(test_id)
    # Every one of them ends held (or shunted) and the sender is told; none is relayed.
    store = open_store(target.store_url)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            held = [m for q in (Queue.HOLD, Queue.SHUNT) for m in store.list_queue(q, 1000)]
            if len(held) >= len(ids):
                break
            time.sleep(0.5)
        held = [m for q in (Queue.HOLD, Queue.SHUNT) for m in store.list_queue(q, 1000)]
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32)
        subjects = sorted(headers.parsebytes(store.raw(m.id)).get("X-Test-Id", "") for m in held)
    finally:
        store.close()
    assert sorted(ids) == [s for s in subjects if s.startswith("unreadable-")]
    assert_alive(target, "after-unreadable")
    for test_id in ids:
        assert delivered(target, test_id) == [], test_id
