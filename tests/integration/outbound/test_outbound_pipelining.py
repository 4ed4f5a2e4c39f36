"""PIPELINING (RFC 2920) over real loopback SMTP, against a scripted next hop that records what it
received packet by packet: the pipelined client gives every recipient the result the command-by-command
client gives (a differential over the same scripts), writes MAIL, the RCPTs and DATA at once, sends
the body only after the 354, ends a DATA no recipient was accepted for with an empty message, and
never delivers twice."""

from __future__ import annotations

import asyncio
import copy
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gateway.outbound.client import Outcome, RcptResult, SmtpClient, _DeliveryProtocol
from gateway.outbound.nexthop import NextHop
from tests.integration.outbound.test_outbound_delivery import MESSAGE, SENDER, make_config
from tests.support.load import SMTP_SINK, SmtpSink

RCPTS = [f"r{i}@partner.example" for i in range(5)]


@pytest.fixture(autouse=True)
def sink_pipelining() -> bool:
    """The conftest's aiosmtpd sink is not used here: no need to run every test twice."""
    return True


@dataclass
class Script:
    pipelining: bool = True
    mail: list[str] = field(default_factory=list)  # replies to the hop's successive MAILs, then 250
    rcpt: dict[str, str] = field(default_factory=dict)  # address -> reply (default 250)
    data: str | None = None  # reply to DATA (default: 354 if a recipient was accepted, else 554)
    final: str = "250 2.0.0 Ok: queued"  # reply after the body
    drop: tuple[str, int] | None = None  # close the connection at the n-th MAIL/RCPT/DATA/BODY of the hop
    abort: bool = False  # ... with a reset, without the replies to what came before in its packet
    trickle: bool = False  # every reply in its own write, 2 ms apart (else one write per packet read)
    hold: bool = False  # answer MAIL and RCPT only once DATA has arrived (a client waiting would hang)


class Hop:
    """The scripted next hop on 127.0.0.1:port."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.packets: list[list[bytes]] = []  # per connection, every chunk read, in order
        self.messages: list[tuple[tuple[str, ...], bytes]] = []  # (accepted recipients, body) of each DATA
        self.counts: Counter[str] = Counter()
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    @property
    def delivered(self) -> list[tuple[tuple[str, ...], bytes]]:
        return [m for m in self.messages if m[0]]


class _Connection(asyncio.Protocol):
    def __init__(self, hop: Hop) -> None:
        self.hop = hop
        self.script = hop.script
        self.packets: list[bytes] = []
        hop.packets.append(self.packets)
        self.buffer = b""
        self.in_data = False
        self.mail_ok = False
        self.rcpts: list[str] = []
        self.held: list[str] = []
        self.next_at = 0.0
        self.gone = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.send(["220 hop.test ESMTP"])

    def send(self, replies: list[str], close: bool = False) -> None:
        if not replies:
            return
        loop = asyncio.get_running_loop()
        if not self.script.trickle:
            self.transport.write("".join(r + "\r\n" for r in replies).encode())
            if close:
                self.transport.close()
            return
        for i, reply in enumerate(replies):
            self.next_at = max(loop.time(), self.next_at) + 0.002
            last = close and i == len(replies) - 1
            loop.call_at(self.next_at, self._write, reply, last)

    def drop(self, replies: list[str]) -> None:
        """The connection goes away after the replies given so far (all of them, if `abort` is not
        set; none, with a reset, if it is)."""
        self.gone = True
        if self.script.abort:
            self.transport.abort()
        elif replies or self.held:
            self.send([*self.held, *replies], close=True)
        else:
            self.transport.close()

    def _write(self, reply: str, close: bool) -> None:
        if not self.transport.is_closing():
            self.transport.write(reply.encode() + b"\r\n")
        if close:
            self.transport.close()

    def dropped(self, what: str) -> bool:
        self.hop.counts[what] += 1
        return self.script.drop == (what, self.hop.counts[what])

    def data_received(self, data: bytes) -> None:
        if self.gone:
            return
        self.packets.append(data)
        self.buffer += data
        replies: list[str] = []
        while True:
            if self.in_data:
                if self.buffer.startswith(b".\r\n"):
                    body, self.buffer = b"", self.buffer[3:]
                else:
                    end = self.buffer.find(b"\r\n.\r\n")
                    if end < 0:
                        break
                    body, self.buffer = self.buffer[: end + 2], self.buffer[end + 5 :]
                self.in_data = False
                if self.dropped("BODY"):
                    self.drop(replies)
                    return
                self.hop.messages.append((tuple(self.rcpts), body.replace(b"\r\n..", b"\r\n.")))
                replies.append(self.script.final if self.rcpts else "554 5.5.1 Error: no valid recipients")
                self.mail_ok, self.rcpts = False, []
                continue
            line, sep, rest = self.buffer.partition(b"\r\n")
            if not sep:
                break
            self.buffer = rest
            reply = self.command(line.decode("utf-8", "replace"))
            if reply is None:
                self.drop(replies)
                return
            replies.append(reply)
            if reply.startswith(("421", "221")):
                self.send(replies, close=True)
                return
        if self.script.hold and self.mail_ok and not self.in_data and not any(r.startswith("354") for r in replies):
            self.held.extend(replies)
            return
        self.send([*self.held, *replies])
        self.held = []

    def command(self, line: str) -> str | None:
        verb = line[:4].upper()
        if verb == "EHLO":
            return "250-hop.test\r\n" + ("250-PIPELINING\r\n" if self.script.pipelining else "") + "250 8BITMIME"
        if verb in ("HELO", "NOOP"):
            return "250 hop.test"
        if verb == "RSET":
            self.mail_ok, self.rcpts = False, []
            return "250 2.0.0 Ok"
        if verb == "QUIT":
            return "221 2.0.0 Bye"
        if verb == "MAIL":
            if self.dropped("MAIL"):
                return None
            reply = self.script.mail.pop(0) if self.script.mail else "250 2.1.0 Ok"
            self.mail_ok, self.rcpts = reply.startswith("250"), []
            return reply
        if verb == "RCPT":
            if self.dropped("RCPT"):
                return None
            if not self.mail_ok:
                return "503 5.5.1 Error: need MAIL command"
            address = line[line.index("<") + 1 : line.rindex(">")]
            reply = self.script.rcpt.get(address, "250 2.1.5 Ok")
            if reply.startswith("25"):
                self.rcpts.append(address)
            return reply
        if verb == "DATA":
            if self.dropped("DATA"):
                return None
            default = "354 End data with <CR><LF>.<CR><LF>" if self.mail_ok and self.rcpts else "554 5.5.1 no rcpts"
            reply = self.script.data or default
            self.in_data = reply.startswith("354")
            return reply
        return "502 5.5.2 Error: command not recognized"


@pytest.fixture
async def hops() -> AsyncIterator[list[Hop]]:
    started: list[Hop] = []
    yield started
    for hop in started:
        if hop.server is not None:
            hop.server.close()


async def start(hops: list[Hop], script: Script) -> Hop:
    hop = Hop(script)
    hop.server = await asyncio.get_running_loop().create_server(lambda: _Connection(hop), "127.0.0.1", 0)
    hops.append(hop)
    return hop


def smarthost(port: int) -> NextHop:
    return NextHop(host="127.0.0.1", address="127.0.0.1", port=port, smarthost=True)


def plain(results: dict[str, RcptResult]) -> dict[str, tuple[Any, ...]]:
    """The results without the hop's port, which differs between the two servers."""
    return {r: (res.outcome, res.code, res.status, res.text) for r, res in results.items()}


async def deliver(
    hop: Hop, rcpts: list[str], times: int = 2, message: bytes = MESSAGE
) -> list[dict[str, tuple[Any, ...]]]:
    client = SmtpClient(make_config(f"127.0.0.1:{hop.port}").relay)
    try:
        return [plain(await client.deliver([smarthost(hop.port)], SENDER, rcpts, message)) for _ in range(times)]
    finally:
        await client.close()


MIXED = {
    RCPTS[1]: "550 5.1.1 No such user",
    RCPTS[2]: "450 4.2.0 Mailbox busy",
    RCPTS[3]: "251 2.1.5 Will forward",
    RCPTS[4]: "452 4.5.3 Too many recipients",
}
ALL_REFUSED = {r: "550 5.1.1 No such user" for r in RCPTS}
MANY = [f"m{i}@partner.example" for i in range(300)]

SCENARIOS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "all accepted": ({}, RCPTS),
    "mixed 250 251 550 450 452": ({"rcpt": MIXED}, RCPTS),
    "an address aiosmtplib will not send": ({"rcpt": MIXED}, [*RCPTS[:3], "ctl\x7fx@partner.example", RCPTS[4]]),
    "all refused, 554 to DATA": ({"rcpt": ALL_REFUSED}, RCPTS),
    "all refused, 354 to DATA": ({"rcpt": ALL_REFUSED, "data": "354 go on"}, RCPTS),
    "MAIL 550": ({"mail": ["550 5.7.1 Sender rejected"]}, RCPTS),
    "MAIL 452": ({"mail": ["452 4.3.1 Insufficient system storage"]}, RCPTS),
    "MAIL 550, 354 to DATA anyway": ({"mail": ["550 5.7.1 Sender rejected"], "data": "354 go on"}, RCPTS),
    "MAIL 421 on a new connection": ({"mail": ["421 4.3.2 Shutting down"]}, RCPTS),
    "RCPT 421": ({"rcpt": {RCPTS[2]: "421 4.4.2 Too busy"}}, RCPTS),
    "RCPT 421 at the last": ({"rcpt": {RCPTS[4]: "421 4.4.2 Too busy"}}, RCPTS),
    "DATA 554 with recipients": ({"rcpt": MIXED, "data": "554 5.3.4 Not now"}, RCPTS),
    "DATA 451": ({"data": "451 4.3.0 Try later"}, RCPTS),
    "final 554": ({"rcpt": MIXED, "final": "554 5.6.0 Content rejected"}, RCPTS),
    "final 451": ({"final": "451 4.3.0 Queue file write error"}, RCPTS),
    "dropped at MAIL": ({"drop": ("MAIL", 1)}, RCPTS),
    "dropped mid-batch (3rd RCPT)": ({"rcpt": MIXED, "drop": ("RCPT", 3)}, RCPTS),
    "dropped at DATA": ({"rcpt": MIXED, "drop": ("DATA", 1)}, RCPTS),
    "dropped after the body": ({"drop": ("BODY", 1)}, RCPTS),
    # Replies that neither accept nor refuse: nothing may count as delivered when no body went.
    "DATA 250 instead of 354": ({"data": "250 2.0.0 Ok"}, RCPTS),
    "DATA 250 instead of 354, some refused": ({"rcpt": MIXED, "data": "250 2.0.0 Ok"}, RCPTS),
    "RCPT 252": ({"rcpt": {RCPTS[1]: "252 2.1.5 Cannot VRFY user"}}, RCPTS),
    "MAIL 252": ({"mail": ["252 2.1.0 Maybe"]}, RCPTS),
    "300 recipients, every 7th refused": ({"rcpt": {r: "550 5.1.1 No" for r in MANY[::7]}}, MANY),
}


@pytest.mark.parametrize("trickle", [False, True], ids=["one-write-replies", "trickled-replies"])
@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_pipelined_results_are_the_unpipelined_results(hops: list[Hop], name: str, trickle: bool) -> None:
    script, rcpts = SCENARIOS[name]
    plain_hop = await start(hops, Script(pipelining=False, trickle=trickle, **copy.deepcopy(script)))
    piped_hop = await start(hops, Script(pipelining=True, trickle=trickle, **copy.deepcopy(script)))
    expected = await deliver(plain_hop, rcpts)
    got = await deliver(piped_hop, rcpts)
    assert got == expected
    batch = next(p for p in piped_hop.packets[0] if p.startswith(b"MAIL"))
    assert b"RCPT" in batch and (b"DATA\r\n" in batch or len(rcpts) > 100)  # really pipelined
    assert all(p.count(b"\r\n") == 1 for p in plain_hop.packets[0] if p.startswith((b"MAIL", b"RCPT")))
    assert piped_hop.delivered == plain_hop.delivered  # the same mail, never twice
    assert len(piped_hop.packets) == len(plain_hop.packets)  # the same connections kept and dropped
    assert all(res[0] is not Outcome.DELIVERED for res in got[0].values()) or piped_hop.delivered
    if name.startswith("DATA 250"):
        assert not piped_hop.messages and {res[0] for res in got[0].values()} <= {Outcome.TEMPORARY, Outcome.PERMANENT}
        assert any(res[3].startswith("unexpected reply 250 to DATA") for res in got[0].values())
    if name == "RCPT 252":
        assert got[0][RCPTS[1]][0] is Outcome.TEMPORARY and piped_hop.delivered  # the others went
    if name == "all refused, 354 to DATA":
        assert piped_hop.messages == [((), b""), ((), b"")]  # the lone "." ended each, for no one


async def test_mail_rcpt_and_data_go_in_one_write_and_the_body_after_the_354(hops: list[Hop]) -> None:
    hop = await start(hops, Script(hold=True))  # nothing is answered before DATA arrives
    (results,) = await deliver(hop, RCPTS[:3], times=1)
    assert all(res[0] is Outcome.DELIVERED for res in results.values())
    (packets,) = hop.packets
    assert packets[1] == (
        b"MAIL FROM:<taro@example.co.jp>"
        + (b"" if MESSAGE.isascii() else b" BODY=8BITMIME")
        + b"\r\n"
        + b"".join(b"RCPT TO:<%s>\r\n" % r.encode() for r in RCPTS[:3])
        + b"DATA\r\n"
    )
    assert packets[1].count(b"\r\n") == 5  # MAIL, 3 RCPT, DATA: one packet, nothing of the body
    assert b"".join(packets[2:]).startswith(MESSAGE[:20])
    assert hop.delivered == [(tuple(RCPTS[:3]), MESSAGE)]


async def test_without_pipelining_each_command_waits_for_its_reply(hops: list[Hop]) -> None:
    hop = await start(hops, Script(pipelining=False))
    await deliver(hop, RCPTS[:3], times=1)
    (packets,) = hop.packets
    commands = [p for p in packets if p[:4] in (b"MAIL", b"RCPT", b"DATA")]
    assert [p.count(b"\r\n") for p in commands] == [1, 1, 1, 1, 1]


@pytest.mark.parametrize("stale", [{"mail": ["250 2.1.0 Ok", "421 4.4.2 Idle too long"]}, {"drop": ("MAIL", 2)}])
async def test_a_reused_connection_failing_at_mail_goes_again_on_a_new_one(
    hops: list[Hop], stale: dict[str, Any]
) -> None:
    hop = await start(hops, Script(**stale))
    first, second = await deliver(hop, RCPTS[:2])
    assert all(res[0] is Outcome.DELIVERED for res in (*first.values(), *second.values()))
    assert hop.delivered == [(tuple(RCPTS[:2]), MESSAGE)] * 2  # exactly once each
    assert len(hop.packets) == 2
    # The stale connection got the batch but never the body.
    assert not any(b"Subject" in p for p in hop.packets[0][3:])


async def test_a_connection_reset_mid_batch_before_any_reply_is_retried_later(hops: list[Hop]) -> None:
    # The hop read the whole batch and reset the connection at the 3rd RCPT without answering a thing:
    # nobody's fate is known, so everyone is retried later (the next attempt, here on a new
    # connection, delivers once).
    hop = await start(hops, Script(rcpt=MIXED, drop=("RCPT", 3), abort=True))
    first, second = await deliver(hop, RCPTS)
    assert {res[:3] for res in first.values()} == {(Outcome.TEMPORARY, 451, "4.4.2")}
    assert second[RCPTS[0]][0] is Outcome.DELIVERED and second[RCPTS[1]][0] is Outcome.PERMANENT
    assert hop.delivered == [((RCPTS[0], RCPTS[3]), MESSAGE)]
    assert len(hop.packets) == 2


@pytest.mark.skipif(not Path(SMTP_SINK).exists(), reason="needs Postfix's smtp-sink (apt-get install postfix)")
@pytest.mark.parametrize("pipelining", [True, False])
async def test_postfix_smtp_sink_with_and_without_pipelining(pipelining: bool) -> None:
    sink = SmtpSink(() if pipelining else ("-P",)).start()  # -P: smtp-sink does not offer PIPELINING
    try:
        client = SmtpClient(make_config(f"127.0.0.1:{sink.port}").relay)
        rcpts = RCPTS[:3]
        for _ in range(5):
            results = await client.deliver([smarthost(sink.port)], SENDER, rcpts, MESSAGE)
            assert {res.outcome for res in results.values()} == {Outcome.DELIVERED}
        ((conn, _),) = client._idle[f"127.0.0.1:{sink.port}"]  # one connection, reused throughout
        assert conn.supports_extension("pipelining") is pipelining
        assert isinstance(conn.protocol, _DeliveryProtocol) is pipelining
        await client.close()
        deadline = time.monotonic() + 10
        while len(sink.arrivals()) < 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert [a.rcpts for a in sink.arrivals()] == [tuple(rcpts)] * 5
    finally:
        sink.cleanup()
